"""The one place that says what is cached, for how long, and which changes make it stale.

A *namespace* groups cached responses that become stale together (``webhooks``, ``commits``...).
Every cached key embeds the current generation of its namespaces; bumping a generation makes all of
the namespace's keys unreachable at once (no key scans, no deletes).

- ``NAMESPACES``: the known namespaces and their default TTL (seconds).
- ``EVENT_NAMESPACES``: the one table of what a change makes stale. A change is named by its
  outbox event type (``pggit.events.type``) or, for rows the engine writes without an outbox
  event, by its table (``pggit.operations``: announced by the engine, sql/engine/cache/
  announce.sql). Every route that makes cached answers stale looks changes up here: the listener
  (events and announcements from any writer) and, for its own writes, the writing process at
  commit (``cachemgmt.changes``).
- ``WARM_PATHS``: the hot read paths ``POST /api/v1/cache/warm`` fills, through their real views.
"""

from __future__ import annotations

from collections.abc import Iterable
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
        # Rows written without an outbox event, named by their table:
        "pggit.webhook_endpoints": ("webhooks", "dashboard"),  # API/admin edits, health counters
        "pggit.webhook_deliveries": ("dashboard",),  # redeliveries, replays
        "pggit.alerts": ("alerts", "dashboard", "performance"),  # silencing, re-raised alerts
        "pggit.operations": ("performance", "dashboard"),  # every recorded run
        "pggit.perf_baselines": ("performance", "dashboard"),  # recalculated thresholds
        "pggit.branches": ("branches", "commits", "status", "dashboard"),  # renames, protection
    }
)

# A change nobody mapped yet (a new engine event) invalidates every namespace: a new kind of
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


def namespaces_for_event(change: str) -> tuple[str, ...]:
    """The namespaces a change (an event type, or a table announced) makes stale; the dashboard
    lists recent events, so every change makes it stale."""
    names = EVENT_NAMESPACES.get(change, UNKNOWN_EVENT_NAMESPACES)
    return names if "dashboard" in names else (*names, "dashboard")


def namespaces_for_changes(changes: Iterable[str]) -> list[str]:
    """The namespaces the named changes (event types, tables) make stale, sorted."""
    return sorted({name for change in changes for name in namespaces_for_event(change)})


def unknown_namespaces(names: list[str]) -> list[str]:
    return [name for name in names if name not in NAMESPACES]
