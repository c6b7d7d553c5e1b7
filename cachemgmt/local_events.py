"""Without Redis: each web process follows the outbox itself to keep its own generations current.

A separate listener process cannot reach another process's memory, so a process that serves cached
responses runs a daemon thread with its own ``LISTEN pggit_events, pggit_cache`` connection:
- an outbox event bumps the namespaces it maps to (``cachemgmt.namespaces``), at once;
- a ``pggit_cache`` notice (a change announced by the engine for rows without an outbox event,
  looked up in the same table; or ``cache_invalidate`` in another process) bumps what it makes
  stale, and the user-state generation when it says that users changed;
- on every (re)connect all namespaces and the user-state generation are bumped, since notices may
  have been missed.
Until the thread is connected (and while it reconnects) the store answers "cannot trust the cache"
and requests go to the database. The thread starts with the first cached read, not at import, so
management commands that never read through the cache open no extra connection.
"""

from __future__ import annotations

import atexit
import logging
import threading

from cachemgmt.constants import INVALIDATE_CHANNEL
from cachemgmt.namespaces import NAMESPACES, namespaces_for_changes
from cachemgmt.notices import PROCESS_TOKEN, notice_origin, parse_notice
from cachemgmt.store import CacheStore
from pggit_project.events import Event

logger = logging.getLogger(__name__)


class LocalFollower:
    def __init__(self, store: CacheStore) -> None:
        self.store = store
        self.stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        from pggit_project.listener import EventListener

        with self._lock:
            if self._thread is not None:
                return
            listener = EventListener(
                on_events=self.on_events,
                on_connected=self.on_connected,
                on_message=self.on_message,
                extra_channels=(INVALIDATE_CHANNEL,),
                leader=False,
                stop=self.stop,
                name="cache follower",
            )
            self.store.local_ready = listener.connected
            self._thread = threading.Thread(target=listener.run, name="cache-follower", daemon=True)
            self._thread.start()
            # told to stop when the interpreter exits, before exit handlers registered earlier
            # (the embedded server's) close its database under it
            atexit.register(self.stop.set)

    def on_events(self, events: list[Event]) -> None:
        names = namespaces_for_changes(event.type for event in events)
        self.store.bump(names)
        self.store.note_listener_position(events[-1].id)

    def on_connected(self) -> None:
        self.store.bump(list(NAMESPACES))
        self.store.bump_users()

    def on_message(self, channel: str, payload: str) -> None:
        if channel != INVALIDATE_CHANNEL or notice_origin(payload) == PROCESS_TOKEN:
            return
        names, users = parse_notice(payload)
        if names:
            self.store.bump(names)
        if users:
            self.store.bump_users()


def attach_local_follower(store: CacheStore) -> None:
    """Give ``store`` a follower that starts with its first generation lookup."""
    follower = LocalFollower(store)
    store.start_follower = follower.start
    store.stop_follower = follower.stop.set
