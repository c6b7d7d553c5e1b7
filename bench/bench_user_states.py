"""What reading users' states costs a web process (``cachemgmt.hitpath.UserStates``): the queries,
the process's CPU time and the PostgreSQL backend's CPU time per user whose state must be read.

Run alone (``DATABASE_URL`` of a migrated database, ``REDIS_URL``)::

    DATABASE_URL=... REDIS_URL=... DJANGO_DEBUG=1 .venv/bin/python bench/bench_user_states.py

Seeds ``BENCH_USERS`` (500) users of the viewer role (names ``bench-states-*``, removed afterwards)
and reads their states as a fresh process does, in four cases, each on a new ``UserStates``:

- ``cold, ordinary path``: each user's first request on the ordinary path (``for_request``), one
  after the other;
- ``cold, early path``: every user's first cached hit arriving at once on the early path
  (``_user_state``, concurrent on the event loop, the reads on ``sync_to_async``'s thread);
- ``after a user change``: every state read, then the user-state generation bumped, then each
  user's next request (``for_request``);
- ``at expiry``: every state read, then all of them past their TTL, then each user's next request.

Figures are load-independent: queries counted (``execute_wrapper``), ``time.process_time`` of this
process, and the backend's CPU time (``/proc/<backend pid>/schedstat``; PostgreSQL on this host;
not for the early path, whose reads give their connection back after each read as a request does).
Each case is run ``BENCH_ROUNDS`` (3) times; the median is printed.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

# The tree measured (its code and settings): this one, or BENCH_TREE (another checkout, for A/B).
ROOT = Path(os.environ.get("BENCH_TREE") or Path(__file__).resolve().parent.parent)
USERS = int(os.environ.get("BENCH_USERS", "500"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PREFIX = "bench-states-"


def backend_cpu_ns(pid: int) -> int:
    with open(f"/proc/{pid}/schedstat") as stat:
        return int(stat.read().split()[0])


def run() -> list[tuple[str, float, str]]:
    from asgiref.sync import sync_to_async
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection

    from cachemgmt import hitpath
    from cachemgmt.runtime import get_store

    users_model = get_user_model()
    users_model.objects.filter(username__startswith=PREFIX).delete()
    viewer = Group.objects.get(name="viewer")
    users = users_model.objects.bulk_create(
        users_model(username=f"{PREFIX}{n}", password="!")  # noqa: S106 (unusable)
        for n in range(USERS)
    )
    viewer.user_set.add(*users)
    ids = [user.pk for user in users]
    store = get_store()
    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    def watch_reading_thread() -> None:
        # the early path reads on sync_to_async's thread, with that thread's connection
        if count not in connection.execute_wrappers:
            connection.execute_wrappers.append(count)

    def fresh() -> hitpath.UserStates:
        states = hitpath.UserStates()
        hitpath.user_states = states
        return states

    def ordinary(states) -> None:
        for user_id in ids:
            assert states.for_request(user_id).active

    def early(states) -> None:
        async def all_at_once():
            await sync_to_async(watch_reading_thread)()
            found = await asyncio.gather(*(hitpath._user_state(user_id) for user_id in ids))
            assert all(state is not None and state.active for state in found)

        asyncio.run(all_at_once())

    def after_change(states) -> None:
        ordinary(states)
        store.bump_users()

    def expired(states) -> None:
        ordinary(states)
        past = time.monotonic() - 1
        for key, (state, _expires) in list(states._states.items()):
            states._states[key] = (state, past)

    cases = [
        ("cold, ordinary path", None, ordinary),
        ("cold, early path", None, early),
        ("after a user change", after_change, ordinary),
        ("at expiry", expired, ordinary),
    ]
    results = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        with connection.execute_wrapper(count):
            for name, prepare, measured in cases:
                figures = []
                for _ in range(ROUNDS):
                    states = fresh()
                    if prepare is not None:
                        prepare(states)
                    queries[0] = 0
                    cpu, server = time.process_time(), backend_cpu_ns(backend)
                    started = time.perf_counter()
                    measured(states)
                    figures.append(
                        (
                            queries[0] / USERS,
                            (time.process_time() - cpu) * 1000 / USERS,
                            (backend_cpu_ns(backend) - server) / 1e6 / USERS,
                            (time.perf_counter() - started) * 1000,
                        )
                    )
                median = [statistics.median(column) for column in zip(*figures, strict=True)]
                results += [
                    (f"{name}: queries per user", median[0], "queries"),
                    (f"{name}: process CPU per user", median[1], "ms"),
                    (f"{name}: wall, all {USERS} users", median[3], "ms"),
                ]
                if measured is not early:
                    results.append((f"{name}: backend CPU per user", median[2], "ms"))
    finally:
        users_model.objects.filter(username__startswith=PREFIX).delete()
        hitpath.user_states = hitpath.UserStates()
    return results


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pggit_project.settings")
    import django

    django.setup()
    print(f"users {USERS}, rounds {ROUNDS} (median), load average {os.getloadavg()[0]:.1f}")
    for name, value, unit in run():
        print(f"{name:<48} {value:>10.3f} {unit}")
