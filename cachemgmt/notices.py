"""Invalidation notices on the ``pggit_cache`` channel: who sent one, and what it says.

A leaf module: the process's store (``cachemgmt.runtime``), the in-process follower
(``cachemgmt.local_events``) and the services all read it, and it imports none of them.
"""

from __future__ import annotations

import json
import logging
import uuid

from cachemgmt.namespaces import NAMESPACES, namespaces_for_changes

logger = logging.getLogger("cachemgmt.services")

# Identifies this process in invalidation notices, so it skips the ones it sent itself.
PROCESS_TOKEN = uuid.uuid4().hex


def parse_notice(payload: str) -> tuple[list[str], bool]:
    """The namespaces a ``pggit_cache`` notice makes stale, and whether it says that users changed.

    Notices: ``{"changed": "<schema>.<table>"}`` (rows written without an outbox event, announced
    by the engine: looked up in ``EVENT_NAMESPACES`` like an event type), ``{"ns": [], "users":
    true}`` (sql/engine/cache/announce.sql: users changed), ``{"ns": [...], "origin": ...}``
    (``cache_invalidate`` in another process, without Redis: an explicit invalidation).
    Malformed: nothing, logged."""
    try:
        notice = json.loads(payload)
        changed = notice.get("changed")
        names = [str(name) for name in notice.get("ns", ())]
        users = notice.get("users") is True
        if changed is None and "ns" not in notice:
            raise KeyError("ns")
    except (ValueError, KeyError, TypeError, AttributeError):
        logger.warning("cache: ignored a malformed pggit_cache notice")
        return [], False
    names = [name for name in names if name in NAMESPACES]
    if changed is not None:
        names = sorted({*names, *namespaces_for_changes([str(changed)])})
    return names, users


def notice_origin(payload: str) -> str | None:
    """The PROCESS_TOKEN of the process that sent a notice (None: a trigger, or malformed)."""
    try:
        return json.loads(payload).get("origin")
    except (ValueError, AttributeError):
        return None
