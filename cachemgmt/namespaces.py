"""The one place that says what is cached, for how long, and which events make it stale.

A *namespace* groups cached responses that become stale together (``webhooks``, ``commits``...).
Every cached key embeds the current generation of its namespaces; bumping a generation makes all of
the namespace's keys unreachable at once (no key scans, no deletes).

- ``NAMESPACES``: the known namespaces and their default TTL (seconds).
- ``EVENT_NAMESPACES``: outbox event type → namespaces it makes stale. The event listener applies
  it to every event, whatever wrote it (the API, psql, the worker, the engine).
- ``WARM_PATHS``: the hot read paths ``POST /api/v1/cache/warm`` fills, through their real views.
"""

from __future__ import annotations

from types import MappingProxyType

NAMESPACES: MappingProxyType[str, int] = MappingProxyType(
    {
        "webhooks": 30,
        "alerts": 15,
        "branches": 60,
        "commits": 60,
        "status": 5,
        "objects": 60,
        "merges": 60,
        "rollbacks": 60,
        "audit": 30,
        "dashboard": 10,
        "performance": 30,
    }
)

_VCS_HISTORY = ("commits", "branches", "status", "objects", "dashboard")

EVENT_NAMESPACES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "ddl.captured": ("status", "audit", "dashboard"),
        "commit.created": (*_VCS_HISTORY, "audit"),
        "branch.created": ("branches", "status", "dashboard"),
        "branch.deleted": ("branches", "commits", "status", "dashboard"),
        "branch.checked_out": (*_VCS_HISTORY,),
        "merge.completed": (*_VCS_HISTORY, "merges"),
        "merge.conflicted": ("merges", "dashboard"),
        "merge.aborted": ("merges", "dashboard"),
        "revert.completed": (*_VCS_HISTORY, "rollbacks"),
        "alert.fired": ("alerts", "dashboard", "performance"),
        "alert.acknowledged": ("alerts", "dashboard"),
        "alert.resolved": ("alerts", "dashboard"),
        "webhook.endpoint_disabled": ("webhooks", "dashboard"),
        "webhook.test": ("webhooks",),
    }
)

# An event type nobody mapped yet (a new engine event) invalidates every namespace: a new kind of
# change must never leave a stale read behind just because this table was not updated.
UNKNOWN_EVENT_NAMESPACES: tuple[str, ...] = tuple(NAMESPACES)

WARM_PATHS: tuple[str, ...] = (
    "/api/v1/webhooks",
    "/api/v1/alerts",
    "/api/v1/alerts/stats/summary",
    "/api/v1/branches",
    "/api/v1/commits",
    "/api/v1/status",
    "/api/v1/dashboard",
    "/api/v1/performance/operations",
)


_VCS_WRITE = (*_VCS_HISTORY, "merges", "rollbacks", "audit", "performance")
_ALERTS_WRITE = ("alerts", "dashboard", "performance")
_WEBHOOKS_WRITE = ("webhooks", "dashboard")

# A successful unsafe request (POST/PUT/PATCH/DELETE answered below 400) bumps, once it has
# committed, the namespaces of the first prefix its path starts with
# (``cachemgmt.middleware.InvalidateAfterWritesMiddleware``), before its answer leaves: a read
# that follows the answer, through any process, is fresh without waiting for the listener. A path
# no prefix matches (the admin, a new endpoint) bumps every namespace.
WRITE_PATH_NAMESPACES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("/api/v1/auth/", ()),
    ("/api/v1/cache/", ()),  # warm and invalidate do their own bookkeeping
    ("/admin/login/", ()),
    ("/admin/logout/", ()),
    ("/api/v1/webhooks", _WEBHOOKS_WRITE),
    ("/api/v1/webhook-deliveries", _WEBHOOKS_WRITE),
    ("/api/v1/alerts", _ALERTS_WRITE),
    ("/api/v1/alert-silences", _ALERTS_WRITE),
    ("/api/v1/performance", ("performance", "dashboard")),
    ("/api/v1/branches", _VCS_WRITE),
    ("/api/v1/commits", _VCS_WRITE),
    ("/api/v1/merges", _VCS_WRITE),
    ("/api/v1/reverts", _VCS_WRITE),
    ("/api/v1/resets", _VCS_WRITE),
)


def namespaces_for_write(path: str) -> tuple[str, ...]:
    for prefix, names in WRITE_PATH_NAMESPACES:
        if path.startswith(prefix):
            return names
    return tuple(NAMESPACES)


def namespaces_for_event(event_type: str) -> tuple[str, ...]:
    """The namespaces an event of ``event_type`` makes stale (the dashboard lists recent events,
    so every event makes it stale)."""
    names = EVENT_NAMESPACES.get(event_type, UNKNOWN_EVENT_NAMESPACES)
    return names if "dashboard" in names else (*names, "dashboard")


def unknown_namespaces(names: list[str]) -> list[str]:
    return [name for name in names if name not in NAMESPACES]
