"""Writes of the cachemgmt app: invalidation, warming, and applying outbox events.

- ``cache_invalidate(namespaces=...)``: an explicit invalidation (``POST /cache/invalidate``, the
  admin's button). Changes need none: the listener and the writing process follow them
  (``cachemgmt.changes``).
- ``cache_apply_events(events)``, ``cache_apply_notice(payload)``: the listener's handlers; bump
  what each event or change announcement makes stale (``EVENT_NAMESPACES``).
- ``cache_warm(user=...)``: fills the hot read paths through their real views.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import DatabaseError, connection
from django.test import RequestFactory
from django.urls import Resolver404, resolve
from rest_framework_simplejwt.tokens import AccessToken

from cachemgmt.constants import CACHE_STATUS_HEADER, HIT_L1, HIT_L2, INVALIDATE_CHANNEL, MISS
from cachemgmt.namespaces import (
    NAMESPACES,
    WARM_PATHS,
    namespaces_for_changes,
    unknown_namespaces,
)
from cachemgmt.notices import PROCESS_TOKEN, parse_notice
from cachemgmt.redis_link import RedisUnavailable
from cachemgmt.runtime import get_store
from pggit_project.errors import DomainError
from pggit_project.events import Event

logger = logging.getLogger(__name__)


def cache_invalidate(*, namespaces: list[str] | None = None) -> list[str]:
    """Make every cached entry of ``namespaces`` (all when empty/None) stale, in every process.

    With Redis
    the bump is one round trip. If Redis is unreachable nothing is served from the cache until it
    is back, and every process that saw the outage bumps all namespaces on recovery, so the bump
    cannot be lost. Without Redis, the other processes hear of it through ``pg_notify``.
    """
    names = list(dict.fromkeys(namespaces)) if namespaces else list(NAMESPACES)
    unknown = unknown_namespaces(names)
    if unknown:
        raise DomainError(
            f"unknown cache namespace(s): {', '.join(unknown)}",
            code="unknown_namespace",
            status=400,
            errors={"namespaces": [f"known namespaces: {', '.join(NAMESPACES)}"]},
        )
    store = get_store()
    try:
        store.bump(names)
    except RedisUnavailable:
        logger.info("cache: bump of %s deferred to Redis recovery", names)
    if store.mode == "local":
        _notify_other_processes(names)
    return names


def _notify_other_processes(names: list[str]) -> None:
    payload = json.dumps({"ns": names, "origin": PROCESS_TOKEN})
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [INVALIDATE_CHANNEL, payload])
    except DatabaseError:
        logger.warning("cache: could not announce the invalidation of %s to other processes", names)


def cache_apply_events(events: list[Event]) -> None:
    """Listener handler: bump the namespaces the events make stale (Redis mode).

    Without Redis every web process follows the outbox itself (``cachemgmt.local_events``), so
    the listener process has nobody to tell.
    """
    store = get_store()
    if store.mode == "local" or not events:
        return
    names = namespaces_for_changes(event.type for event in events)
    store.bump(names)
    store.note_listener_position(events[-1].id)
    logger.info("cache: events %s..%s bumped %s", events[0].id, events[-1].id, names)


def cache_apply_notice(payload: str) -> None:
    """Listener handler of ``pggit_cache`` notices (Redis mode): bump what the notice makes stale.

    Notices come from the engine's change announcements (``pggit.announce_change``: rows written
    without an outbox event, by the worker, the engine, psql...), from the user tables' trigger
    and, without Redis, from ``cache_invalidate`` in other processes — the web processes apply
    those themselves then (``cachemgmt.local_events``).
    """
    store = get_store()
    if store.mode == "local":
        return
    names, users = parse_notice(payload)
    if names:
        store.bump(names)
    if users:
        store.bump_users()


def cache_resync() -> None:
    """Listener handler: notifications may have been missed, so every namespace is bumped."""
    store = get_store()
    if store.mode == "local":
        return
    store.bump(list(NAMESPACES))
    store.bump_users()
    logger.info("cache: every namespace and the user states bumped (listener (re)connected)")


def cache_warm(*, user) -> dict[str, Any]:
    """Fill the hot paths (``WARM_PATHS``) by calling their real views as ``user``.

    The entries are exactly what the views store for clients (same keys, same bytes). Paths that
    are not routed in this build, not cached, or not answerable just now are reported as skipped.
    """
    token = str(AccessToken.for_user(user))
    factory = RequestFactory()
    filled: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for path in WARM_PATHS:
        try:
            match = resolve(path)
        except Resolver404:
            skipped.append({"path": path, "reason": "not routed in this build"})
            continue
        request = factory.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
        response = match.func(request, *match.args, **match.kwargs)
        if hasattr(response, "render"):
            response.render()
        outcome = response.get(CACHE_STATUS_HEADER)
        if response.status_code != 200 or outcome not in (MISS, HIT_L1, HIT_L2):
            reason = (
                f"status {response.status_code}"
                if response.status_code != 200
                else ("cache unavailable" if outcome else "not cached")
            )
            skipped.append({"path": path, "reason": reason})
            continue
        key = getattr(response, "cache_key", "")
        filled.append(
            {"path": path, "key": key, "result": "filled" if outcome == MISS else "present"}
        )
    return {"filled": filled, "skipped": skipped}
