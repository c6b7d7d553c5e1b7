"""Merge and revert at scale: a three-way merge bringing 1,000 changed objects (no conflicts), the
conflict detection of a merge over ~10,000-object trees, and the revert of a 100-object commit.

Targets (docs/benchmarks.md): merge of 1,000 changed objects < 2 s; conflict detection on
10,000-object trees < 1 s; revert of a 100-object commit < 1 s. Each figure is the median of
runs made inside a transaction that is rolled back (every run starts from the same state).
Usage:
    python bench/bench_engine_merge.py [tables]
"""

from __future__ import annotations

import sys
import time

from _engine import EngineDB, create_tables, db_url, install_engine, report, scratch

TABLES = 3_400  # each: table + primary key + index = 3 objects, ~10,200 in the tree


def rolled_back(db: EngineDB, query: str, repeat: int = 3) -> float:
    """Median wall time (ms) of ``query`` run in a transaction that is then rolled back."""
    samples = []
    for _ in range(repeat):
        with db.conn.transaction(force_rollback=True):
            started = time.perf_counter()
            db.run(query)
            samples.append((time.perf_counter() - started) * 1000.0)
    samples.sort()
    return samples[len(samples) // 2]


def alter_tables(db: EngineDB, numbers: range, column: str) -> None:
    with db.conn.transaction():
        for i in numbers:
            db.run(f"ALTER TABLE public.t{i} ADD COLUMN {column} integer")


def run(tables: int = TABLES) -> list[tuple[str, float, str]]:
    results = []
    with scratch("merge") as name:
        url = db_url(name)
        create_tables(url, tables)
        install_engine(url)
        db = EngineDB(name)
        objects = db.one("SELECT object_count FROM pggit.head()")
        results.append(("objects in the tree", float(objects), "objects"))

        # revert of a commit that changed 100 objects (HEAD: the live schema is migrated)
        alter_tables(db, range(100), "rev")
        commit = db.one("SELECT pggit.commit('100 tables altered')")
        results.append(
            (
                "revert of a 100-object commit, dry run",
                rolled_back(db, f"SELECT * FROM pggit.revert('{commit}')"),
                "ms",
            )
        )
        results.append(
            (
                "revert of a 100-object commit, executed (100 ALTERs)",
                rolled_back(db, f"SELECT * FROM pggit.revert('{commit}', false)"),
                "ms",
            )
        )

        # a branch changing 1,000 objects; main moves meanwhile (a real three-way merge)
        db.run("SELECT pggit.branch_create('wide')")
        db.run("SELECT pggit.branch_create('c_src')")
        db.run("SELECT pggit.branch_create('c_tgt')")
        db.run("SELECT * FROM pggit.checkout('wide')")
        alter_tables(db, range(1000, 2000), "w")
        db.run("SELECT pggit.commit('1,000 tables altered')")
        db.run("SELECT * FROM pggit.checkout('main')")
        with db.conn.transaction():
            for i in range(10):
                db.run(f"CREATE TABLE public.main_only{i} (id integer)")
        db.run("SELECT pggit.commit('10 tables on main')")
        results.append(
            (
                "merge of 1,000 changed objects into HEAD (applied live)",
                rolled_back(db, "SELECT pggit.merge('wide', 'main')"),
                "ms",
            )
        )
        # the same merge into a branch that is not HEAD (the merge commit only)
        db.run("SELECT pggit.branch_create('parking')")
        db.run("SELECT * FROM pggit.checkout('parking')")
        results.append(
            (
                "merge of 1,000 changed objects, target not HEAD",
                rolled_back(db, "SELECT pggit.merge('wide', 'main')"),
                "ms",
            )
        )

        # conflict detection: 100 tables changed on each side, 50 of them on both
        db.run("SELECT * FROM pggit.checkout('c_src')")
        alter_tables(db, range(2000, 2100), "s")
        db.run("SELECT pggit.commit('source side')")
        db.run("SELECT * FROM pggit.checkout('c_tgt', true)")
        alter_tables(db, range(2050, 2150), "t2")
        db.run("SELECT pggit.commit('target side')")
        db.run("SELECT * FROM pggit.checkout('parking', true)")
        conflicts = 0
        with db.conn.transaction(force_rollback=True):
            conflicts = db.one(
                "SELECT conflict_count FROM pggit.merge('c_src', 'c_tgt', 'MANUAL_REVIEW')"
            )
        results.append(("conflicts found", float(conflicts), "conflicts"))
        results.append(
            (
                f"conflict detection, merge on {objects}-object trees",
                rolled_back(db, "SELECT pggit.merge('c_src', 'c_tgt', 'MANUAL_REVIEW')"),
                "ms",
            )
        )
        results.append(
            (
                "three-way analysis alone (pggit.merge_analyze)",
                rolled_back(
                    db,
                    "SELECT pggit.merge_analyze(pggit.commit_tree(pggit.merge_base("
                    "pggit.resolve_ref('c_src'), pggit.resolve_ref('c_tgt'))), "
                    "pggit.commit_tree(pggit.resolve_ref('c_src')), "
                    "pggit.commit_tree(pggit.resolve_ref('c_tgt')))",
                ),
                "ms",
            )
        )
        db.close()
    return results


if __name__ == "__main__":
    report(run(int(sys.argv[1]) if len(sys.argv) > 1 else TABLES))
