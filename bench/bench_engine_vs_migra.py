"""pgGit's diff of the live schema against HEAD next to migra's diff of the same two schemas, at
10,000 tables differing in 1 %.

Two databases: `base` has 10,000 tables (PK, text column, index) with pgGit installed; `changed`
is a copy of it in which 1 % of the tables got a new column. pgGit's figure is
`pggit.diff('HEAD', 'WORKING')` plus `pggit.diff_script(...)` in `changed` (its HEAD is the base
schema, its live schema the changed one: catalogs read, script generated). migra's figure is
`migra <base> <changed>` (it reads both catalogs and prints the script).

migra is not a pgGit dependency: install it in a separate environment and pass its executable,
e.g. `python3 -m venv /tmp/migra && /tmp/migra/bin/pip install migra psycopg2-binary "sqlalchemy<2"`
(migra predates SQLAlchemy 2), then
    python bench/bench_engine_vs_migra.py /tmp/migra/bin/migra [tables]
Without the executable only pgGit's figure is printed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import psycopg
from _engine import EngineDB, create_tables, db_url, install_engine, report, scratch, timed
from psycopg.conninfo import conninfo_to_dict

TABLES = 10_000


def sqlalchemy_url(conninfo: str) -> str:
    """migra wants postgresql://user@host:port/db (it runs on SQLAlchemy), not libpq keywords."""
    p = conninfo_to_dict(conninfo)
    user, host, port = p.get("user", "postgres"), p.get("host", "127.0.0.1"), p.get("port", 5432)
    if host.startswith("/"):  # a unix socket directory
        return f"postgresql://{user}@/{p['dbname']}?host={host}&port={port}"
    return f"postgresql://{user}@{host}:{port}/{p['dbname']}"


def migra_seconds(migra: str, url_from: str, url_to: str) -> float:
    url_from, url_to = sqlalchemy_url(url_from), sqlalchemy_url(url_to)
    started = time.perf_counter()
    # migra exits 2 when the schemas differ (and prints the script)
    result = subprocess.run(  # noqa: S603 - the benchmark runs the executable it was given
        [migra, "--unsafe", "--schema", "public", url_from, url_to],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 2):
        raise RuntimeError(f"migra failed: {result.stderr.strip()[:500]}")
    return elapsed * 1000.0


def run(tables: int = TABLES, migra: str | None = None) -> list[tuple[str, float, str]]:
    migra = migra or shutil.which("migra")
    results = []
    with scratch("vsmigra_base") as base, scratch("vsmigra_changed") as changed:
        for name in (base, changed):
            create_tables(db_url(name), tables)
        install_engine(db_url(changed))
        with psycopg.connect(db_url(changed), autocommit=True) as conn, conn.transaction():
            conn.execute("SELECT pggit.set_capture(false)")
            for i in range(0, tables, 100):
                conn.execute(f"ALTER TABLE public.t{i} ADD COLUMN extra integer")
        db = EngineDB(changed)

        def pggit_diff() -> None:
            db.rows("SELECT * FROM pggit.diff('HEAD', 'WORKING')")
            db.one("SELECT pggit.diff_script('HEAD', 'WORKING')")

        changed_rows = len(db.rows("SELECT * FROM pggit.diff('HEAD', 'WORKING')"))
        results.append(("objects that differ", float(changed_rows), "objects"))
        results.append(
            (
                f"pgGit diff + script WORKING vs HEAD, {tables} tables",
                timed(pggit_diff, repeat=3),
                "ms",
            )
        )
        db.close()
        if migra:
            migra_ms = sorted(
                migra_seconds(migra, db_url(base), db_url(changed)) for _ in range(3)
            )[1]
            results.append((f"migra base -> changed, {tables} tables", migra_ms, "ms"))
    return results


if __name__ == "__main__":
    args = sys.argv[1:]
    executable = args.pop(0) if args and not args[0].isdigit() else None
    report(run(int(args[0]) if args else TABLES, executable))
