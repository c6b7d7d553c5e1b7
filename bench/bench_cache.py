"""Cached vs uncached throughput of the webhook and alert lists and of the status (an answer about
the engine's state: each hit also reads the engine-state version from PostgreSQL), and an 80/20
read/write mix.

Run alone (``DATABASE_URL`` of a migrated database, ``REDIS_URL``, ``wrk`` installed)::

    DATABASE_URL=... REDIS_URL=... DJANGO_DEBUG=1 .venv/bin/python bench/bench_cache.py

One server process on 127.0.0.1 per configuration (cache on: ``PGGIT_CACHE_ENABLED=1``; off:
``=0``): uvicorn as ``make run`` starts it (``BENCH_SERVER=daphne`` for daphne). Per path a warm-up
run (``wrk -t4 -c32 -d3s``, not reported: the server's first answers to a path fill its cache and
its lazily built state), then the measured ``wrk -t4 -c32 -d10s --latency``. The mix: 4 reads of
the webhook list for each PATCH of one endpoint's description through the API (each PATCH bumps
the ``webhooks`` namespace).
``BENCH_PATHS`` (comma-separated) picks the read paths, ``BENCH_CONFIGS=cached`` skips the
uncached server, ``BENCH_MIX=0`` the mix.
Seeds 50 webhook endpoints and 50 alerts in the database it is pointed at (names ``bench-cache-*``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DURATION = os.environ.get("BENCH_DURATION", "10s")
WARM_UP = "3s"
SERVER = os.environ.get("BENCH_SERVER", "uvicorn")
CONNECTIONS = 32
PATHS = os.environ.get("BENCH_PATHS", "/api/v1/webhooks,/api/v1/alerts,/api/v1/status").split(",")
CONFIGS = os.environ.get("BENCH_CONFIGS", "uncached,cached").split(",")
MIX = os.environ.get("BENCH_MIX", "1") == "1"
MIX_SCRIPT = """
local counter = 0
request = function()
  counter = counter + 1
  if counter % 5 == 0 then
    return wrk.format("PATCH", "/api/v1/webhooks/{endpoint}", {{["Authorization"] = "{auth}",
      ["Content-Type"] = "application/json"}}, '{{"description": "bench ' .. counter .. '"}}')
  end
  return wrk.format("GET", "/api/v1/webhooks", {{["Authorization"] = "{auth}"}})
end
"""


def _seed() -> tuple[str, int]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework_simplejwt.tokens import AccessToken

    from alerts.services import alert_raise
    from pggit_project.roles import VIEWER, sync_roles
    from webhooks.models import WebhookEndpoint
    from webhooks.services import webhook_create

    user, _ = get_user_model().objects.get_or_create(
        username="bench-cache", defaults={"is_staff": True}
    )
    if not Group.objects.filter(name=VIEWER).exists():
        sync_roles()
    user.groups.add(Group.objects.get(name=VIEWER))  # reads need a role (docs/security.md)
    existing = WebhookEndpoint.objects.filter(name__startswith="bench-cache-")
    for number in range(existing.count(), 50):
        webhook_create(
            name=f"bench-cache-{number}",
            url=f"https://hooks.example.com/{number}",
            event_types=["*"],
            actor="bench",
        )
        alert_raise(
            fingerprint=f"bench-cache-{number}",
            source="bench",
            severity="warning",
            title=f"bench alert {number}",
            actor="bench",
        )
    endpoint = WebhookEndpoint.objects.filter(name__startswith="bench-cache-").order_by("id")[0]
    return f"Bearer {AccessToken.for_user(user)}", endpoint.pk


def _server(cache_enabled: bool, port: int) -> subprocess.Popen:
    env = {**os.environ, "PGGIT_CACHE_ENABLED": "1" if cache_enabled else "0"}
    env["DJANGO_LOG_LEVEL"] = "WARNING"
    from pggit_project.processes import ASGI_APP, web_server_options

    if SERVER == "daphne":
        argv = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), ASGI_APP]
    else:
        argv = [sys.executable, "-m", "uvicorn", *web_server_options("127.0.0.1", port), ASGI_APP]
    server = subprocess.Popen(  # noqa: S603 (our own argv)
        argv,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,  # daphne's access log: one line per request
        stderr=subprocess.DEVNULL,
    )
    import httpx

    for _ in range(150):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the server did not start")


def _wrk(url: str, auth: str, script: str | None = None) -> tuple[float, float, int]:
    """Requests/s, p99 in ms, and non-2xx answers of one wrk run, after a warm-up run."""
    warm_up = ["wrk", "-t4", f"-c{CONNECTIONS}", f"-d{WARM_UP}", "-H", f"Authorization: {auth}"]
    if script:
        warm_up += ["-s", script]
    subprocess.run([*warm_up, url], capture_output=True, check=True)  # noqa: S603
    argv = [
        "wrk",
        "-t4",
        f"-c{CONNECTIONS}",
        f"-d{DURATION}",
        "--latency",
        "-H",
        f"Authorization: {auth}",
    ]
    if script:
        argv += ["-s", script]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout  # noqa: S603
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(errors.group(1)) if errors else 0


def run() -> list[tuple[str, float, str]]:
    if not shutil.which("wrk") or not os.environ.get("REDIS_URL"):
        print("bench_cache: needs wrk and REDIS_URL; skipped")
        return []
    import socket

    auth, endpoint = _seed()
    results: list[tuple[str, float, str]] = []
    for enabled in (False, True):
        if ("cached" if enabled else "uncached") not in CONFIGS:
            continue
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = _server(enabled, port)
        label = "cached" if enabled else "uncached"
        try:
            for path in PATHS:
                rps, p99, errors = _wrk(f"http://127.0.0.1:{port}{path}", auth)
                results += [(f"{label} GET {path}", rps, "req/s"), ("  p99", p99, "ms")]
                results.append(("  non-2xx", errors, "answers"))
            if not MIX:
                continue
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
                script.write(MIX_SCRIPT.format(endpoint=endpoint, auth=auth))
            rps, p99, errors = _wrk(f"http://127.0.0.1:{port}/", auth, script.name)
            os.unlink(script.name)
            results += [(f"{label} 80/20 read/write mix", rps, "req/s"), ("  p99", p99, "ms")]
            results.append(("  non-2xx", errors, "answers"))
        finally:
            server.kill()  # servers wait for open keep-alive connections on SIGTERM
            server.wait(timeout=10)
    return results


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pggit_project.settings")
    import django

    django.setup()
    for name, value, unit in run():
        print(f"{name:<40} {value:>10.2f} {unit}")
