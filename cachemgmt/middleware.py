"""Writes through any HTTP endpoint make the cached reads they affect stale before they answer.

A cached viewset bumps its own namespaces after its writes (``CachedViewSetMixin``), and the
listener bumps what outbox events and change announcements name. Neither covers a write whose
effects reach *other* endpoints' answers at once: an API commit records an engine operation
(performance summaries), recalculating baselines changes the thresholds those summaries show, a
silence changes alert statuses, an admin action changes anything. The listener would catch most
of them milliseconds later; this middleware leaves no window: every successful unsafe request
bumps the namespaces its path maps to (``cachemgmt.namespaces.WRITE_PATH_NAMESPACES``) after its
transaction has committed and before its answer is sent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from cachemgmt.namespaces import namespaces_for_write

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class InvalidateAfterWritesMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.method not in SAFE_METHODS
            and response.status_code < 400
            and settings.PGGIT_CACHE_ENABLED
        ):
            names = namespaces_for_write(request.path)
            if names:
                from cachemgmt.services import cache_invalidate

                transaction.on_commit(lambda: cache_invalidate(namespaces=list(names)))
        return response
