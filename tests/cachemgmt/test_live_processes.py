"""Acceptance of issue 6 with real processes: two uvicorn servers sharing Redis, the event listener,
commits from psql, Redis stopped mid-run, and the no-Redis mode."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
import redis

from tests.cachemgmt.live import PASSWORD, ROOT, STAFF, free_port, wait_for

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
    # (waited for, not asserted at once: an event written meanwhile, such as an alert raised when
    # an operation is slow on a loaded machine, rightly makes the entry just stored stale)
    first = wait_for(
        lambda: (answer := server.get("/api/v1/commits")).headers["X-Cache"] == "hit-l1" and answer,
        what="the commit log served from the cache",
    )

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


@pytest.mark.faults
def test_logging_in_works_while_redis_is_down_and_stays_throttled(live):
    """Token requests are throttled per address in Redis; with Redis stopped, each process
    counts them in its own memory (one warning logged) instead of answering 500."""
    port = free_port()
    redis_cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    subprocess.run(
        [*redis_cmd, "--appendonly", "no", "--daemonize", "yes"], check=True, capture_output=True
    )
    try:
        process = live.server(
            "web", REDIS_URL=f"redis://127.0.0.1:{port}/0", PGGIT_TOKEN_RATE="6/minute"
        )
        credentials = {"username": STAFF, "password": PASSWORD}
        login = f"{process.base_url}/api/v1/auth/token"
        # start_server logged in once; with Redis up the count is kept there
        assert httpx.post(login, json=credentials, timeout=15).status_code == 200
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)

        answers = [httpx.post(login, json=credentials, timeout=15) for _ in range(7)]
        assert [r.status_code for r in answers] == [200] * 6 + [429]
        assert answers[-1].json()["code"] == "throttled"
        token = answers[0].json()["access"]
        status = httpx.get(
            f"{process.base_url}/api/v1/status",
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )
        assert status.status_code == 200
        assert process.log().count("token throttle: the cache cannot be reached") == 1
        assert "Traceback" not in process.log()
    finally:
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)


def test_one_listener_is_active_and_a_standby_takes_over(live):
    def holders() -> int:
        with live.database.connect() as conn:
            return conn.execute(
                # pg_locks shows every database's locks: count this database's listeners only
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid = 7067 AND objid = 1"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
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
    # the listener's announcement of the creation may bump the namespace after the first read:
    # wait until the list stays cached
    wait_for(lambda: cached_twice(server, "/api/v1/webhooks"), what="the list to be cached")
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


def cached_twice(client, path: str) -> bool:
    """Whether ``path`` is now cached on ``client``'s server (a miss or a hit, then a hit)."""
    return [client.get(path).headers["X-Cache"] for _ in range(2)][1] == "hit-l1"


def fresh(client, path: str):
    response = client.get(path)
    assert response.headers["X-Cache"] == "miss", path
    return response


def test_every_cached_endpoint_is_fresh_on_the_other_server_right_after_an_api_write(live):
    """No listener runs: freshness here comes from the writes' own bumps, not from events."""
    a, b = live.server("a").client(), live.server("b").client()
    webhooks, alerts, commits = "/api/v1/webhooks", "/api/v1/alerts", "/api/v1/commits"
    dashboard, performance = "/api/v1/dashboard", "/api/v1/performance/operations"

    created = a.post(webhooks, json={"name": "fresh", "url": "https://hooks.example.com/in"})
    assert created.status_code == 201
    detail = f"{webhooks}/{created.json()['id']}"
    for path in (webhooks, detail, dashboard):
        assert cached_twice(b, path), path
    board = b.get(dashboard).json()
    assert a.patch(detail, json={"description": "changed"}).status_code == 200
    assert fresh(b, detail).json()["description"] == "changed"
    listed = {i["id"]: i["description"] for i in fresh(b, webhooks).json()["items"]}
    assert listed[created.json()["id"]] == "changed"
    assert cached_twice(b, detail)
    assert a.patch(detail, json={"is_active": False}).status_code == 200
    counts = board["webhooks"]["endpoints"]
    assert fresh(b, dashboard).json()["webhooks"]["endpoints"] == {
        **counts,
        "active": counts["active"] - 1,
        "disabled": counts["disabled"] + 1,
    }
    assert a.delete(detail).status_code == 204
    gone = b.get(detail)
    assert (gone.status_code, gone.json()["code"]) == (404, "webhook_not_found")
    assert created.json()["id"] not in [i["id"] for i in fresh(b, webhooks).json()["items"]]

    fired = a.post("/api/v1/alerts/test")
    assert fired.status_code == 201
    alert = f"{alerts}/{fired.json()['id']}"
    for path in (alerts, alert, dashboard):
        assert cached_twice(b, path), path
    acknowledged = b.get(dashboard).json()["alerts"]["by_status"]["acknowledged"]
    assert a.post(f"{alert}/acknowledge", json={"note": "seen"}).status_code == 200
    assert fresh(b, alert).json()["status"] == "acknowledged"
    listed = {i["id"]: i["status"] for i in fresh(b, alerts).json()["items"]}
    assert listed[fired.json()["id"]] == "acknowledged"
    assert fresh(b, dashboard).json()["alerts"]["by_status"]["acknowledged"] == acknowledged + 1
    assert a.post(f"{alert}/resolve", json={}).status_code == 200
    assert fresh(b, alert).json()["status"] == "resolved"

    for path in (commits, f"{commits}/HEAD", performance):
        assert cached_twice(b, path), path
    runs_before = {op["operation"]: op["runs"] for op in b.get(performance).json()["operations"]}
    with live.database.connect() as conn:
        conn.execute("CREATE TABLE public.fresh_after_write (id integer)")
    committed = a.post(commits, json={"message": "through server a"})
    assert committed.status_code == 201
    assert fresh(b, commits).json()["items"][0]["hash"] == committed.json()["hash"]
    assert fresh(b, f"{commits}/HEAD").json()["hash"] == committed.json()["hash"]
    runs_after = {op["operation"]: op["runs"] for op in fresh(b, performance).json()["operations"]}
    assert runs_after["commit"] == runs_before.get("commit", 0) + 1


SET_ACTIVE = "UPDATE pggit_console.auth_user SET is_active = %s WHERE username = 'reader'"


def test_a_user_deactivated_anywhere_stops_being_served_by_every_server(live):
    live.listener()
    server = live.server("web")
    client = server.client()
    wait_for(
        lambda: client.get("/health/deep").json()["checks"]["listener"]["status"] == "healthy",
        what="the listener to become active",
    )
    manage = [sys.executable, str(ROOT / "manage.py"), "shell", "-c"]
    create = (
        "from django.contrib.auth import get_user_model; "
        "from django.contrib.auth.models import Group; "
        "u = get_user_model().objects.create_user('reader', password='reader-password-1'); "
        "u.groups.add(Group.objects.get(name='viewer'))"
    )
    subprocess.run([*manage, create], env=live.database.env, cwd=ROOT, check=True)
    token = httpx.post(
        f"{server.base_url}/api/v1/auth/token",
        json={"username": "reader", "password": "reader-password-1"},
    ).json()["access"]
    reader = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"})
    assert [reader.get("/api/v1/branches").headers["X-Cache"] for _ in range(3)] == [
        "miss",
        "hit-l1",
        "hit-l1",
    ]

    # Through Django in another process: refused as soon as that process has saved.
    deactivate = (
        "from django.contrib.auth import get_user_model; "
        "u = get_user_model().objects.get(username='reader'); u.is_active = False; u.save()"
    )
    subprocess.run([*manage, deactivate], env=live.database.env, cwd=ROOT, check=True)
    assert reader.get("/api/v1/branches").status_code == 401

    # By SQL: served again, and refused again, once the listener has applied the trigger's
    # announcement (the process keeps the refused state until the user-state generation moves).
    with live.database.connect() as conn:
        conn.execute(SET_ACTIVE, (True,))
    wait_for(
        lambda: reader.get("/api/v1/branches").status_code == 200,
        what="the reactivation by SQL to reach the server",
    )
    wait_for(
        lambda: reader.get("/api/v1/branches").headers.get("X-Cache") == "hit-l1",
        what="the list to be served from the cache again",
    )
    generation = redis.Redis.from_url(live.database.env["REDIS_URL"])
    key = f"pggit:cache:{live.database.name}:usergen"
    before = generation.get(key)
    with live.database.connect() as conn:
        conn.execute(SET_ACTIVE, (False,))
    wait_for(lambda: generation.get(key) != before, what="the listener to bump the user states")
    refused = reader.get("/api/v1/branches")
    assert (refused.status_code, refused.headers.get("X-Cache")) == (401, None)
