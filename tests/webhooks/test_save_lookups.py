"""Saving a webhook with a host name never waits on the resolver beyond its bound
(``WEBHOOK_SAVE_RESOLVE_SECONDS``, ``webhooks.targets.SaveLookups``), and a resolver that hangs
holds up neither the saves nor the other requests of the web process.

Requests go through ``pggit_project.asgi.application`` (the web process's application, its
request threads included), many at once; the resolver is replaced by one that hangs until the
test releases it, so everything asserted here happens while every lookup still hangs.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from asgiref.sync import async_to_sync

from pggit_project import serving
from pggit_project.asgi import application
from tests.conftest import bearer
from webhooks import targets
from webhooks.models import WebhookEndpoint

WEBHOOKS = "/api/v1/webhooks"
BOUND_SECONDS = 0.3
HANG_SECONDS = 30.0


@pytest.fixture
def hanging_resolver():
    """A resolver whose lookups hang until the test ends; the hosts asked for are recorded."""
    release = threading.Event()
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        release.wait(HANG_SECONDS)
        raise OSError(f"{host} does not resolve")

    previous = targets.set_resolver(resolve)
    yield asked, release
    release.set()
    targets.set_resolver(previous)
    deadline = time.monotonic() + 10
    while targets.save_lookups.busy() and time.monotonic() < deadline:
        time.sleep(0.01)  # the released lookups give their threads back


def _concurrently(requests: list[tuple[str, str, dict | None]], authorization: str):
    """(answers in order, seconds the whole batch took) of requests sent all at once."""

    async def run():
        transport = httpx.ASGITransport(app=application)
        headers = {"Authorization": authorization}
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            started = time.monotonic()
            answers = await asyncio.gather(
                *(
                    client.request(method, path, json=body, headers=headers)
                    for method, path, body in requests
                )
            )
            return answers, time.monotonic() - started

    return async_to_sync(run)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_webhook_tables")
def test_a_hanging_resolver_delays_neither_webhook_creation_nor_other_requests(
    settings, staff_user, hanging_resolver
):
    settings.WEBHOOK_SAVE_RESOLVE_SECONDS = BOUND_SECONDS
    asked, release = hanging_resolver
    creates = [
        ("POST", WEBHOOKS, {"name": f"hang-{n}", "url": f"https://hang-{n}.example.test/in"})
        for n in range(12)
    ]
    reads = [("GET", WEBHOOKS, None), ("GET", "/health", None)] * 6

    answers, seconds = _concurrently(creates + reads, bearer(staff_user))

    assert not release.is_set()  # everything below happened while every lookup hung
    assert [answer.status_code for answer in answers] == [201] * 12 + [200] * 12
    assert sorted(answer.json()["url"] for answer in answers[:12]) == sorted(
        body["url"] for _, _, body in creates
    )
    assert WebhookEndpoint.objects.filter(name__startswith="hang-").count() == 12
    # Only as many lookups as there are lookup threads were started; the other saves did not
    # queue behind them (their names are checked at delivery).
    assert len(asked) == targets.SAVE_LOOKUP_THREADS
    assert targets.save_lookups.busy() == targets.SAVE_LOOKUP_THREADS
    # Bounded: without the bound the batch would have waited for the resolver (30 s).
    assert seconds < HANG_SECONDS / 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_webhook_tables")
def test_saves_waiting_on_their_lookups_do_not_take_the_request_threads_of_other_requests(
    settings, staff_user, hanging_resolver
):
    """As many request threads as lookup threads: while every request thread's save waits on
    its lookup (a long bound here), the reads sent meanwhile are answered on threads the pool
    adds in their place (``pggit_project.serving.waiting_elsewhere``), not after the saves."""
    settings.WEBHOOK_SAVE_RESOLVE_SECONDS = 20.0
    asked, release = hanging_resolver
    handler = serving.PooledHTTPHandler(threads=targets.SAVE_LOOKUP_THREADS)
    headers = {"Authorization": bearer(staff_user)}

    async def run():
        transport = httpx.ASGITransport(app=handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            saves = [
                asyncio.ensure_future(
                    client.post(
                        WEBHOOKS,
                        json={"name": f"wait-{n}", "url": f"https://wait-{n}.example.test/"},
                        headers=headers,
                    )
                )
                for n in range(targets.SAVE_LOOKUP_THREADS)
            ]
            deadline = time.monotonic() + 10
            while len(asked) < targets.SAVE_LOOKUP_THREADS and time.monotonic() < deadline:
                await asyncio.sleep(0.01)  # every request thread now waits on a lookup
            reads = await asyncio.wait_for(
                asyncio.gather(*(client.get(WEBHOOKS, headers=headers) for _ in range(8))), 15
            )
            saves_pending = sum(not save.done() for save in saves)
            release.set()  # the lookups fail: the saves are accepted (checked at delivery)
            return [read.status_code for read in reads], saves_pending, await asyncio.gather(*saves)

    read_statuses, saves_pending, saves = async_to_sync(run)()

    assert len(asked) == targets.SAVE_LOOKUP_THREADS
    assert read_statuses == [200] * 8
    assert saves_pending == targets.SAVE_LOOKUP_THREADS  # the reads did not wait for them
    assert [save.status_code for save in saves] == [201] * targets.SAVE_LOOKUP_THREADS


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_webhook_tables")
def test_while_every_lookup_thread_hangs_a_save_does_not_ask_the_resolver(
    settings, staff_user, hanging_resolver
):
    settings.WEBHOOK_SAVE_RESOLVE_SECONDS = BOUND_SECONDS
    asked, _ = hanging_resolver
    first = [
        ("POST", WEBHOOKS, {"name": f"first-{n}", "url": f"https://first-{n}.example.test/"})
        for n in range(targets.SAVE_LOOKUP_THREADS)
    ]
    answers, _ = _concurrently(first, bearer(staff_user))
    assert [answer.status_code for answer in answers] == [201] * targets.SAVE_LOOKUP_THREADS
    assert len(asked) == targets.SAVE_LOOKUP_THREADS

    # The same names again (their lookups run longer than the bound: not joined) and new ones.
    again = [("POST", WEBHOOKS, {"name": "again", "url": "https://first-0.example.test/"})]
    again.append(("POST", WEBHOOKS, {"name": "new", "url": "https://new.example.test/"}))
    answers, _ = _concurrently(again, bearer(staff_user))

    assert [answer.status_code for answer in answers] == [201, 201]
    assert len(asked) == targets.SAVE_LOOKUP_THREADS


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_webhook_tables")
def test_an_ip_literal_is_checked_without_the_resolver(settings, staff_user, hanging_resolver):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    asked, _ = hanging_resolver

    answers, _ = _concurrently(
        [
            ("POST", WEBHOOKS, {"name": "public", "url": "https://93.184.215.14/in"}),
            ("POST", WEBHOOKS, {"name": "private", "url": "https://10.0.0.7/in"}),
        ],
        bearer(staff_user),
    )

    assert [answer.status_code for answer in answers] == [201, 400]
    assert answers[1].json()["errors"]["url"] == [
        "10.0.0.7: a private address is refused (WEBHOOK_ALLOW_PRIVATE_TARGETS is off)"
    ]
    assert asked == []


def test_saves_of_one_name_at_once_share_one_lookup_and_see_its_answer():
    lookups = targets.SaveLookups()
    asked: list[str] = []
    about_to_wait: list[int] = []
    answered = threading.Event()

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        answered.wait(5)
        return ["10.0.0.7"]

    previous = targets.set_resolver(resolve)
    try:
        results: list[list[str] | None] = []
        waiting = [
            threading.Thread(
                target=lambda: results.append(
                    lookups.addresses(
                        "shared.example.test",
                        443,
                        timeout=10,
                        before_waiting=lambda: about_to_wait.append(1),
                    )
                )
            )
            for _ in range(3)
        ]
        for thread in waiting:
            thread.start()
        deadline = time.monotonic() + 10
        while len(about_to_wait) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)  # every save has joined the lookup before it answers
        assert lookups.busy() == 1
        answered.set()
        for thread in waiting:
            thread.join(10)
    finally:
        answered.set()
        targets.set_resolver(previous)

    assert asked == ["shared.example.test"]
    assert results == [["10.0.0.7"]] * 3
    deadline = time.monotonic() + 5
    while lookups.busy() and time.monotonic() < deadline:
        time.sleep(0.01)  # the lookup's thread is given back just after its answer
    assert lookups.busy() == 0
