"""History queries at 100,000 commits: log (all, by branch, by author, by object), show, an
object's timeline, and verify of the whole history.

Target (docs/benchmarks.md): < 50 ms each (verify, which reads the whole history, has none). The
history is synthetic: 100,000 commits made with the engine's own commit_create (one object changed
per commit), without running DDL for each. Usage:
    python bench/bench_engine_log.py [commits]
"""

from __future__ import annotations

import sys
import time

from _engine import EngineDB, db_url, install_engine, report, scratch, timed

COMMITS = 100_000

SYNTHESIZE = """
DO $$
DECLARE
    v_branch bigint := (SELECT branch_id FROM pggit.head);
    v_head text;
    v_blob text;
BEGIN
    FOR i IN 1 .. %(n)s LOOP
        v_blob := pggit.blob_put(ROW('table:public.synthetic_' || (i %% 50), 'table', 'public',
            'synthetic_' || (i %% 50), NULL, 'CREATE TABLE public.synthetic_' || (i %% 50)
            || ' (v' || i || ' integer);', '{"deps": []}', 0, 0)::pggit.catalog_object);
        v_head := (pggit.head_branch()).head_commit;
        PERFORM pggit.commit_create(v_branch,
            jsonb_build_object('table:public.synthetic_' || (i %% 50), v_blob), ARRAY[v_head],
            'synthetic commit ' || i, CASE WHEN i %% 10 = 0 THEN 'rare-author' ELSE 'bot' END);
    END LOOP;
END $$;
"""


def run(commits: int = COMMITS) -> list[tuple[str, float, str]]:
    results = []
    with scratch("log") as name:
        url = db_url(name)
        install_engine(url)
        db = EngineDB(name)
        started = time.perf_counter()
        for _ in range(commits // 10_000 or 1):
            db.run(SYNTHESIZE % {"n": min(commits, 10_000)})
        db.run("ANALYZE")
        results.append((f"building {commits} commits", time.perf_counter() - started, "s"))
        middle = db.one(
            "SELECT hash FROM pggit.commits ORDER BY id OFFSET %s LIMIT 1", (commits // 2,)
        )
        queries = {
            "log, newest 50 (all branches)": "SELECT * FROM pggit.log()",
            "log main, newest 50 (first-parent walk)": "SELECT * FROM pggit.log('main')",
            "log main, page 100 (offset 5,000)": (
                "SELECT * FROM pggit.log('main', p_offset => 5000)"
            ),
            "log by a rare author": "SELECT * FROM pggit.log(p_author => 'rare-author')",
            "log of one object": "SELECT * FROM pggit.log(p_object => 'public.synthetic_7')",
            "show of a commit in the middle": f"SELECT * FROM pggit.show('{middle[:12]}')",
            "object timeline (newest 100)": (
                "SELECT * FROM pggit.object_history('table:public.synthetic_7')"
            ),
        }
        for label, query in queries.items():
            results.append((label, timed(lambda q=query: db.rows(q), repeat=7), "ms"))
        # verify reads the whole history (hashes, trees, recorded changes, definitions): no
        # 50 ms target; its cost grows with the number of commits
        verify = "SELECT ok FROM pggit.verify()"
        assert db.rows(verify) == [(True,)]
        results.append(
            (f"verify of {commits + 1} commits", timed(lambda: db.rows(verify), 3), "ms")
        )
        db.close()
    return results


if __name__ == "__main__":
    report(run(int(sys.argv[1]) if len(sys.argv) > 1 else COMMITS))
