"""Reads of the webhooks app: query functions used by views, consumers and commands."""
