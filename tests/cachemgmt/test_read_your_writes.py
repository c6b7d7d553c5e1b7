"""Issue 17, defect 14: an answer about the engine's state is exact right after a change made on
another channel. A DBA runs DDL in psql and at once asks the API for the status: the cached
``clean`` from a moment before must not come back (the listener's invalidation arrives
milliseconds later; here no listener runs at all, so only the engine-state version can tell)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 200


def test_status_right_after_ddl_on_a_plain_connection_is_never_stale(live):
    client = live.server("web").client()
    with live.database.connect() as dba:
        try:
            for number in range(ROUNDS):
                client.get("/api/v1/status")
                cached = client.get("/api/v1/status")  # what a stale answer would be
                assert cached.headers["X-Cache"] == "hit-l1", number
                table = f"ryw_{number}"
                dba.execute(f"CREATE TABLE public.{table} (id integer)")
                after = client.get("/api/v1/status")
                assert (after.status_code, after.headers["X-Cache"]) == (200, "miss")
                names = {change["object_name"] for change in after.json()["working_changes"]}
                assert table in names, f"round {number}: the status was stale"
                assert after.json()["clean"] is False
        finally:
            dba.execute("SELECT pggit.commit(%s, %s)", ("read-your-writes test", "dba"))


def test_branches_and_commits_right_after_a_commit_on_a_plain_connection(live):
    client = live.server("web").client()
    for path in ("/api/v1/branches/main", "/api/v1/commits"):
        assert [client.get(path).headers["X-Cache"] for _ in range(2)] == ["miss", "hit-l1"]
    with live.database.connect() as dba:
        dba.execute("CREATE TABLE public.ryw_commit (id integer)")
        head = dba.execute("SELECT pggit.commit(%s, %s)", ("from psql", "dba")).fetchone()[0]
    assert client.get("/api/v1/branches/main").json()["head"] == head
    assert client.get("/api/v1/commits").json()["items"][0]["hash"] == head
