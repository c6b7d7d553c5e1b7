"""The deferred flush at size (docs/engine-internals.md, "Capture in three steps").

A first read after many statements re-reads all their anchors at once: resolved by joins and read
through the per-kind views filtered on them (from 100 anchors), and recorded in set-based
statements. The same sessions run on two copies of one database: on one every message is followed
by a status (each message's anchors flushed by themselves, a few at a time, read anchor by
anchor; the generated tables sent one by one), on the other only the end has one (one flush of
several hundred anchors). Definitions, live state, working changes and
the commit made of them must be identical; each change is attributed to the statement that last
touched its anchor. Status carries each change's statement cut to 500 characters.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.engine.enginedb import EngineDB, engine_error, scratch_copy

TABLES = 120


def table_statements(prefix: str, i: int) -> str:
    """Table i: identity key (its sequence), text column, index, foreign key to table i - 1."""
    ref = f", parent_id bigint REFERENCES public.{prefix}{i - 1} (id)" if i else ""
    return (
        f"CREATE TABLE public.{prefix}{i} (id bigserial PRIMARY KEY, v text{ref});"
        f"CREATE INDEX {prefix}{i}_v_idx ON public.{prefix}{i} (v);"
    )


def tables_message(prefix: str, count: int) -> str:
    """count tables as one message."""
    return "\n".join(table_statements(prefix, i) for i in range(count))


# (session, statement); each is sent as one message
SESSIONS = [
    ("one", tables_message("g", TABLES)),
    ("two", "CREATE TABLE public.other (a integer)"),
    ("one", "ALTER TABLE public.other ADD COLUMN b text"),
    ("two", "COMMENT ON TABLE public.other IS 'from two'"),
    ("one", "ALTER TABLE public.base_t ADD COLUMN extra integer"),
    ("two", "ALTER TABLE public.base_t RENAME TO base_renamed"),
    ("one", "DROP TABLE public.base_same"),
    ("two", "CREATE TABLE public.base_same (a integer)"),  # as it was in HEAD
    ("one", "DROP TABLE public.base_changed"),
    ("one", "CREATE TABLE public.base_changed (a integer, b integer)"),
    ("two", "DROP INDEX public.g10_v_idx"),
    ("one", "CREATE TABLE public.gone (a integer)"),
    ("two", "DROP TABLE public.gone"),
    ("one", "ALTER TABLE public.g20 RENAME TO g20_renamed"),
    ("two", "ALTER SEQUENCE public.g30_id_seq RESTART WITH 5 INCREMENT BY 2"),
    ("one", "CREATE VIEW public.g_view AS SELECT id, v FROM public.g40"),
    # an identity sequence as an anchor: resolved to its table (not an anchor of its own)
    ("two", "CREATE TABLE public.ident_t (id integer GENERATED ALWAYS AS IDENTITY, v text)"),
    ("one", "ALTER SEQUENCE public.ident_t_id_seq INCREMENT BY 3"),
]


@pytest.fixture
def two_copies(engine_template: str) -> Iterator[tuple[EngineDB, EngineDB]]:
    with scratch_copy(engine_template) as at_end, scratch_copy(engine_template) as each:
        for db in (at_end, each):
            db.run(
                "CREATE TABLE public.base_t (id integer PRIMARY KEY, note text);"
                "CREATE TABLE public.base_same (a integer);"
                "CREATE TABLE public.base_changed (a integer)"
            )
            db.run("SELECT pggit.commit('base')")
        yield at_end, each


def run_sessions(db: EngineDB, *, status_after_each: bool) -> None:
    conns = {name: db.connect(application_name=name) for name in ("one", "two")}
    try:
        for name, statement in SESSIONS:
            # flushed after each message: the tables one by one (a few anchors each flush: read
            # anchor by anchor), so that nothing of this copy goes through the set-based read
            messages = [statement]
            if status_after_each and statement == SESSIONS[0][1]:
                messages = [table_statements("g", i) for i in range(TABLES)]
            for message in messages:
                conns[name].execute(message)
                if status_after_each:
                    conns[name].execute("SELECT count(*) FROM pggit.status()").fetchone()
    finally:
        for conn in conns.values():
            conn.close()


def state(db: EngineDB) -> dict:
    status = db.rows(  # first: the read that flushes
        "SELECT object_key, object_type, schema_name, object_name, change_type "
        "FROM pggit.status() ORDER BY object_key"
    )
    return {
        "status": status,
        "working": db.rows(
            "SELECT object_key, kind, schema_name, object_name, parent_name, base_blob, new_blob "
            "FROM pggit.working ORDER BY object_key"
        ),
        "live_state": db.rows(
            "SELECT object_key, kind, schema_name, object_name, parent_name, blob_hash "
            "FROM pggit.live_state ORDER BY object_key"
        ),
    }


def attribution(db: EngineDB) -> dict[str, str]:
    """Each working change's statement: the audit row's text (whole, not cut)."""
    return dict(
        db.rows(
            "SELECT w.object_key, coalesce(l.statement, q.query) FROM pggit.working w "
            "JOIN pggit.ddl_log l ON l.id = w.ddl_id "
            "LEFT JOIN pggit.ddl_queries q ON q.id = l.query_id"
        )
    )


def test_one_flush_of_many_anchors_records_what_flushing_each_message_records(
    two_copies: tuple[EngineDB, EngineDB],
):
    at_end, each = two_copies
    run_sessions(each, status_after_each=True)
    run_sessions(at_end, status_after_each=False)
    # several hundred anchors wait for the one flush at the end (the set-based read)
    assert at_end.one("SELECT count(*) FROM pggit.ddl_log WHERE flushed_at IS NULL") > 100
    assert (
        at_end.one(
            "SELECT count(DISTINCT a.value) FROM pggit.ddl_log l, "
            "jsonb_array_elements(l.anchors) a WHERE l.flushed_at IS NULL"
        )
        >= 2 * TABLES
    )
    # one form of anchor in the audit trail: [classid, objid] as two JSON strings, whether the
    # statement-time loop, a GRANT or a dropped object's hand-off wrote it
    assert (
        at_end.one(
            "SELECT count(*) FROM pggit.ddl_log l, jsonb_array_elements(l.anchors) a "
            "WHERE jsonb_typeof(a) <> 'array' OR jsonb_array_length(a) <> 2 "
            "OR jsonb_typeof(a->0) <> 'string' OR jsonb_typeof(a->1) <> 'string'"
        )
        == 0
    )
    got, expected = state(at_end), state(each)
    assert got == expected
    for db in (at_end, each):
        # what foreign keys of live_state and working would check (they have none: 004_core): every
        # blob they name is stored, every working change names an audit row
        assert (
            db.one(
                "SELECT count(*) FROM (SELECT blob_hash AS h FROM pggit.live_state "
                "UNION ALL SELECT base_blob FROM pggit.working UNION ALL SELECT new_blob FROM "
                "pggit.working) x WHERE h IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM pggit.blobs b WHERE b.hash = x.h)"
            )
            == 0
        )
        assert (
            db.one(
                "SELECT count(*) FROM pggit.working w "
                "WHERE NOT EXISTS (SELECT 1 FROM pggit.ddl_log l WHERE l.id = w.ddl_id)"
            )
            == 0
        )
        # every audit row lists its changes in key order (the one flush: hundreds of rows)
        assert (
            db.one(
                "SELECT count(*) FROM pggit.ddl_log l WHERE jsonb_array_length(l.objects) > 1 "
                "AND (SELECT array_agg(o->>'key' ORDER BY n) FROM jsonb_array_elements(l.objects) "
                "WITH ORDINALITY AS e(o, n)) <> (SELECT array_agg(o->>'key' ORDER BY o->>'key') "
                "FROM jsonb_array_elements(l.objects) o)"
            )
            == 0
        )
    keys = {row[0]: row[4] for row in got["status"]}
    # five objects a generated table (the first has no foreign key), less the dropped index, and
    # the view over one of them
    generated = [key for key in keys if ".g" in key]
    assert len(generated) == 5 * TABLES - 1 - 1 + 1
    assert keys["table:public.base_renamed"] == "ADDED"
    assert keys["table:public.base_t"] == "REMOVED"
    assert keys["constraint:public.base_renamed.base_t_pkey"] == "ADDED"
    assert keys["constraint:public.base_t.base_t_pkey"] == "REMOVED"
    assert keys["table:public.base_changed"] == "MODIFIED"
    assert "table:public.base_same" not in keys  # dropped and re-created as it was: clean
    assert "table:public.gone" not in keys
    assert "index:public.g10.g10_v_idx" not in keys
    assert keys["table:public.g20_renamed"] == "ADDED" and "table:public.g20" not in keys
    assert keys["sequence:public.g30_id_seq"] == "ADDED"
    assert keys["table:public.ident_t"] == "ADDED" and "sequence:public.ident_t_id_seq" not in keys
    assert "INCREMENT BY 3" in at_end.one(
        "SELECT b.definition FROM pggit.live_state l JOIN pggit.blobs b ON b.hash = l.blob_hash "
        "WHERE l.object_key = 'table:public.ident_t'"
    )
    # the live state knows base_same's new table (its anchor moved to the re-created one)
    assert at_end.one(
        "SELECT anchor_objid = 'public.base_same'::regclass::oid FROM pggit.live_state "
        "WHERE object_key = 'table:public.base_same'"
    )
    # each change on the statement that last touched its anchor
    by = attribution(at_end)
    assert by["table:public.base_renamed"] == "ALTER TABLE public.base_t RENAME TO base_renamed"
    assert by["table:public.base_t"] == "ALTER TABLE public.base_t RENAME TO base_renamed"
    assert by["table:public.base_changed"] == (
        "CREATE TABLE public.base_changed (a integer, b integer)"
    )
    assert by["table:public.other"] == "COMMENT ON TABLE public.other IS 'from two'"
    assert by["comment:table:public.other"] == "COMMENT ON TABLE public.other IS 'from two'"
    assert by["table:public.g20_renamed"] == "ALTER TABLE public.g20 RENAME TO g20_renamed"
    assert by["sequence:public.g30_id_seq"] == (
        "ALTER SEQUENCE public.g30_id_seq RESTART WITH 5 INCREMENT BY 2"
    )
    assert by["view:public.g_view"] == ("CREATE VIEW public.g_view AS SELECT id, v FROM public.g40")
    assert by["table:public.g0"] == tables_message("g", TABLES)
    # the audit rows: each statement lists what it changed, in key order
    objects = at_end.rows(
        "SELECT objects FROM pggit.ddl_log WHERE command_tag = 'ALTER TABLE' "
        "AND statement IS NULL AND targets::text LIKE '%base_renamed%'"
    )
    assert [[o["key"] for o in row[0]] for row in objects] == [
        [
            "constraint:public.base_renamed.base_t_pkey",
            "constraint:public.base_t.base_t_pkey",
            "table:public.base_renamed",
            "table:public.base_t",
        ]
    ]
    # and the commits made of both are the same tree
    for db in (at_end, each):
        db.run("SELECT pggit.commit('everything')")
    assert at_end.head_tree() == each.head_tree() == at_end.live_tree_hash()


def test_rescan_records_what_capture_missed_set_based(engine_db: EngineDB):
    engine_db.run("SELECT pggit.set_capture(false, 'global')")
    engine_db.run(tables_message("r", 60))  # 120 anchors: tables and their sequences
    engine_db.run("SELECT pggit.set_capture(true, 'global')")
    rows = engine_db.rows(
        "SELECT object_key, change_type, statement FROM pggit.status() ORDER BY object_key"
    )
    assert len(rows) == 5 * 60 - 1
    assert {row[1] for row in rows} == {"ADDED"}
    assert {row[2] for row in rows} == {"(changed while capture was off)"}
    logged = engine_db.one(
        "SELECT jsonb_array_length(objects) FROM pggit.ddl_log WHERE command_tag = 'RESCAN'"
    )
    assert logged == 5 * 60 - 1
    assert engine_db.one("SELECT pggit.rescan()") == 0  # nothing more to find
    assert engine_db.one("SELECT count(*) FROM pggit.ddl_log WHERE command_tag = 'RESCAN'") == 1


def test_a_second_rescan_at_once_waits_and_records_nothing_the_first_recorded(
    engine_db: EngineDB,
):
    engine_db.run("CREATE TABLE public.drifted (a integer)")
    engine_db.run("SELECT pggit.capture_flush()")
    with engine_db.connect() as quiet, quiet.transaction():
        quiet.execute("SELECT pggit.set_capture(false, 'transaction')")
        quiet.execute("ALTER TABLE public.drifted ADD COLUMN b integer")
    first = engine_db.connect()
    second = engine_db.connect()
    try:
        first.execute("BEGIN")
        assert first.execute("SELECT pggit.rescan('first')").fetchone()[0] == 1
        found: list[int] = []
        waiting = threading.Thread(
            target=lambda: found.append(
                second.execute("SELECT pggit.rescan('second')").fetchone()[0]
            )
        )
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive()  # it waits for the first rescan's transaction
        first.execute("COMMIT")
        waiting.join(30)
        assert found == [0]
    finally:
        first.close()
        second.close()
    assert engine_db.rows(
        "SELECT statement FROM pggit.ddl_log WHERE command_tag = 'RESCAN' ORDER BY id"
    ) == [("first",)]
    assert (
        engine_db.one(
            "SELECT l.statement FROM pggit.working w JOIN pggit.ddl_log l ON l.id = w.ddl_id "
            "WHERE w.object_key = 'table:public.drifted'"
        )
        == "first"
    )


def test_status_cuts_a_long_message_once_and_keeps_a_short_one_whole(engine_db: EngineDB):
    script = tables_message("s", 30)
    assert len(script) > 500
    engine_db.run(script)
    engine_db.run("CREATE TABLE public.single (a integer)")
    rows = engine_db.rows("SELECT object_key, statement FROM pggit.status()")
    texts = dict(rows)
    cut = (
        script[:500]
        + f"\n-- ({len(script) - 500} more characters: the audit log has the whole message)"
    )
    assert {texts[key] for key in texts if key != "table:public.single"} == {cut}
    assert texts["table:public.single"] == "CREATE TABLE public.single (a integer)"
    # the audit log keeps the whole message
    assert (
        engine_db.one(
            "SELECT statement FROM pggit.audit_log WHERE command_tag = 'CREATE INDEX' "
            "ORDER BY captured_at LIMIT 1"
        )
        == script
    )


def run_in_thread(
    conn: psycopg.Connection, query: str, outcome: dict[str, object], name: str
) -> threading.Thread:
    """Runs ``query`` on ``conn`` in a thread started here; its rows, or the error it raised, go
    to ``outcome[name]``."""

    def target() -> None:
        try:
            outcome[name] = conn.execute(query).fetchall()
        except psycopg.Error as exc:  # reported by the caller's assertions
            outcome[name] = exc

    thread = threading.Thread(target=target)
    thread.start()
    return thread


def wait_until_blocked(
    engine_db: EngineDB,
    waiter: psycopg.Connection,
    blocker: psycopg.Connection,
    done=lambda: False,
) -> bool:
    """Whether ``waiter``'s statement waits for a lock ``blocker`` holds, polled for up to 15 s
    (or until ``done()``: the statement ended without waiting)."""
    for _ in range(300):
        if engine_db.one(
            "SELECT %s = ANY (pg_blocking_pids(%s))",
            (blocker.info.backend_pid, waiter.info.backend_pid),
        ):
            return True
        if done():
            return False
        time.sleep(0.05)
    return False


def test_a_commit_leaves_the_statements_committed_after_its_flush_to_the_next_one(
    engine_db: EngineDB,
):
    """pggit.commit flushes, then marks the audit rows it committed. A DDL transaction that
    commits in between has rows that were not flushed: their changes are not in the commit, so
    they keep no commit and the next read flushes them (the unflushed rows are found among the
    uncommitted ones)."""
    engine_db.run("CREATE TABLE public.first (a integer)")
    assert engine_db.rows("SELECT object_key FROM pggit.status()") == [("table:public.first",)]
    holder, committer, late = engine_db.connect(), engine_db.connect(), engine_db.connect()
    try:
        # the commit waits, after its flush, for the working rows this transaction locks
        holder.execute("BEGIN")
        holder.execute("SELECT 1 FROM pggit.working FOR UPDATE")
        outcome: dict[str, object] = {}
        thread = run_in_thread(committer, "SELECT pggit.commit('first')", outcome, "commit")
        assert wait_until_blocked(engine_db, committer, holder)
        late.execute("CREATE TABLE public.late (a integer)")
        holder.execute("COMMIT")
        thread.join(30)
    finally:
        holder.close()
        committer.close()
        late.close()
    assert isinstance(outcome["commit"], list), outcome
    rows = engine_db.rows(
        "SELECT command_tag, targets->0->>'identity', commit_id IS NULL, flushed_at IS NULL "
        "FROM pggit.ddl_log WHERE command_tag = 'CREATE TABLE' ORDER BY id"
    )
    assert rows == [
        ("CREATE TABLE", "public.first", False, False),
        ("CREATE TABLE", "public.late", True, True),
    ]
    assert engine_db.rows("SELECT object_key, change_type FROM pggit.status()") == [
        ("table:public.late", "ADDED")
    ]
    assert (
        engine_db.one(
            "SELECT count(*) FROM pggit.commit_changes cc "
            "JOIN pggit.commits c ON c.id = cc.commit_id "
            "WHERE c.message = 'first' AND cc.object_key = 'table:public.late'"
        )
        == 0
    )


def test_a_flush_by_another_session_during_a_commit_waits_for_it(engine_db: EngineDB):
    """A status read in another session, after a DDL transaction that committed after the
    commit's flush, waits for the commit (which holds the working changes still), then records
    that statement's changes against the new HEAD: the commit neither marks that statement nor
    removes its working change. (Before, a flush that committed between the commit's read of the
    changes and their removal lost them: no commit held them and status showed none.)"""
    engine_db.run("CREATE TABLE public.first (a integer)")
    assert engine_db.rows("SELECT object_key FROM pggit.status()") == [("table:public.first",)]
    holder, committer, late, reader = (engine_db.connect() for _ in range(4))
    outcome: dict[str, object] = {}
    threads = []
    try:
        # the commit waits, after it read the working changes, for HEAD's branch (its new head)
        holder.execute("BEGIN")
        holder.execute("SELECT 1 FROM pggit.branches WHERE name = 'main' FOR UPDATE")
        threads.append(run_in_thread(committer, "SELECT pggit.commit('first')", outcome, "commit"))
        assert wait_until_blocked(engine_db, committer, holder)
        late.execute("CREATE TABLE public.late (a integer)")
        threads.append(
            run_in_thread(
                reader, "SELECT object_key, change_type FROM pggit.status()", outcome, "status"
            )
        )
        assert wait_until_blocked(engine_db, reader, committer, lambda: "status" in outcome)
        holder.execute("COMMIT")
        for thread in threads:
            thread.join(30)
    finally:
        for conn in (holder, committer, late, reader):
            conn.close()
    assert isinstance(outcome["commit"], list), outcome
    assert outcome["status"] == [("table:public.late", "ADDED")]
    rows = engine_db.rows(
        "SELECT targets->0->>'identity', commit_id IS NULL, flushed_at IS NULL "
        "FROM pggit.ddl_log WHERE command_tag = 'CREATE TABLE' ORDER BY id"
    )
    assert rows == [("public.first", False, False), ("public.late", True, False)]
    assert engine_db.rows("SELECT object_key, change_type FROM pggit.status()") == [
        ("table:public.late", "ADDED")
    ]
    assert engine_db.rows(
        "SELECT cc.object_key FROM pggit.commit_changes cc "
        "JOIN pggit.commits c ON c.id = cc.commit_id WHERE c.message = 'first'"
    ) == [("table:public.first",)]


def test_a_commit_waits_for_a_session_that_flushed_in_an_open_transaction(engine_db: EngineDB):
    """A session that read the status in a transaction still open holds working changes; a
    commit waits for it without holding anything it could need: a second read of the status
    there (which flushes another session's statement) completes, and the commit then holds
    both. With a lock_timeout shorter than the wait, the commit fails with LOCKED instead."""
    open_tx, other, committer = (engine_db.connect() for _ in range(3))
    outcome: dict[str, object] = {}
    try:
        open_tx.execute("BEGIN")
        open_tx.execute("CREATE TABLE public.in_open_tx (a integer)")
        assert open_tx.execute("SELECT object_key FROM pggit.status()").fetchall() == [
            ("table:public.in_open_tx",)
        ]
        committer.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.Error) as excinfo:
            committer.execute("SELECT pggit.commit('too soon')")
        assert engine_error(excinfo) == "LOCKED"
        committer.execute("RESET lock_timeout")
        other.execute("CREATE TABLE public.meanwhile (a integer)")
        thread = run_in_thread(committer, "SELECT pggit.commit('both')", outcome, "commit")
        assert wait_until_blocked(engine_db, committer, open_tx)
        assert sorted(open_tx.execute("SELECT object_key FROM pggit.status()").fetchall()) == [
            ("table:public.in_open_tx",),
            ("table:public.meanwhile",),
        ]
        open_tx.execute("COMMIT")
        thread.join(30)
    finally:
        for conn in (open_tx, other, committer):
            conn.close()
    assert isinstance(outcome["commit"], list), outcome
    assert engine_db.rows("SELECT object_key FROM pggit.status()") == []
    assert engine_db.rows(
        "SELECT cc.object_key FROM pggit.commit_changes cc "
        "JOIN pggit.commits c ON c.id = cc.commit_id WHERE c.message = 'both' "
        "ORDER BY cc.object_key"
    ) == [("table:public.in_open_tx",), ("table:public.meanwhile",)]
    assert engine_db.one("SELECT count(*) FROM pggit.commits WHERE message = 'too soon'") == 0
