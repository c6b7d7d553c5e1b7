"""Loading a realistic application schema with the engine installed vs without: the three corpus
schemas (tests/engine/corpus/: commerce, hr, saas) as one script in one transaction (how a
migration tool or psql -1 -f applies it); and, after the first load, pggit.status() and the
commit of everything.

Target (docs/benchmarks.md): with the engine <= 1.5x without. Usage:
    python bench/bench_engine_corpus.py [ROUNDS]

With and without alternate within each round (a noisy neighbour hurts both alike); the figures are
the fastest of the rounds. "Without" is a database where the engine is not installed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psycopg
from _engine import db_url, ensure_roles, install_engine, report, scratch

# The three schemas every figure in docs/benchmarks.md was taken on (the later rentals.sql is
# the fidelity tests' and would change what is measured)
CORPUS = [
    Path(__file__).resolve().parent.parent / "tests/engine/corpus" / name
    for name in ("commerce.sql", "hr.sql", "saas.sql")
]


SCHEMAS = ("shop", "reporting", "hr", "payroll", "core", "billing", "api")
# the roles the corpus grants privileges to (cluster-wide; created when missing, as the tests do)
ROLES = ("pggit_test_app_reader", "pggit_test_app_writer")


def corpus_script() -> str:
    return "\n".join(path.read_text() for path in CORPUS)


def load(url: str, script: str) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        with conn.transaction():
            conn.execute(script)
        return (time.perf_counter() - started) * 1000.0


def clear(url: str, engine: bool | str) -> None:
    """Drops what the corpus created. With the engine, after the first load (committed): captured
    and committed, so the tree is clean again; after a later one (never read): with capture off,
    since only the load's own time is measured then."""
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in SCHEMAS:  # one transaction each: a lock per object dropped
            with conn.transaction():
                if engine == "later":
                    conn.execute("SELECT pggit.set_capture(false)")
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        if engine is True:
            conn.execute("SELECT pggit.commit('corpus dropped')")


def run(rounds: int = 5) -> list[tuple[str, float, str]]:
    script = corpus_script()
    ensure_roles(*ROLES)
    with scratch("corpus_on") as on_name, scratch("corpus_off") as off_name:
        on_url, off_url = db_url(on_name), db_url(off_name)
        install_engine(on_url)
        offs, ons = [], []
        status_ms = commit_ms = changes = 0
        for i in range(rounds + 1):
            off = load(off_url, script)
            clear(off_url, False)
            on = load(on_url, script)
            if i == 0:
                with psycopg.connect(on_url, autocommit=True) as conn:
                    started = time.perf_counter()
                    changes = len(conn.execute("SELECT * FROM pggit.status()").fetchall())
                    status_ms = (time.perf_counter() - started) * 1000.0
                    started = time.perf_counter()
                    conn.execute("SELECT pggit.commit('the corpus')")
                    commit_ms = (time.perf_counter() - started) * 1000.0
            else:  # the first round warms caches and plans
                offs.append(off)
                ons.append(on)
            clear(on_url, True if i == 0 else "later")
    off, on = min(offs), min(ons)
    return [
        (f"corpus load ({len(CORPUS)} schemas, one transaction), no engine", off, "ms"),
        ("corpus load, engine installed (capture on)", on, "ms"),
        ("load ratio (engine / no engine)", on / off, "x"),
        (f"first status after the load ({changes} changes)", status_ms, "ms"),
        ("commit of everything", commit_ms, "ms"),
    ]


if __name__ == "__main__":
    report(run(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
