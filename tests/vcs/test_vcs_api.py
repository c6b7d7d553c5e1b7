"""The version-control API over the engine (docs/api.md, "Version control"). DDL runs through the
test's own connection, so every test starts from the freshly installed engine."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from rest_framework.test import APIClient

from tests.conftest import bearer

pytestmark = pytest.mark.django_db


def ddl(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def make_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(user))
    return client


def test_status_of_a_fresh_install_is_clean_on_main(staff_client):
    response = staff_client.get("/api/v1/status")
    assert response.status_code == 200
    body = response.json()
    assert (body["branch"], body["clean"]) == ("main", True)
    assert (body["working_change_count"], body["working_changes"]) == (0, [])
    assert len(body["commit"]) == 64


def test_status_lists_captured_ddl_then_commit_clears_it(staff_client, staff_user):
    ddl("CREATE TABLE public.accounts (id integer)")
    body = staff_client.get("/api/v1/status").json()
    assert (body["clean"], body["working_change_count"]) == (False, 1)
    [change] = body["working_changes"]
    assert {k: change[k] for k in ("object_type", "schema_name", "object_name", "change_type")} == {
        "object_type": "table",
        "schema_name": "public",
        "object_name": "accounts",
        "change_type": "ADDED",
    }
    assert change["statement"] == "CREATE TABLE public.accounts (id integer)"

    response = staff_client.post("/api/v1/commits", {"message": "add accounts"}, format="json")
    assert response.status_code == 201
    commit = response.json()
    assert commit["message"] == "add accounts"
    assert commit["author"] == staff_user.username
    assert commit["short_hash"] == commit["hash"][:12]
    assert commit["change_count"] == 1
    assert "changes" not in commit
    changes = staff_client.get(f"/api/v1/commits/{commit['hash']}/changes").json()
    assert changes["items"] == [
        {
            "object_type": "table",
            "schema_name": "public",
            "object_name": "accounts",
            "change": "ADDED",
        }
    ]
    assert staff_client.get("/api/v1/status").json()["clean"] is True


def test_commit_with_nothing_to_commit_is_409(staff_client):
    response = staff_client.post("/api/v1/commits", {"message": "nothing"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "nothing_to_commit"


def test_commit_needs_a_message(staff_client):
    response = staff_client.post("/api/v1/commits", {}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"message": ["This field is required."]}


def test_branch_lifecycle_over_the_api(staff_client):
    created = staff_client.post("/api/v1/branches", {"name": "feature/login"}, format="json")
    assert created.status_code == 201
    assert created.json()["name"] == "feature/login"
    assert created.json()["parent"] == "main"
    assert created.json()["is_head"] is False

    duplicate = staff_client.post("/api/v1/branches", {"name": "feature/login"}, format="json")
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "branch_exists")
    invalid = staff_client.post("/api/v1/branches", {"name": "bad name"}, format="json")
    assert (invalid.status_code, invalid.json()["code"]) == (400, "invalid_branch_name")
    unknown_ref = staff_client.post(
        "/api/v1/branches", {"name": "x", "from": "nope123"}, format="json"
    )
    assert (unknown_ref.status_code, unknown_ref.json()["code"]) == (404, "ref_not_found")

    detail = staff_client.get("/api/v1/branches/feature/login")
    assert detail.status_code == 200 and detail.json()["name"] == "feature/login"
    renamed = staff_client.patch(
        "/api/v1/branches/feature/login",
        {"name": "feature/signin", "protected": True},
        format="json",
    )
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["protected"]) == ("feature/signin", True)
    protected = staff_client.delete("/api/v1/branches/feature/signin")
    assert (protected.status_code, protected.json()["code"]) == (409, "protected")
    staff_client.patch("/api/v1/branches/feature/signin", {"protected": False}, format="json")
    assert staff_client.delete("/api/v1/branches/feature/signin").status_code == 204
    missing = staff_client.get("/api/v1/branches/feature/signin")
    assert (missing.status_code, missing.json()["code"]) == (404, "branch_not_found")
    main = staff_client.delete("/api/v1/branches/main")
    assert (main.status_code, main.json()["code"]) == (409, "protected")


def test_checkout_moves_head_and_migrates_the_live_schema(staff_client):
    staff_client.post("/api/v1/branches", {"name": "feature/x"}, format="json")
    checkout = staff_client.post("/api/v1/branches/feature/x/checkout", {}, format="json")
    assert checkout.status_code == 200
    assert checkout.json()["branch"] == "feature/x"
    assert checkout.json()["statements"] == []
    ddl("CREATE TABLE public.only_on_feature (id integer)")
    staff_client.post("/api/v1/commits", {"message": "feature table"}, format="json")

    back = staff_client.post("/api/v1/branches/main/checkout/", {"force": False}, format="json")
    assert back.status_code == 200
    assert back.json()["statements"] == ["DROP TABLE IF EXISTS public.only_on_feature;"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('public.only_on_feature')")
        assert cursor.fetchone() == (None,)
    branches = staff_client.get("/api/v1/branches").json()["items"]
    assert [(b["name"], b["is_head"]) for b in branches] == [("feature/x", False), ("main", True)]


def test_checkout_refusals_are_409_with_their_code(staff_client):
    staff_client.post("/api/v1/branches", {"name": "empty"}, format="json")
    ddl("CREATE TABLE public.orders (id integer)")
    working = staff_client.post("/api/v1/branches/empty/checkout", {}, format="json")
    assert (working.status_code, working.json()["code"]) == (409, "working_changes")
    staff_client.post("/api/v1/commits", {"message": "orders"}, format="json")
    ddl("INSERT INTO public.orders VALUES (1)")
    loss = staff_client.post("/api/v1/branches/empty/checkout", {}, format="json")
    assert (loss.status_code, loss.json()["code"]) == (409, "data_loss")
    assert "public.orders" in loss.json()["detail"]
    forced = staff_client.post("/api/v1/branches/empty/checkout", {"force": True}, format="json")
    assert forced.status_code == 200
    unknown = staff_client.post("/api/v1/branches/nope/checkout", {}, format="json")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "branch_not_found")


def test_changes_need_permissions_reads_do_not(user_client, user):
    assert user_client.get("/api/v1/branches").status_code == 200
    assert user_client.post("/api/v1/branches", {"name": "x"}, format="json").status_code == 403
    assert user_client.post("/api/v1/branches/main/checkout", {}, format="json").status_code == 403
    assert user_client.post("/api/v1/commits", {"message": "m"}, format="json").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="checkout_branch"))
    checker = get_user_model().objects.get(pk=user.pk)
    client = make_client(checker)
    assert client.post("/api/v1/branches/main/checkout", {}, format="json").status_code == 200
    assert client.post("/api/v1/branches", {"name": "x"}, format="json").status_code == 403
    assert APIClient().get("/api/v1/branches").status_code == 401


def test_commit_log_filters_and_detail_by_prefix_and_relative_ref(staff_client):
    for i, author in enumerate(["ann", "ben", "ann"]):
        ddl(f"CREATE TABLE public.t{i} (a integer)")
        staff_client.post(
            "/api/v1/commits", {"message": f"table {i}", "author": author}, format="json"
        )
    log = staff_client.get("/api/v1/commits").json()
    assert [c["message"] for c in log["items"]] == [
        "table 2",
        "table 1",
        "table 0",
        "Initial schema",
    ]
    assert (log["total"], log["page"], log["pages"]) == (4, 1, 1)
    by_ann = staff_client.get("/api/v1/commits?author=ann").json()["items"]
    assert [c["message"] for c in by_ann] == ["table 2", "table 0"]
    by_object = staff_client.get("/api/v1/commits?object=public.t1").json()["items"]
    assert [c["message"] for c in by_object] == ["table 1"]
    by_text = staff_client.get("/api/v1/commits?q=LE 2").json()["items"]
    assert [c["message"] for c in by_text] == ["table 2"]
    on_main = staff_client.get("/api/v1/commits?branch=main&page_size=2").json()
    assert [c["message"] for c in on_main["items"]] == ["table 2", "table 1"]
    assert on_main["pages"] == 2

    head = log["items"][0]["hash"]
    assert staff_client.get(f"/api/v1/commits/{head[:9]}").json()["hash"] == head
    parent = staff_client.get("/api/v1/commits/HEAD~1").json()
    assert parent["message"] == "table 1"
    missing = staff_client.get("/api/v1/commits/deadbeefdead")
    assert (missing.status_code, missing.json()["code"]) == (404, "ref_not_found")
    bad_branch = staff_client.get("/api/v1/commits?branch=nope")
    assert bad_branch.status_code == 404
    bad_since = staff_client.get("/api/v1/commits?since=yesterday")
    assert bad_since.status_code == 400 and "since" in bad_since.json()["errors"]


def test_commit_list_does_a_fixed_number_of_queries(
    staff_client, django_assert_max_num_queries, user_queries
):
    for i in range(5):
        ddl(f"CREATE TABLE public.q{i} (a integer)")
        staff_client.post("/api/v1/commits", {"message": f"q{i}"}, format="json")
    # the user (as a known one: the posts above were its first requests), the page (not full: no
    # count query; the change counts are a column)
    with django_assert_max_num_queries(user_queries.known + 1):
        response = staff_client.get("/api/v1/commits")
    assert len(response.json()["items"]) == 6


def test_branch_list_does_a_fixed_number_of_queries(
    staff_client, django_assert_max_num_queries, user_queries
):
    for i in range(5):
        staff_client.post("/api/v1/branches", {"name": f"b{i}"}, format="json")
    # the user (as a known one: the posts above were its first requests), the page (not full: no
    # count query), HEAD
    with django_assert_max_num_queries(user_queries.known + 2):
        response = staff_client.get("/api/v1/branches")
    assert len(response.json()["items"]) == 6


def test_diff_between_refs_and_against_the_live_schema(staff_client):
    ddl("CREATE TABLE public.items (id integer)")
    staff_client.post("/api/v1/commits", {"message": "items"}, format="json")
    ddl("ALTER TABLE public.items ADD COLUMN name text")

    committed = staff_client.get("/api/v1/diff?from=HEAD~1&to=HEAD").json()
    assert [(c["object_name"], c["change"]) for c in committed["changes"]] == [("items", "ADDED")]
    assert committed["changes"][0]["before"] is None
    assert "CREATE TABLE public.items" in committed["script"]

    working = staff_client.get("/api/v1/diff?from=HEAD&to=WORKING").json()
    assert (working["from"], working["to"]) == ("HEAD", "WORKING")
    [change] = working["changes"]
    assert change["change"] == "MODIFIED"
    assert "ALTER TABLE public.items ADD COLUMN name text" in working["script"]

    missing = staff_client.get("/api/v1/diff?from=HEAD")
    assert missing.status_code == 400 and list(missing.json()["errors"]) == ["to"]
    unknown = staff_client.get("/api/v1/diff?from=HEAD&to=nope")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "ref_not_found")


def test_objects_schema_audit_verify_and_events(staff_client):
    ddl("CREATE TABLE public.ledger (id integer)")
    staff_client.post("/api/v1/commits", {"message": "ledger"}, format="json")

    objects = staff_client.get("/api/v1/objects?object_type=table").json()["items"]
    assert [o["id"] for o in objects] == ["table:public.ledger"]
    detail = staff_client.get("/api/v1/objects/table:public.ledger").json()
    assert detail["definition"].startswith("CREATE TABLE public.ledger")
    history = staff_client.get("/api/v1/objects/table:public.ledger/history").json()
    assert [(h["message"], h["change"]) for h in history] == [("ledger", "ADDED")]
    assert staff_client.get("/api/v1/objects/table:public.nope").status_code == 404

    schema = staff_client.get("/api/v1/schema?at=HEAD").json()
    assert schema["at"] == "HEAD" and "CREATE TABLE public.ledger" in schema["ddl"]
    root = staff_client.get("/api/v1/schema?at=HEAD~1").json()
    assert "public.ledger" not in root["ddl"]

    audit = staff_client.get("/api/v1/audit").json()["items"]
    assert audit[0]["command_tag"] == "CREATE TABLE"
    assert audit[0]["statement"] == "CREATE TABLE public.ledger (id integer)"
    assert audit[0]["role_name"] == "postgres"

    assert staff_client.get("/api/v1/verify").json() == {"ok": True, "checked": 2, "breaks": []}

    events = staff_client.get("/api/v1/events?page_size=100").json()["items"]
    types = [e["type"] for e in events]
    # the root commit, then this test's DDL and commit (the migrations' own DDL is on pggit's
    # tables, never captured)
    assert types == ["commit.created", "ddl.captured", "commit.created"]
    last_id = events[-1]["id"]
    assert staff_client.get(f"/api/v1/events?after={last_id}").json()["items"] == []
    bad = staff_client.get("/api/v1/events?after=x")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid")


def test_malformed_refs_are_client_errors_never_500(staff_client):
    cases = {
        "/api/v1/commits/HEAD~99999999999": (400, "invalid_ref"),
        "/api/v1/commits/HEAD~5": (404, "ref_not_found"),
        "/api/v1/diff?from=HEAD&to=WORKING~1": (400, "invalid_ref"),
        "/api/v1/schema?at=2024-13-45": (400, "invalid_ref"),
        "/api/v1/schema?at=1999-01-01T00:00:00Z": (404, "ref_not_found"),
        "/api/v1/commits?branch=HEAD~99999999999": (400, "invalid_ref"),
    }
    for url, (status_code, code) in cases.items():
        response = staff_client.get(url)
        assert (response.status_code, response.json()["code"]) == (status_code, code), url
