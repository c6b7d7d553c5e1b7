"""Writes of the webhooks app: ``<entity>_<action>`` functions owning their transaction."""
