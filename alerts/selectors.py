"""Reads of the alerts app: query functions used by views, consumers and commands."""
