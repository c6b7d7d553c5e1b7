"""Issue 17, defect 14: an answer about the engine's state is exact right after a change made on
another channel. A DBA runs DDL in psql and at once asks the API for the status: the cached
``clean`` from a moment before must not come back (the listener's invalidation arrives
milliseconds later; here no listener runs at all, so only the engine-state version can tell)."""

from __future__ import annotations

import pytest

from pggit_project.constants import DEFAULT_PAGE_SIZE

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
                # the status carries the first page of the changes and counts them all
                body = after.json()
                assert body["working_change_count"] == number + 1, f"round {number}: stale"
                names = {change["object_name"] for change in body["working_changes"]}
                assert table in names or number >= DEFAULT_PAGE_SIZE, f"round {number}: stale"
                assert body["clean"] is False
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


def test_paged_changes_right_after_ddl_and_a_commit_on_a_plain_connection(live):
    """Each page and page size is its own entry; DDL and a commit from psql make every page
    of ``/status/changes`` and ``/commits/HEAD/changes`` exact at once (HEAD names another
    commit then: the same path, another answer)."""
    client = live.server("web").client()
    status_pages = ("/api/v1/status/changes?page_size=1", "/api/v1/status/changes?page_size=2")
    with live.database.connect() as dba:
        try:
            dba.execute("CREATE TABLE public.ryw_paged_a (id integer)")
            dba.execute("CREATE TABLE public.ryw_paged_b (id integer)")
            for path in status_pages:
                assert [client.get(path).headers["X-Cache"] for _ in range(2)] == ["miss", "hit-l1"]
            one, two = (client.get(path).json() for path in status_pages)
            assert (len(one["items"]), len(two["items"])) == (1, 2)
            assert one["total"] == two["total"] == 2
            assert one["items"] == two["items"][:1]
            dba.execute("CREATE TABLE public.ryw_paged_c (id integer)")
            for path in status_pages:
                after = client.get(path)
                assert (after.status_code, after.headers["X-Cache"]) == (200, "miss")
                assert after.json()["total"] == 3
            last = client.get("/api/v1/status/changes?page=2&page_size=2").json()
            assert [c["object_name"] for c in last["items"]] == ["ryw_paged_c"]

            changes = "/api/v1/commits/HEAD/changes"
            assert [client.get(changes).headers["X-Cache"] for _ in range(2)] == ["miss", "hit-l1"]
        finally:
            dba.execute("SELECT pggit.commit(%s, %s)", ("paged read-your-writes test", "dba"))
    after = client.get(changes)
    assert (after.status_code, after.headers["X-Cache"]) == (200, "miss")
    assert [c["object_name"] for c in after.json()["items"]] == [
        "ryw_paged_a",
        "ryw_paged_b",
        "ryw_paged_c",
    ]
    newest = client.get("/api/v1/commits").json()["items"][0]
    assert (newest["message"], newest["change_count"]) == ("paged read-your-writes test", 3)
    assert client.get("/api/v1/status/changes?page_size=2").json()["total"] == 0
