"""The one invalidation path: a change is named by its outbox event type or, for rows written
without an outbox event, by its table; ``EVENT_NAMESPACES`` says what it makes stale, for the
listener and for the writing process alike (``cachemgmt.changes``, ``pggit.note_change``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cachemgmt.namespaces import EVENT_NAMESPACES, NAMESPACES, namespaces_for_changes
from tests.engine.enginedb import EngineDB, engine_db, engine_template  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
SQL = "\n".join(path.read_text() for path in sorted((ROOT / "sql").rglob("*.sql")))


def test_every_change_the_engine_names_is_in_the_one_table():
    events = set(re.findall(r"emit_event\('([a-z_]+\.[a-z_]+)'", SQL))
    events |= set(re.findall(r"SELECT '([a-z_]+\.[a-z_]+)',", SQL))  # capture's own INSERT
    announced = set(re.findall(r"announce_change\('(pggit\.[a-z_]+)'\)", SQL))
    triggers = re.findall(
        r"CREATE TRIGGER cache_announce_change\w*\s+AFTER [A-Z ]+ ON (pggit\.[a-z_]+)", SQL
    )
    assert {"ddl.captured", "commit.created", "alert.fired"} <= events
    assert {"pggit.operations", "pggit.webhook_deliveries"} <= announced
    assert set(triggers) == {
        "pggit.webhook_endpoints",
        "pggit.alerts",
        "pggit.perf_baselines",
        "pggit.branches",
        "pggit.operations",
    }
    assert sorted((events | announced | set(triggers)) - set(EVENT_NAMESPACES)) == []
    assert all(set(names) <= set(NAMESPACES) for names in EVENT_NAMESPACES.values())


def test_the_engine_names_no_cache_namespace():
    """What a change makes stale is decided in one place, not in SQL: the engine's only
    pggit_cache notices are the change announcement and the users' one."""
    notices = re.findall(r"pg_notify\('pggit_cache', ([^;]*?)\);", SQL)
    assert sorted(notices) == [
        "'{\"changed\": \"' || p_table || '\"}'",
        '\'{"ns": [], "users": true}\'',
    ]


def test_no_write_path_bumps_namespaces_of_its_own():
    """Only the explicit invalidation (the API's and the admin's) calls ``cache_invalidate``; no
    view declares namespaces its writes make stale."""
    callers = sorted(
        str(path.relative_to(ROOT))
        for app in ("vcs", "alerts", "webhooks", "cachemgmt", "pggit_project")
        for path in (ROOT / app).rglob("*.py")
        if "cache_invalidate(" in path.read_text()
    )
    assert callers == ["cachemgmt/admin.py", "cachemgmt/api/views.py", "cachemgmt/services.py"]
    for app in ("vcs", "alerts", "webhooks"):
        for path in (ROOT / app).rglob("*.py"):
            assert "cache_invalidates" not in path.read_text(), path


def test_an_unknown_change_makes_everything_stale_and_every_change_the_dashboard():
    assert namespaces_for_changes(["nobody.mapped"]) == sorted(NAMESPACES)
    assert namespaces_for_changes(["webhook.test"]) == ["dashboard", "webhooks"]
    assert namespaces_for_changes([]) == []


def test_the_session_notes_each_change_once_and_forgets_it_when_taken(engine_db):  # noqa: F811
    db: EngineDB = engine_db
    db.run("SELECT pggit.take_changes()")
    db.run("SELECT pggit.emit_event('webhook.test', '{}')")
    db.run("SELECT pggit.record_operation('diff', now())")
    db.run("SELECT pggit.record_operation('diff', now())")
    db.run("SELECT pggit.emit_event('webhook.test', '{}')")
    assert db.one("SELECT pggit.take_changes()") == ",webhook.test,pggit.operations,"
    assert db.one("SELECT pggit.take_changes()") == ""


def test_a_rolled_back_change_is_not_noted(engine_db):  # noqa: F811
    db: EngineDB = engine_db
    db.run("SELECT pggit.take_changes()")
    with db.conn.transaction():
        db.run("SELECT pggit.emit_event('alert.fired', '{}')")
        with pytest.raises(RuntimeError, match="rolled"), db.conn.transaction():
            db.run("SELECT pggit.record_operation('diff', now())")
            raise RuntimeError("rolled back")
    assert db.one("SELECT pggit.take_changes()") == ",alert.fired,"
    with pytest.raises(RuntimeError), db.conn.transaction():
        db.run("SELECT pggit.emit_event('alert.resolved', '{}')")
        raise RuntimeError("rolled back")
    assert db.one("SELECT pggit.take_changes()") == ""


def test_captured_ddl_and_tables_without_events_are_noted(engine_db):  # noqa: F811
    db: EngineDB = engine_db
    db.run("SELECT pggit.take_changes()")
    db.run("CREATE TABLE public.noted (id integer)")
    assert db.one("SELECT pggit.take_changes()") == ",ddl.captured,"
    db.run("SELECT pggit.branch_create('noted-branch')")
    db.run("SELECT pggit.take_changes()")
    db.run("SELECT pggit.branch_protect('noted-branch', true)")
    assert db.one("SELECT pggit.take_changes()") == ",pggit.branches,pggit.operations,"


def generations(client) -> dict[str, int]:
    body = client.get("/api/v1/cache/stats").json()
    return {name: ns["generation"] for name, ns in body["namespaces"].items()}


def moved_by_creating_a_webhook(client, name: str) -> list[str]:
    """The namespaces whose generation moved while the API created the endpoint ``name``."""
    before = generations(client)
    created = client.post(
        "/api/v1/webhooks",
        {"name": name, "url": f"https://hooks.example.com/{name}"},
        format="json",
    )
    assert created.status_code == 201
    after = generations(client)
    return sorted(namespace for namespace in NAMESPACES if after[namespace] != before[namespace])


def test_a_write_bumps_exactly_what_its_changes_make_stale(redis_cache, staff_client):
    moved = moved_by_creating_a_webhook(staff_client, "exact")
    assert moved == namespaces_for_changes(["pggit.webhook_endpoints"]) == ["dashboard", "webhooks"]


def test_a_connection_taken_mid_request_brings_no_earlier_names(redis_cache, staff_client):
    """Creating an endpoint hands the request's connection back to the pool before the name
    lookup and takes one again after it: the names noted on that one outside any request
    (another thread's reads and writes) are not this request's and bump nothing."""
    from django.db import connection

    connection.close()  # this thread's connection back to the pool: it gets the note too
    pool = connection.pool
    pooled = [pool.getconn() for _ in range(max(2, pool.get_stats()["pool_available"]))]
    for pooled_connection in pooled:
        pooled_connection.execute("SELECT pggit.note_change('alert.fired')")
    for pooled_connection in pooled:
        pool.putconn(pooled_connection)
    # (reading the generations first takes a noted connection and leaves its note on it)
    assert moved_by_creating_a_webhook(staff_client, "mid-request") == ["dashboard", "webhooks"]


def test_a_failed_write_bumps_nothing(redis_cache, staff_client):
    before = generations(staff_client)
    refused = staff_client.post("/api/v1/branches", {"name": "main"}, format="json")
    assert refused.status_code == 409
    assert generations(staff_client) == before


def test_a_branch_renamed_through_the_api_is_fresh_at_once(redis_cache, staff_client):
    """A rename appends no outbox event (the engine-state version does not move): the writer's
    own change (``pggit.branches``) makes the cached list stale before the answer leaves."""
    assert staff_client.post("/api/v1/branches", {"name": "old-name"}, format="json").status_code
    try:
        assert [staff_client.get("/api/v1/branches")["X-Cache"] for _ in range(2)] == [
            "miss",
            "hit-l1",
        ]
        renamed = staff_client.patch(
            "/api/v1/branches/old-name", {"name": "new-name"}, format="json"
        )
        assert renamed.status_code == 200
        fresh = staff_client.get("/api/v1/branches")
        assert fresh["X-Cache"] == "miss"
        names = [branch["name"] for branch in fresh.json()["items"]]
        assert "new-name" in names
        assert "old-name" not in names
    finally:
        staff_client.delete("/api/v1/branches/new-name")
