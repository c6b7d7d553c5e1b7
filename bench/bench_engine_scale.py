"""Engine at 10,000 tables (bench/_engine.py create_tables: five objects a table, about 50,000 in
all): commit of one change, diff of two refs differing in 1 %, diff of the live schema against
HEAD (reads the catalogs), and checkout between them; then adoption at that size: a new database
with the engine installed, the same tables created with capture on (vs the first creation,
without the engine), the first status, the commit of everything, and the diff of the clean tree.

Targets (docs/benchmarks.md): commit < 50 ms; diff of refs < 1 s; diff WORKING vs HEAD < 1 s on a
clean tree; status and commit of everything < 5 s at 10,000 tables. Usage:
    python bench/bench_engine_scale.py [tables] [adoption]
("adoption": that part only.)
"""

from __future__ import annotations

import sys
import time

from _engine import EngineDB, create_tables, db_url, install_engine, report, scratch, timed

TABLES = 10_000


def backend_cpu(db: EngineDB) -> float:
    """CPU seconds the connection's backend has used (/proc/<pid>/schedstat: load-independent)."""
    pid = db.one("SELECT pg_backend_pid()")
    with open(f"/proc/{pid}/schedstat") as stat:
        return int(stat.read().split()[0]) / 1e9


def adoption(tables: int, created_without: float | None = None) -> list[tuple[str, float, str]]:
    """A new database with the engine installed; the tables created with capture on (the same as
    the first creation without the engine, timed here in a new database when not given), then the
    first status, the commit of everything and the diff of the clean tree."""
    results = []
    if created_without is None:
        with scratch("plain") as name:
            started = time.perf_counter()
            create_tables(db_url(name), tables)
            created_without = time.perf_counter() - started
    with scratch("adopt") as name:
        url = db_url(name)
        install_engine(url)
        started = time.perf_counter()
        create_tables(url, tables)
        created_with = time.perf_counter() - started
        results.append((f"creating {tables} tables, no engine", created_without, "s"))
        results.append((f"creating {tables} tables, capture on", created_with, "s"))
        results.append(("capture ratio (on / no engine)", created_with / created_without, "x"))
        db = EngineDB(name)
        cpu = backend_cpu(db)
        started = time.perf_counter()
        changes = len(db.rows("SELECT * FROM pggit.status()"))
        results.append((f"first status ({changes} changes)", time.perf_counter() - started, "s"))
        results.append(("  its backend CPU", backend_cpu(db) - cpu, "s"))
        cpu = backend_cpu(db)
        started = time.perf_counter()
        db.run("SELECT pggit.commit('everything')")
        results.append(("commit of everything", time.perf_counter() - started, "s"))
        results.append(("  its backend CPU", backend_cpu(db) - cpu, "s"))
        results.append(
            (
                f"diff WORKING vs HEAD, clean tree of {tables} tables",
                timed(lambda: db.rows("SELECT * FROM pggit.diff('HEAD', 'WORKING')"), repeat=3),
                "ms",
            )
        )
        db.close()
    return results


def run(tables: int = TABLES) -> list[tuple[str, float, str]]:
    results = []
    with scratch("scale") as name:
        url = db_url(name)
        started = time.perf_counter()
        create_tables(url, tables)
        created_without = time.perf_counter() - started
        started = time.perf_counter()
        install_engine(url)  # the root commit records every existing object
        results.append(
            (f"install on {tables} tables (root commit)", (time.perf_counter() - started), "s")
        )
        db = EngineDB(name)
        objects = db.one("SELECT object_count FROM pggit.head()")
        results.append(("objects in the tree", float(objects), "objects"))

        counter = iter(range(10_000))

        def one_change_commit() -> None:
            db.run(f"CREATE TABLE public.bench_c{next(counter)} (a integer)")
            started = time.perf_counter()
            db.run("SELECT pggit.commit('one change')")
            samples.append((time.perf_counter() - started) * 1000.0)

        samples: list[float] = []
        for _ in range(7):
            one_change_commit()
        samples.sort()
        results.append((f"commit of 1 change in a {objects}-object schema", samples[3], "ms"))

        db.run("SELECT pggit.branch_create('one_percent')")
        db.run("SELECT * FROM pggit.checkout('one_percent')")
        with db.conn.transaction():
            for i in range(tables // 100):
                db.run(f"ALTER TABLE public.t{i * 100} ADD COLUMN extra integer")
        db.run("SELECT pggit.commit('1 % of the tables altered')")
        results.append(
            (
                "diff of two refs differing in 1 % (rows)",
                timed(lambda: db.rows("SELECT * FROM pggit.diff('main', 'one_percent')")),
                "ms",
            )
        )
        results.append(
            (
                "diff_script of the same refs",
                timed(lambda: db.one("SELECT pggit.diff_script('main', 'one_percent')")),
                "ms",
            )
        )
        results.append(
            (
                f"diff WORKING vs HEAD at {tables} tables",
                timed(lambda: db.rows("SELECT * FROM pggit.diff('HEAD', 'WORKING')"), repeat=3),
                "ms",
            )
        )
        started = time.perf_counter()
        db.run("SELECT * FROM pggit.checkout('main')")
        results.append(
            ("checkout undoing 1 % of the tables", (time.perf_counter() - started) * 1000.0, "ms")
        )

        db.close()
    results += adoption(tables, created_without)
    return results


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else TABLES
    report(adoption(count) if sys.argv[2:] == ["adoption"] else run(count))
