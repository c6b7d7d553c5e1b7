"""Worker processes against the test database: a crash with kill -9, two workers in parallel,
graceful SIGTERM. Events are emitted and committed here; the workers deliver them to a receiver
on 127.0.0.1."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection

from tests.webhooks.conftest import create_endpoint
from tests.webhooks.receiver import Reply
from tests.webhooks.workers import WorkerProcess, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clean_webhook_tables", "webhook_settings"),
]


def emit_many(count: int, event_type: str = "commit.created") -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pggit.emit_event(%s, jsonb_build_object('n', n)) FROM generate_series(1, %s) n",
            [event_type, count],
        )
        return [row[0] for row in cursor.fetchall()]


def statuses() -> Counter:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, count(*) FROM pggit.webhook_deliveries GROUP BY status")
        return Counter(dict(cursor.fetchall()))


def delivered_without_a_2xx() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pggit.webhook_deliveries d WHERE d.status = 'delivered'"
            " AND NOT EXISTS (SELECT 1 FROM pggit.webhook_attempts a WHERE a.delivery_id = d.id"
            "                 AND a.status_code BETWEEN 200 AND 299)"
        )
        return cursor.fetchone()[0]


def live_workers() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pggit.webhook_workers WHERE stopped_at IS NULL")
        return cursor.fetchone()[0]


@pytest.fixture
def workers():
    started: list[WorkerProcess] = []

    def start(*args: str, **env: str) -> WorkerProcess:
        worker = WorkerProcess(*args, **env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop_quietly()


def test_after_kill_9_and_a_restart_every_delivery_arrives(receiver, workers):
    create_endpoint(receiver.url())
    receiver.script("/hook", *[Reply(200, delay=0.5)] * 400)  # slow: hundreds stay in flight
    event_ids = emit_many(400)

    # no cap per endpoint: this test wants hundreds in flight to its one endpoint
    first = workers("--concurrency", "300", "--per-endpoint", "0", "--lease-seconds", "3")
    wait_for(lambda: len(receiver.received()) >= 250, 90, "hundreds of deliveries in flight")
    first.kill()
    in_flight = statuses()["delivering"]
    wrongly_delivered = delivered_without_a_2xx()

    second = workers("--concurrency", "100", "--per-endpoint", "0", "--poll-seconds", "0.2")
    wait_for(lambda: statuses()["delivered"] == 400, 60, "every delivery to be delivered")
    assert second.terminate() == 0

    assert in_flight >= 100  # the crash really interrupted deliveries in flight
    assert wrongly_delivered == 0
    assert delivered_without_a_2xx() == 0
    received_ids = {int(request.headers["webhook-id"]) for request in receiver.received()}
    assert received_ids == set(event_ids)


@pytest.mark.faults
def test_a_killed_workers_leases_do_not_stall_its_endpoint(receiver, workers):
    """Issue 17, defect 10: a worker killed while it held the endpoint's cap of leases stalled the
    endpoint for the whole lease (here 120 s); its session is gone, so the next claim takes its
    leases back."""
    create_endpoint(receiver.url())
    receiver.script("/hook", *[Reply(200, delay=120)] * 4, *[Reply(200)] * 20)
    event_ids = emit_many(10)
    first = workers("--per-endpoint", "4", "--lease-seconds", "120", "--poll-seconds", "0.2")
    wait_for(lambda: len(receiver.received()) >= 4, 60, "the cap of attempts in flight")
    wait_for(lambda: live_workers() == 1, 90, "the worker to beat")
    first.kill()
    assert statuses()["delivering"] == 4

    second = workers("--per-endpoint", "4", "--lease-seconds", "120", "--poll-seconds", "0.2")
    # far less than the 120 s lease: the killed worker's leases are taken back at once
    wait_for(lambda: statuses()["delivered"] == 10, 45, "every delivery to be delivered")
    assert second.terminate() == 0
    received_ids = {int(request.headers["webhook-id"]) for request in receiver.received()}
    assert received_ids == set(event_ids)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pggit.webhook_workers WHERE stopped_at IS NULL")
        assert cursor.fetchone()[0] == 0  # the killed worker was marked stopped


def test_workers_keep_at_most_the_cap_of_attempts_in_flight_to_one_endpoint(receiver, workers):
    create_endpoint(receiver.url())
    receiver.script("/hook", *[Reply(200, delay=0.3)] * 40)  # slow: attempts stay in flight
    event_ids = emit_many(40)
    workers("--concurrency", "50", "--per-endpoint", "4", "--poll-seconds", "0.1")
    workers("--concurrency", "50", "--per-endpoint", "4", "--poll-seconds", "0.1")
    most_in_flight = 0

    def all_delivered() -> bool:
        nonlocal most_in_flight
        counts = statuses()
        most_in_flight = max(most_in_flight, counts["delivering"])
        return counts["delivered"] == 40

    wait_for(all_delivered, 60, "every delivery to be delivered")
    assert 1 <= most_in_flight <= 4  # two workers with 50 slots each, one endpoint capped at 4
    received_ids = {int(request.headers["webhook-id"]) for request in receiver.received()}
    assert received_ids == set(event_ids)


def test_two_workers_in_parallel_never_send_the_same_attempt_twice(receiver, workers):
    create_endpoint(receiver.url())
    # no cap per endpoint: with one endpoint, its cap (across workers) would let one worker alone
    # take every delivery, and this test is about two workers claiming the same rows at once
    workers("--concurrency", "50", "--per-endpoint", "0")
    workers("--concurrency", "50", "--per-endpoint", "0")
    wait_for(lambda: live_workers() == 2, 90, "both workers to beat")

    event_ids = emit_many(600)
    wait_for(lambda: statuses()["delivered"] == 600, 60, "every delivery to be delivered")

    sent = Counter(int(request.headers["webhook-id"]) for request in receiver.received())
    assert sent == Counter({event_id: 1 for event_id in event_ids})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT worker), array_agg(DISTINCT error)"
            " FROM pggit.webhook_attempts"
        )
        attempts, by_workers, errors = cursor.fetchone()
    assert (attempts, by_workers, errors) == (600, 2, [None])


def test_sigterm_lets_attempts_in_flight_finish(receiver, workers):
    create_endpoint(receiver.url())
    receiver.script("/hook", *[Reply(200, delay=1.5)] * 10)
    emit_many(10)
    worker = workers("--concurrency", "10")
    wait_for(lambda: len(receiver.received()) == 10, 30, "ten deliveries in flight")

    exit_code = worker.terminate()

    assert exit_code == 0, worker.output()
    assert statuses() == Counter({"delivered": 10})
    assert live_workers() == 0


def test_sigterm_after_the_grace_records_interrupted_attempts_for_a_retry(receiver, workers):
    create_endpoint(receiver.url())
    receiver.script("/hook", Reply(200, delay=5))
    emit_many(1)
    worker = workers("--grace-seconds", "0.5")
    wait_for(lambda: len(receiver.received()) == 1, 30, "the delivery in flight")

    assert worker.terminate() == 0, worker.output()

    with connection.cursor() as cursor:
        cursor.execute("SELECT status, attempt_count FROM pggit.webhook_deliveries")
        assert cursor.fetchone() == ("pending", 1)
        cursor.execute("SELECT error FROM pggit.webhook_attempts")
        assert cursor.fetchone() == (
            "interrupted: the worker stopped before the receiver answered",
        )


def test_a_worker_survives_the_database_dropping_its_connections(receiver, workers):
    create_endpoint(receiver.url())
    worker = workers("--poll-seconds", "0.2")
    wait_for(lambda: live_workers() == 1, 90, "the worker to beat")
    emit_many(5)
    wait_for(lambda: statuses()["delivered"] == 5, 30, "the first deliveries")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        terminated = cursor.fetchone()[0]
    # this test process's own pooled connections were terminated too: let the pool replace them,
    # or the tests after this one would be handed dead connections
    if connection.pool is not None:
        connection.pool.check()
    emit_many(5)
    wait_for(lambda: statuses()["delivered"] == 10, 30, "deliveries after the reconnection")

    assert terminated >= 3
    assert worker.process.poll() is None
    assert worker.terminate() == 0, worker.output()
