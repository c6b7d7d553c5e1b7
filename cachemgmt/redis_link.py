"""The cache's link to Redis: failures make it step aside for a moment instead of failing requests.

When a Redis command fails, the link is *down* for ``REDIS_RETRY_SECONDS``: callers get ``None``
from ``client()`` without trying (no connect timeout per request) and answer from the database. The
failure is logged once per ``REDIS_ERROR_LOG_SECONDS`` with the number of failures since, never per
request. The first success after a failure calls ``on_recovery`` (the store then bumps every
namespace: a write made while Redis was unreachable could not bump its namespaces).

``get`` (a ``GET`` read on every authenticated request: the user-state generation) runs on a
connection this thread keeps for it, used directly: no check-out from redis-py's pool (its lock
and its poll of the socket) and none of the client's per-command wrappers — the same command and
reply, the same socket timeouts. A kept connection that was already open and fails with a
connection error (Redis restarted, the socket closed) is replaced once and the command sent again,
as the pool reconnects a closed connection at check-out; any other failure, or a second one, is a
failure of the link as for ``call`` (``RedisUnavailable``: the caller reads the database). Timeouts
are never retried (redis-py's client does not retry them either with the cache's settings).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from cachemgmt.constants import REDIS_ERROR_LOG_SECONDS, REDIS_RETRY_SECONDS

logger = logging.getLogger(__name__)
T = TypeVar("T")


class RedisUnavailable(Exception):
    """Redis could not be used just now; the caller falls back to the database."""


class RedisLink:
    def __init__(self, get_client: Callable[[], Any]) -> None:
        self._get_client = get_client
        self._client: Any = None  # kept once obtained: looking it up costs more than a hit
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._down_since: float | None = None
        self._last_logged = 0.0
        self._failures_since_log = 0
        self.on_recovery: Callable[[Any], None] | None = None
        self.last_error: str | None = None
        # this thread's kept connection for ``get``: (pool, process id, connection, packed commands)
        self._kept = threading.local()

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def call(self, operation: Callable[[Any], T]) -> T:
        """Run ``operation(client)``; raise ``RedisUnavailable`` if Redis is down or fails."""
        if not self.available:
            raise RedisUnavailable
        try:
            client = self._client
            if client is None:
                client = self._client = self._get_client()
            if self._down_since is not None:
                # Recover before the operation: generations read now must already be bumped.
                self._recover(client)
            return operation(client)
        except RedisError as exc:
            self._client = None
            self._failed(exc)
            raise RedisUnavailable from None

    def get(self, key: str) -> Any:
        """``GET key`` on this thread's kept connection (module docstring); ``RedisUnavailable``
        as for ``call``."""
        return self.call(lambda client: self._kept_get(client, key))

    def pipeline(self, *commands: tuple) -> list[Any]:
        """The commands sent at once on this thread's kept connection (as for ``get``), their
        replies in order: what a non-transactional redis-py pipeline sends and answers, without
        its pool check-out and pipeline objects. An error reply is raised (a ``RedisError``: the
        link fails as for ``call``); ``RedisUnavailable`` as for ``call``."""
        return self.call(lambda client: self._kept_pipeline(client, commands))

    def _kept_connection(self, client: Any) -> tuple[Any, dict] | None:
        """This thread's kept connection to ``client``'s pool and its packed commands; None when
        the client's own path must answer (client-side caching answers from the pool's
        connections)."""
        pool = client.connection_pool
        kept = getattr(self._kept, "connection", None)
        if kept is None or kept[0] is not pool or kept[1] != os.getpid():
            if getattr(pool, "cache", None) is not None:
                return None
            kept = (pool, os.getpid(), pool.connection_class(**pool.connection_kwargs), {})
            self._kept.connection = kept
        return kept[2], kept[3]

    def _kept_get(self, client: Any, key: str) -> Any:
        kept = self._kept_connection(client)
        if kept is None:
            return client.get(key)
        connection, packed = kept
        command = packed.get(key)
        if command is None:
            command = packed[key] = connection.pack_command("GET", key)
        return _exchange(connection, command, 1)[0]

    def _kept_pipeline(self, client: Any, commands: tuple[tuple, ...]) -> list[Any]:
        kept = self._kept_connection(client)
        if kept is None:
            pipe = client.pipeline(transaction=False)
            for command in commands:
                pipe.execute_command(*command)
            return pipe.execute()
        connection = kept[0]
        return _exchange(connection, connection.pack_commands(commands), len(commands))

    def _failed(self, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self._down_until = now + REDIS_RETRY_SECONDS
            if self._down_since is None:
                self._down_since = now
            self.last_error = type(exc).__name__
            self._failures_since_log += 1
            if now - self._last_logged < REDIS_ERROR_LOG_SECONDS and self._last_logged:
                return
            count, self._failures_since_log = self._failures_since_log, 0
            self._last_logged = now
        logger.error(
            "cache: Redis is unreachable (%s; %s failure(s) since the last report); answering "
            "from the database, next report in %.0fs at the earliest",
            type(exc).__name__,
            count,
            REDIS_ERROR_LOG_SECONDS,
        )

    def _recover(self, client: Any) -> None:
        if self.on_recovery is not None:
            self.on_recovery(client)
        with self._lock:
            if self._down_since is None:
                return
            outage = time.monotonic() - self._down_since
            self._down_since = None
            self.last_error = None
        logger.warning("cache: Redis is reachable again after %.1fs", outage)


def _send_and_read(connection: Any, command: list[bytes], replies: int) -> list[Any]:
    connection.send_packed_command(command, check_health=False)
    return [connection.read_response() for _ in range(replies)]


def _exchange(connection: Any, command: list[bytes], replies: int) -> list[Any]:
    """``command`` (packed) sent on a kept connection and its ``replies`` read; a connection that
    was open and fails with a connection error is replaced once (module docstring)."""
    was_open = connection.is_connected
    try:
        return _send_and_read(connection, command, replies)
    except RedisConnectionError:
        connection.disconnect()
        if not was_open:
            raise
    except BaseException:
        connection.disconnect()
        raise
    # the kept socket had been closed (a Redis restart): once more, on a new connection
    try:
        return _send_and_read(connection, command, replies)
    except BaseException:
        connection.disconnect()
        raise
