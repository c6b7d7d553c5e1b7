"""Single flight of cache misses (cachemgmt.decorators.FLIGHTS): requests that miss the same entry
while its answer is being computed wait for that answer instead of computing it too (the stampede
of ``GET /api/v1/status`` at each 5 s expiry), and a request that arrives after a change never
receives an answer computed before it."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from cachemgmt import state_version
from cachemgmt.decorators import (
    FLIGHTS,
    SINGLE_FLIGHT_MIN_WAIT_SECONDS,
    SINGLE_FLIGHT_WAIT_FACTOR,
    SINGLE_FLIGHT_WAIT_SECONDS,
    cached_response,
    waiting_time,
)

WAITERS = 5
BOUND_SECONDS = 30  # a bound for the polling below only; nothing here is timed


class SlowStatus(APIView):
    """An engine-state answer (namespace ``status``) that blocks until the test releases it and
    answers with the number of times it was computed."""

    permission_classes = [AllowAny]
    authentication_classes = []
    computed = 0
    entered: threading.Event
    release: threading.Event
    lock = threading.Lock()

    @cached_response(namespace="status")
    def get(self, request):
        with SlowStatus.lock:
            SlowStatus.computed += 1
            number = SlowStatus.computed
        SlowStatus.entered.set()
        assert SlowStatus.release.wait(BOUND_SECONDS)
        return Response({"computed": number})


@pytest.fixture
def slow_status(redis_cache):
    SlowStatus.computed = 0
    SlowStatus.entered = threading.Event()
    SlowStatus.release = threading.Event()
    # waiters wait for as long as a computation of the endpoint is expected to take: none timed
    # yet (the full bound), whatever an earlier test's computations took
    SlowStatus.get.last_computation[0] = None
    yield SlowStatus
    SlowStatus.release.set()


def _get(results: list, index: int) -> None:
    try:
        response = SlowStatus.as_view()(APIRequestFactory().get("/t/slow-status"))
        if hasattr(response, "render"):  # a computed answer (a shared one is already bytes)
            response.render()
        results[index] = (response.headers["X-Cache"], response.content)
        response.close()  # as the handler does: request_finished
    finally:
        connection.close()


def _start(results: list, index: int) -> threading.Thread:
    thread = threading.Thread(target=_get, args=(results, index))
    thread.start()
    return thread


def _flight_key():
    (key,) = [key for key in FLIGHTS._flights]
    return key


def _wait_for(condition) -> None:
    deadline = time.monotonic() + BOUND_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "the requests never got there"
        time.sleep(0.01)


def test_concurrent_misses_compute_the_answer_once(slow_status):
    results: list = [None] * (WAITERS + 1)
    leader = _start(results, 0)
    assert slow_status.entered.wait(BOUND_SECONDS)
    flight = FLIGHTS.current(_flight_key())
    others = [_start(results, index) for index in range(1, WAITERS + 1)]
    _wait_for(lambda: flight.waiters == WAITERS)
    slow_status.release.set()
    for thread in (leader, *others):
        thread.join(BOUND_SECONDS)
    assert slow_status.computed == 1
    assert results[0] == ("miss", b'{"computed":1}')
    assert results[1:] == [("hit-l1", b'{"computed":1}')] * WAITERS
    assert FLIGHTS._flights == {}  # the flight ended with its answer


def test_a_request_after_a_change_does_not_join_a_flight_started_before_it(slow_status):
    """The engine's state changes (DDL committed) while an answer is being computed: a request
    that arrives after the change computes its own answer and never gets the older one."""
    results: list = [None] * 2
    before = _start(results, 0)
    assert slow_status.entered.wait(BOUND_SECONDS)
    old_key = _flight_key()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE public.single_flight_change (id integer)")
    try:
        assert state_version.current() != old_key[1]
        slow_status.entered.clear()
        after = _start(results, 1)
        assert slow_status.entered.wait(BOUND_SECONDS)  # it computes (does not wait)
        assert FLIGHTS.current(old_key).waiters == 0
        slow_status.release.set()
        before.join(BOUND_SECONDS)
        after.join(BOUND_SECONDS)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE public.single_flight_change")  # the schema equals HEAD
    assert slow_status.computed == 2
    assert results == [("miss", b'{"computed":1}'), ("miss", b'{"computed":2}')]


def test_waiters_compute_it_themselves_when_the_leader_fails(slow_status, monkeypatch):
    results: list = [None] * 2
    original = SlowStatus.get.__wrapped__

    def failing_once(view, request):
        if SlowStatus.computed == 0:
            SlowStatus.computed += 1
            SlowStatus.entered.set()
            assert SlowStatus.release.wait(BOUND_SECONDS)
            return Response({"detail": "no"}, status=503)
        return original(view, request)

    monkeypatch.setattr(SlowStatus, "get", cached_response(namespace="status")(failing_once))
    leader = _start(results, 0)
    assert slow_status.entered.wait(BOUND_SECONDS)
    flight = FLIGHTS.current(_flight_key())
    waiter = _start(results, 1)
    _wait_for(lambda: flight.waiters == 1)
    slow_status.release.set()
    leader.join(BOUND_SECONDS)
    waiter.join(BOUND_SECONDS)
    assert results[0][0] == "miss"
    assert results[1] == ("miss", b'{"computed":2}')


def test_waiters_give_up_on_a_leader_far_slower_than_the_last_computation(slow_status, monkeypatch):
    """A waiter waits about as long as the endpoint's last computation took (times
    SINGLE_FLIGHT_WAIT_FACTOR), not the full SINGLE_FLIGHT_WAIT_SECONDS: a leader stuck far longer
    than that no longer holds its waiters' threads; they compute the answer themselves."""
    results: list = [None] * 3

    def stuck_second_time(view, request):
        with SlowStatus.lock:
            SlowStatus.computed += 1
            number = SlowStatus.computed
        if number == 1:
            return Response({"detail": "quick"}, status=503)  # timed, and not stored
        if number == 2:
            SlowStatus.entered.set()
            assert SlowStatus.release.wait(BOUND_SECONDS)
        return Response({"computed": number})

    monkeypatch.setattr(SlowStatus, "get", cached_response(namespace="status")(stuck_second_time))
    _get(results, 0)
    assert results[0][0] == "miss"
    leader = _start(results, 1)
    assert slow_status.entered.wait(BOUND_SECONDS)
    waiter = _start(results, 2)
    waiter.join(BOUND_SECONDS)
    assert results[2] == ("miss", b'{"computed":3}')  # computed while the leader is still stuck
    assert leader.is_alive() and not slow_status.release.is_set()
    slow_status.release.set()
    leader.join(BOUND_SECONDS)
    assert results[1] == ("miss", b'{"computed":2}')


def test_the_wait_follows_the_last_computation_within_its_bounds():
    assert waiting_time(None) == SINGLE_FLIGHT_WAIT_SECONDS
    assert waiting_time(0.0) == SINGLE_FLIGHT_MIN_WAIT_SECONDS
    assert waiting_time(1.0) == 1.0 * SINGLE_FLIGHT_WAIT_FACTOR
    assert waiting_time(60.0) == SINGLE_FLIGHT_WAIT_SECONDS
