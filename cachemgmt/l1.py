"""The in-process level (L1): a bounded, thread-safe LRU map whose entries expire individually."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """A stored response: status, headers and body bytes, valid until ``expires_at`` (epoch s).

    ``state``: for an answer about the engine's state, the engine-state version read before it
    was computed (``cachemgmt.state_version``); it is served only while that is still current.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    expires_at: float
    state: int | None = None

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers)

    def ttl_left(self, now: float | None = None) -> float:
        return self.expires_at - (time.time() if now is None else now)


class LocalLRU:
    """At most ``max_entries`` entries and ``max_bytes`` bytes; least recently used go first.

    Expiry uses each entry's own deadline (wall clock, so an entry copied from Redis keeps the
    deadline Redis has for it). Expired entries are dropped when met and when making room.
    """

    def __init__(self, *, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.ttl_left() <= 0:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry

    def set(self, key: str, entry: Entry) -> None:
        if entry.size > self.max_bytes or entry.ttl_left() <= 0:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = entry
            self._bytes += entry.size
            self._make_room()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def stats(self, namespace_of) -> dict:
        """Live entries and bytes, in total and per namespace (``namespace_of(key)``)."""
        now = time.time()
        with self._lock:
            for key in [k for k, e in self._entries.items() if e.expires_at <= now]:
                self._drop(key)
            per_namespace: dict[str, int] = {}
            for key in self._entries:
                name = namespace_of(key)
                per_namespace[name] = per_namespace.get(name, 0) + 1
            return {
                "entries": len(self._entries),
                "bytes": self._bytes,
                "max_entries": self.max_entries,
                "max_bytes": self.max_bytes,
                "evictions": self.evictions,
                "per_namespace": per_namespace,
            }

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key)
        self._bytes -= entry.size

    def _make_room(self) -> None:
        now = time.time()
        if len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            for key in [k for k, e in self._entries.items() if e.expires_at <= now]:
                self._drop(key)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.size
            self.evictions += 1
