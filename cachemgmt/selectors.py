"""Reads of the cachemgmt app: query functions used by views, consumers and commands."""
