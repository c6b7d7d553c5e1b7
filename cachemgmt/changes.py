"""The one path by which a change makes cached answers stale.

A change is named by its outbox event type or, for rows written without an outbox event, by its
table; ``cachemgmt.namespaces.EVENT_NAMESPACES`` says what each one makes stale. The names reach
a process that bumps generations in two ways, both looked up in that one table:

- **the listener** (``manage.py pggit_listen``; without Redis, a thread in every web process) hears
  every writer's changes: outbox events (NOTIFY ``pggit_events``) and the engine's announcements of
  the other rows (NOTIFY ``pggit_cache``, ``{"changed": "<table>"}``), milliseconds after commit;
- **the writing process itself**, for read-your-writes: the engine notes each change's name on the
  database session as it is made (``pggit.note_change``, a transactional setting, so a rollback
  takes it back); after a write request, ``OwnChangesMiddleware`` takes the names noted on the
  request's connection and, once its transaction has committed, bumps their namespaces before the
  answer leaves. With Redis the bump is shared, so the next read through any process is fresh.
"""

from __future__ import annotations

import contextlib
import logging

from django.db import DatabaseError, connection, transaction

from cachemgmt.namespaces import NAMESPACES, namespaces_for_changes
from cachemgmt.redis_link import RedisUnavailable
from cachemgmt.runtime import get_store

logger = logging.getLogger(__name__)


def take_own_changes(*, connect: bool = False) -> list[str] | None:
    """The changes noted on this process's database connection since the last take (cleared);
    ``None`` when they cannot be read (the caller then treats everything as changed). Without
    ``connect``, a connection not open now (nothing used the database) has noted nothing."""
    if connection.connection is None and not connect:
        return []
    try:
        # inside a transaction (ATOMIC_REQUESTS, a test), a failure must not abort it
        with (
            transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext(),
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT pggit.take_changes()")
            noted = cursor.fetchone()[0]
    except DatabaseError as exc:
        logger.warning("cache: could not read this request's changes (%s); bumping all", exc)
        return None
    return [name for name in noted.split(",") if name]


def bump_for(changes: list[str] | None) -> list[str]:
    """Bump what ``changes`` make stale (every namespace for ``None``) in this process's store."""
    names = list(NAMESPACES) if changes is None else namespaces_for_changes(changes)
    if not names:
        return []
    try:
        get_store().bump(names)
    except RedisUnavailable:
        logger.info("cache: bump of %s deferred to Redis recovery", names)
    return names
