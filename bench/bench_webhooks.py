"""Webhook delivery: signed deliveries per second from one worker to a local receiver, and the
time from an outbox event to its first delivery attempt, on an idle worker and with a backlog of
due deliveries at dead endpoints (which the claim's turns across endpoints keep out of the way).

A worker process (``manage.py deliver_webhooks``) and a receiver process (answers 204 over
HTTP/1.1 keep-alive on 127.0.0.1) are started; events are ``webhook.test`` events aimed at the
benchmark's own endpoint, so other endpoints of the database receive nothing. The endpoint (with
its deliveries) is deleted afterwards; the events stay in the outbox, as all events do.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

THROUGHPUT_EVENTS = 3000
BACKLOG_ENDPOINTS = 50  # dead endpoints (an unresolvable host) ...
BACKLOG_PER_ENDPOINT = 30  # ... each with this many deliveries due, before the latency is taken
LATENCY_EVENTS = 300
LATENCY_GAP_SECONDS = 0.02
CONCURRENCY = 64


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


def _serve(port_queue) -> None:
    server = _Server(("127.0.0.1", 0), _Handler)
    port_queue.put(server.server_address[1])
    server.serve_forever()


def _sql(query: str, params=()):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, list(params))
        return cursor.fetchall() if cursor.description else None


def _wait_until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("the benchmark timed out")
        time.sleep(0.02)


def _emit(endpoint_id: int, count: int) -> None:
    _sql(
        "SELECT pggit.emit_event('webhook.test', jsonb_build_object('webhook_id', %s::bigint,"
        " 'n', n)) FROM generate_series(1, %s) n",
        [endpoint_id, count],
    )


def _count(endpoint_id: int, status: str) -> int:
    return _sql(
        "SELECT count(*) FROM pggit.webhook_deliveries WHERE endpoint_id = %s AND status = %s",
        [endpoint_id, status],
    )[0][0]


def _throughput(endpoint_id: int) -> float:
    started = time.perf_counter()
    _emit(endpoint_id, THROUGHPUT_EVENTS)
    _wait_until(lambda: _count(endpoint_id, "delivered") == THROUGHPUT_EVENTS, 120)
    return THROUGHPUT_EVENTS / (time.perf_counter() - started)


def _latencies_ms(endpoint_id: int) -> list[float]:
    _sql("DELETE FROM pggit.webhook_deliveries WHERE endpoint_id = %s", [endpoint_id])
    for _ in range(LATENCY_EVENTS):
        _emit(endpoint_id, 1)
        time.sleep(LATENCY_GAP_SECONDS)
    _wait_until(lambda: _count(endpoint_id, "delivered") == LATENCY_EVENTS, 180)
    rows = _sql(
        "SELECT extract(epoch FROM a.started_at - e.occurred_at) * 1000"
        " FROM pggit.webhook_deliveries d JOIN pggit.events e ON e.id = d.event_id"
        " JOIN pggit.webhook_attempts a ON a.delivery_id = d.id AND a.number = 1"
        " WHERE d.endpoint_id = %s",
        [endpoint_id],
    )
    return sorted(float(row[0]) for row in rows)


def _backlog(ids: list[int]) -> None:
    """Dead endpoints (appended to ``ids`` as they are made, for the clean-up) with deliveries
    due since a minute ago: they fail (an unresolvable host) and come due again after the retry
    schedule's first delay."""
    from webhooks import services

    for i in range(BACKLOG_ENDPOINTS):
        ids.append(
            services.webhook_create(
                name=f"benchmark-dead-{i}",
                url=f"http://dead-{i}.invalid/",
                event_types=["merge.aborted"],
            ).endpoint.pk
        )
    _sql(
        "INSERT INTO pggit.webhook_deliveries (endpoint_id, event_id, event_type, payload,"
        " next_attempt_at)"
        " SELECT e, pggit.emit_event('bench.backlog', '{}'), 'bench.backlog', '{}',"
        " now() - interval '1 minute' + n * interval '1 ms'"
        " FROM unnest(%s::bigint[]) e, generate_series(1, %s) n",
        [ids, BACKLOG_PER_ENDPOINT],
    )


def _start_worker() -> subprocess.Popen:
    from django.conf import settings

    env = {
        **os.environ,
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
        "WEBHOOK_ENCRYPTION_KEY": ",".join(settings.WEBHOOK_ENCRYPTION_KEYS),
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(  # noqa: S603 (our own command line)
        [sys.executable, "manage.py", "deliver_webhooks", "--concurrency", str(CONCURRENCY)],
        cwd=Path(settings.BASE_DIR),
        env=env,
    )


def run() -> list[tuple[str, float, str]]:
    from django.conf import settings

    from webhooks import services

    port_queue = multiprocessing.Queue()
    receiver = multiprocessing.Process(target=_serve, args=(port_queue,), daemon=True)
    receiver.start()
    port = port_queue.get(timeout=10)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # the receiver is on 127.0.0.1
    endpoint = services.webhook_create(
        name="benchmark", url=f"http://127.0.0.1:{port}/", event_types=["webhook.test"]
    ).endpoint
    worker = _start_worker()
    dead: list[int] = []
    try:
        _emit(endpoint.pk, 50)  # warm up: worker start, connections
        _wait_until(lambda: _count(endpoint.pk, "delivered") == 50, 60)
        _sql("DELETE FROM pggit.webhook_deliveries WHERE endpoint_id = %s", [endpoint.pk])
        per_second = _throughput(endpoint.pk)
        latencies = _latencies_ms(endpoint.pk)
        _backlog(dead)
        behind_backlog = _latencies_ms(endpoint.pk)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        receiver.terminate()
        services.webhook_delete(endpoint_id=endpoint.pk)
        for dead_id in dead:
            services.webhook_delete(endpoint_id=dead_id)
    backlog = f"{BACKLOG_ENDPOINTS * BACKLOG_PER_ENDPOINT} due at dead endpoints"
    return [
        (f"signed deliveries/s (1 worker, {CONCURRENCY} in flight)", per_second, "/s"),
        ("event -> first attempt p50", statistics.median(latencies), "ms"),
        ("event -> first attempt p99", latencies[int(len(latencies) * 0.99) - 1], "ms"),
        ("event -> first attempt max", latencies[-1], "ms"),
        (f"with {backlog}: p50", statistics.median(behind_backlog), "ms"),
        (f"with {backlog}: p99", behind_backlog[int(len(behind_backlog) * 0.99) - 1], "ms"),
        (f"with {backlog}: max", behind_backlog[-1], "ms"),
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pggit_project.settings")
    import django

    django.setup()
    for name, value, unit in run():
        print(f"{name:<48} {value:>10.2f} {unit}")
