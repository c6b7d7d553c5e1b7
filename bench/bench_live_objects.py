"""Benchmark: pggit.live_objects() and the single-anchor functions on a 10,000-table schema.

Builds a scratch database (pggit_cat_bench_<random>, or --dbname) holding N tables, each with a
primary key, a secondary index and a comment, loads the engine up to its catalog
(pggit_project.engine_sql), and prints the time of live_objects() (best of a few runs) and of
the single-anchor functions for one table:
anchor_objects() on the first call of a new session (median over --sessions fresh connections;
that call plans its queries) and warm (best/median of 50 calls from the client, and the mean per
call inside the server over 200 calls made by one statement); anchor_of() and anchor_dependents()
warm; and the round trip of a trivial query, for reference. The database is dropped afterwards
unless --keep; --reuse runs against a database kept earlier (re-applying changed engine files)
instead of building one.

    python bench/bench_live_objects.py [--tables 10000] [--url postgres://user@host:port/postgres]
        [--dbname NAME] [--keep] [--reuse] [--sessions 10]

The server URL defaults to $PGGIT_TEST_PG_URL, then postgres://postgres@127.0.0.1:5432/postgres.
"""

import argparse
import os
import pathlib
import secrets
import statistics
import sys
import time

import psycopg
from psycopg import conninfo

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pggit_project.engine_sql import sync_connection  # noqa: E402

ANCHOR_TABLE = "bench.t5"


def timed(cur, query, params=None, runs=3):
    times = []
    rows = None
    for _ in range(runs):
        start = time.perf_counter()
        cur.execute(query, params)
        rows = cur.fetchall()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), rows


def build(conn, tables):
    start = time.perf_counter()
    conn.execute("CREATE SCHEMA bench")
    batch = []
    for i in range(tables):
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
    print(f"built {tables} tables in {time.perf_counter() - start:.1f} s")


def bench(conn, url, sessions):
    cur = conn.cursor()
    best, median, rows = timed(
        cur, "SELECT count(*), count(DISTINCT object_key) FROM pggit.live_objects()"
    )
    print(
        f"live_objects(): {rows[0][0]} objects ({rows[0][1]} keys); "
        f"best {best:.3f} s, median {median:.3f} s"
    )
    oid = cur.execute("SELECT %s::regclass::oid", (ANCHOR_TABLE,)).fetchone()[0]
    best, median, _ = timed(cur, "SELECT %s::oid", (oid,), runs=50)
    print(
        f"client round trip (SELECT %s::oid): best {best * 1000:.2f} ms, "
        f"median {median * 1000:.2f} ms"
    )
    anchor = "SELECT count(*) FROM pggit.anchor_objects('pg_class'::regclass, %s)"

    firsts = []
    for _ in range(sessions):
        with psycopg.connect(url, autocommit=True) as fresh:
            fresh.execute("SELECT 1")  # the connection itself is not part of the call
            first, _, _ = timed(fresh.cursor(), anchor, (oid,), runs=1)
            firsts.append(first)
    best, median, rows = timed(cur, anchor, (oid,), runs=50)
    server = cur.execute(
        "SELECT clock_timestamp() AS t0, (SELECT count(*) FROM generate_series(1, 200) g, "
        "LATERAL pggit.anchor_objects('pg_class'::regclass, %s + g * 0)) AS n, "
        "clock_timestamp() AS t1",
        (oid,),
    ).fetchone()
    per_call = (server[2] - server[0]).total_seconds() / 200
    print(
        f"anchor_objects({ANCHOR_TABLE}): {rows[0][0]} objects; first call in a new session "
        f"median {statistics.median(firsts) * 1000:.1f} ms (best {min(firsts) * 1000:.1f}, "
        f"worst {max(firsts) * 1000:.1f}, {sessions} sessions); then best {best * 1000:.2f} ms, "
        f"median {median * 1000:.2f} ms per call from the client, "
        f"{per_call * 1000:.2f} ms per call inside the server"
    )
    for name in ("anchor_of", "anchor_dependents"):
        query = f"SELECT count(*) FROM pggit.{name}('pg_class'::regclass, %s)"
        timed(cur, query, (oid,), runs=5)
        best, median, _ = timed(cur, query, (oid,), runs=50)
        server = cur.execute(
            "SELECT clock_timestamp() AS t0, (SELECT count(*) FROM generate_series(1, 200) g, "
            f"LATERAL pggit.{name}('pg_class'::regclass, %s + g * 0)) AS n, "
            "clock_timestamp() AS t1",
            (oid,),
        ).fetchone()
        per_call = (server[2] - server[0]).total_seconds() / 200
        print(
            f"{name}({ANCHOR_TABLE}): best {best * 1000:.2f} ms, median {median * 1000:.2f} ms "
            f"per call from the client, {per_call * 1000:.3f} ms per call inside the server"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=10000)
    parser.add_argument(
        "--url",
        default=os.environ.get("PGGIT_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--dbname", help="scratch database name (default pggit_cat_bench_<random>)")
    parser.add_argument("--keep", action="store_true", help="do not drop the scratch database")
    parser.add_argument(
        "--reuse", action="store_true", help="run against the database --dbname kept earlier"
    )
    parser.add_argument(
        "--sessions", type=int, default=10, help="fresh sessions timing the first call"
    )
    args = parser.parse_args()
    if args.reuse and not args.dbname:
        parser.error("--reuse needs --dbname")

    dbname = args.dbname or f"pggit_cat_bench_{secrets.token_hex(4)}"
    if not args.reuse:
        with psycopg.connect(args.url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{dbname}"')
    url = conninfo.make_conninfo(args.url, dbname=dbname)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            # the engine up to its catalog functions (no capture)
            sync_connection(conn, until="engine/catalog/privileges.sql")
            if args.reuse:
                tables = conn.execute(
                    "SELECT count(*) FROM pg_class "
                    "WHERE relnamespace = 'bench'::regnamespace AND relkind = 'r'"
                ).fetchone()[0]
                print(f"reusing {dbname}: {tables} tables")
            else:
                build(conn, args.tables)
            bench(conn, url, args.sessions)
    finally:
        if args.keep or args.reuse:
            print(f"kept database {dbname}")
        else:
            with psycopg.connect(args.url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
