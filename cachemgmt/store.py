"""The two levels and their bookkeeping: generations, entries, counters.

- Redis configured (``CACHES['default']`` is django-redis): generations, L2 entries, per-namespace
  entry indexes and the hit/miss counters live in Redis, so every process sees the same ones. Each
  process keeps an L1 copy of entries; L1 keys embed the generations too, so an L1 entry can only
  be served while its generations are still current in Redis.
- No Redis: generations and counters live in this process, L1 is the only level, and the process
  follows the outbox itself (``cachemgmt.local_events``) to learn of writes made elsewhere.

``generations()`` returning ``None`` means "the cache cannot be trusted right now" (Redis down, or
this process not yet following the outbox): the caller answers from the database.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from cachemgmt.constants import ENTRY_FORMAT_VERSION, KEY_PREFIX, L1_MAX_BYTES, L1_MAX_ENTRIES
from cachemgmt.l1 import Entry, LocalLRU
from cachemgmt.namespaces import NAMESPACES
from cachemgmt.redis_link import RedisLink, RedisUnavailable


class Keys:
    """Redis/L1 key layout under ``<KEY_PREFIX><database>:`` — one keyspace per database, so two
    deployments (or the test suite and its live servers) sharing a Redis never read each other's."""

    def __init__(self, database: str) -> None:
        self.prefix = f"{KEY_PREFIX}{database}:"
        self.stats = f"{self.prefix}stats"
        self.listener = f"{self.prefix}listener"
        # The user-state generation: bumped whenever a user is saved or deleted, however (see
        # ``cachemgmt.hitpath``); the early hit path checks it with the namespaces' generations.
        self.users = f"{self.prefix}usergen"

    def gen(self, namespace: str) -> str:
        return f"{self.prefix}gen:{namespace}"

    def index(self, namespace: str) -> str:
        return f"{self.prefix}idx:{namespace}"

    def entry(self, namespace: str, generations: tuple[int, ...], digest: str) -> str:
        gens = ".".join(str(g) for g in generations)
        return f"{self.prefix}e{ENTRY_FORMAT_VERSION}:{namespace}:{gens}:{digest}"

    def namespace_of(self, key: str) -> str:
        return key[len(self.prefix) :].split(":", 2)[1]


def fresh_generation() -> int:
    """A starting generation never used before, even if Redis lost its data (microseconds)."""
    return time.time_ns() // 1000


def encode_entry(entry: Entry) -> bytes:
    head = {"s": entry.status, "h": list(entry.headers), "x": entry.expires_at, "v": entry.state}
    return json.dumps(head, separators=(",", ":")).encode() + b"\n" + entry.body


def decode_entry(blob: bytes) -> Entry:
    head, _, body = blob.partition(b"\n")
    meta = json.loads(head)
    headers = tuple((str(k), str(v)) for k, v in meta["h"])
    state = meta.get("v")
    return Entry(
        status=int(meta["s"]),
        headers=headers,
        body=body,
        expires_at=float(meta["x"]),
        state=None if state is None else int(state),
    )


# One round trip for an L1 hit: confirm that the generations the L1 key embeds are still the
# current ones and, only if so, count the hit. KEYS: the generation keys, then the stats hash.
# ARGV: the expected generations (one per generation key), then the counter fields. Answers 1
# (confirmed and counted) or the current generations (nothing counted).
CONFIRM_HIT_SCRIPT = """
local n = #KEYS - 1
local current = redis.call('MGET', unpack(KEYS, 1, n))
for i = 1, n do
  if current[i] ~= ARGV[i] then return current end
end
for i = n + 1, #ARGV do
  redis.call('HINCRBY', KEYS[n + 1], ARGV[i], 1)
end
return 1
"""


def counter_fields(namespace: str, outcome: str) -> list[str]:
    """The stats fields one lookup increments (``hit-l1``, ``hit-l2`` or ``miss``)."""
    kind = "misses" if outcome == "miss" else "hits"
    fields = [kind, f"ns:{namespace}:{kind}"]
    if kind == "hits":
        fields.append(f"hits_{outcome[-2:]}")
    return fields


class CacheStore:
    """See the module docstring. One instance per process (``cachemgmt.runtime.get_store``)."""

    def __init__(self, redis: RedisLink | None, *, database: str) -> None:
        self.redis = redis
        self.keys = Keys(database)
        self.l1 = LocalLRU(max_entries=L1_MAX_ENTRIES, max_bytes=L1_MAX_BYTES)
        self._lock = threading.Lock()
        self._local_gens: dict[str, int] = {}
        self._local_user_gen = fresh_generation()
        self._local_counts: Counter[str] = Counter()
        # Generations last read from Redis, per tuple of names: the L1 key an L1 hit is tried with.
        self._known_gens: dict[tuple[str, ...], tuple[int, ...]] = {}
        self._confirm_script: Any = None
        self.bypassed = 0
        self.local_last_event_id: int | None = None
        self.local_ready = threading.Event()
        # Local mode: starts the outbox follower that sets ``local_ready`` (cachemgmt.local_events).
        self.start_follower: Callable[[], None] | None = None
        self.stop_follower: Callable[[], None] | None = None
        if redis is not None:
            redis.on_recovery = self._bump_all_in

    @property
    def mode(self) -> str:
        return "redis" if self.redis is not None else "local"

    # --- generations --------------------------------------------------------------------------
    def generations(self, names: tuple[str, ...]) -> tuple[int, ...] | None:
        if self.redis is None:
            if self.start_follower is not None:
                self.start_follower()
            if not self.local_ready.is_set():
                return None
            with self._lock:
                return tuple(self._local_gens.setdefault(n, fresh_generation()) for n in names)
        try:
            return self.redis.call(lambda client: self._read_gens(client, names))
        except RedisUnavailable:
            return None

    def _read_gens(self, client: Any, names: tuple[str, ...]) -> tuple[int, ...]:
        values = client.mget([self.keys.gen(n) for n in names])
        if any(v is None for v in values):
            pipe = client.pipeline(transaction=False)
            for name, value in zip(names, values, strict=True):
                if value is None:
                    pipe.set(self.keys.gen(name), fresh_generation(), nx=True)
            pipe.execute()
            values = client.mget([self.keys.gen(n) for n in names])
        generations = tuple(int(v) for v in values)
        self._known_gens[names] = generations
        return generations

    def bump(self, names: list[str]) -> None:
        """Make every entry of ``names`` unreachable (raises ``RedisUnavailable`` in Redis mode).
        No names: nothing to do, and Redis is not asked."""
        if not names:
            return
        if self.redis is None:
            with self._lock:
                for name in names:
                    self._local_gens[name] = self._local_gens.get(name, fresh_generation()) + 1
            return
        # on the thread's kept connection (RedisLink.pipeline): the commands _bump_in sends
        commands = []
        for name in names:
            key = self.keys.gen(name)
            commands += [("SET", key, fresh_generation(), "NX"), ("INCRBY", key, 1)]
        self.redis.pipeline(*commands)

    def _bump_in(self, client: Any, names: list[str]) -> None:
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.set(self.keys.gen(name), fresh_generation(), nx=True)
            pipe.incr(self.keys.gen(name))
        pipe.execute()

    def _bump_all_in(self, client: Any) -> None:
        self._bump_in(client, list(NAMESPACES))
        self._bump_users_in(client)

    # --- the user-state generation ------------------------------------------------------------
    def user_generation(self) -> int | None:
        """The current user-state generation (``None``: Redis unreachable just now)."""
        if self.redis is None:
            with self._lock:
                return self._local_user_gen

        def start(client: Any) -> Any:
            client.set(self.keys.users, fresh_generation(), nx=True)
            return client.get(self.keys.users)

        try:
            # every authenticated request reads it: on the thread's kept connection (RedisLink.get)
            value = self.redis.get(self.keys.users)
            if value is None:
                value = self.redis.call(start)
            return int(value)
        except RedisUnavailable:
            return None

    def bump_users(self) -> None:
        """Some user changed: every process's remembered user states are stale (raises
        ``RedisUnavailable`` in Redis mode; the recovery bump then covers it)."""
        if self.redis is None:
            with self._lock:
                self._local_user_gen += 1
            return
        self.redis.call(self._bump_users_in)

    def _bump_users_in(self, client: Any) -> None:
        pipe = client.pipeline(transaction=False)
        pipe.set(self.keys.users, fresh_generation(), nx=True)
        pipe.incr(self.keys.users)
        pipe.execute()

    # --- entries ------------------------------------------------------------------------------
    def l1_hit(
        self,
        namespace: str,
        names: tuple[str, ...],
        digest: str,
        *,
        user_generation: int | None = None,
        on_user_change: Callable[[], None] | None = None,
        state: int | None = None,
    ) -> tuple[Entry, str] | None:
        """An L1 hit confirmed current and counted in at most one Redis round trip, or ``None``.

        ``names`` are the entry's namespaces (``namespace`` first). The L1 key is built from the
        generations last read for ``names``; Redis then checks, atomically with counting the hit,
        that they are still the current ones. ``None`` (nothing counted): no such L1 entry, the
        generations moved on, or the cache is unusable — the caller takes the ordinary path.

        ``user_generation``: the user-state generation the caller's knowledge of the user was read
        under; it is checked in the same round trip (and ``on_user_change`` called if it moved).

        ``state``: for an engine-state answer, the engine-state version just read; an entry
        tagged with another one is not served (nor counted).
        """
        if self.redis is None:
            generations = self.generations(names)
            if generations is None:
                return None
            if user_generation is not None and user_generation != self.user_generation():
                if on_user_change is not None:
                    on_user_change()
                return None
            key = self.keys.entry(namespace, generations, digest)
            entry = self.l1.get(key)
            if entry is None or entry.state != state:
                return None
            self.record(namespace, "hit-l1")
            return entry, key
        generations = self._known_gens.get(names)
        if generations is None:
            return None
        key = self.keys.entry(namespace, generations, digest)
        entry = self.l1.get(key)
        if entry is None or entry.state != state:
            return None
        gen_keys = [self.keys.gen(n) for n in names]
        expected: list[int] = list(generations)
        if user_generation is not None:
            gen_keys.append(self.keys.users)
            expected.append(user_generation)
        fields = counter_fields(namespace, "hit-l1")

        def confirm(client: Any) -> Any:
            if self._confirm_script is None:
                self._confirm_script = client.register_script(CONFIRM_HIT_SCRIPT)
            return self._confirm_script(
                keys=[*gen_keys, self.keys.stats], args=[*expected, *fields], client=client
            )

        try:
            answer = self.redis.call(confirm)
        except RedisUnavailable:
            return None
        if answer == 1:
            return entry, key
        if not isinstance(answer, list):
            return None
        current = answer[: len(names)]
        if all(value is not None for value in current):
            self._known_gens[names] = tuple(int(value) for value in current)
        moved = user_generation is not None and answer[-1] != str(user_generation).encode()
        if moved and on_user_change is not None:
            on_user_change()
        return None

    def lookup(self, key: str, *, state: int | None = None) -> tuple[Entry, str] | None:
        """The entry under ``key`` from L1, else L2 (``state``: as for ``l1_hit``)."""
        entry = self.l1.get(key)
        if entry is not None:
            return (entry, "l1") if entry.state == state else None
        if self.redis is None:
            return None
        try:
            blob = self.redis.call(lambda client: client.get(key))
        except RedisUnavailable:
            return None
        if blob is None:
            return None
        entry = decode_entry(blob)
        if entry.ttl_left() <= 0 or entry.state != state:
            return None
        self.l1.set(key, entry)
        return entry, "l2"

    def save(self, key: str, entry: Entry) -> None:
        self.l1.set(key, entry)
        if self.redis is None:
            return
        ttl_ms = max(1, int(entry.ttl_left() * 1000))
        namespace = self.keys.namespace_of(key)

        def write(client: Any) -> None:
            pipe = client.pipeline(transaction=False)
            pipe.set(key, encode_entry(entry), px=ttl_ms)
            pipe.zadd(self.keys.index(namespace), {key: entry.expires_at})
            # The index is trimmed of expired entries here, where it grows, so that reading
            # the stats (``stats_snapshot``) writes nothing.
            pipe.zremrangebyscore(self.keys.index(namespace), "-inf", time.time())
            pipe.execute()

        # On failure the entry stays in L1, served only while Redis confirms its generations.
        with contextlib.suppress(RedisUnavailable):
            self.redis.call(write)

    # --- counters -----------------------------------------------------------------------------
    def record(self, namespace: str, outcome: str) -> None:
        """Count one lookup: ``hit-l1``, ``hit-l2``, ``miss`` or ``bypass``."""
        if outcome == "bypass":
            with self._lock:
                self.bypassed += 1
            return
        fields = counter_fields(namespace, outcome)
        if self.redis is None:
            with self._lock:
                self._local_counts.update(fields)
            return

        def count(client: Any) -> None:
            pipe = client.pipeline(transaction=False)
            for field in fields:
                pipe.hincrby(self.keys.stats, field, 1)
            pipe.execute()

        try:
            self.redis.call(count)
        except RedisUnavailable:
            with self._lock:
                self.bypassed += 1

    def counters(self) -> dict[str, int]:
        if self.redis is None:
            with self._lock:
                return dict(self._local_counts)
        raw = self.redis.call(lambda client: client.hgetall(self.keys.stats))
        return {k.decode(): int(v) for k, v in raw.items()}

    def stats_snapshot(self) -> tuple[dict[str, int], dict[str, int], dict[str, int], int | None]:
        """Counters, live L2 entries per namespace (none without Redis), generations and the
        listener position, read in one Redis round trip and writing nothing: monitoring polls
        ``GET /api/v1/cache/stats``. An L2 entry is live while its index score (its expiry) is
        in the future."""
        if self.redis is None:
            return self.counters(), {}, self.current_generations(), self.listener_position()
        names = tuple(NAMESPACES)
        now = time.time()

        def read(client: Any) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            pipe.hgetall(self.keys.stats)
            for name in names:
                pipe.zcount(self.keys.index(name), f"({now}", "+inf")
            pipe.mget([self.keys.gen(name) for name in names])
            pipe.hget(self.keys.listener, "last_event_id")
            return pipe.execute()

        raw = self.redis.call(read)
        counters = {k.decode(): int(v) for k, v in raw[0].items()}
        sizes = dict(zip(names, raw[1 : 1 + len(names)], strict=True))
        generations = {
            name: int(value) if value is not None else 0
            for name, value in zip(names, raw[1 + len(names)], strict=True)
        }
        position = raw[-1]
        return counters, sizes, generations, int(position) if position is not None else None

    def current_generations(self) -> dict[str, int]:
        names = tuple(NAMESPACES)
        if self.redis is None:
            with self._lock:
                return {n: self._local_gens.get(n, 0) for n in names}
        values = self.redis.call(lambda client: client.mget([self.keys.gen(n) for n in names]))
        return {n: int(v) if v is not None else 0 for n, v in zip(names, values, strict=True)}

    # --- listener position --------------------------------------------------------------------
    def note_listener_position(self, event_id: int) -> None:
        if self.redis is None:
            self.local_last_event_id = event_id
            return
        self.redis.call(
            lambda client: client.hset(
                self.keys.listener, mapping={"last_event_id": event_id, "at": f"{time.time():.3f}"}
            )
        )

    def listener_position(self) -> int | None:
        if self.redis is None:
            return self.local_last_event_id
        value = self.redis.call(lambda client: client.hget(self.keys.listener, "last_event_id"))
        return int(value) if value is not None else None
