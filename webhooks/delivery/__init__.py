"""Webhook delivery: the worker process (``manage.py deliver_webhooks``) and its parts.

- ``transport``: the httpx transport that resolves, checks and connects to the checked address;
- ``outcome``: what an HTTP result means for the delivery (retry schedule, ``Retry-After``, 410);
- ``sender``: one signed attempt;
- ``store``: the worker's SQL (claim, record, heartbeat, LISTEN) on its own connections;
- ``worker``: the loop tying them together, with graceful shutdown.
"""
