"""Migration scripts and whole-schema checkouts at the size of a real application.

- Generated schemas of N tables (default 1,000 and 10,000): each table has a primary key, a
  foreign key to the previous table, an index and a comment; every 20th table gets a view that
  reads it and the previous such view (views over views): about 5 objects per table. The tree
  `empty` is the root commit (the engine installed on an empty database); `main` holds the tables.
  Timed: `pggit.diff('HEAD', 'WORKING')` on the clean tree (wall and the backend's CPU time),
  `pggit.diff_script('empty', 'main')` (create everything) and
  `pggit.diff_script('main', 'empty')` (drop everything). With --serial the keys are serial
  columns: a sequence per table more (and its column default), about 6 objects per table.
- The corpus (tests/engine/corpus/: commerce, hr, saas; about 1,400 objects): checkout of a
  branch whose tree is empty, then of main again (drop everything, create everything, each
  proven equal to its target tree).

Targets (docs/benchmarks.md): scripts < 0.5 s at 1,000 tables and < 2 s at 10,000; each
checkout < 1.5 s. Figures are medians of 3 runs (scripts) and of 3 round trips (checkouts).
Usage:
    python bench/bench_engine_scripts.py [tables ...]     # default: 1000 10000
    python bench/bench_engine_scripts.py --corpus-only | --scripts-only [tables ...]
    python bench/bench_engine_scripts.py --scripts-only --serial 10000   # keys from sequences
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psycopg
from _engine import EngineDB, db_url, ensure_roles, install_engine, report, scratch, timed

# The three schemas every figure in docs/benchmarks.md was taken on (the later rentals.sql is
# the fidelity tests' and would change what is measured)
CORPUS = [
    Path(__file__).resolve().parent.parent / "tests/engine/corpus" / name
    for name in ("commerce.sql", "hr.sql", "saas.sql")
]


def generated_sql(start: int, end: int, serial: bool = False) -> str:
    out = []
    key = "serial" if serial else "integer"
    for i in range(start, end):
        parent = f", parent_id integer REFERENCES public.g{i - 1} (id)" if i > 0 else ""
        out.append(
            f"CREATE TABLE public.g{i} (id {key} PRIMARY KEY, v text NOT NULL{parent});"
            f"CREATE INDEX g{i}_v_idx ON public.g{i} (v);"
            f"COMMENT ON TABLE public.g{i} IS 'generated table {i}';"
        )
        if i % 20 == 19:
            previous = f" UNION ALL SELECT id, v FROM public.gv{i - 20}" if i >= 39 else ""
            out.append(f"CREATE VIEW public.gv{i} AS SELECT id, v FROM public.g{i}{previous};")
    return "".join(out)


def load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def backend_cpu_ms(db: EngineDB, query: str, repeat: int = 3) -> tuple[float, float]:
    """Median wall time and median CPU time of the backend running query (/proc schedstat)."""
    pid = db.one("SELECT pg_backend_pid()")
    stat = Path(f"/proc/{pid}/schedstat")
    walls, cpus = [], []
    for _ in range(repeat):
        cpu0, wall0 = int(stat.read_text().split()[0]), time.perf_counter()
        db.one(query)
        cpus.append((int(stat.read_text().split()[0]) - cpu0) / 1e6)
        walls.append((time.perf_counter() - wall0) * 1000.0)
    return sorted(walls)[repeat // 2], sorted(cpus)[repeat // 2]


def scripts(tables: int, serial: bool = False) -> list[tuple[str, float, str]]:
    results = []
    with scratch("scripts") as name:
        url = db_url(name)
        install_engine(url)
        db = EngineDB(name)
        db.run("SELECT pggit.branch_create('empty', (SELECT commit_hash FROM pggit.head()))")
        with psycopg.connect(url, autocommit=True) as conn:
            for start in range(0, tables, 500):
                conn.execute(generated_sql(start, min(tables, start + 500), serial))
        db.run("SELECT pggit.commit('generated tables')")
        objects = db.one("SELECT object_count FROM pggit.head()")
        results.append((f"{tables} tables: objects in the tree", float(objects), "objects"))
        # the clean tree: the live schema read from the catalogs equals HEAD
        wall, cpu = backend_cpu_ms(db, "SELECT count(*) FROM pggit.diff('HEAD', 'WORKING')")
        results.append(
            (
                f"{tables} tables: diff('HEAD', 'WORKING'), clean",
                wall,
                f"ms (load {load_average()})",
            )
        )
        results.append((f"{tables} tables: ... its backend CPU", cpu, "ms"))
        for label, (a, b) in (
            ("create everything", ("empty", "main")),
            ("drop everything", ("main", "empty")),
        ):
            args = f"'{a}', '{b}'"
            statements = db.one(
                "SELECT count(*) FROM pggit.migration_plan(pggit.ref_tree(%s), pggit.ref_tree(%s))",
                (a, b),
            )
            results.append(
                (
                    f"{tables} tables: diff_script({args}), {label} ({statements} statements)",
                    timed(lambda args=args: db.one(f"SELECT pggit.diff_script({args})"), 3),
                    f"ms (load {load_average()})",
                )
            )
        db.close()
    return results


def corpus() -> list[tuple[str, float, str]]:
    results = []
    ensure_roles("pggit_test_app_reader", "pggit_test_app_writer")  # the corpus grants to them
    with scratch("corpus") as name:
        url = db_url(name)
        install_engine(url)
        db = EngineDB(name)
        db.run("SELECT pggit.branch_create('empty', (SELECT commit_hash FROM pggit.head()))")
        for path in CORPUS:
            db.run(path.read_text())
        db.run("SELECT pggit.commit('corpus')")
        objects = db.one("SELECT object_count FROM pggit.head()")
        results.append(("corpus: objects in the tree", float(objects), "objects"))
        to_empty, to_main = [], []
        for _ in range(3):
            for branch, samples in (("empty", to_empty), ("main", to_main)):
                started = time.perf_counter()
                db.run("SELECT * FROM pggit.checkout(%s)", (branch,))
                samples.append((time.perf_counter() - started) * 1000.0)
        assert db.live_tree_hash() == db.head_tree()
        for label, samples in (("full -> empty", to_empty), ("empty -> full", to_main)):
            samples.sort()
            results.append((f"corpus: checkout {label}", samples[1], f"ms (load {load_average()})"))
        db.close()
    return results


if __name__ == "__main__":
    args = sys.argv[1:]
    options = {a for a in args if a.startswith("--")}
    sizes = [int(a) for a in args if not a.startswith("--")] or [1_000, 10_000]
    if "--scripts-only" not in options:
        report(corpus())
    if "--corpus-only" not in options:
        for n in sizes:
            report(scripts(n, serial="--serial" in options))
