"""Following the outbox: LISTEN ``pggit_events``, read each announced event, catch up after gaps.

``EventListener`` is used twice:
- by ``manage.py pggit_listen`` as the *leader*: one process per database holds the advisory lock
  ``LEADER_LOCK`` and dispatches events to the registered handlers (``pggit_project.events``); other
  copies stand by and take over when the leader's session ends;
- inside a web process without Redis (``cachemgmt.local_events``), to keep that process's own cache
  generations current.

While connected, every committed event arrives as a notification carrying its id, and exactly those
ids are read. After a (re)connect, notifications sent meanwhile are lost, so the listener catches up
from the outbox: ids above the last one seen, plus any event whose transaction was still running at
the last read (ids are drawn at insert but become visible at commit, so a late commit can sit below
the last seen id; ``txid`` tells them apart). Handlers are also told to ``resync`` then.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import psycopg
from django.db import connections
from psycopg import sql

from pggit_project.events import EVENTS_CHANNEL, Event

logger = logging.getLogger(__name__)

# pg_try_advisory_lock(classid, objid) held by the active listener; visible in pg_locks.
LEADER_LOCK = (7067, 1)
STANDBY_POLL_SECONDS = 2.0
WAIT_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 10.0
# How far below the last seen id a catch-up looks for late-committing transactions.
CATCH_UP_WINDOW = 10_000
RECENT_IDS_KEPT = 10_000
NO_HORIZON = 2**63 - 1  # a transaction id no transaction has: the catch-up looks only above

FETCH_BY_ID = """
SELECT e.id, e.type, e.occurred_at, e.data, e.txid::text::bigint
  FROM pggit.events e WHERE e.id = ANY(%(ids)s) ORDER BY e.id
"""
CATCH_UP = """
SELECT e.id, e.type, e.occurred_at, e.data, e.txid::text::bigint
  FROM pggit.events e
 WHERE e.id > %(last)s
    OR (e.id > %(last)s - %(window)s AND e.txid >= %(horizon)s::text::xid8)
 ORDER BY e.id
"""
HORIZON = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
POSITION = """
SELECT coalesce((SELECT max(id) FROM pggit.events), 0),
       pg_snapshot_xmin(pg_current_snapshot())::text::bigint
"""
HOLDS_LEADER_LOCK = """
SELECT EXISTS (SELECT 1 FROM pg_locks
                WHERE locktype = 'advisory' AND granted AND database = (
                      SELECT oid FROM pg_database WHERE datname = current_database())
                  AND classid = %s AND objid = %s AND objsubid = 2)
"""


def connect(alias: str = "default") -> psycopg.Connection:
    """A dedicated autocommit connection with the same parameters as Django's ``alias``."""
    params = connections[alias].get_connection_params()
    return psycopg.connect(**params, autocommit=True)


def leader_is_active(cursor) -> bool:
    """Whether some session holds the listener's leader lock on this database."""
    cursor.execute(HOLDS_LEADER_LOCK, LEADER_LOCK)
    return bool(cursor.fetchone()[0])


class EventListener:
    """Follows the outbox until ``stop`` is set; see the module docstring."""

    def __init__(
        self,
        *,
        on_events: Callable[[list[Event]], None],
        on_connected: Callable[[], None],
        on_message: Callable[[str, str], None] | None = None,
        extra_channels: tuple[str, ...] = (),
        leader: bool,
        stop: threading.Event,
        name: str = "event listener",
        start_after: Callable[[int], int | None] | None = None,
    ) -> None:
        self.on_events = on_events
        self.on_connected = on_connected
        self.on_message = on_message
        self.channels = (EVENTS_CHANNEL, *extra_channels)
        self.leader = leader
        self.stop = stop
        self.name = name
        # At the first start: given the newest event id, the id to resume after (e.g. the last
        # event a previous leader forwarded), or None to start after the newest.
        self.start_after = start_after
        self.last_id: int | None = None
        self.horizon = 0
        self.connected = threading.Event()
        self._recent: deque[int] = deque(maxlen=RECENT_IDS_KEPT)
        self._recent_set: set[int] = set()

    def run(self) -> None:
        backoff = 0.5
        while not self.stop.is_set():
            try:
                with connect() as conn:
                    backoff = 0.5
                    if self.leader and not self._become_leader(conn):
                        return
                    self._start(conn)
                    self._follow(conn)
            except psycopg.Error as exc:
                if self.stop.is_set():
                    break  # stopping: the server closing the connection is expected, not news
                logger.warning(
                    "%s lost its database connection (%s); retrying in %.1fs",
                    self.name,
                    type(exc).__name__,
                    backoff,
                )
            finally:
                self.connected.clear()
            self.stop.wait(backoff)
            backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)

    def _become_leader(self, conn: psycopg.Connection) -> bool:
        announced = False
        while not self.stop.is_set():
            if conn.execute("SELECT pg_try_advisory_lock(%s, %s)", LEADER_LOCK).fetchone()[0]:
                logger.info("%s is the active listener of this database", self.name)
                return True
            if not announced:
                logger.info("%s stands by: another listener is active", self.name)
                announced = True
            self.stop.wait(STANDBY_POLL_SECONDS)
        return False

    def _start(self, conn: psycopg.Connection) -> None:
        for channel in self.channels:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        catch_up = self.last_id is not None
        if self.last_id is None:
            newest, self.horizon = conn.execute(POSITION).fetchone()
            resume = self.start_after(newest) if self.start_after else None
            if resume is None or resume >= newest:
                self.last_id = newest
                logger.info("%s starts after event %s", self.name, self.last_id)
            else:
                # Events committed while no listener was active are caught up as after a
                # reconnect, strictly after ``resume``: which of the predecessor's reads missed a
                # late commit below it is not known here (no horizon to look below it).
                self.last_id = resume
                self.horizon = NO_HORIZON
                catch_up = True
                logger.info("%s resumes after event %s", self.name, resume)
        if catch_up:
            params = {"last": self.last_id, "window": CATCH_UP_WINDOW, "horizon": self.horizon}
            # Read before the events: every transaction older than it had finished by the read.
            horizon = conn.execute(HORIZON).fetchone()[0]
            missed = self._fresh(conn.execute(CATCH_UP, params).fetchall())
            logger.info(
                "%s caught up %s event(s) after event %s", self.name, len(missed), self.last_id
            )
            self._deliver(missed, horizon)
        self.on_connected()
        self.connected.set()

    def _follow(self, conn: psycopg.Connection) -> None:
        while not self.stop.is_set():
            notes = list(conn.notifies(timeout=WAIT_SECONDS, stop_after=1))
            if notes:
                notes += list(conn.notifies(timeout=0))
            ids: list[int] = []
            for note in notes:
                if note.channel == EVENTS_CHANNEL:
                    if note.payload.isascii() and note.payload.isdigit():
                        ids.append(int(note.payload))
                elif self.on_message is not None:
                    self.on_message(note.channel, note.payload)
            if ids:
                # The horizon stays at the last catch-up's: a notification still queued when the
                # connection drops is then found again by the next catch-up (deduplicated).
                rows = conn.execute(FETCH_BY_ID, {"ids": ids}).fetchall()
                self._deliver(self._fresh(rows), self.horizon)

    def _fresh(self, rows: list[tuple[Any, ...]]) -> list[Event]:
        events = []
        for event_id, event_type, occurred_at, data, _txid in rows:
            if event_id in self._recent_set:
                continue
            if len(self._recent) == self._recent.maxlen:
                self._recent_set.discard(self._recent[0])
            self._recent.append(event_id)
            self._recent_set.add(event_id)
            events.append(Event(id=event_id, type=event_type, occurred_at=occurred_at, data=data))
        return events

    def _deliver(self, events: list[Event], horizon: int) -> None:
        self.horizon = horizon
        if not events:
            return
        self.last_id = max(self.last_id or 0, events[-1].id)
        self.on_events(events)
