"""DDL capture overhead: a 500-statement migration script run with capture on vs off.

Target (docs/benchmarks.md): capture on <= 1.3x the time with capture off. Usage:
    python bench/bench_engine_capture.py [ROUNDS]

Off and on alternate within each round (so a noisy neighbour hurts both alike), and the figures are
the fastest of the rounds: the run least disturbed by other load, which is what the DDL and capture
themselves cost. "Off" is pggit.set_capture(false) for the transaction (the event triggers still
fire and return at once).
"""

from __future__ import annotations

import sys
import time

import psycopg
from _engine import db_url, install_engine, report, scratch

STATEMENTS = 500


def migration(tag: str) -> str:
    """A migration mix: tables with keys and defaults, indexes, alters, views, comments."""
    parts = []
    for i in range(STATEMENTS // 5):
        t = f"public.{tag}_{i}"
        parts += [
            f"CREATE TABLE {t} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            f"name text NOT NULL DEFAULT '', created timestamptz DEFAULT now());",
            f"CREATE INDEX {tag}_{i}_name_idx ON {t} (name);",
            f"ALTER TABLE {t} ADD COLUMN score integer CHECK (score >= 0);",
            f"CREATE VIEW public.{tag}_{i}_v AS SELECT id, name FROM {t};",
            f"COMMENT ON TABLE {t} IS 'table {i}';",
        ]
    return "\n".join(parts)


def run_once(url: str, capture: bool, tag: str) -> float:
    script = migration(tag)
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        with conn.transaction():
            if not capture:
                conn.execute("SELECT pggit.set_capture(false)")
            conn.execute(script)
        return (time.perf_counter() - started) * 1000.0


def run(rounds: int = 7) -> list[tuple[str, float, str]]:
    with scratch("capture") as name:
        url = db_url(name)
        install_engine(url)
        run_once(url, True, "warm")  # warm caches and plans
        offs, ons = [], []
        for i in range(rounds):
            offs.append(run_once(url, False, f"off{i}"))
            ons.append(run_once(url, True, f"on{i}"))
    off, on = min(offs), min(ons)
    return [
        (f"{STATEMENTS}-statement migration, capture off", off, "ms"),
        (f"{STATEMENTS}-statement migration, capture on", on, "ms"),
        ("capture cost per statement", (on - off) * 1000.0 / STATEMENTS, "us"),
        ("capture overhead (on / off)", on / off, "x"),
    ]


if __name__ == "__main__":
    report(run(int(sys.argv[1]) if len(sys.argv) > 1 else 7))
