"""How a read endpoint opts into the cache: ``@cached_response`` or ``CachedViewSetMixin``.

A hit answers with the stored bytes and headers of an earlier response: no database query, no
serializer. Keys embed the generations of the endpoint's namespaces, so a bump (a change through
``cachemgmt.changes``, or ``cache_invalidate``) makes every earlier entry unreachable.
Authentication, permissions and throttling run before the lookup (the decorator wraps the handler
method, which DRF calls after them). Only ``200`` answers to ``GET``/``HEAD`` are
stored. An answer about the engine's state (``cachemgmt.state_version``) is served only while the
engine-state version it was computed under is current. ``X-Cache`` says what happened:
``hit-l1``, ``hit-l2``, ``miss`` or ``bypass`` (the cache
was unusable just now; the database answered).
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpResponse

from cachemgmt import state_version
from cachemgmt.constants import BYPASS, CACHE_STATUS_HEADER, HIT_L1, MISS, UNSTORED_HEADERS
from cachemgmt.l1 import Entry
from cachemgmt.namespaces import NAMESPACES
from cachemgmt.runtime import get_store
from pggit_project.permissions import sees_sensitive

CACHEABLE_METHODS = ("GET", "HEAD")
# How long a miss waits for the same answer being computed by another request of this process
# (single flight) before computing it itself: WAIT_FACTOR times as long as the endpoint's last
# computation took (its leader's), at least SINGLE_FLIGHT_MIN_WAIT_SECONDS, at most
# SINGLE_FLIGHT_WAIT_SECONDS (also the wait before any computation of it was timed). A waiter
# holds one of the pool's threads while it waits.
SINGLE_FLIGHT_WAIT_SECONDS = 10.0
SINGLE_FLIGHT_MIN_WAIT_SECONDS = 0.2
SINGLE_FLIGHT_WAIT_FACTOR = 3.0


def waiting_time(last_computation: float | None) -> float:
    """How long a waiter waits for a flight, given the endpoint's last computation time."""
    if last_computation is None:
        return SINGLE_FLIGHT_WAIT_SECONDS
    return min(
        SINGLE_FLIGHT_WAIT_SECONDS,
        max(SINGLE_FLIGHT_MIN_WAIT_SECONDS, SINGLE_FLIGHT_WAIT_FACTOR * last_computation),
    )


class Flight:
    """One answer being computed: the requests that miss the same key under the same engine-state
    version meanwhile wait for it instead of computing it too."""

    __slots__ = ("done", "entry", "key", "waiters")

    def __init__(self, key: tuple[str, int | None]) -> None:
        self.key = key
        self.done = threading.Event()
        self.entry: Entry | None = None
        self.waiters = 0  # requests that joined it (read by the tests)

    def wait(self, seconds: float) -> Entry | None:
        """The entry computed, or ``None`` (the computation failed, was not a 200, or is late)."""
        self.done.wait(seconds)
        return self.entry


class Flights:
    """Single flight of the misses of this process (a cache stampede at an entry's expiry, e.g.
    ``GET /api/v1/status`` every 5 s, computed once, not once per concurrent request).

    A flight is keyed by the entry key (which embeds the namespaces' generations, read when the
    request arrived) and the engine-state version read when the request arrived, so a request
    joins only a computation that started under the very same generations and version: one that
    arrives after a write (a bumped generation or version) never receives an answer computed
    before it. The flight ends when the leader's answer is stored (or fails); later misses start
    a new one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[tuple[str, int | None], Flight] = {}

    def join(self, key: tuple[str, int | None]) -> tuple[Flight, bool]:
        """(the flight for ``key``, whether this request leads it: computes the answer)."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None:
                flight.waiters += 1
                return flight, False
            flight = self._flights[key] = Flight(key)
            return flight, True

    def current(self, key: tuple[str, int | None]) -> Flight | None:
        with self._lock:
            return self._flights.get(key)

    def finish(self, flight: Flight, entry: Entry | None) -> None:
        with self._lock:
            if flight.done.is_set():
                return
            if self._flights.get(flight.key) is flight:
                del self._flights[flight.key]
            flight.entry = entry
            flight.done.set()


FLIGHTS = Flights()


def request_digest(request, *, vary_on_user: bool) -> str:
    """What makes two requests share an entry: path (no trailing slash), sorted query, format,
    and who may see the answer (``audience_of``)."""
    renderer = getattr(request, "accepted_renderer", None)
    return digest_of(
        request.path,
        request.GET,
        getattr(renderer, "media_type", ""),
        audience_of(
            str(request.user.pk),
            vary_on_user=vary_on_user,
            sensitive=sees_sensitive(request.user),
        ),
    )


def audience_of(user_id: str, *, vary_on_user: bool, sensitive: bool) -> str:
    """The user's id for answers that differ by user; otherwise whether the answer shows the
    secrets only ``pggit_project.view_sensitive`` may see (webhook URL paths...): users with
    and without it never share an entry."""
    if vary_on_user:
        return user_id
    return "*+sensitive" if sensitive else "*"


def digest_of(path: str, query, media_type: str, user: str) -> str:
    """``request_digest`` from its parts (``query``: a ``QueryDict``); the early hit path
    (``cachemgmt.hitpath``) computes it before any view runs."""
    query_text = "&".join(f"{k}={v}" for k, v in sorted(query.lists()))
    raw = f"{path.rstrip('/')}?{query_text}|{media_type}|{user}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _entry_from(response, ttl: int, state: int | None = None) -> Entry:
    headers = tuple(
        (name, value)
        for name, value in response.headers.items()
        if name.lower() not in UNSTORED_HEADERS
    )
    return Entry(
        status=response.status_code,
        headers=headers,
        body=bytes(response.content),
        expires_at=time.time() + ttl,
        state=state,
    )


def response_from(entry: Entry, outcome: str) -> HttpResponse:
    response = HttpResponse(entry.body, status=entry.status)
    for name, value in entry.headers:
        response[name] = value
    response[CACHE_STATUS_HEADER] = outcome
    return response


def _check_namespaces(names: tuple[str, ...]) -> None:
    unknown = [name for name in names if name not in NAMESPACES]
    if unknown:
        raise ImproperlyConfigured(
            f"unknown cache namespace(s) {unknown}; declare them in cachemgmt.namespaces.NAMESPACES"
        )


def cached_response(
    *,
    namespace: str,
    ttl: int | None = None,
    depends_on: tuple[str, ...] = (),
    vary_on_user: bool = False,
) -> Callable:
    """Cache a view handler method's ``200`` answers for ``ttl`` seconds in ``namespace``.

    ``depends_on`` names more namespaces whose bumps must also make the entry stale (a dashboard
    summarising alerts and commits). ``vary_on_user`` keeps one entry per user, for answers that
    differ by user. ``ttl`` defaults to the namespace's TTL in ``cachemgmt.namespaces``.
    """
    names = (namespace, *depends_on)
    _check_namespaces(names)
    engine_state = state_version.is_engine_state(names)
    lifetime = ttl if ttl is not None else NAMESPACES[namespace]
    if lifetime <= 0:
        raise ImproperlyConfigured("a cached endpoint needs a positive ttl")

    def decorator(method: Callable) -> Callable:
        last_computation: list[float | None] = [None]  # seconds, this endpoint's last leader

        @functools.wraps(method)
        def wrapper(view, request, *args: Any, **kwargs: Any):
            if request.method not in CACHEABLE_METHODS or not settings.PGGIT_CACHE_ENABLED:
                return method(view, request, *args, **kwargs)
            store = get_store()
            digest = request_digest(request, vary_on_user=vary_on_user)
            # Inside a transaction an answer may show uncommitted writes (or be rolled back):
            # it is neither served from nor stored in the shared cache.
            state = None
            if connection.in_atomic_block:
                generations = None
            else:
                # An answer about the engine's state is checked against (and tagged with) the
                # engine-state version read now, before anything is computed: exact for a change
                # committed anywhere a moment ago (cachemgmt.state_version).
                state = state_version.current() if engine_state else None
                confirmed = store.l1_hit(namespace, names, digest, state=state)  # one Redis trip
                if confirmed is not None:
                    hit = response_from(confirmed[0], HIT_L1)
                    hit.cache_key = confirmed[1]
                    return hit
                generations = store.generations(names)
            if generations is None:
                store.record(namespace, BYPASS)
                response = method(view, request, *args, **kwargs)
                response[CACHE_STATUS_HEADER] = BYPASS
                return response
            key = store.keys.entry(namespace, generations, digest)
            found = store.lookup(key, state=state)
            if found is not None:
                entry, layer = found
                store.record(namespace, f"hit-{layer}")
                hit = response_from(entry, f"hit-{layer}")
                hit.cache_key = key
                return hit
            flight, leading = FLIGHTS.join((key, state))
            if not leading:
                entry = flight.wait(waiting_time(last_computation[0]))
                if entry is not None:
                    store.record(namespace, HIT_L1)
                    hit = response_from(entry, HIT_L1)
                    hit.cache_key = key
                    return hit
            store.record(namespace, MISS)
            started = time.monotonic()

            def finish(entry: Entry | None) -> None:
                if leading:
                    last_computation[0] = time.monotonic() - started
                    FLIGHTS.finish(flight, entry)

            try:
                response = method(view, request, *args, **kwargs)
            except BaseException:
                finish(None)
                raise
            response[CACHE_STATUS_HEADER] = MISS
            response.cache_key = key
            if response.status_code != 200:
                finish(None)
                return response

            def save(rendered) -> None:
                entry = _entry_from(rendered, lifetime, state)
                store.save(key, entry)
                finish(entry)

            _store_when_rendered(response, save)
            if leading:  # closed without being rendered (it failed): the waiters compute it
                response._resource_closers.append(lambda: FLIGHTS.finish(flight, None))
            return response

        wrapper.cache_namespace = namespace
        wrapper.cache_names = names
        wrapper.cache_vary_on_user = vary_on_user
        wrapper.cache_ttl = lifetime
        wrapper.last_computation = last_computation  # [seconds or None]; tests reset it
        wrapper.pggit_cached = True
        return wrapper

    return decorator


def _store_when_rendered(response, save: Callable[[Any], None]) -> None:
    if getattr(response, "is_rendered", True):
        save(response)
    else:
        response.add_post_render_callback(save)


class CachedViewSetMixin:
    """Cache ``list`` and ``retrieve`` of a viewset.

    Set ``cache_namespace`` (required), and optionally ``cache_ttl`` and ``cache_depends_on``.
    Writes need nothing here: what they change makes the entries stale through the one path of
    ``cachemgmt.changes`` (the event or table → namespaces table).
    """

    cache_namespace: str = ""
    cache_ttl: int | None = None
    cache_depends_on: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.cache_namespace:
            return
        _check_namespaces((cls.cache_namespace, *cls.cache_depends_on))
        decorate = cached_response(
            namespace=cls.cache_namespace, ttl=cls.cache_ttl, depends_on=cls.cache_depends_on
        )
        for name in ("list", "retrieve"):
            handler = getattr(cls, name, None)
            if handler is not None and not getattr(handler, "pggit_cached", False):
                setattr(cls, name, decorate(handler))
