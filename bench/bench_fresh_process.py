"""A fresh web process's first seconds: cached ``GET /api/v1/webhooks`` in consecutive windows
from its start, with the requests spread over 500 users' tokens (their states are read then).

Run alone (``DATABASE_URL`` of a migrated database, ``REDIS_URL``, ``wrk`` installed)::

    DATABASE_URL=... REDIS_URL=... DJANGO_DEBUG=1 .venv/bin/python bench/bench_fresh_process.py

The process and its data are ``bench/bench_http.py``'s (its users, endpoints and alerts, created
when missing; the server started the README's way with production settings, cache on), on
``BENCH_PORT`` (a free port by default). No warm-up: ``BENCH_WINDOWS`` (4) runs of
``wrk -t2 -c32 -d2s`` one after the other, each printed with req/s, the server process's CPU time
per request (``/proc/<pid>/stat``) and the PostgreSQL transactions per request
(``pg_stat_database``, after ``pg_stat_force_next_flush()``; this script's own two statements per
reading left out). ``BENCH_TREE``: measure another checkout (run from its root, with its venv and
database).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(os.environ.get("BENCH_TREE") or Path(__file__).resolve().parent.parent)
WINDOWS = int(os.environ.get("BENCH_WINDOWS", "4"))
WINDOW_SECONDS = 2
OWN_STATEMENTS = 2  # per transactions() reading


def server_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def transactions() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        time.sleep(1.2)
        cursor.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        )
        return cursor.fetchone()[0]


def run() -> list[str]:
    import bench_http

    tokens, _endpoint = bench_http._seed()
    lua = bench_http.LUA.format(
        tokens=", ".join(f'"{token}"' for token in tokens),
        post_prefix=bench_http.POST_PREFIX,
        mode="get",
        path="/api/v1/webhooks",
    )
    port = int(os.environ.get("BENCH_PORT") or bench_http._free_port())
    lines = []
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(lua)
        script.flush()
        server = bench_http._server(True, port)
        try:
            lines.append(f"load average {os.getloadavg()[0]:.1f}, port {port}")
            for window in range(WINDOWS):
                cpu, xacts = server_cpu_seconds(server.pid), transactions()
                out = subprocess.run(  # noqa: S603 (our own argv)
                    [  # noqa: S607 (wrk from PATH, as bench_http.py runs it)
                        "wrk",
                        f"-t{bench_http.THREADS}",
                        f"-c{bench_http.CONNECTIONS}",
                        f"-d{WINDOW_SECONDS}s",
                        "-s",
                        script.name,
                        f"http://127.0.0.1:{port}",
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                cpu = server_cpu_seconds(server.pid) - cpu
                xacts = transactions() - xacts - OWN_STATEMENTS
                requests = int(re.search(r"(\d+) requests in", out).group(1))
                errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
                start = window * WINDOW_SECONDS
                lines.append(
                    f"window {window} ({start}-{start + WINDOW_SECONDS} s): "
                    f"{requests / WINDOW_SECONDS:,.0f} req/s, "
                    f"CPU {1000 * cpu / max(requests, 1):.3f} ms/request, "
                    f"PostgreSQL transactions/request {xacts / max(requests, 1):.3f}, "
                    f"non-2xx {errors.group(1) if errors else 0}"
                )
        finally:
            server.kill()
            server.wait(timeout=10)
    return lines


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pggit_project.settings")
    import django

    django.setup()
    for line in run():
        print(line)
