"""Read-your-writes for the writing process: a write request's own changes make the cached
answers they affect stale before its answer leaves (``cachemgmt.changes``).

The listener applies the same changes, for every process, milliseconds after the commit; this
middleware leaves no window for the client that made the write (or anyone it tells), on any
server when the cache is in Redis. Nothing here knows about paths or views: what a change makes
stale is looked up in ``cachemgmt.namespaces.EVENT_NAMESPACES``, the table the listener uses.

A request may hand its connection back to the pool and take another one (``webhooks.services``
does before a name lookup). The names noted on a pooled connection outside a request (code run
by other threads, ``migrate``) stay on it until taken, so a connection taken mid-request has
its earlier names dropped first too (``drop_notes_of_new_connection``): they are not this
request's.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction

from cachemgmt.changes import bump_for, take_own_changes

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Set while a write request runs, after its connection's earlier names were dropped.
_in_write_request: ContextVar[bool] = ContextVar("cachemgmt_in_write_request", default=False)


def drop_notes_of_new_connection(sender, connection, **kwargs) -> None:
    """Connected to ``connection_created`` (every checkout from the pool): a connection taken
    during a write request, after its first one, has the names noted on it before dropped."""
    if _in_write_request.get() and connection.alias == DEFAULT_DB_ALIAS:
        take_own_changes()


class OwnChangesMiddleware:
    """After a write request (any unsafe method, whatever its status: a failed request may have
    committed part of its work), bump what the request's own changes make stale, once its
    transaction has committed and before the answer is sent."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.method in SAFE_METHODS or not settings.PGGIT_CACHE_ENABLED:
            return self.get_response(request)
        # What the connection noted before this request (a read that recorded a run, code run
        # outside requests) is not this request's: the listener covers it. Dropped first, so the
        # bump below is exactly this request's changes.
        take_own_changes(connect=True)
        token = _in_write_request.set(True)
        try:
            response = self.get_response(request)
        finally:
            _in_write_request.reset(token)
        changes = take_own_changes()
        if changes is None or changes:
            transaction.on_commit(lambda: bump_for(changes))
        return response
