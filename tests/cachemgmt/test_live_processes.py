"""Acceptance of issue 6 with real processes: two daphne servers sharing Redis, the event listener,
commits from psql, Redis stopped mid-run, and the no-Redis mode."""

from __future__ import annotations

import subprocess

import pytest

from tests.cachemgmt.live import free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def commit_from_psql(database, table: str, message: str) -> int:
    """DDL then ``pggit.commit`` over a plain connection, as a DBA in psql; the newest event id."""
    with database.connect() as conn:
        conn.execute(f"CREATE TABLE public.{table} (id integer)")
        conn.execute("SELECT pggit.commit(%s, %s)", (message, "dba"))
        return conn.execute("SELECT max(id) FROM pggit.events").fetchone()[0]


def applied_event(client) -> int:
    return client.get("/api/v1/cache/stats").json()["last_event_id"] or 0


def test_a_write_through_one_server_is_never_served_stale_by_the_other(live):
    a, b = live.server("a").client(), live.server("b").client()
    assert [b.get("/api/v1/branches").headers["X-Cache"] for _ in range(2)] == ["miss", "hit-l1"]
    assert [b.get("/api/v1/branches/main").headers["X-Cache"] for _ in range(2)] == [
        "miss",
        "hit-l1",
    ]

    assert a.post("/api/v1/branches", json={"name": "feature-x"}).status_code == 201
    listing = b.get("/api/v1/branches")
    assert listing.headers["X-Cache"] == "miss"
    assert [item["name"] for item in listing.json()["items"]] == ["feature-x", "main"]
    detail = b.get("/api/v1/branches/feature-x")
    assert (detail.status_code, detail.json()["name"]) == (200, "feature-x")
    assert b.get("/api/v1/branches/feature-x").headers["X-Cache"] == "hit-l1"

    assert a.delete("/api/v1/branches/feature-x").status_code == 204
    gone = b.get("/api/v1/branches/feature-x")
    assert (gone.status_code, gone.json()["code"]) == (404, "branch_not_found")
    assert [item["name"] for item in b.get("/api/v1/branches").json()["items"]] == ["main"]

    stats = a.get("/api/v1/cache/stats").json()  # counted across both processes
    assert (stats["hits"], stats["misses"]) == (3, 6)  # the 404 was looked up too


def test_a_commit_from_psql_refreshes_the_cached_commit_log(live):
    live.listener()
    server = live.server("web").client()
    wait_for(
        lambda: server.get("/health/deep").json()["checks"]["listener"]["status"] == "healthy",
        what="the listener to become active",
    )
    first = server.get("/api/v1/commits")
    assert server.get("/api/v1/commits").headers["X-Cache"] == "hit-l1"

    event_id = commit_from_psql(live.database, "from_psql", "made in psql")
    wait_for(lambda: applied_event(server) >= event_id, what="the listener to apply the commit")
    fresh = server.get("/api/v1/commits")
    assert fresh.headers["X-Cache"] == "miss"
    assert fresh.json()["total"] == first.json()["total"] + 1
    assert fresh.json()["items"][0]["message"] == "made in psql"


def test_without_redis_each_web_process_follows_the_outbox_itself(live):
    server = live.server("local", REDIS_URL=None).client()
    wait_for(
        lambda: server.get("/api/v1/commits").headers["X-Cache"] == "hit-l1",
        what="the process to follow the outbox and cache",
    )
    assert server.get("/api/v1/cache/stats").json()["mode"] == "local"

    event_id = commit_from_psql(live.database, "from_psql_local", "local mode commit")
    wait_for(lambda: applied_event(server) >= event_id, what="the web process to see the event")
    fresh = server.get("/api/v1/commits")
    assert fresh.headers["X-Cache"] == "miss"
    assert fresh.json()["items"][0]["message"] == "local mode commit"


def test_redis_stopped_mid_run_answers_without_5xx(live, tmp_path):
    port = free_port()
    redis_cmd = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    subprocess.run([*redis_cmd, "--daemonize", "yes"], check=True, capture_output=True)
    redis_url = f"redis://127.0.0.1:{port}/0"
    try:
        process = live.server("web", REDIS_URL=redis_url)
        server = process.client()
        assert [server.get("/api/v1/branches").headers["X-Cache"] for _ in range(2)] == [
            "miss",
            "hit-l1",
        ]
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)

        answers = [server.get(path) for path in ("/api/v1/branches", "/api/v1/commits") * 10]
        assert {r.status_code for r in answers} == {200}
        assert {r.headers["X-Cache"] for r in answers} == {"bypass"}
        assert server.post("/api/v1/cache/invalidate").status_code == 200
        stats = server.get("/api/v1/cache/stats")
        assert (stats.status_code, stats.json()["layers"]["l2"]["available"]) == (200, False)
        health = server.get("/health/deep")
        assert (health.status_code, health.json()["status"]) == (200, "degraded")
        assert health.json()["checks"]["cache"]["status"] == "degraded"
        assert process.log().count("cache: Redis is unreachable") == 1

        subprocess.run([*redis_cmd, "--daemonize", "yes"], check=True, capture_output=True)
        wait_for(
            lambda: server.get("/api/v1/branches").headers["X-Cache"] == "miss",
            what="the cache to use Redis again",
        )
        assert server.get("/api/v1/branches").headers["X-Cache"] == "hit-l1"
    finally:
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)


def test_one_listener_is_active_and_a_standby_takes_over(live):
    def holders() -> int:
        with live.database.connect() as conn:
            return conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid = 7067 AND objid = 1"
            ).fetchone()[0]

    first = live.listener("first")
    wait_for(lambda: holders() == 1, what="the first listener to lead")
    second = live.listener("second")
    wait_for(lambda: "stands by" in second.log(), what="the second listener to stand by")
    assert holders() == 1
    first.stop()
    wait_for(lambda: "is the active listener" in second.log(), what="the standby to take over")
    assert holders() == 1


def test_a_webhook_health_change_by_the_worker_refreshes_the_cached_list(live):
    live.listener()
    server = live.server("web").client()
    wait_for(
        lambda: server.get("/health/deep").json()["checks"]["listener"]["status"] == "healthy",
        what="the listener to become active",
    )
    created = server.post(
        "/api/v1/webhooks",
        json={"name": "receiver", "url": "https://hooks.example.com/in", "event_types": ["*"]},
    )
    assert created.status_code == 201
    assert [server.get("/api/v1/webhooks").headers["X-Cache"] for _ in range(2)] == [
        "miss",
        "hit-l1",
    ]
    generation = server.get("/api/v1/cache/stats").json()["namespaces"]["webhooks"]["generation"]

    with live.database.connect() as conn:  # what the delivery worker records after an attempt
        conn.execute(
            "SELECT pggit.webhook_endpoint_account(%s, false, interval '5 days')",
            (created.json()["id"],),
        )
    wait_for(
        lambda: (
            server.get("/api/v1/cache/stats").json()["namespaces"]["webhooks"]["generation"]
            > generation
        ),
        what="the change announcement to bump the webhooks namespace",
    )
    fresh = server.get("/api/v1/webhooks")
    assert fresh.headers["X-Cache"] == "miss"
    [endpoint] = [item for item in fresh.json()["items"] if item["name"] == "receiver"]
    assert endpoint["health"]["failed_deliveries"] == 1
    assert endpoint["health"]["consecutive_failures"] == 1
