"""WebSockets: 1,000 concurrent sockets on one web process; the time from an event's commit to
its arrival at every socket, and the web process's memory per connection.

Starts one web process (``uvicorn pggit_project.asgi:application``) and, with Redis configured,
``manage.py pggit_listen`` (the production path: outbox -> listener -> Redis layer -> web process);
without Redis the web process forwards events itself (in-memory layer). The sockets are opened by
this process (asyncio, the ``websockets`` client), all subscribed to ``commit.created``; events
are committed one at a time from a connection of this process, and each waits for all sockets
before the next. Client and server share the machine, so the figures include the client's own
work of reading 1,000 sockets. The events (type ``commit.created``, data ``{"benchmark": n}``)
stay in the outbox, as all events do.

Usage: ``python bench/bench_websockets.py [--sockets 1000] [--events 200]`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOCKETS = 1000
EVENTS = 200
CONNECT_CONCURRENCY = 50
TOPIC = "commit.created"
BENCH_USER = "bench-websockets"
START_TIMEOUT_SECONDS = 180  # a loaded machine takes a while to start the web process


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("VmRSS not found")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _token() -> str:
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import AccessToken

    user, _ = get_user_model().objects.get_or_create(
        username=BENCH_USER, defaults={"is_staff": True, "is_superuser": True}
    )
    user.set_unusable_password()
    user.save()
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(hours=2))
    return str(token)


def _spawn(argv: list[str], log_path: Path) -> subprocess.Popen:
    handle = log_path.open("wb")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DJANGO_LOG_LEVEL": "WARNING"}
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)  # noqa: S603 (our own servers)


def _wait_http(url: str, process: subprocess.Popen, log_path: Path) -> None:
    import httpx

    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the web process exited:\n{log_path.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(
        f"the web process did not answer in {START_TIMEOUT_SECONDS} s: see {log_path}"
    )


def _wait_listener(process: subprocess.Popen, log_path: Path, spawned_at: float) -> None:
    """Until ``pggit_listen`` follows the outbox: once connected it records the forwarding
    position (with the time); before that it forwards nothing. The first leader a database ever
    has starts after the newest event (older ones are the clients' ``?since=``), so an event
    emitted before it connected would never reach the sockets, and the warm-up would wait for
    it in vain (seen on a freshly migrated database)."""
    from pggit_project.realtime import forwarding_position

    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pggit_listen exited:\n{log_path.read_text()[-2000:]}")
        position = forwarding_position()
        if position is not None and position["at"] >= spawned_at:
            return
        time.sleep(0.2)
    raise RuntimeError(f"pggit_listen did not start following in {START_TIMEOUT_SECONDS} s")


class Sockets:
    """``count`` client sockets; ``arrivals[event_id]`` collects each socket's arrival time."""

    def __init__(self, url: str, token: str, count: int) -> None:
        self.url = url
        self.token = token
        self.count = count
        self.connections: list = []
        self.readers: list[asyncio.Task] = []
        self.arrivals: dict[int, list[float]] = {}
        self.complete: dict[int, asyncio.Event] = {}

    async def _open_one(self, limit: asyncio.Semaphore):
        from websockets.asyncio.client import connect

        async with limit:
            conn = await connect(
                self.url,
                subprotocols=["bearer", self.token],
                open_timeout=60,
                ping_interval=None,
                compression=None,
                max_queue=None,
                proxy=None,
            )
            await conn.send(json.dumps({"action": "subscribe", "topics": [TOPIC]}))
            reply = json.loads(await conn.recv())
            if reply.get("type") != "subscribed":
                raise RuntimeError(f"subscribe failed: {reply}")
            return conn

    async def open(self) -> None:
        limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
        done = 0
        for start in range(0, self.count, 100):
            batch = range(start, min(start + 100, self.count))
            self.connections += await asyncio.gather(*(self._open_one(limit) for _ in batch))
            done += len(batch)
            print(f"  {done}/{self.count} sockets open", file=sys.stderr, flush=True)
        self.readers = [asyncio.create_task(self._read(conn)) for conn in self.connections]

    def expect(self, event_id: int) -> asyncio.Event:
        self.arrivals[event_id] = []
        self.complete[event_id] = asyncio.Event()
        return self.complete[event_id]

    async def _read(self, conn) -> None:
        async for raw in conn:
            now = time.perf_counter()
            message = json.loads(raw)
            if message.get("type") != "event":
                continue
            event_id = message["event"]["id"]
            arrivals = self.arrivals.get(event_id)
            if arrivals is None:
                continue
            arrivals.append(now)
            if len(arrivals) == self.count:
                self.complete[event_id].set()

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*(conn.close() for conn in self.connections), return_exceptions=True)


async def _measure(url: str, token: str, sockets: int, events: int, web_pid: int) -> dict:
    from pggit_project.listener import connect as db_connect

    # warm up: one socket, one event (imports, pools, the listener's first read)
    warm = Sockets(url, token, 1)
    await warm.open()
    with db_connect() as conn:
        for _ in range(3):
            event_id = conn.execute(
                "SELECT pggit.emit_event(%s, '{\"benchmark\": -1}')", [TOPIC]
            ).fetchone()[0]
            waiter = warm.expect(event_id)
            await asyncio.wait_for(waiter.wait(), 30)
    await warm.close()
    await asyncio.sleep(1)
    rss_before = _rss_kib(web_pid)

    crowd = Sockets(url, token, sockets)
    opened_at = time.perf_counter()
    await crowd.open()
    open_seconds = time.perf_counter() - opened_at
    await asyncio.sleep(2)
    rss_after = _rss_kib(web_pid)

    all_sockets_ms: list[float] = []
    each_socket_ms: list[float] = []
    with db_connect() as conn:
        for n in range(events):
            # autocommit: the statement returns once the event is committed (and announced)
            event_id = conn.execute(
                "SELECT pggit.emit_event(%s, jsonb_build_object('benchmark', %s::int))",
                [TOPIC, n],
            ).fetchone()[0]
            committed = time.perf_counter()
            waiter = crowd.expect(event_id)
            await asyncio.wait_for(waiter.wait(), 60)
            arrivals = crowd.arrivals.pop(event_id)
            all_sockets_ms.append((max(arrivals) - committed) * 1000)
            each_socket_ms.extend((t - committed) * 1000 for t in arrivals)
            if (n + 1) % 50 == 0:
                print(f"  {n + 1}/{events} events", file=sys.stderr, flush=True)
    await crowd.close()
    return {
        "open_seconds": open_seconds,
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "all_sockets_ms": all_sockets_ms,
        "each_socket_ms": each_socket_ms,
    }


def measure(sockets: int = SOCKETS, events: int = EVENTS) -> list[tuple[str, float, str]]:
    from django.conf import settings

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, sockets * 3 + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))  # inherited by the servers

    token = _token()
    logs = ROOT / ".pggit" / "bench-websockets"
    logs.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    from pggit_project.processes import ASGI_APP, web_server_options

    python = sys.executable
    web = _spawn(
        [python, "-m", "uvicorn", *web_server_options("127.0.0.1", port), ASGI_APP],
        logs / "web.log",
    )
    started = [web]
    try:
        if settings.REDIS_URL:
            spawned_at = time.time()
            listener = _spawn([python, "manage.py", "pggit_listen"], logs / "listener.log")
            started.append(listener)
            _wait_listener(listener, logs / "listener.log", spawned_at)
        _wait_http(f"http://127.0.0.1:{port}/health", web, logs / "web.log")
        result = asyncio.run(_measure(f"ws://127.0.0.1:{port}/ws", token, sockets, events, web.pid))
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
    everyone = result["all_sockets_ms"]
    each = result["each_socket_ms"]
    per_connection = (result["rss_after_kib"] - result["rss_before_kib"]) / sockets
    path = "Redis + pggit_listen" if settings.REDIS_URL else "in-memory layer"
    return [
        (f"sockets ({path})", float(sockets), "sockets"),
        ("events measured", float(len(everyone)), "events"),
        ("opening all sockets", result["open_seconds"], "s"),
        ("commit -> all sockets p50", statistics.median(everyone), "ms"),
        ("commit -> all sockets p99", _percentile(everyone, 0.99), "ms"),
        ("commit -> all sockets max", max(everyone), "ms"),
        ("commit -> one socket p50", statistics.median(each), "ms"),
        ("commit -> one socket p99", _percentile(each, 0.99), "ms"),
        ("web process RSS before sockets", result["rss_before_kib"] / 1024, "MiB"),
        ("web process RSS with the sockets", result["rss_after_kib"] / 1024, "MiB"),
        ("memory per connection", per_connection, "KiB"),
    ]


def run() -> list[tuple[str, float, str]]:
    return measure()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=SOCKETS)
    parser.add_argument("--events", type=int, default=EVENTS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pggit_project.settings")
    import django

    django.setup()
    for name, value, unit in measure(args.sockets, args.events):
        print(f"{name:<40} {value:>10.2f} {unit}")
