"""Shared set-up for the engine benchmarks: scratch databases on the configured server, built
before or after installing the engine, dropped afterwards."""

from __future__ import annotations

import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.engine.enginedb import (
    EngineDB,
    db_url,
    drop_database,
    ensure_roles,
    install_engine,
    server_url,
)


@contextmanager
def scratch(prefix: str) -> Iterator[str]:
    """An empty database; yields its name: pggit_bench_<prefix>_<8 random hex digits>, so that
    runs of the same benchmark at the same time (on one server) never share a database, then
    ``_<BENCH_DB_SUFFIX>`` when that is set (letters, digits and underscores: a name that says
    whose databases these are)."""
    suffix = os.environ.get("BENCH_DB_SUFFIX", "")
    if suffix and not re.fullmatch(r"[A-Za-z0-9_]{1,20}", suffix):
        raise ValueError("BENCH_DB_SUFFIX: 1 to 20 letters, digits or underscores")
    name = f"pggit_bench_{prefix}_{uuid.uuid4().hex[:8]}" + (f"_{suffix.lower()}" if suffix else "")
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        drop_database(name)


def create_tables(url: str, count: int, *, schema: str = "public", prefix: str = "t") -> None:
    """count tables shaped like an application's, in batches of 500 per message: each has a
    bigserial key (its sequence and primary key), a text column with an index, and a foreign key
    to the table created before it (not the first): five objects a table, as in the issue's
    generated schema (1,000 tables, about 5,000 objects)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for start in range(0, count, 500):
            stmts = []
            for i in range(start, min(count, start + 500)):
                ref = f", parent_id bigint REFERENCES {schema}.{prefix}{i - 1} (id)" if i else ""
                stmts.append(
                    f"CREATE TABLE {schema}.{prefix}{i} (id bigserial PRIMARY KEY, v text{ref});"
                    f"CREATE INDEX {prefix}{i}_v_idx ON {schema}.{prefix}{i} (v);"
                )
            conn.execute("".join(stmts))


def timed(fn, repeat: int = 5) -> float:
    """Median wall time of fn() in milliseconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000.0)
    samples.sort()
    return samples[len(samples) // 2]


def figure(name: str, value: float, unit: str) -> str:
    """One figure's line (ratios to three decimals: a target such as 1.3x is decided in the
    third)."""
    return f"{name:<55} {value:>10.{3 if unit == 'x' else 2}f} {unit}"


def report(results: list[tuple[str, float, str]]) -> None:
    for result in results:
        print(figure(*result))


__all__ = [
    "EngineDB",
    "create_tables",
    "db_url",
    "ensure_roles",
    "figure",
    "install_engine",
    "report",
    "scratch",
    "timed",
]
