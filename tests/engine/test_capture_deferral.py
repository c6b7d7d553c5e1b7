"""Capture's deferred work changes nothing observable (docs/engine-internals.md, "Capture").

Users' DDL is captured in steps: at statement time the audit row (statement, objects named,
catalog rows to re-read, role, application, transaction); its ddl.captured event at the first read
that needs it or at commit; the canonical definitions at the first read that needs them (status,
commit, diff). With capture_sync on, everything is written and read at statement time. The same
sessions run on two copies of one database, one each way, and everything a user can see must be
identical: status, the ddl.captured events, the audit rows, the diff, the commit made of it all.
The sessions cover rolled-back transactions and savepoints, interleaved sessions, an ordinary
login role, a 100-statement script, reads inside the transaction, and a capture failure.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from tests.engine.enginedb import EngineDB, connect_as, scratch_copy, server_url


@pytest.fixture
def role() -> Iterator[str]:
    name = f"pggit_t_role_{secrets.token_hex(4)}"
    with psycopg.connect(server_url(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(server_url(), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture
def deferred_and_immediate(engine_template: str, role: str) -> Iterator[tuple[EngineDB, EngineDB]]:
    with scratch_copy(engine_template) as deferred, scratch_copy(engine_template) as immediate:
        immediate.run("SELECT pggit.config_set('capture_sync', 'true')")
        for db in (deferred, immediate):
            db.run(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(role)))
        yield deferred, immediate
        for db in (deferred, immediate):
            db.run(
                sql.SQL("REASSIGN OWNED BY {} TO postgres; DROP OWNED BY {}").format(
                    sql.Identifier(role), sql.Identifier(role)
                )
            )


def script(count: int, prefix: str = "batch") -> str:
    parts = []
    for i in range(count // 4):
        t = f"public.{prefix}_{i}"
        parts += [
            f"CREATE TABLE {t} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            f"name text NOT NULL DEFAULT '');",
            f"CREATE INDEX {prefix}_{i}_name_idx ON {t} (name);",
            f"ALTER TABLE {t} ADD COLUMN score integer CHECK (score >= 0);",
            f"COMMENT ON TABLE {t} IS 'table {i}';",
        ]
    return "\n".join(parts)


def sessions(db: EngineDB, role: str) -> list:
    """The same DDL sessions on db; returns what reads inside transactions saw."""
    seen = []
    first = db.connect(application_name="first")
    second = connect_as(db, role, "second")
    third = db.connect(application_name="third")
    first.execute("BEGIN")
    second.execute("BEGIN")
    third.execute("BEGIN")
    first.execute("CREATE TABLE public.orders (id integer PRIMARY KEY, note text)")
    second.execute("CREATE TABLE public.by_role (a integer)")
    third.execute("CREATE TABLE public.rolled_back (a integer)")
    first.execute("SAVEPOINT s")
    first.execute("CREATE TABLE public.in_savepoint (a integer)")
    first.execute("CREATE INDEX orders_note_idx ON public.orders (note)")
    first.execute("ROLLBACK TO SAVEPOINT s")
    first.execute("ALTER TABLE public.orders ADD COLUMN total numeric")
    second.execute("CREATE VIEW public.by_role_v AS SELECT a FROM public.by_role")
    third.execute("COMMENT ON TABLE public.rolled_back IS 'never'")
    second.execute("COMMIT")
    third.execute("ROLLBACK")
    # a read inside the transaction sees its own DDL (status announces and flushes first)
    seen.append(
        first.execute(
            "SELECT object_key, change_type, statement FROM pggit.status() ORDER BY object_key"
        ).fetchall()
    )
    first.execute("CREATE SEQUENCE public.after_read_seq")
    first.execute("COMMIT")
    # one message of 100 statements in one transaction
    with db.connect(application_name="script") as conn, conn.transaction():
        conn.execute(script(100))
        conn.execute("DROP TABLE public.batch_3")
    # a transaction rolled back after a read inside it
    with db.connect(application_name="undone") as conn:
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE public.undone (a integer)")
        seen.append(conn.execute("SELECT count(*) FROM pggit.status()").fetchone())
        conn.execute("ROLLBACK")
    for conn in (first, second, third):
        conn.close()
    return seen


def observed(db: EngineDB) -> dict:
    statuses = db.rows(
        "SELECT object_type, schema_name, object_name, change_type, statement, actor, object_key "
        "FROM pggit.status() ORDER BY object_key"
    )
    # each event with its audit row's statement in place of the row's id; in statement order
    events = db.rows(
        "SELECT e.data - 'ddl_id', coalesce(l.statement, q.query), l.command_tag, l.targets, "
        "       l.role_name, l.session_role, l.actor, l.application_name, l.branch, "
        "       e.actor, e.txid = l.txid "
        "  FROM pggit.events e JOIN pggit.ddl_log l ON l.id = (e.data->>'ddl_id')::bigint "
        "  LEFT JOIN pggit.ddl_queries q ON q.id = l.query_id "
        " WHERE e.type = 'ddl.captured' ORDER BY l.captured_at"
    )
    audit = db.rows(
        "SELECT command_tag, statement, targets, role_name, actor, application_name "
        "FROM pggit.audit_log ORDER BY captured_at"
    )
    diff = db.rows("SELECT * FROM pggit.diff('HEAD', 'WORKING') ORDER BY 1, 2, 3")
    unflushed = db.one("SELECT count(*) FROM pggit.ddl_log WHERE flushed_at IS NULL")
    db.run("SELECT pggit.commit('everything')")
    changes = db.one("SELECT changes FROM pggit.show('HEAD')")
    return {
        "status": statuses,
        "events": [(json.dumps(row[0], sort_keys=True), *row[1:]) for row in events],
        "audit": audit,
        "diff": diff,
        "unflushed": unflushed,
        "changes": sorted(
            (c["object_key"], c["change"], c.get("new_blob") or c.get("blob") or "")
            for c in changes
        ),
        "tree": db.head_tree(),
        "live": db.live_tree_hash(),
        "pending": db.one("SELECT count(*) FROM pggit.capture_pending"),
    }


def observed_after(session, pair: tuple[EngineDB, EngineDB]) -> tuple[dict, dict]:
    """``session`` run on the deferred database, then on the capture_sync one: what each shows."""
    deferred, immediate = pair
    session(deferred)
    session(immediate)
    return observed(deferred), observed(immediate)


def unattributed(status: list) -> list:
    """Status rows without the statement column (the last one of a 3-tuple, the fifth of the
    full row)."""
    return [row[:2] if len(row) == 3 else row[:4] + row[5:] for row in status]


def attributed(observed: dict) -> list:
    """The statement each change is attributed to, for the objects a statement re-read itself
    (tables, views, sequences). A sub-object (constraint, index...) is attributed to the last
    statement of the batch that touched its table when the definitions are read at the first read
    (pggit.capture_flush re-reads each table once for the batch), to the last one that changed
    it when they are read statement by statement (capture_sync): the definitions, changes and
    everything else are identical."""
    return [
        (row[6], row[4]) for row in observed["status"] if row[0] in ("table", "view", "sequence")
    ]


def test_deferred_capture_is_observably_identical_to_capture_at_statement_time(
    deferred_and_immediate: tuple[EngineDB, EngineDB], role: str
):
    deferred, immediate = deferred_and_immediate
    seen_deferred = sessions(deferred, role)
    seen_immediate = sessions(immediate, role)
    # status read inside the first session's transaction, then the count read inside the
    # rolled-back one; the statement a change is attributed to: see attributed() below
    assert (
        unattributed(seen_deferred[0])
        == unattributed(seen_immediate[0])
        == [
            ("constraint:public.orders.orders_pkey", "ADDED"),
            ("privileges:schema:public", "ADDED"),  # the fixture's GRANT to the role
            ("table:public.by_role", "ADDED"),
            ("table:public.orders", "ADDED"),
            ("view:public.by_role_v", "ADDED"),
        ]
    )
    assert seen_deferred[1] == seen_immediate[1]
    got, expected = observed(deferred), observed(immediate)
    assert attributed(got) == attributed(expected)
    got["status"], expected["status"] = (
        unattributed(got["status"]),
        unattributed(expected["status"]),
    )
    assert got == expected
    # what the sessions did, exactly: nothing of the rolled-back work, the role's DDL as the role
    statements = [row[1] for row in got["events"]]
    assert not any("rolled_back" in s or "in_savepoint" in s or "undone" in s for s in statements)
    assert "CREATE INDEX orders_note_idx ON public.orders (note)" not in statements
    by_role = [row for row in got["events"] if row[7] == "second"]
    assert [(row[2], row[4], row[6]) for row in by_role] == [
        ("CREATE TABLE", role, role),
        ("CREATE VIEW", role, role),
    ]
    assert all(row[-1] for row in got["events"])  # each event in its statement's transaction
    assert len(got["events"]) == 2 + 1 + 2 + 1 + 100 + 1
    assert got["unflushed"] == 0 and got["pending"] == 0
    assert got["tree"] == got["live"]
    assert "table:public.batch_3" not in {key for key, *_ in got["changes"]}
    # 5 from the sessions, the fixture's grant, and per table of the script: itself, its key,
    # index, check, comment
    assert len(got["changes"]) == 5 + 1 + 24 * 5


def kept_boom_kept(db: EngineDB) -> None:
    """A table, the sequence the failure-injecting constraints refuse, a table: one transaction."""
    with db.conn.transaction():
        db.run("CREATE TABLE public.kept_a (a integer)")
        db.run("CREATE SEQUENCE public.boom_seq")
        db.run("CREATE TABLE public.kept_b (b integer)")


def test_a_failure_to_write_an_audit_row_loses_only_its_statement_and_is_recorded(
    engine_db: EngineDB,
):
    engine_db.run(
        "ALTER TABLE pggit.ddl_log ADD CONSTRAINT no_boom CHECK (command_tag <> 'CREATE SEQUENCE')"
    )
    kept_boom_kept(engine_db)
    assert engine_db.rows("SELECT command_tag FROM pggit.capture_errors ORDER BY id") == [
        ("CREATE SEQUENCE",)
    ]
    assert engine_db.rows(
        "SELECT data->>'command_tag' FROM pggit.events WHERE type = 'ddl.captured' ORDER BY id"
    ) == [("CREATE TABLE",), ("CREATE TABLE",)]
    assert engine_db.one("SELECT count(*) FROM pggit.capture_pending") == 0
    # the sequence's definition is still read (rescan heals the audit trail's gap)
    engine_db.run("SELECT pggit.rescan()")
    keys = {row[0] for row in engine_db.rows("SELECT object_key FROM pggit.status()")}
    assert {"table:public.kept_a", "table:public.kept_b", "sequence:public.boom_seq"} <= keys


@pytest.mark.parametrize(
    ("setting", "value", "sqlstate"),
    [
        ("pggit.pending_anchors", "garbage", "22P02"),
        ("pggit.pending_anchors", '[["a", "b"]]', "22P02"),
        ("pggit.pending_anchors", '[["1259"], 7]', "P0001"),
        ("pggit.pending_anchors", '{"1259": 1}', "P0001"),
        ("pggit.pending_dropped", "{bad", "22P02"),
    ],
)
@pytest.mark.parametrize("ordinary", [False, True], ids=["superuser", "ordinary-role"])
def test_a_role_setting_what_sql_drop_passes_on_to_garbage_fails_capture_not_its_ddl(
    engine_db: EngineDB,
    request: pytest.FixtureRequest,
    ordinary: bool,
    setting: str,
    value: str,
    sqlstate: str,
):
    """Any role can set a pggit.* setting. What the sql_drop trigger passes on is parsed in a block,
    its catalog rows checked to be oid pairs as the flush reads them: set to anything else, that
    statement's capture fails and is recorded, its DDL and the transaction's other statements go
    on, and no audit row is stored that a later flush could not read. By a superuser and by an
    ordinary login role."""
    client = (
        connect_as(engine_db, request.getfixturevalue("public_creator"))
        if ordinary
        else engine_db.connect()
    )
    with client, client.transaction():
        client.execute("CREATE TABLE public.kept_a (a integer)")
        client.execute("CREATE TABLE public.kept_b (b integer)")
        client.execute("SELECT set_config(%s, %s, true)", (setting, value))
        client.execute("CREATE TABLE public.lost (c integer)")
        client.execute("CREATE TABLE public.kept_c (d integer)")
    assert engine_db.one("SELECT to_regclass('public.lost') IS NOT NULL") is True
    assert engine_db.rows("SELECT command_tag, sqlstate FROM pggit.capture_errors") == [
        ("CREATE TABLE", sqlstate)
    ]
    assert engine_db.rows("SELECT targets->0->>'identity' FROM pggit.ddl_log ORDER BY id") == [
        ("public.kept_a",),
        ("public.kept_b",),
        ("public.kept_c",),
    ]
    # the next read flushes what was captured (the table whose capture failed: a rescan's)
    assert engine_db.rows("SELECT object_key FROM pggit.status() ORDER BY 1") == [
        ("table:public.kept_a",),
        ("table:public.kept_b",),
        ("table:public.kept_c",),
    ]


@pytest.mark.parametrize("value", ["x", "", " 1", "-1", "9" * 19, "\u0661"])
def test_a_role_setting_the_statement_texts_id_to_garbage_stores_the_text_again(
    engine_db: EngineDB, value: str
):
    """The id of the message's stored text is kept in a setting any role can set: checked before
    its cast, a value that is no id is a miss (the message's text is stored again), never an error
    that would fail the DDL."""
    with engine_db.conn.transaction():
        engine_db.run("CREATE TABLE public.first (a integer)")
        message = (
            "SELECT set_config('pggit.last_query_at', statement_timestamp()::text, true), "
            f"set_config('pggit.last_query_id', '{value}', true); "
            "CREATE TABLE public.second (b integer)"
        )
        engine_db.run(message)
    assert engine_db.one("SELECT count(*) FROM pggit.capture_errors") == 0
    assert engine_db.rows(
        "SELECT targets->0->>'identity', q.query FROM pggit.ddl_log l "
        "JOIN pggit.ddl_queries q ON q.id = l.query_id ORDER BY l.id"
    ) == [
        ("public.first", "CREATE TABLE public.first (a integer)"),
        ("public.second", message),
    ]


def test_a_failure_to_write_an_event_loses_only_its_statements_event_and_is_recorded(
    engine_db: EngineDB,
):
    """The events are written together at commit; one that cannot be written is a capture failure
    of its own (tag ddl.captured, an alert) and the others are written one by one. The DDL and
    every audit row commit; the alert clears once a later ddl.captured event is written."""
    engine_db.run(
        "ALTER TABLE pggit.events ADD CONSTRAINT no_boom "
        "CHECK (type <> 'ddl.captured' OR data->>'command_tag' <> 'CREATE SEQUENCE')"
    )
    kept_boom_kept(engine_db)
    assert engine_db.rows("SELECT command_tag, sqlstate FROM pggit.capture_errors") == [
        ("ddl.captured", "23514")
    ]
    assert engine_db.rows(
        "SELECT data->'objects'->0->>'identity' FROM pggit.events "
        "WHERE type = 'ddl.captured' ORDER BY id"
    ) == [("public.kept_a",), ("public.kept_b",)]
    assert engine_db.rows("SELECT targets->0->>'identity' FROM pggit.ddl_log ORDER BY id") == [
        ("public.kept_a",),
        ("public.boom_seq",),
        ("public.kept_b",),
    ]
    assert engine_db.one("SELECT to_regclass('public.boom_seq') IS NOT NULL") is True
    assert engine_db.one("SELECT count(*) FROM pggit.capture_pending") == 0
    assert engine_db.rows("SELECT fingerprint, status FROM pggit.alerts") == [
        ("capture_failure:ddl.captured", "firing")
    ]
    assert engine_db.one("SELECT pggit.alerts_auto_resolve()") == 0
    engine_db.run("ALTER TABLE pggit.events DROP CONSTRAINT no_boom")
    engine_db.run("CREATE TABLE public.later (a integer)")
    assert engine_db.one("SELECT pggit.alerts_auto_resolve()") == 1
    assert engine_db.rows("SELECT status FROM pggit.alerts") == [("resolved",)]


def test_a_rescan_inside_a_capturing_transaction_is_audited_not_announced(engine_db: EngineDB):
    """rescan writes its own audit row (already flushed) in the transaction: it is the engine's
    record, not a captured statement, so it gets no ddl.captured event."""
    with engine_db.conn.transaction():
        engine_db.run("SELECT pggit.set_capture(false)")
        engine_db.run("CREATE TABLE public.unseen (a integer)")
        engine_db.run("SELECT pggit.set_capture(true)")
        engine_db.run("CREATE TABLE public.seen (a integer)")
        assert engine_db.one("SELECT pggit.rescan()") == 1  # the table made with capture off
    assert engine_db.rows("SELECT command_tag FROM pggit.ddl_log ORDER BY id") == [
        ("CREATE TABLE",),
        ("RESCAN",),
    ]
    assert engine_db.rows(
        "SELECT data->>'command_tag', data->'objects'->0->>'identity' FROM pggit.events "
        "WHERE type = 'ddl.captured' ORDER BY id"
    ) == [("CREATE TABLE", "public.seen")]


# Before the GRANT: a read after the object made with capture off; or a read with nothing new to
# announce (the transaction's statements announced by an earlier read) after it.
READ_BEFORE_THE_GRANT = {
    "one-read": [
        "CREATE TABLE public.granted (a integer)",
        "SELECT pggit.set_capture(false)",
        "CREATE TABLE public.hidden (a integer)",
        "SELECT pggit.set_capture(true)",
        "SELECT count(*) FROM pggit.status()",
    ],
    "nothing-new-to-announce": [
        "CREATE TABLE public.granted (a integer)",
        "SELECT count(*) FROM pggit.status()",
        "SELECT pggit.set_capture(false)",
        "CREATE TABLE public.hidden (a integer)",
        "SELECT pggit.set_capture(true)",
        "SELECT count(*) FROM pggit.status()",
    ],
}


@pytest.mark.parametrize("before", list(READ_BEFORE_THE_GRANT))
def test_a_grant_after_a_read_is_credited_with_its_own_object_only(
    engine_db: EngineDB, before: str
):
    """A read moves the end-of-statement mark (also with nothing new to announce): a GRANT after
    it is not credited with what the transaction created before the read, nor with an object
    created while capture was off."""
    with engine_db.conn.transaction():
        for statement in READ_BEFORE_THE_GRANT[before]:
            engine_db.run(statement)
        engine_db.run("GRANT SELECT ON public.granted TO PUBLIC")
    assert engine_db.rows(
        "SELECT l.command_tag, (SELECT array_agg(pg_describe_object((a->>0)::oid, (a->>1)::oid, 0)"
        "                                        ORDER BY 1) "
        "                        FROM jsonb_array_elements(l.anchors) a) "
        "FROM pggit.ddl_log l ORDER BY l.id"
    ) == [("CREATE TABLE", ["table granted"]), ("GRANT", ["table granted"])]
    assert engine_db.rows("SELECT object_key FROM pggit.status() ORDER BY object_key") == [
        ("privileges:table:public.granted",),
        ("table:public.granted",),
    ]


def test_an_engine_read_takes_no_transaction_id(engine_db: EngineDB):
    """A read that has nothing of its transaction to announce assigns no transaction id (a new
    session's first read plans capture's lookup of its transaction's row)."""
    with engine_db.connect() as conn:
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM pggit.status()")
        assert conn.execute("SELECT pg_current_xact_id_if_assigned()").fetchone() == (None,)
        conn.execute("ROLLBACK")


@pytest.mark.parametrize("messages", ["one-script", "one-per-statement"])
def test_a_long_migration_takes_two_transaction_ids_not_one_per_statement(
    engine_db: EngineDB, messages: str
):
    """Each statement's capture runs in a subtransaction; one that writes takes a transaction id
    of its own, and past 64 of them PostgreSQL's per-backend cache of subtransactions overflows
    (every other session's visibility checks then look in pg_subtrans while the migration runs).
    In a 200-statement migration in one transaction, sent as one script or one statement per
    message (psql -f, Django's migrations), only the first statement's rows are written inside
    its subtransaction (their xmin is that subtransaction's id); the others are written by the
    transaction itself."""
    statements = script(200, "xids")
    with engine_db.conn.transaction():
        if messages == "one-script":
            engine_db.run(statements)
        else:
            for statement in statements.split("\n"):
                engine_db.run(statement)
        xids = engine_db.rows(
            "SELECT count(*), count(DISTINCT x), count(*) FILTER (WHERE x = "
            "           (pg_current_xact_id()::text::bigint % 4294967296)::text) "
            "  FROM (SELECT xmin::text AS x FROM pggit.ddl_log WHERE txid = pg_current_xact_id()"
            "        UNION ALL SELECT xmin::text FROM pggit.ddl_queries WHERE age(xmin) <= 0) r"
        )
    rows = 200 + (1 if messages == "one-script" else 200)
    assert xids == [(rows, 2, rows - 2)]
    assert engine_db.one("SELECT count(*) FROM pggit.events WHERE type = 'ddl.captured'") == 200


def test_a_repeatable_read_transaction_never_fails_its_ddl_for_another_sessions_change(
    engine_db: EngineDB,
):
    """A REPEATABLE READ transaction's snapshot can predate a change of the audit table another
    session committed: its rows are always written inside the statement's subtransaction, so a
    row the changed table refuses is a capture failure, not a failed DDL statement."""
    other = engine_db.connect()
    try:
        with engine_db.conn.transaction():
            engine_db.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            engine_db.run("SELECT 1")  # (the snapshot)
            other.execute(
                "ALTER TABLE pggit.ddl_log ADD CONSTRAINT no_boom "
                "CHECK (command_tag <> 'CREATE SEQUENCE')"
            )
            engine_db.run("CREATE TABLE public.rr_first (a integer)")
            engine_db.run("CREATE TABLE public.rr_second (a integer)")
            engine_db.run("CREATE SEQUENCE public.rr_seq")
            engine_db.run("CREATE TABLE public.rr_third (a integer)")
        assert engine_db.one("SELECT to_regclass('public.rr_seq') IS NOT NULL") is True
        assert engine_db.rows("SELECT command_tag FROM pggit.capture_errors") == [
            ("CREATE SEQUENCE",)
        ]
        assert engine_db.rows("SELECT targets->0->>'identity' FROM pggit.ddl_log ORDER BY id") == [
            ("public.rr_first",),
            ("public.rr_second",),
            ("public.rr_third",),
        ]
    finally:
        other.execute("ALTER TABLE pggit.ddl_log DROP CONSTRAINT IF EXISTS no_boom")
        other.close()


class Undone(Exception):
    """Raised to roll back a test's transaction (the engine's own tables as they were)."""


def test_the_audit_tables_of_a_fresh_install_take_any_row(engine_db: EngineDB):
    """pggit.audit_tables_plain() lists ddl_log's and ddl_queries' columns as schema/004_core.sql
    makes them: a change of the tables that forgets it ends capture's writes outside its
    subtransaction (one transaction id per captured statement again); each change below ends
    them too."""
    assert engine_db.one("SELECT pggit.audit_tables_plain()") is True
    for change in (
        "ALTER TABLE pggit.ddl_log ADD CONSTRAINT no_boom CHECK (command_tag <> 'X')",
        "CREATE UNIQUE INDEX ddl_log_tag_unique ON pggit.ddl_log (command_tag, id)",
        "CREATE INDEX ddl_log_tag_expression ON pggit.ddl_log ((1 / length(command_tag)))",
        "ALTER TABLE pggit.ddl_log ALTER COLUMN actor SET NOT NULL",
        "ALTER TABLE pggit.ddl_log ALTER COLUMN capture_ms TYPE numeric(4, 1)",
        "ALTER TABLE pggit.ddl_log ADD COLUMN extra integer",
        "CREATE RULE no_insert AS ON INSERT TO pggit.ddl_log DO INSTEAD NOTHING",
        "CREATE TRIGGER no_insert BEFORE INSERT ON pggit.ddl_log "
        "FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()",
        "ALTER TABLE pggit.ddl_queries ADD CONSTRAINT short CHECK (length(query) < 100)",
        "CREATE UNIQUE INDEX ddl_queries_md5_unique ON pggit.ddl_queries (md5)",
        "ALTER TABLE pggit.ddl_log FORCE ROW LEVEL SECURITY",
    ):
        with pytest.raises(Undone), engine_db.conn.transaction():
            engine_db.run(change)
            assert engine_db.one("SELECT pggit.audit_tables_plain()") is False, change
            raise Undone


# Changes to the audit table inside the capturing transaction, after statements were captured, and
# the capture failures they then cause: a row that cannot be written is a capture failure, never a
# failed DDL statement.
TAMPERED_MID_TRANSACTION = {
    "constraint": (
        [
            "ALTER TABLE pggit.ddl_log ADD CONSTRAINT no_boom "
            "CHECK (command_tag <> 'CREATE SEQUENCE')"
        ],
        [("CREATE SEQUENCE",)],
    ),
    "capture-off": (
        [
            "SELECT pggit.set_capture(false)",
            "ALTER TABLE pggit.ddl_log ADD CONSTRAINT no_boom "
            "CHECK (command_tag <> 'CREATE SEQUENCE')",
            "SELECT pggit.set_capture(true)",
        ],
        [("CREATE SEQUENCE",)],
    ),
    "renamed": (
        ["ALTER TABLE pggit.ddl_log RENAME TO ddl_log_renamed"],
        [("CREATE SEQUENCE",), ("CREATE TABLE",)],
    ),
    # (moved into a tracked schema: the statement names it there, not in the engine's schema)
    "moved": (
        ["CREATE SCHEMA archive", "ALTER TABLE pggit.ddl_log SET SCHEMA archive"],
        [("ALTER TABLE",), ("CREATE SEQUENCE",), ("CREATE TABLE",)],
    ),
}


@pytest.mark.parametrize("tamper", list(TAMPERED_MID_TRANSACTION))
def test_the_audit_table_changed_mid_transaction_never_fails_the_ddl(
    engine_db: EngineDB, tamper: str
):
    statements, failures = TAMPERED_MID_TRANSACTION[tamper]
    with pytest.raises(Undone), engine_db.conn.transaction():
        engine_db.run("CREATE TABLE public.first (a integer)")
        engine_db.run("CREATE TABLE public.second (a integer)")  # (written outside the block)
        for statement in statements:
            engine_db.run(statement)
        engine_db.run("CREATE SEQUENCE public.boom_seq")
        engine_db.run("CREATE TABLE public.third (a integer)")
        assert engine_db.one("SELECT to_regclass('public.boom_seq') IS NOT NULL") is True
        assert engine_db.one("SELECT to_regclass('public.third') IS NOT NULL") is True
        assert engine_db.rows("SELECT command_tag FROM pggit.capture_errors ORDER BY id") == (
            failures
        )
        raise Undone


def test_constraints_set_immediate_mid_transaction_loses_no_captured_statement(
    engine_db: EngineDB,
):
    with engine_db.conn.transaction():
        engine_db.run("CREATE TABLE public.before_immediate (a integer)")
        engine_db.run("SET CONSTRAINTS ALL IMMEDIATE")  # fires the commit trigger now
        engine_db.run("SET CONSTRAINTS ALL DEFERRED")
        engine_db.run("CREATE TABLE public.after_immediate (a integer)")
    assert engine_db.rows(
        "SELECT data->'objects'->0->>'identity' FROM pggit.events "
        "WHERE type = 'ddl.captured' ORDER BY id"
    ) == [("public.before_immediate",), ("public.after_immediate",)]
    assert engine_db.one("SELECT count(*) FROM pggit.capture_pending") == 0


@pytest.fixture
def public_creator(engine_db: EngineDB, role: str) -> Iterator[str]:
    """An ordinary login role that may create in public (granted and committed before the test:
    nothing of it in the log afterwards); its objects reassigned and dropped after."""
    engine_db.run(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(role)))
    engine_db.run("SELECT pggit.commit('the role may create in public')")
    engine_db.run("DELETE FROM pggit.events; DELETE FROM pggit.ddl_log")
    yield role
    engine_db.run(
        sql.SQL("REASSIGN OWNED BY {} TO postgres; DROP OWNED BY {}").format(
            sql.Identifier(role), sql.Identifier(role)
        )
    )


@pytest.mark.parametrize("ordinary", [False, True], ids=["superuser", "ordinary-role"])
def test_constraints_set_immediate_for_the_rest_of_the_transaction_loses_no_captured_statement(
    engine_db: EngineDB, request: pytest.FixtureRequest, ordinary: bool
):
    """Immediate mode kept to the end of the transaction: each statement's arming row fires its
    trigger at once, which announces that statement; none is lost, none announced twice, and a
    GRANT is still credited with its own object only. By a superuser and by an ordinary login
    role."""
    if ordinary:
        client = connect_as(engine_db, request.getfixturevalue("public_creator"))
    else:
        client = engine_db.connect()
    with client, client.transaction():
        for statement in (
            "CREATE TABLE public.before_immediate (a integer)",
            "SET CONSTRAINTS ALL IMMEDIATE",
            "CREATE TABLE public.immediate_1 (a integer)",
            "CREATE TABLE public.immediate_2 (a integer)",
            "GRANT SELECT ON public.immediate_1 TO PUBLIC",
            "CREATE TABLE public.immediate_3 (a integer)",
        ):
            client.execute(statement)
    assert engine_db.rows(
        "SELECT command_tag, targets->0->>'identity', "
        "       (SELECT array_agg(pg_describe_object((a->>0)::oid, (a->>1)::oid, 0) ORDER BY 1) "
        "          FROM jsonb_array_elements(anchors) a) "
        "FROM pggit.ddl_log ORDER BY id"
    ) == [
        ("CREATE TABLE", "public.before_immediate", ["table before_immediate"]),
        ("CREATE TABLE", "public.immediate_1", ["table immediate_1"]),
        ("CREATE TABLE", "public.immediate_2", ["table immediate_2"]),
        ("GRANT", None, ["table immediate_1"]),
        ("CREATE TABLE", "public.immediate_3", ["table immediate_3"]),
    ]
    assert engine_db.one("SELECT count(*) FROM pggit.events WHERE type = 'ddl.captured'") == 5
    assert engine_db.rows("SELECT command_tag, message FROM pggit.capture_errors") == []
    assert engine_db.one("SELECT count(*) FROM pggit.capture_pending") == 0
    assert engine_db.rows(
        "SELECT object_key, statement FROM pggit.status() ORDER BY object_key"
    ) == [
        ("privileges:table:public.immediate_1", "GRANT SELECT ON public.immediate_1 TO PUBLIC"),
        ("table:public.before_immediate", "CREATE TABLE public.before_immediate (a integer)"),
        # (the last statement credited with the table: the GRANT)
        ("table:public.immediate_1", "GRANT SELECT ON public.immediate_1 TO PUBLIC"),
        ("table:public.immediate_2", "CREATE TABLE public.immediate_2 (a integer)"),
        ("table:public.immediate_3", "CREATE TABLE public.immediate_3 (a integer)"),
    ]


# What a transaction does before its RESET ALL: nothing more, or switches strict mode or
# capture_sync on (its next statement is announced at once), or reads (status announces and
# flushes what came before).
BEFORE_THE_RESET = {
    "nothing": None,
    "strict": "SELECT pggit.config_set('capture_mode', '\"strict\"')",
    "sync": "SELECT pggit.config_set('capture_sync', 'true')",
    "read": "SELECT count(*) FROM pggit.status()",
}


@pytest.mark.parametrize("before", list(BEFORE_THE_RESET))
def test_a_reset_all_inside_the_transaction_loses_nothing(engine_db: EngineDB, before: str):
    """RESET ALL empties the transaction-local settings capture keeps (its configuration, HEAD's
    branch, whether the transaction is armed): the audit rows are written at statement time, so
    nothing is lost and nothing is reported; each statement is audited and announced once, in
    order, also when the statements after the reset arm the transaction again."""
    client = engine_db.connect()
    warnings: list[str] = []
    client.add_notice_handler(lambda notice: warnings.append(notice.message_primary))
    with client, client.transaction():
        client.execute("CREATE TABLE public.before_reset (a integer)")
        if BEFORE_THE_RESET[before]:
            client.execute(BEFORE_THE_RESET[before])
        client.execute("CREATE TABLE public.middle (a integer)")
        client.execute("RESET ALL")
        client.execute("CREATE TABLE public.after_reset (a integer)")
        client.execute("RESET ALL")
        client.execute("CREATE TABLE public.after_second_reset (a integer)")
    assert warnings == []
    assert engine_db.rows("SELECT command_tag, message FROM pggit.capture_errors") == []
    names = ["before_reset", "middle", "after_reset", "after_second_reset"]
    assert engine_db.rows(
        "SELECT targets->0->>'identity' FROM pggit.ddl_log WHERE command_tag = 'CREATE TABLE' "
        "ORDER BY id"
    ) == [(f"public.{name}",) for name in names]
    assert engine_db.rows(
        "SELECT data->'objects'->0->>'identity' FROM pggit.events "
        "WHERE type = 'ddl.captured' AND data->>'command_tag' = 'CREATE TABLE' ORDER BY id"
    ) == [(f"public.{name}",) for name in names]
    assert engine_db.one("SELECT count(*) FROM pggit.capture_pending") == 0
    keys = {row[0] for row in engine_db.rows("SELECT object_key FROM pggit.status()")}
    assert {f"table:public.{name}" for name in names} <= keys


FAILED_TO_WRITE = (
    '[PGGIT-CAPTURE_FAILED] capture failed (strict mode): new row for relation "ddl_log" violates '
    'check constraint "no_boom"'
)


def test_a_strict_capture_failure_names_capture_failed_once(engine_db: EngineDB):
    """Strict mode: a statement whose audit row cannot be written fails, with the message prefixed
    once. Nothing of the transaction is kept."""
    engine_db.run(
        "ALTER TABLE pggit.ddl_log ADD CONSTRAINT no_boom CHECK (command_tag <> 'CREATE SEQUENCE')"
    )
    engine_db.run("SELECT pggit.config_set('capture_mode', '\"strict\"')")
    with pytest.raises(psycopg.Error) as excinfo, engine_db.conn.transaction():
        engine_db.run("CREATE TABLE public.kept_until_the_failure (a integer)")
        engine_db.run("CREATE SEQUENCE public.boom_seq")
    assert excinfo.value.diag.message_primary == FAILED_TO_WRITE
    assert excinfo.value.sqlstate == "23514"
    assert engine_db.one("SELECT to_regclass('public.boom_seq')") is None
    assert engine_db.rows("SELECT command_tag FROM pggit.capture_errors") == []
    assert (
        engine_db.rows("SELECT command_tag FROM pggit.ddl_log WHERE command_tag LIKE 'CREATE %'")
        == []
    )


@pytest.mark.parametrize(("key", "value"), [("capture_mode", '"strict"'), ("capture_sync", "true")])
def test_writing_at_once_switched_on_mid_transaction_keeps_the_statement_order(
    engine_db: EngineDB, key: str, value: str
):
    """Statements announced at commit, then strict mode (or capture_sync) switched on inside the
    transaction: the first statement announced at once announces those before it first, so the
    audit rows and their events stay in statement order."""
    with engine_db.conn.transaction():
        engine_db.run("CREATE TABLE public.at_commit_first (a integer)")
        engine_db.run("CREATE TABLE public.at_commit_second (a integer)")
        engine_db.run("SELECT pggit.config_set(%s, %s)", (key, value))
        engine_db.run("CREATE TABLE public.at_once_third (a integer)")
        engine_db.run("CREATE TABLE public.at_once_fourth (a integer)")
    expected = [
        ("public.at_commit_first",),
        ("public.at_commit_second",),
        ("public.at_once_third",),
        ("public.at_once_fourth",),
    ]
    assert engine_db.rows("SELECT targets->0->>'identity' FROM pggit.ddl_log ORDER BY id") == (
        expected
    )
    assert (
        engine_db.rows(
            "SELECT data->'objects'->0->>'identity' FROM pggit.events "
            "WHERE type = 'ddl.captured' ORDER BY id"
        )
        == expected
    )
    assert (
        engine_db.rows(
            "SELECT e.data->>'ddl_id' = l.id::text FROM pggit.events e "
            "JOIN pggit.ddl_log l ON l.targets->0 = e.data->'objects'->0 "
            "WHERE e.type = 'ddl.captured' ORDER BY e.id"
        )
        == [(True,)] * 4
    )
    assert engine_db.one("SELECT count(*) FROM pggit.capture_pending") == 0


def test_two_grants_in_one_transaction_are_each_credited_with_their_own_object(
    engine_db: EngineDB,
):
    engine_db.run(
        "CREATE TABLE public.granted_a (a integer); CREATE TABLE public.granted_b (b integer)"
    )
    engine_db.run("SELECT pggit.commit('two tables')")
    with engine_db.conn.transaction():
        engine_db.run("GRANT SELECT ON public.granted_a TO PUBLIC")
        engine_db.run("GRANT SELECT ON public.granted_b TO PUBLIC")
    assert engine_db.rows(
        "SELECT object_key, statement FROM pggit.status() ORDER BY object_key"
    ) == [
        ("privileges:table:public.granted_a", "GRANT SELECT ON public.granted_a TO PUBLIC"),
        ("privileges:table:public.granted_b", "GRANT SELECT ON public.granted_b TO PUBLIC"),
    ]


def awkward_session(db: EngineDB) -> None:
    """One transaction whose audit rows must survive their JSON text: a schema whose name holds a
    quote, a newline and non-ASCII letters; objects created and then dropped, renamed or moved
    before the commit announces them (their identities are those the trigger named)."""
    with db.connect(application_name="awkward") as conn, conn.transaction():
        conn.execute('CREATE SCHEMA "we""ird\nschéma"')
        conn.execute(
            'CREATE TABLE "we""ird\nschéma".t (id integer PRIMARY KEY, v text DEFAULT \'x\')'
        )
        conn.execute(
            'CREATE FUNCTION "we""ird\nschéma".touch() RETURNS trigger LANGUAGE plpgsql '
            "AS $$ BEGIN RETURN NEW; END $$"
        )
        conn.execute(
            'CREATE TRIGGER tr BEFORE INSERT ON "we""ird\nschéma".t '
            'FOR EACH ROW EXECUTE FUNCTION "we""ird\nschéma".touch()'
        )
        conn.execute('CREATE INDEX t_v_idx ON "we""ird\nschéma".t (v)')
        conn.execute('ALTER TABLE "we""ird\nschéma".t ENABLE ROW LEVEL SECURITY')
        conn.execute('CREATE POLICY p ON "we""ird\nschéma".t USING (true)')
        conn.execute('DROP INDEX "we""ird\nschéma".t_v_idx')
        conn.execute('DROP TRIGGER tr ON "we""ird\nschéma".t')
        conn.execute('ALTER TABLE "we""ird\nschéma".t ALTER COLUMN v SET DEFAULT \'y\'')
        conn.execute('ALTER TABLE "we""ird\nschéma".t RENAME TO t2')
        conn.execute("CREATE TABLE public.moved (a integer CHECK (a > 0))")
        conn.execute('ALTER TABLE public.moved SET SCHEMA "we""ird\nschéma"')
        conn.execute('ALTER SCHEMA "we""ird\nschéma" RENAME TO renamed')


def test_awkward_names_and_short_lived_objects_are_captured_the_same_either_way(
    deferred_and_immediate: tuple[EngineDB, EngineDB],
):
    got, expected = observed_after(awkward_session, deferred_and_immediate)
    assert got == expected
    targets = [json.loads(row[3]) if isinstance(row[3], str) else row[3] for row in got["events"]]
    named = [t["identity"] for row in targets for t in row if "identity" in t]
    assert '"we""ird\nschéma".t_v_idx' in named  # created, then dropped: still named by both
    assert 'tr on "we""ird\nschéma".t' in named
    assert named[-1] == "renamed"
    assert {key for key, *_ in got["changes"]} >= {
        "table:renamed.t2",
        "table:renamed.moved",
        "policy:renamed.t2.p",
    }
    assert got["unflushed"] == 0 and got["pending"] == 0


def rename_then_drop_session(db: EngineDB) -> None:
    """Objects renamed and then dropped, or created, renamed and dropped, in one transaction,
    with a second session's DDL interleaved, and a third transaction rolled back."""
    db.run(
        "CREATE TABLE public.doomed (id integer PRIMARY KEY, v text); "
        "CREATE INDEX doomed_v_idx ON public.doomed (v)"
    )
    db.run("SELECT pggit.commit('doomed')")
    first = db.connect(application_name="first")
    second = db.connect(application_name="second")
    third = db.connect(application_name="third")
    for conn in (first, second, third):
        conn.execute("BEGIN")
    first.execute("ALTER TABLE public.doomed RENAME TO renamed_doomed")
    second.execute("CREATE TABLE public.alongside (a integer)")
    first.execute("ALTER INDEX public.doomed_v_idx RENAME TO renamed_v_idx")
    third.execute("CREATE TABLE public.never (a integer)")
    first.execute("CREATE TABLE public.brief (a integer CHECK (a > 0))")
    first.execute("CREATE INDEX brief_a_idx ON public.brief (a)")
    second.execute("CREATE INDEX alongside_a_idx ON public.alongside (a)")
    first.execute("ALTER TABLE public.brief RENAME TO brief2")
    first.execute("DROP INDEX public.renamed_v_idx")
    third.execute("CREATE INDEX never_a_idx ON public.never (a)")
    first.execute("DROP TABLE public.brief2")
    first.execute("DROP TABLE public.renamed_doomed")
    first.execute("CREATE TABLE public.after_drops (a integer)")
    third.execute("ROLLBACK")
    second.execute("COMMIT")
    first.execute("COMMIT")
    for conn in (first, second, third):
        conn.close()


def test_renames_then_drops_in_one_transaction_are_captured_the_same_either_way(
    deferred_and_immediate: tuple[EngineDB, EngineDB],
):
    got, expected = observed_after(rename_then_drop_session, deferred_and_immediate)
    # the removed table is credited to the last statement of the batch that touched it when the
    # definitions are read at the first read, to the rename with capture_sync (see attributed())
    assert [row[4] for row in got["status"] if row[-1] == "table:public.doomed"] == [
        "DROP TABLE public.renamed_doomed"
    ]
    assert [row[4] for row in expected["status"] if row[-1] == "table:public.doomed"] == [
        "ALTER TABLE public.doomed RENAME TO renamed_doomed"
    ]
    got["status"], expected["status"] = (
        unattributed(got["status"]),
        unattributed(expected["status"]),
    )
    assert got == expected
    assert [(row[-1], row[3]) for row in got["status"]] == [
        ("constraint:public.doomed.doomed_pkey", "REMOVED"),
        ("index:public.alongside.alongside_a_idx", "ADDED"),
        ("index:public.doomed.doomed_v_idx", "REMOVED"),
        ("table:public.after_drops", "ADDED"),
        ("table:public.alongside", "ADDED"),
        ("table:public.doomed", "REMOVED"),
    ]
    # every statement of the two committed transactions, in statement order; none of the third
    assert [(row[2], row[7]) for row in got["events"]][-11:] == [
        ("ALTER TABLE", "first"),
        ("CREATE TABLE", "second"),
        ("ALTER INDEX", "first"),
        ("CREATE TABLE", "first"),
        ("CREATE INDEX", "first"),
        ("CREATE INDEX", "second"),
        ("ALTER TABLE", "first"),
        ("DROP INDEX", "first"),
        ("DROP TABLE", "first"),
        ("DROP TABLE", "first"),
        ("CREATE TABLE", "first"),
    ]
    assert not any(row[7] == "third" for row in got["events"])
    assert got["unflushed"] == 0 and got["pending"] == 0
    assert got["tree"] == got["live"]


def savepoints_session(db: EngineDB) -> None:
    """One transaction with a savepoint rolled back after its statements were announced and
    flushed by a read inside it (the events, the mark of what is announced and the flush are
    taken back with them, the statements before it stay announced), and a second one released."""
    with db.connect(application_name="chunks") as conn, conn.transaction():
        conn.execute(script(40, "kept"))
        conn.execute("SAVEPOINT undo")
        conn.execute(script(80, "undone"))
        conn.execute("SELECT count(*) FROM pggit.status()")
        conn.execute("ROLLBACK TO SAVEPOINT undo")
        conn.execute("CREATE TABLE public.after_undo (a integer)")
        conn.execute("SAVEPOINT keep")
        conn.execute(script(20, "released"))
        conn.execute("SELECT count(*) FROM pggit.status()")
        conn.execute("RELEASE SAVEPOINT keep")
        conn.execute("CREATE SEQUENCE public.last_seq")


def test_savepoints_around_reads_are_captured_the_same_either_way(
    deferred_and_immediate: tuple[EngineDB, EngineDB],
):
    got, expected = observed_after(savepoints_session, deferred_and_immediate)
    assert attributed(got) == attributed(expected)
    got["status"], expected["status"] = (
        unattributed(got["status"]),
        unattributed(expected["status"]),
    )
    assert got == expected
    # every statement outside the rolled-back savepoint, once, in statement order
    session = [row for row in got["events"] if row[7] == "chunks"]  # (not the fixture's GRANT)
    tags = [(row[2], " ".join(str(t.get("identity")) for t in row[3])) for row in session]
    assert len(tags) == 40 + 1 + 20 + 1
    assert not any("undone" in identities for _, identities in tags)
    assert not any("undone" in row[1] for row in session)
    assert tags[0][0] == "CREATE TABLE" and "public.kept_0 " in tags[0][1] + " "
    assert tags[40] == ("CREATE TABLE", "public.after_undo")
    assert tags[41][0] == "CREATE TABLE" and "public.released_0 " in tags[41][1] + " "
    assert tags[-1] == ("CREATE SEQUENCE", "public.last_seq")
    assert got["unflushed"] == 0 and got["pending"] == 0
    assert got["tree"] == got["live"]
    # per table: itself, its key, index, check, comment; after_undo, last_seq, the fixture's grant
    assert len(got["changes"]) == 15 * 5 + 2 + 1
