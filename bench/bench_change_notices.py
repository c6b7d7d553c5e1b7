"""What it costs to tell the cache about a recorded run, and what the writer's own take costs.

A recorded run (pggit.operations, written by every engine operation, reads such as diff
included) has no outbox event: the engine announces it on NOTIFY pggit_cache and notes it on
the session (pggit.announce_change). This measures, per transaction of one recording:
  - the recording as shipped (announcement);
  - the same plus an outbox event (pggit.emit_event), i.e. what routing every recorded run
    through the outbox would cost (event row, NOTIFY, webhook fan-out check, engine-state bump);
and the round trip of pggit.take_changes(), which a write request makes twice
(cachemgmt.middleware.OwnChangesMiddleware). Alternating within each round, fastest of the
rounds, with synchronous_commit off for the session (the disk flush at commit, the same for
all, would hide the difference). Usage:
    python bench/bench_change_notices.py [ROUNDS]
"""

from __future__ import annotations

import sys
import time

import psycopg
from _engine import db_url, install_engine, report, scratch

PER_ROUND = 500


def per_call_us(conn: psycopg.Connection, statements: list[str], *, block: bool = True) -> float:
    started = time.perf_counter()
    for _ in range(PER_ROUND):
        if block:
            with conn.transaction():
                for statement in statements:
                    conn.execute(statement)
        else:
            for statement in statements:
                conn.execute(statement)
    return (time.perf_counter() - started) / PER_ROUND * 1e6


def run(rounds: int) -> list[tuple[str, float, str]]:
    with scratch("notices") as name:
        url = db_url(name)
        install_engine(url)
        with psycopg.connect(url, autocommit=True) as conn:
            # the WAL flush at commit (milliseconds on this disk) is the same for both: left out
            conn.execute("SET synchronous_commit = off")
            record = "SELECT pggit.record_operation('diff', now())"
            event = "SELECT pggit.emit_event('operation.recorded', '{}')"
            take = "SELECT pggit.take_changes()"
            shipped, with_event, takes = [], [], []
            for _ in range(rounds):
                shipped.append(per_call_us(conn, [record]))
                with_event.append(per_call_us(conn, [record, event]))
                takes.append(per_call_us(conn, [take], block=False))
    return [
        ("recorded run, announced (as shipped)", min(shipped), "us/transaction"),
        ("recorded run + an outbox event", min(with_event), "us/transaction"),
        ("pggit.take_changes() round trip", min(takes), "us"),
    ]


if __name__ == "__main__":
    report(run(int(sys.argv[1]) if len(sys.argv) > 1 else 7))
