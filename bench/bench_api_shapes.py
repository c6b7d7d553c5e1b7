"""Answer size and time of the version-control reads at 1,000 tables (issue 12, "API shapes that
stay small at scale"): the status with every working change listed (the earlier shape) against the
status with a count and the first page, and the commit list with each commit's change list (the
earlier shape) against the list with change counts; then the pages of the change lists.

In one process, through Django's test client (the whole API stack: authentication, permissions,
serializers, JSON rendering), the response cache off (``PGGIT_CACHE_ENABLED=0``: what is timed is
the computation, not a hit). The earlier shapes are rebuilt here from the same selectors the API
used before, and timed interleaved with the new answers (A, B, A, B...) so that the machine's load
falls on both alike. Each figure is the median of ``BENCH_REPEAT`` (default 7) runs, with the
process CPU time of the same runs. Usage::

    DATABASE_URL=<server>/<any db> .venv/bin/python bench/bench_api_shapes.py [tables]

It makes a scratch database of its own on that server (migrated: the engine installed), creates
the tables (each with a primary key, a second column and an index; one statement per query, as
``psql -f`` sends a script) after the install, so that they are working changes, and drops the
database at the end.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TABLES = 1_000
REPEAT = int(os.environ.get("BENCH_REPEAT", "7"))


def main(tables: int) -> None:
    import psycopg

    from tests.engine.enginedb import db_url, drop_database, server_url

    name = f"pggit_bench_shapes_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    server = urlsplit(os.environ["DATABASE_URL"])
    os.environ["DATABASE_URL"] = urlunsplit(server._replace(path=f"/{name}"))
    os.environ["PGGIT_CACHE_ENABLED"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pggit_project.settings")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    try:
        import django

        django.setup()
        run(tables, db_url(name))
    finally:
        try:
            from django.db import connections

            connections.close_all()
        finally:
            drop_database(name)


def measure(label: str, fn, results: dict) -> None:
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    size = fn()
    results.setdefault(label, []).append(
        (
            (time.perf_counter() - wall_started) * 1000.0,
            (time.process_time() - cpu_started) * 1000.0,
            size,
        )
    )


def report(results: dict) -> None:
    print(f"{'answer':<62} {'wall ms':>9} {'cpu ms':>8} {'bytes':>11}")
    for label, samples in results.items():
        wall = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        size = samples[-1][2]
        print(f"{label:<62} {wall:>9.1f} {cpu:>8.1f} {size:>11,}")


def run(tables: int, url: str) -> None:
    import psycopg
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.renderers import JSONRenderer
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from vcs import selectors
    from vcs.api import serializers as s
    from vcs.models import Commit

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_superuser("bench-shapes", password=uuid.uuid4().hex)
    client = APIClient(SERVER_NAME="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")

    def get(path: str) -> int:
        response = client.get(path)
        assert response.status_code == 200, (path, response.content[:300])
        return len(response.content)

    def earlier_status() -> int:  # the earlier GET /api/v1/status: every working change
        data = dict(s.StatusSerializer(selectors.status_get()).data)
        data.pop("working_change_count")
        return len(JSONRenderer().render(data))

    def earlier_commits() -> int:  # the earlier GET /api/v1/commits: each commit's change list
        page = list(selectors.commit_queryset()[:20])
        items = []
        for commit in page:
            item = dict(s.CommitSerializer(commit).data)
            item.pop("change_count")
            item["changes"] = list(selectors.commit_changes(commit))
            items.append(item)
        body = {"items": items, "total": selectors.commit_queryset().count()}
        return len(JSONRenderer().render(body))

    with psycopg.connect(url, autocommit=True) as conn:  # one statement per query, as psql -f
        for i in range(tables):
            conn.execute(f"CREATE TABLE public.t{i} (id integer PRIMARY KEY, v text)")
            conn.execute(f"CREATE INDEX t{i}_v_idx ON public.t{i} (v)")
    started = time.perf_counter()
    get("/api/v1/status")  # the first read after the DDL (the engine's capture work), not repeated
    first = (time.perf_counter() - started) * 1000.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pggit.status()")
        working = cursor.fetchone()[0]
    print(f"{tables} tables, {working} working changes; load {os.getloadavg()}")
    print(f"first GET /api/v1/status after the DDL: {first:.0f} ms (not in the medians)")

    last = -(-working // 100)
    results: dict = {}
    for _ in range(REPEAT):
        measure("status, earlier shape (every working change)", earlier_status, results)
        measure(
            "GET /api/v1/status (count + first page of 20)", lambda: get("/api/v1/status"), results
        )
        measure(
            "GET /api/v1/status/changes?page_size=100 (first page)",
            lambda: get("/api/v1/status/changes?page_size=100"),
            results,
        )
        measure(
            f"GET /api/v1/status/changes?page={last}&page_size=100 (last page)",
            lambda: get(f"/api/v1/status/changes?page={last}&page_size=100"),
            results,
        )

    client.post("/api/v1/commits", {"message": "adopt"}, format="json")
    for number in range(2):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"ALTER TABLE public.t{number} ADD COLUMN extra integer")
        client.post("/api/v1/commits", {"message": f"alter t{number}"}, format="json")
    adopt = Commit.objects.get(message="adopt")
    commit_last = -(-adopt.change_count // 100)
    print(f"commits: {Commit.objects.count()}, the adopting one with {adopt.change_count} changes")
    for _ in range(REPEAT):
        measure("commit list, earlier shape (each commit's changes)", earlier_commits, results)
        measure("GET /api/v1/commits (change counts)", lambda: get("/api/v1/commits"), results)
        measure(
            "GET /api/v1/commits/{adopting}/changes?page_size=100",
            lambda: get(f"/api/v1/commits/{adopt.hash}/changes?page_size=100"),
            results,
        )
        measure(
            f"GET /api/v1/commits/{{adopting}}/changes?page={commit_last}&page_size=100",
            lambda: get(f"/api/v1/commits/{adopt.hash}/changes?page={commit_last}&page_size=100"),
            results,
        )
    report(results)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else TABLES)
