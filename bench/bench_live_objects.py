"""Benchmark: pggit.live_objects() and pggit.anchor_objects() on a 10,000-table schema.

Builds a scratch database (pggit_cat_bench_<random>) holding N tables, each with a primary key, a
secondary index and a comment, loads sql/001 and sql/002, and prints the time of live_objects()
(best of a few runs) and of anchor_objects() for one table. The database is dropped afterwards.

    python bench/bench_live_objects.py [--tables 10000] [--url postgres://user@host:port/postgres]

The server URL defaults to $PGGIT_TEST_PG_URL, then postgres://postgres@127.0.0.1:5432/postgres.
"""

import argparse
import os
import pathlib
import secrets
import statistics
import time

import psycopg
from psycopg import conninfo

ROOT = pathlib.Path(__file__).resolve().parents[1]
SQL_FILES = [ROOT / "sql" / "001_foundation.sql", ROOT / "sql" / "002_catalog.sql"]


def timed(cur, query, params=None, runs=3):
    times = []
    rows = None
    for _ in range(runs):
        start = time.perf_counter()
        cur.execute(query, params)
        rows = cur.fetchall()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=10000)
    parser.add_argument(
        "--url",
        default=os.environ.get("PGGIT_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--keep", action="store_true", help="do not drop the scratch database")
    args = parser.parse_args()

    dbname = f"pggit_cat_bench_{secrets.token_hex(4)}"
    with psycopg.connect(args.url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    url = conninfo.make_conninfo(args.url, dbname=dbname)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for path in SQL_FILES:
                conn.execute(path.read_text())
            start = time.perf_counter()
            conn.execute("CREATE SCHEMA bench")
            batch = []
            for i in range(args.tables):
                batch.append(
                    f"CREATE TABLE bench.t{i} (id bigint PRIMARY KEY, name text NOT NULL "
                    f"DEFAULT '', "
                    f"created_at timestamptz DEFAULT now());"
                    f"CREATE INDEX t{i}_name_idx ON bench.t{i} (name);"
                    f"COMMENT ON TABLE bench.t{i} IS 'table {i}';"
                )
                if len(batch) == 500:
                    conn.execute("BEGIN;" + "".join(batch) + "COMMIT;")
                    batch = []
            if batch:
                conn.execute("BEGIN;" + "".join(batch) + "COMMIT;")
            conn.execute("VACUUM ANALYZE")
            print(f"built {args.tables} tables in {time.perf_counter() - start:.1f} s")

            cur = conn.cursor()
            best, median, rows = timed(
                cur, "SELECT count(*), count(DISTINCT object_key) FROM pggit.live_objects()"
            )
            print(
                f"live_objects(): {rows[0][0]} objects ({rows[0][1]} keys); "
                f"best {best:.3f} s, median {median:.3f} s"
            )
            oid = cur.execute("SELECT 'bench.t5'::regclass::oid").fetchone()[0]
            anchor = "SELECT count(*) FROM pggit.anchor_objects('pg_class'::regclass, %s)"
            first, _, _ = timed(cur, anchor, (oid,), runs=1)
            best, median, rows = timed(cur, anchor, (oid,), runs=50)
            print(
                f"anchor_objects(table): {rows[0][0]} objects; first call in the session "
                f"{first * 1000:.1f} ms, then best {best * 1000:.2f} ms, "
                f"median {median * 1000:.2f} ms"
            )
    finally:
        if not args.keep:
            with psycopg.connect(args.url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        else:
            print(f"kept database {dbname}")


if __name__ == "__main__":
    main()
