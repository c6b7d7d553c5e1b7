"""Phase 7 monitoring: the cost of recording metrics on a commit, and alert evaluation over
1,000,000 recorded operations.

Targets (issue 4): recording adds < 5 % to a commit; evaluation over 1,000,000 metric rows < 1 s.
Usage: python bench/bench_monitoring.py [commits] [rows]
"""

from __future__ import annotations

import statistics
import sys
import time

from _engine import EngineDB, create_tables, db_url, install_engine, report, scratch

COMMITS = 40
ROWS = 1_000_000
TABLES = 1_000
OPERATIONS = ("capture", "commit", "checkout", "diff", "diff_script", "branch_create", "merge",
              "revert")  # fmt: skip

# Recording switched off: record_operation does nothing (only in the scratch database).
RECORDING_OFF = """
ALTER FUNCTION pggit.record_operation(text, timestamptz, integer, integer, text, boolean, text,
    jsonb, bigint) RENAME TO record_operation_bench_saved;
CREATE FUNCTION pggit.record_operation(text, timestamptz, integer DEFAULT 0, integer DEFAULT 0,
    text DEFAULT NULL, boolean DEFAULT true, text DEFAULT NULL, jsonb DEFAULT '{}',
    bigint DEFAULT NULL) RETURNS bigint LANGUAGE sql AS 'SELECT NULL::bigint';
"""
RECORDING_ON = """
DROP FUNCTION pggit.record_operation(text, timestamptz, integer, integer, text, boolean, text,
    jsonb, bigint);
ALTER FUNCTION pggit.record_operation_bench_saved(text, timestamptz, integer, integer, text,
    boolean, text, jsonb, bigint) RENAME TO record_operation;
"""


def _commit_ms(db: EngineDB, n: int) -> float:
    db.run(f"CREATE TABLE public.bench_m{n} (a integer)")
    started = time.perf_counter()
    db.run("SELECT pggit.commit('bench')")
    return (time.perf_counter() - started) * 1000.0


CONFIGS = {
    "on": ("", ""),
    "trigger_off": (
        "ALTER TABLE pggit.operations DISABLE TRIGGER operations_monitor",
        "ALTER TABLE pggit.operations ENABLE TRIGGER operations_monitor",
    ),
    "off": (RECORDING_OFF, RECORDING_ON),
}


def commit_overhead(commits: int) -> list[tuple[str, float, str]]:
    """Median commit time with recording (+ the monitoring trigger, with baselines in place),
    with the trigger off, and without recording. The configurations take turns in blocks (each
    block starts with two unmeasured commits, so no block pays for the switch's re-planning)."""
    samples: dict[str, list[float]] = {name: [] for name in CONFIGS}
    with scratch("mon_commit") as name:
        url = db_url(name)
        create_tables(url, TABLES)
        install_engine(url)
        db = EngineDB(name)
        counter = iter(range(1_000_000))
        for _ in range(30):  # warm up, and give commit and capture a baseline
            _commit_ms(db, next(counter))
        db.run("SELECT count(*) FROM pggit.perf_baselines_recalculate()")
        block = 10
        for _ in range(max(1, commits // block)):
            for config, (enter, leave) in CONFIGS.items():
                if enter:
                    db.run(enter)
                for _ in range(2):
                    _commit_ms(db, next(counter))
                samples[config].extend(_commit_ms(db, next(counter)) for _ in range(block))
                if leave:
                    db.run(leave)
        db.close()
    on, trigger_off, off = (statistics.median(samples[c]) for c in ("on", "trigger_off", "off"))
    return [
        ("commit with recording and monitoring (median)", on, "ms"),
        ("commit with recording, monitoring trigger off", trigger_off, "ms"),
        ("commit without metric recording (median)", off, "ms"),
        ("recording + monitoring overhead on a commit", (on - off) / off * 100, "%"),
        ("monitoring trigger overhead on a commit", (on - trigger_off) / off * 100, "%"),
    ]


RECORD_LOOP = (
    "DO $$ BEGIN FOR i IN 1..{n} LOOP"
    " PERFORM pggit.record_operation('commit', clock_timestamp(), 1, 0, 'main');"
    " END LOOP; END $$"
)


def per_record(commit_ms: float, n: int = 10_000) -> list[tuple[str, float, str]]:
    """Server-side cost of one recording, with and without the monitoring trigger (a baseline
    in place, runs within it), and what the two recordings of a commit (its capture flush and
    itself) are of a commit's median time. Less exposed to machine noise than commit timings."""
    with scratch("mon_record") as name:
        install_engine(db_url(name))
        db = EngineDB(name)
        db.run(
            "INSERT INTO pggit.perf_baselines VALUES ('commit', 100, 1, 0, 1, 1, 1, 1, 10000,"
            " now(), now(), now())"
        )
        loop = RECORD_LOOP.format(n=n)
        with_trigger = _timed_ms(db, loop) * 1000 / n
        db.run("ALTER TABLE pggit.operations DISABLE TRIGGER operations_monitor")
        without_trigger = _timed_ms(db, loop) * 1000 / n
        db.close()
    return [
        ("one recording with the monitoring trigger", with_trigger, "us"),
        ("one recording without the trigger", without_trigger, "us"),
        ("2 recordings of a commit vs its median time", 2 * with_trigger / 10 / commit_ms, "%"),
    ]


def _timed_ms(db: EngineDB, query: str) -> float:
    samples = []
    for _ in range(3):
        started = time.perf_counter()
        db.run(query)
        samples.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(samples)


def evaluation(rows: int) -> list[tuple[str, float, str]]:
    """1,000,000 runs of 8 operation types over the last 10 minutes (bulk-loaded with the
    per-row trigger off), then the set-based evaluations over all of them."""
    with scratch("mon_eval") as name:
        install_engine(db_url(name))
        db = EngineDB(name)
        db.run("ALTER TABLE pggit.operations DISABLE TRIGGER operations_monitor")
        db.run(
            "INSERT INTO pggit.operations (operation, started_at, duration_ms, object_count)"
            " SELECT (%s::text[])[1 + g %% 8], now() - (g %% 600000) * interval '1 millisecond',"
            " 5 + random() * 20, g %% 7 FROM generate_series(1, %s) g",
            (list(OPERATIONS), rows),
        )
        db.run("ALTER TABLE pggit.operations ENABLE TRIGGER operations_monitor")
        db.run("VACUUM ANALYZE pggit.operations")
        recalc = _timed_ms(db, "SELECT * FROM pggit.perf_baselines_recalculate()")
        evaluate = _timed_ms(db, "SELECT * FROM pggit.perf_evaluate(now() - interval '1 hour')")
        cycle = _timed_ms(db, "SELECT pggit.monitoring_evaluate()")
        counted = db.one("SELECT sum(runs) FROM pggit.perf_evaluate(now() - interval '1 hour')")
        db.close()
    return [
        ("metric rows evaluated", float(counted), "rows"),
        ("threshold + anomaly evaluation over all rows", evaluate, "ms"),
        ("scheduled evaluation cycle (window holds all rows)", cycle, "ms"),
        ("baseline recalculation over all rows", recalc, "ms"),
    ]


def run(commits: int = COMMITS, rows: int = ROWS) -> list[tuple[str, float, str]]:
    commit = commit_overhead(commits)
    return commit + per_record(commit[0][1]) + evaluation(rows)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    report(run(*args))
