"""The engine-state version (sql/engine/cache/state_version.sql): read-your-writes for cached
answers about the engine's state, whatever channel the change came through.

The listener makes cached answers stale when it hears an outbox event, a few milliseconds after
the commit: too late for a DBA who runs DDL in psql and looks at once. So an answer of the
namespaces in ``ENGINE_STATE_NAMESPACES`` is tagged with the version read *before* it was
computed, and a lookup reads the current version (one round trip to PostgreSQL) and serves the
entry only if it is the same. The version moves at the commit of every transaction that appends
to the outbox, in commit order, so a tag n means "computed after every change up to n was
visible"; a newer change always makes the tag differ.

- ``current()``: through Django's connection (the ordinary path, in a view).
- ``current_async()``: through a connection of its own per event loop (the early hit path, on the
  event loop, no thread hop). Any error drops that connection and answers ``None`` (the caller
  takes the ordinary path); the next call connects again. Concurrent calls share reads, never one
  that was sent before they were made: calls made while a read is in flight wait for the next
  read, which starts when that one ends and answers all of them (one round trip per batch of
  hits instead of one per hit, each hit still answered with a version read after it arrived).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import psycopg
from django.db import connection, connections

logger = logging.getLogger(__name__)

ENGINE_STATE_NAMESPACES = frozenset({"status", "branches", "commits"})
QUERY = "SELECT pggit.state_version()"
# Django's own connection parameters that a plain psycopg connection does not take.
DJANGO_ONLY_PARAMETERS = ("cursor_factory", "context", "client_encoding")


def is_engine_state(names: tuple[str, ...]) -> bool:
    """Whether an entry of these namespaces is an answer about the engine's state."""
    return not ENGINE_STATE_NAMESPACES.isdisjoint(names)


def current() -> int:
    with connection.cursor() as cursor:
        cursor.execute(QUERY)
        return cursor.fetchone()[0]


def _connection_parameters() -> dict[str, Any]:
    parameters = connections["default"].get_connection_params()
    for name in DJANGO_ONLY_PARAMETERS:
        parameters.pop(name, None)
    return parameters


class _LoopConnection:
    """One autocommit connection for one event loop, opened on first use."""

    def __init__(self) -> None:
        self.connection: psycopg.AsyncConnection | None = None
        self.lock = asyncio.Lock()
        self.reads = 0  # queries sent (tests and benchmarks count them)
        # The next read's callers (a read not yet sent), and the task that sends reads.
        self._batch: asyncio.Future | None = None
        self._reader: asyncio.Task | None = None

    async def read(self) -> int | None:
        """The version, from a query sent after this call was made (see the module docstring)."""
        if self._batch is None:
            self._batch = asyncio.get_running_loop().create_future()
        batch = self._batch
        if self._reader is None:
            self._reader = asyncio.ensure_future(self._send_batches())
        return await asyncio.shield(batch)

    async def _send_batches(self) -> None:
        batch = None
        try:
            while self._batch is not None:
                batch, self._batch = self._batch, None  # later callers join the next batch
                value = await self._read_once()
                if not batch.done():
                    batch.set_result(value)
        finally:
            self._reader = None
            for waiting in (batch, self._batch):
                if waiting is not None and not waiting.done():
                    waiting.set_result(None)  # cancelled (the loop is closing): ordinary path
            self._batch = None

    async def _read_once(self) -> int | None:
        self.reads += 1
        try:
            if self.connection is None or self.connection.closed:
                async with self.lock:
                    if self.connection is None or self.connection.closed:
                        self.connection = await psycopg.AsyncConnection.connect(
                            **_connection_parameters(), autocommit=True
                        )
            cursor = await self.connection.execute(QUERY)
            row = await cursor.fetchone()
            return row[0]
        except (psycopg.Error, OSError) as exc:
            logger.warning("cache: reading the engine-state version failed (%s)", exc)
            await self.drop()
            return None

    async def drop(self) -> None:
        dropped, self.connection = self.connection, None
        if dropped is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await dropped.close()


_per_loop: dict[int, tuple[asyncio.AbstractEventLoop, _LoopConnection]] = {}


async def current_async() -> int | None:
    loop = asyncio.get_running_loop()
    found = _per_loop.get(id(loop))
    if found is None or found[0] is not loop:
        found = (loop, _LoopConnection())
        _per_loop[id(loop)] = found
    return await found[1].read()
