"""Writes of the alerts app: ``<entity>_<action>`` functions owning their transaction."""
