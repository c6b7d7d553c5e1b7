"""Writes of the cachemgmt app: ``<entity>_<action>`` functions owning their transaction."""
