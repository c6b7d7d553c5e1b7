"""The web process's HTTP serving (``pggit_project.serving``) through the real ASGI application:
Django's synchronous path on the fixed thread pool, and ``GET /health`` on the event loop."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import time

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.core.signals import request_started
from django.db import models
from django.http import HttpRequest, HttpResponseBase
from rest_framework.request import Request
from rest_framework.views import APIView

from pggit_project import asgi, serving
from pggit_project.asgi import application
from tests.conftest import bearer
from tests.webhooks.conftest import clean_webhook_tables  # noqa: F401 (a fixture used below)


def _send(requests: list[tuple]) -> list[httpx.Response]:
    """Answers of the requests (method, path, headers[, JSON body]), all sent at once."""

    async def run():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return await asyncio.gather(
                *(
                    client.request(method, path, headers=headers, content=json.dumps(body))
                    if body is not None
                    else client.request(method, path, headers=headers)
                    for method, path, headers, body in ((*r, None)[:4] for r in requests)
                )
            )

    return async_to_sync(run)()


@pytest.fixture
def request_threads():
    """Names and idents of the threads that ran Django's request path during the test."""
    seen: list[tuple[str, int]] = []

    def note(**kwargs):
        thread = threading.current_thread()
        seen.append((thread.name, thread.ident))

    request_started.connect(note)
    yield seen
    request_started.disconnect(note)


@pytest.mark.django_db(transaction=True)
def test_requests_run_on_the_fixed_pool_not_on_a_thread_each(user, request_threads, settings):
    authorization = {"Authorization": bearer(user)}
    requests = [("GET", "/api/v1/alerts", authorization), ("GET", "/api/v1/nothing-here", {})]

    answers = _send(requests * 20)

    assert [answer.status_code for answer in answers] == [200, 404] * 20
    assert len(request_threads) == 40
    assert {name.rsplit("_", 1)[0] for name, _ in request_threads} == {"pggit-http"}
    assert len({ident for _, ident in request_threads}) <= settings.PGGIT_WEB_THREADS


# A view's input serializer is left to the collector (it links to its fields and they to it): a
# few dozen young objects, not the request's graph.
REQUEST_GRAPH = (HttpRequest, Request, APIView, models.Model, HttpResponseBase)


@pytest.mark.usefixtures("clean_webhook_tables")
def test_a_finished_request_leaves_no_reference_cycle_behind(operator_user):
    """Once a request is answered its objects are freed by reference counting: none of them is
    left for the cyclic garbage collector (whose collections hold the interpreter lock)."""
    authorization = {"Authorization": bearer(operator_user), "Content-Type": "application/json"}
    created = _send([("POST", "/api/v1/webhooks", authorization, _hook("first"))])[0].json()
    requests = [
        ("GET", "/api/v1/webhooks", authorization),
        ("GET", f"/api/v1/webhooks/{created['id']}", authorization),
        ("GET", "/api/v1/alerts", authorization),
        ("GET", "/api/v1/webhooks/999999", authorization),
        ("POST", "/api/v1/webhooks", authorization, {"name": ""}),
        ("GET", "/api/v1/webhooks", {}),
    ]
    _send(requests)  # first use: the pool's connections, kept statements and classes
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        answers = _send([*requests, ("POST", "/api/v1/webhooks", authorization, _hook("second"))])
        gc.collect()
        left = [type(thing) for thing in gc.garbage if isinstance(thing, REQUEST_GRAPH)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()

    assert [answer.status_code for answer in answers] == [200, 200, 200, 404, 400, 401, 201]
    assert left == []


def test_the_objects_of_the_start_up_are_frozen():
    assert gc.get_freeze_count() > 10_000


def _hook(name: str) -> dict:
    return {"name": name, "url": f"https://93.184.215.14/{name}", "event_types": ["*"]}


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tests.support.urls")
def test_a_streaming_answer_is_produced_on_the_pool_and_sent_part_by_part():
    (answer,) = _send([("GET", "/t/stream", {})])

    assert answer.status_code == 200
    lines = answer.text.splitlines()
    assert [line.split(" on ")[0] for line in lines] == ["part 0", "part 1", "part 2"]
    assert {line.split(" on ")[1].rsplit("_", 1)[0] for line in lines} == {"pggit-http"}


@pytest.fixture
def fresh_liveness():
    liveness = application.application_mapping["http"]
    assert isinstance(liveness, asgi.LivenessApp)
    liveness._templates.clear()
    yield liveness
    liveness._templates.clear()


def _without_request_id(answer: httpx.Response) -> list[tuple[str, str]]:
    return [(n, v) for n, v in answer.headers.multi_items() if n.lower() != "x-request-id"]


@pytest.mark.django_db
def test_health_is_answered_early_exactly_as_django_answers_it(fresh_liveness, request_threads):
    (ordinary,) = _send([("GET", "/health", {})])
    assert len(request_threads) == 1  # Django answered the first one
    early, echoed = _send(
        [("GET", "/health", {}), ("GET", "/health/", {"X-Request-ID": "monitor-42"})]
    )

    assert len(request_threads) == 1  # not the others
    assert ordinary.status_code == early.status_code == echoed.status_code == 200
    assert ordinary.json() == early.json() == echoed.json()
    assert ordinary.json()["status"] == "healthy"
    assert ordinary.content == early.content
    assert _without_request_id(early) == _without_request_id(ordinary)
    assert early.headers["X-Request-ID"] != ordinary.headers["X-Request-ID"]
    assert echoed.headers["X-Request-ID"] == "monitor-42"
    assert ordinary.headers["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_health_requests_that_could_be_answered_otherwise_go_to_django(
    fresh_liveness, request_threads
):
    _send([("GET", "/health", {})])  # learnt for Host: localhost
    request_threads.clear()

    answers = _send(
        [
            ("GET", "/health", {"Accept": "text/html"}),
            ("GET", "/health?verbose=1", {}),
            ("GET", "/health", {"Host": "evil.example"}),
            ("POST", "/health", {}),
        ]
    )

    assert [answer.status_code for answer in answers] == [406, 200, 400, 405]
    assert len(request_threads) == 4


@pytest.mark.django_db(transaction=True)
def test_resolved_paths_are_kept_and_each_request_gets_its_own_match(user):
    """The pool handler keeps what each path resolved to: the same answers as resolving anew,
    each request with its own captured arguments, and a path that resolves to nothing (404) is
    not kept."""
    from pggit_project.serving import _resolve
    from webhooks.services import webhook_create, webhook_delete

    first, second = (
        webhook_create(name=f"kept-{n}", url=f"https://93.184.215.14/{n}", event_types=["*"])
        for n in range(2)
    )
    _resolve.cache_clear()
    authorization = {"Authorization": bearer(user)}
    requests = [
        ("GET", f"/api/v1/webhooks/{first.endpoint.pk}", authorization),
        ("GET", f"/api/v1/webhooks/{second.endpoint.pk}", authorization),
        ("GET", "/api/v1/nothing-here", {}),
    ]

    try:
        answers = _send(requests * 3)
    finally:  # the engine's tables are not flushed between tests
        for created in (first, second):
            webhook_delete(endpoint_id=created.endpoint.pk)

    assert [answer.status_code for answer in answers] == [200, 200, 404] * 3
    assert [answer.json().get("name") for answer in answers[:2]] == ["kept-0", "kept-1"]
    assert [answer.json() for answer in answers[3:5]] == [answer.json() for answer in answers[:2]]
    info = _resolve.cache_info()
    assert (info.currsize, info.hits) == (2, 4)


def _read_body(messages: list[dict], max_size: int):
    """``PooledHTTPHandler.read_body`` over these ASGI messages: (file type, bytes, messages
    left unread)."""
    from django.test.utils import override_settings

    from pggit_project.serving import PooledHTTPHandler

    pending = list(messages)

    async def receive():
        return pending.pop(0)

    with override_settings(FILE_UPLOAD_MAX_MEMORY_SIZE=max_size):
        body_file = async_to_sync(PooledHTTPHandler.read_body)(asgi.django_asgi_app, receive)
    try:
        return type(body_file).__name__, body_file.read(), len(pending)
    finally:
        body_file.close()


def test_a_body_in_one_message_is_read_into_memory_and_others_as_django_reads_them():
    from django.core.exceptions import RequestAborted

    one = [{"type": "http.request", "body": b'{"a": 1}'}, {"type": "http.disconnect"}]
    assert _read_body(one, 100) == ("BytesIO", b'{"a": 1}', 1)
    assert _read_body([{"type": "http.request"}], 100) == ("BytesIO", b"", 0)
    # larger than FILE_UPLOAD_MAX_MEMORY_SIZE, or in parts: Django's spooled file, every part
    assert _read_body(one, 4)[::2] == ("SpooledTemporaryFile", 1)
    assert _read_body(one, 4)[1] == b'{"a": 1}'
    parts = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": True},
        {"type": "http.request", "body": b"e"},
    ]
    assert _read_body(parts, 100) == ("SpooledTemporaryFile", b"abcde", 0)
    with pytest.raises(RequestAborted):
        _read_body([{"type": "http.disconnect"}], 100)
    with pytest.raises(RequestAborted):
        _read_body([parts[0], {"type": "http.disconnect"}], 100)


def _in_loop(coroutine_function):
    return asyncio.run(coroutine_function())


def test_the_pool_hands_back_a_calls_result_and_its_error_on_the_loop():
    pool = serving.RequestPool(2, "pool-test")

    def fails():
        raise ValueError("from the pool")

    async def run():
        loop = asyncio.get_running_loop()
        name = await pool.run(loop, lambda: threading.current_thread().name)
        total = await pool.run(loop, sum, [1, 2, 3])
        with pytest.raises(ValueError, match="from the pool"):
            await pool.run(loop, fails)
        return name, total

    name, total = _in_loop(run)

    assert (name.rsplit("_", 1)[0], total) == ("pool-test", 6)
    assert name != threading.current_thread().name


def test_a_pool_call_cancelled_before_it_begins_is_not_run():
    pool = serving.RequestPool(1, "pool-test")
    release, ran = threading.Event(), []

    async def run():
        loop = asyncio.get_running_loop()
        busy = pool.run(loop, release.wait, 10)  # holds the one thread
        queued = pool.run(loop, ran.append, "queued")
        queued.cancel()
        release.set()
        await busy
        await pool.run(loop, ran.append, "after")  # taken after the cancelled one (in order)
        return queued.cancelled()

    assert _in_loop(run) is True
    assert ran == ["after"]


def test_a_pool_call_already_running_when_cancelled_runs_to_its_end():
    pool = serving.RequestPool(1, "pool-test")
    started, release, ran = threading.Event(), threading.Event(), []

    def call():
        started.set()
        release.wait(10)
        ran.append("done")

    async def run():
        loop = asyncio.get_running_loop()
        running = pool.run(loop, call)
        await loop.run_in_executor(None, started.wait, 10)
        running.cancel()
        release.set()
        await pool.run(loop, ran.append, "next")

    _in_loop(run)

    assert ran == ["done", "next"]


def test_the_pool_starts_its_threads_with_the_first_call_only():
    before = {thread.name for thread in threading.enumerate()}
    pool = serving.RequestPool(3, "pool-lazy")
    assert not any(name.startswith("pool-lazy") for name in before)
    assert {t.name for t in threading.enumerate() if t.name.startswith("pool-lazy")} == set()

    async def run():
        return await pool.run(asyncio.get_running_loop(), int, "7")

    assert _in_loop(run) == 7
    started = [t for t in threading.enumerate() if t.name.startswith("pool-lazy")]
    assert sorted(t.name for t in started) == ["pool-lazy_0", "pool-lazy_1", "pool-lazy_2"]
    assert all(t.daemon for t in started)


def _pool_threads(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(f"{prefix}_")]


def _wait_until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _waiting_call(started, release: threading.Event):
    """A pool call that waits elsewhere (``waiting_elsewhere``) until ``release`` is set, after
    calling ``started`` (an event's ``set``, a semaphore's ``release``); returns its thread's
    name."""

    def call():
        with serving.waiting_elsewhere():
            started()
            release.wait(10)
        return threading.current_thread().name

    return call


def test_a_call_waiting_elsewhere_lends_its_place_to_another_thread_until_it_ends():
    """A pool of one thread: while its call waits on something outside the process
    (``waiting_elsewhere``), the next call runs on another thread; once the wait is over the
    extra thread ends after its next call, and the pool is back to its size."""
    pool = serving.RequestPool(1, "pool-lend")
    waiting, release = threading.Event(), threading.Event()

    waits_elsewhere = _waiting_call(waiting.set, release)

    async def run():
        loop = asyncio.get_running_loop()
        first = pool.run(loop, waits_elsewhere)
        await loop.run_in_executor(None, waiting.wait, 10)
        # the one thread still waits: this call runs beside it, not after it
        second = await asyncio.wait_for(pool.run(loop, lambda: threading.current_thread().name), 10)
        still_waiting = not first.done()
        release.set()
        return await first, second, still_waiting

    first, second, still_waiting = _in_loop(run)

    assert still_waiting
    assert (first, second) == ("pool-lend_0", "pool-lend_1")

    async def more():
        loop = asyncio.get_running_loop()
        for _ in range(4):
            await pool.run(loop, int, "1")

    _in_loop(more)
    assert _wait_until(lambda: len(_pool_threads("pool-lend")) == 1)


def test_the_pool_runs_its_size_plus_the_calls_waiting_and_off_the_pool_nothing_is_added():
    pool = serving.RequestPool(2, "pool-spare")
    waiting, release = threading.Event(), threading.Event()

    waits_elsewhere = _waiting_call(waiting.set, release)

    async def run():
        loop = asyncio.get_running_loop()
        first = pool.run(loop, waits_elsewhere)
        await loop.run_in_executor(None, waiting.wait, 10)
        names = sorted(t.name for t in _pool_threads("pool-spare"))
        release.set()
        await first
        return names

    # two threads, one of them waiting: one more is added (the size plus the calls waiting)
    assert _in_loop(run) == ["pool-spare_0", "pool-spare_1", "pool-spare_2"]
    before = {t.name for t in threading.enumerate()}
    with serving.waiting_elsewhere():  # not a pool thread: nothing to lend
        assert {t.name for t in threading.enumerate()} == before


def test_the_threads_added_for_calls_waiting_elsewhere_are_at_most_the_pools_size():
    pool = serving.RequestPool(1, "pool-cap")
    waiting, release = threading.Semaphore(0), threading.Event()

    waits_elsewhere = _waiting_call(waiting.release, release)

    async def run():
        loop = asyncio.get_running_loop()
        calls = [pool.run(loop, waits_elsewhere) for _ in range(3)]
        for _ in range(2):  # the first two wait (the one thread, then the one added)
            assert await loop.run_in_executor(None, waiting.acquire, True, 10)
        names = sorted(t.name for t in _pool_threads("pool-cap"))
        third_started = await loop.run_in_executor(None, waiting.acquire, True, 0.5)
        release.set()
        await asyncio.gather(*calls)
        return names, third_started

    names, third_started = _in_loop(run)

    assert names == ["pool-cap_0", "pool-cap_1"]  # not a third: twice the size at most
    assert not third_started  # it waited for a thread (run once one was free)


def test_a_call_waits_as_before_when_no_thread_can_stand_in_for_it(monkeypatch, caplog):
    pool = serving.RequestPool(1, "pool-nothread")
    start = threading.Thread.start

    def refuse_stand_ins(thread):
        if thread.name != "pool-nothread_0":
            raise RuntimeError("can't start new thread")
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", refuse_stand_ins)

    def waits_elsewhere():
        with serving.waiting_elsewhere():
            return "waited"

    async def run():
        return await pool.run(asyncio.get_running_loop(), waits_elsewhere)

    with caplog.at_level("WARNING", logger="pggit_project.serving"):
        assert _in_loop(run) == "waited"
    assert [t.name for t in _pool_threads("pool-nothread")] == ["pool-nothread_0"]
    assert (pool._waiting, pool._alive) == (0, 1)
    assert "pool-nothread: no thread to stand in for a waiting call" in caplog.text
