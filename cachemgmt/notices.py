"""Invalidation notices on the ``pggit_cache`` channel: who sent one, and what it says.

A leaf module: the process's store (``cachemgmt.runtime``), the in-process follower
(``cachemgmt.local_events``) and the services all read it, and it imports none of them.
"""

from __future__ import annotations

import json
import logging
import uuid

from cachemgmt.namespaces import NAMESPACES

logger = logging.getLogger("cachemgmt.services")

# Identifies this process in invalidation notices, so it skips the ones it sent itself.
PROCESS_TOKEN = uuid.uuid4().hex


def parse_notice(payload: str) -> tuple[list[str], bool]:
    """The known namespaces named by a ``pggit_cache`` notice, and whether it says that users
    changed (``"users": true``, sent by sql/engine/cache/announce.sql). Malformed: nothing,
    logged."""
    try:
        notice = json.loads(payload)
        names = [str(name) for name in notice["ns"]]
        users = notice.get("users") is True
    except (ValueError, KeyError, TypeError, AttributeError):
        logger.warning("cache: ignored a malformed pggit_cache notice")
        return [], False
    return [name for name in names if name in NAMESPACES], users


def notice_origin(payload: str) -> str | None:
    """The PROCESS_TOKEN of the process that sent a notice (None: a trigger, or malformed)."""
    try:
        return json.loads(payload).get("origin")
    except (ValueError, AttributeError):
        return None
