"""Throughput and latency of the HTTP paths, one web process, each row of issue 16's table.

Run alone (``DATABASE_URL`` of a migrated database, ``REDIS_URL``, ``wrk`` installed)::

    DATABASE_URL=... REDIS_URL=... DJANGO_DEBUG=1 .venv/bin/python bench/bench_http.py

The web process is started the README's way (``pggit_project.processes.web_command``: what ``make
run`` starts) on 127.0.0.1 and a free port of its own, once with the response cache off
(``PGGIT_CACHE_ENABLED=0``) and once with it on; with production settings (``DJANGO_DEBUG=0``, this
process's secrets; ``BENCH_DJANGO_DEBUG=1`` for debug) and ``DJANGO_LOG_LEVEL=WARNING``
(``BENCH_LOG_LEVEL``: the access log writes a line per request at INFO). Every row is a warm-up run
(``wrk -t2 -c32 -d3s``, not reported) then the measured ``wrk -t2 -c32 -d10s --latency``
(``BENCH_DURATION``), with the requests spread over 500 users' tokens. The data it creates (users
``bench-http-*``, 200 webhook endpoints, 2,000 alerts) stays for the next run; the endpoints the
POST rows create are deleted at the end. POSTs use IP-literal URLs (a public address) and host-name
URLs (a new name per request under ``example.com``, resolved by the system resolver within the
save-time bound). The servers listen on free ports, or on ``BENCH_HTTP_PORT`` (uncached) and the
next one (cached) when it is set. Each row also gives the web process's CPU per request: the
utime + stime of the server process and its descendants (``/proc/<pid>/stat``) over the measured
run, divided by the requests wrk counted — unlike req/s, it hardly depends on what else the
machine is running.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DURATION = os.environ.get("BENCH_DURATION", "10s")
WARM_UP = "3s"
THREADS = 2
CONNECTIONS = 32
USERS = 500
WEBHOOKS = 200
ALERTS = 2_000
PREFIX = "bench-http-"
POST_PREFIX = "bench-http-post-"

# One Lua state per wrk thread: each picks tokens round-robin from its own starting point and
# numbers its POSTs with its thread id, so names and host names never repeat.
LUA = """
local tokens = {{{tokens}}}
local counter = 0
local thread_id = 0
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
end
local function auth()
  counter = counter + 1
  return "Bearer " .. tokens[(counter + thread_id * 97) % #tokens + 1]
end
local function post_webhook(kind)
  local name = "{post_prefix}" .. thread_id .. "-" .. counter
  local url
  if kind == "ip" then
    url = "https://93.184.215.14/hook/" .. thread_id .. "/" .. counter
  else
    url = "https://h" .. thread_id .. "-" .. counter .. "-" .. os.time() .. ".example.com/hook"
  end
  return wrk.format("POST", "/api/v1/webhooks", {{["Authorization"] = auth(),
    ["Content-Type"] = "application/json"}}, '{{"name": "' .. name .. '", "url": "' .. url .. '"}}')
end
request = function()
  local mode = "{mode}"
  if mode == "post-ip" then return post_webhook("ip") end
  if mode == "post-name" then return post_webhook("name") end
  if mode == "mix" and counter % 5 == 4 then return post_webhook("name") end
  return wrk.format("GET", "{path}", {{["Authorization"] = auth()}})
end
"""


def _seed() -> tuple[list[str], int]:
    """The users' access tokens and a webhook id to read; creates what is missing."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework_simplejwt.tokens import AccessToken

    from alerts.models import Alert
    from alerts.services import alert_raise
    from pggit_project.roles import OPERATOR
    from webhooks.models import WebhookEndpoint
    from webhooks.services import webhook_create

    users = get_user_model().objects
    have = users.filter(username__startswith=PREFIX).count()
    seeded = have < USERS
    users.bulk_create(
        users.model(username=f"{PREFIX}{n}", is_staff=True) for n in range(have, USERS)
    )
    # Every endpoint needs its permission (pggit_project.permissions): the users read and create
    # webhooks as operators do.
    operators = Group.objects.get(name=OPERATOR)
    operators.user_set.add(*users.filter(username__startswith=PREFIX).exclude(groups=operators))
    tokens = [
        str(AccessToken.for_user(user))
        for user in users.filter(username__startswith=PREFIX).order_by("id")[:USERS]
    ]
    endpoints = WebhookEndpoint.objects.filter(name__startswith="bench-http-hook-")
    seeded = seeded or endpoints.count() < WEBHOOKS
    for n in range(endpoints.count(), WEBHOOKS):
        webhook_create(
            name=f"bench-http-hook-{n}",
            url=f"https://93.184.215.14/seed/{n}",
            event_types=["*"],
            actor="bench",
        )
    have = Alert.objects.filter(source="bench-http").count()
    seeded = seeded or have < ALERTS
    if have < ALERTS:
        print(f"bench_http: raising {ALERTS - have} alerts...", file=sys.stderr, flush=True)
    for n in range(have, ALERTS):
        alert_raise(
            fingerprint=f"bench-http-{n}",
            source="bench-http",
            severity="warning",
            title=f"bench alert {n}",
            actor="bench",
        )
    if seeded:
        # as autovacuum would soon after: the first run's plans are then those of the next runs
        # (measured: 267 req/s on the uncached list right after the seed, 410 after a VACUUM
        # ANALYZE)
        from django.db import connection

        print("bench_http: analyzing the database...", file=sys.stderr, flush=True)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return tokens, endpoints.order_by("id").values_list("id", flat=True)[7]


def _free_port(offset: int = 0) -> int:
    """``BENCH_HTTP_PORT`` + ``offset`` when set (a port range of one's own), else a free port."""
    if os.environ.get("BENCH_HTTP_PORT"):
        return int(os.environ["BENCH_HTTP_PORT"]) + offset
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_environment() -> dict[str, str]:
    """Production settings (``DJANGO_DEBUG=0``, ``BENCH_DJANGO_DEBUG=1`` for debug), with this
    process's secrets, and the application's log at WARNING (no access log line per request)."""
    from django.conf import settings

    return {
        "DJANGO_DEBUG": os.environ.get("BENCH_DJANGO_DEBUG", "0"),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "WEBHOOK_ENCRYPTION_KEY": ",".join(settings.WEBHOOK_ENCRYPTION_KEYS),
        "DJANGO_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    }


def _server(cache_enabled: bool, port: int) -> subprocess.Popen:
    import httpx

    from pggit_project.processes import web_command

    env = {**os.environ, **_server_environment(), "PGGIT_CACHE_ENABLED": str(int(cache_enabled))}
    server = subprocess.Popen(  # noqa: S603 (our own argv)
        web_command("127.0.0.1", port),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(150):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the web process did not answer /health within 30 s; run it by hand")


def _ms(text: str) -> float:
    """Milliseconds of a wrk duration (``850.00us``, ``12.5ms``, ``1.20s``, ``1.05m``)."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise RuntimeError(f"wrk printed a duration this script cannot read: {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and its living descendants (a server may serve from a child)."""
    ticks, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except FileNotFoundError:  # exited meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        for task in tasks:
            with contextlib.suppress(FileNotFoundError):
                pending += [int(child) for child in (task / "children").read_text().split()]
    return ticks / os.sysconf("SC_CLK_TCK")


def _wrk(port: int, script: str, server_pid: int) -> dict[str, float]:
    base = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", "-s", script]
    url = f"http://127.0.0.1:{port}"
    subprocess.run([*base, f"-d{WARM_UP}", url], capture_output=True, check=True)  # noqa: S603
    cpu_before = _cpu_seconds(server_pid)
    out = subprocess.run(  # noqa: S603
        [*base, f"-d{DURATION}", "--latency", url], capture_output=True, text=True, check=True
    ).stdout
    cpu = _cpu_seconds(server_pid) - cpu_before
    if "Latency Distribution" not in out:
        raise RuntimeError(f"wrk gave no latency distribution (no answer at all?):\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"^\s*50%\s+(\S+)", out, re.MULTILINE).group(1)),
        "p99": _ms(re.search(r"^\s*99%\s+(\S+)", out, re.MULTILINE).group(1)),
        "non2xx": int(errors.group(1)) if errors else 0,
        "timeouts": int(timeouts.group(1)) if timeouts else 0,
        "cpu": cpu * 1000 / max(requests, 1),
    }


def _rows(endpoint: int, cache_enabled: bool) -> list[tuple[str, str, str]]:
    """(label, mode, path) of the rows measured with this cache setting."""
    if cache_enabled:
        return [
            ("GET /api/v1/webhooks, cached", "get", "/api/v1/webhooks"),
            ("GET /api/v1/alerts, cached", "get", "/api/v1/alerts"),
        ]
    return [
        ("GET /api/v1/webhooks, uncached", "get", "/api/v1/webhooks"),
        (f"GET /api/v1/webhooks/{endpoint}, uncached", "get", f"/api/v1/webhooks/{endpoint}"),
        ("GET /api/v1/alerts, uncached", "get", "/api/v1/alerts"),
        ("GET /health", "get", "/health"),
        ("GET /api/v1/cache/stats", "get", "/api/v1/cache/stats"),
        ("POST /api/v1/webhooks (IP literal)", "post-ip", "/api/v1/webhooks"),
        ("POST /api/v1/webhooks (host name)", "post-name", "/api/v1/webhooks"),
        ("80% GET list / 20% POST (host name)", "mix", "/api/v1/webhooks"),
    ]


def _settings_line() -> str:
    from pggit_project.processes import web_command

    command = " ".join(web_command("127.0.0.1", 0)[1:]).replace(sys.executable, "python")
    return (
        f"web: {command}; wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION} --latency; "
        f"{USERS} users' tokens, {WEBHOOKS} webhooks, {ALERTS} alerts; "
        f"DATABASE_POOL_MAX_SIZE={os.environ.get('DATABASE_POOL_MAX_SIZE', 'default')}, "
        f"PGGIT_WEB_THREADS={os.environ.get('PGGIT_WEB_THREADS', 'default')}, "
        f"DJANGO_DEBUG={_server_environment()['DJANGO_DEBUG']}, "
        f"DJANGO_LOG_LEVEL={_server_environment()['DJANGO_LOG_LEVEL']}; load average before: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )


def run() -> list[tuple[str, float, str]]:
    if not shutil.which("wrk") or not os.environ.get("REDIS_URL"):
        print("bench_http: needs wrk (apt-get install wrk) and REDIS_URL; skipped")
        return []
    from django.db import connection

    tokens, endpoint = _seed()
    print(f"bench_http: {_settings_line()}", file=sys.stderr, flush=True)
    results: list[tuple[str, float, str]] = []
    token_list = ", ".join(f'"{token}"' for token in tokens)
    try:
        for cache_enabled in (False, True):
            port = _free_port(int(cache_enabled))
            server = _server(cache_enabled, port)
            try:
                for label, mode, path in _rows(endpoint, cache_enabled):
                    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
                        script.write(
                            LUA.format(
                                tokens=token_list, mode=mode, path=path, post_prefix=POST_PREFIX
                            )
                        )
                    try:
                        figures = _wrk(port, script.name, server.pid)
                    finally:
                        os.unlink(script.name)
                    print(
                        f"bench_http: {label}: {figures['rps']:.0f} req/s, "
                        f"p50 {figures['p50']:.1f} ms, p99 {figures['p99']:.1f} ms, "
                        f"non-2xx {figures['non2xx']}, timeouts {figures['timeouts']}, "
                        f"web CPU {figures['cpu']:.2f} ms/request",
                        file=sys.stderr,
                        flush=True,
                    )
                    results += [
                        (label, figures["rps"], "req/s"),
                        ("  p50", figures["p50"], "ms"),
                        ("  p99", figures["p99"], "ms"),
                        ("  non-2xx", figures["non2xx"], "answers"),
                        ("  timeouts", figures["timeouts"], "requests"),
                        ("  web CPU", figures["cpu"], "ms/request"),
                    ]
            finally:
                server.kill()  # servers wait for open keep-alive connections on SIGTERM
                server.wait(timeout=10)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM pggit.webhook_endpoints WHERE name LIKE %s", [f"{POST_PREFIX}%"]
            )
    return results


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pggit_project.settings")
    import django

    django.setup()
    for name, value, unit in run():
        print(f"{name:<44} {value:>10.2f} {unit}")
