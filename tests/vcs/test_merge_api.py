"""Merge and rollback through the REST API (docs/api.md, "Merges and rollback"): the story of a
change shipped from a feature branch and taken back, the conflict story with MANUAL_REVIEW, and
the error mapping (unknown -> 404, state conflicts -> 409, never 500)."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def ddl(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def query(statement: str):
    with connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchall()


def email_columns() -> int:
    return query(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = 'customers' AND column_name = 'email'"
    )[0][0]


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content
    return response.json()


def post(client, path: str, body: dict | None = None):
    return client.post(path, body or {}, format="json")


def test_story_feature_branch_merged_into_main_then_reverted(operator_client):
    client = operator_client
    # a table made in psql, with data
    ddl("CREATE TABLE public.customers (id integer PRIMARY KEY, name text)")
    ddl("INSERT INTO public.customers VALUES (1, 'Ada'), (2, 'Grace')")
    base = ok(post(client, "/api/v1/commits", {"message": "customers"}), 201)["hash"]
    ok(post(client, "/api/v1/branches", {"name": "feature/email"}), 201)
    ok(post(client, "/api/v1/branches/feature/email/checkout"))
    ddl("ALTER TABLE public.customers ADD COLUMN email text")
    feature = ok(post(client, "/api/v1/commits", {"message": "email column"}), 201)["hash"]
    diff = ok(client.get("/api/v1/diff", {"from": "main", "to": "feature/email"}))
    assert [(c["object_name"], c["change"]) for c in diff["changes"]] == [("customers", "MODIFIED")]
    assert "ALTER TABLE public.customers ADD COLUMN email text;" in diff["script"]
    ok(post(client, "/api/v1/branches/main/checkout"))
    assert query("SELECT count(*) FROM public.customers") == [(2,)]

    merge = ok(post(client, "/api/v1/merges", {"source": "feature/email", "target": "main"}), 201)
    assert {k: merge[k] for k in ("source", "target", "strategy", "status", "base")} == {
        "source": "feature/email",
        "target": "main",
        "strategy": "ABORT_ON_CONFLICT",
        "status": "fast_forward",
        "base": base,
    }
    assert merge["result_commit"] == feature
    assert ok(client.get(f"/api/v1/merges/{merge['id']}")) == merge
    assert ok(client.get("/api/v1/merges"))["items"][0]["id"] == merge["id"]
    # the live schema has the column, the rows are kept
    assert query("SELECT id, name, email FROM public.customers ORDER BY id") == [
        (1, "Ada", None),
        (2, "Grace", None),
    ]
    status = ok(client.get("/api/v1/status"))
    assert (status["branch"], status["commit"], status["clean"]) == ("main", feature, True)

    dry = ok(post(client, "/api/v1/reverts", {"commit": feature}))
    assert (dry["status"], dry["commit"], dry["findings"]) == ("dry_run", None, [])
    assert "ALTER TABLE public.customers DROP COLUMN email;" in dry["script"]
    assert email_columns() == 1
    revert = ok(post(client, "/api/v1/reverts", {"commit": feature, "dry_run": False}), 201)
    assert revert["status"] == "completed" and revert["script"] == dry["script"]
    commit = ok(client.get(f"/api/v1/commits/{revert['commit']}"))
    assert (commit["kind"], commit["parents"]) == ("revert", [feature])
    assert email_columns() == 0
    assert query("SELECT count(*) FROM public.customers") == [(2,)]
    assert ok(client.get("/api/v1/verify"))["ok"] is True
    rollbacks = ok(client.get("/api/v1/rollbacks"))
    assert [(r["operation"], r["commit"]) for r in rollbacks["items"]] == [
        ("revert", revert["commit"])
    ]
    types = [e["type"] for e in ok(client.get("/api/v1/events", {"page_size": 100}))["items"]]
    assert "merge.completed" in types and "revert.completed" in types


def test_conflict_story_with_manual_review(operator_client):
    client = operator_client
    ddl("CREATE TABLE public.orders (id integer, total numeric)")
    ddl("CREATE VIEW public.order_view AS SELECT id FROM public.orders")
    ok(post(client, "/api/v1/commits", {"message": "orders"}), 201)
    ok(post(client, "/api/v1/branches", {"name": "feature"}), 201)
    ok(post(client, "/api/v1/branches/feature/checkout"))
    ddl("CREATE OR REPLACE VIEW public.order_view AS SELECT id, total FROM public.orders")
    ok(post(client, "/api/v1/commits", {"message": "total in the view"}), 201)
    ok(post(client, "/api/v1/branches/main/checkout"))
    ddl(
        "CREATE OR REPLACE VIEW public.order_view AS "
        "SELECT id, total * 2 AS doubled FROM public.orders"
    )
    main_head = ok(post(client, "/api/v1/commits", {"message": "doubled"}), 201)["hash"]

    merge = ok(
        post(
            client,
            "/api/v1/merges",
            {"source": "feature", "target": "main", "strategy": "MANUAL_REVIEW"},
        ),
        201,
    )
    assert (merge["status"], merge["conflict_count"], merge["result_commit"]) == (
        "conflicted",
        1,
        None,
    )
    conflicts = ok(client.get(f"/api/v1/merges/{merge['id']}/conflicts"))
    assert conflicts["total"] == 1
    [conflict] = conflicts["items"]
    assert {k: conflict[k] for k in ("id", "object_type", "object_name", "type", "resolution")} == {
        "id": 1,
        "object_type": "view",
        "object_name": "order_view",
        "type": "BOTH_MODIFIED",
        "resolution": None,
    }
    assert "total" in conflict["source"] and "doubled" in conflict["target"]

    complete = post(client, f"/api/v1/merges/{merge['id']}/complete")
    assert (complete.status_code, complete.json()["code"]) == (409, "unresolved_conflicts")
    again = post(client, "/api/v1/merges", {"source": "feature", "target": "main"})
    assert (again.status_code, again.json()["code"]) == (409, "merge_in_progress")
    resolve = f"/api/v1/merges/{merge['id']}/conflicts/1/resolve"
    bad = post(client, resolve, {"resolution": "CUSTOM", "custom_definition": "CREATE VIEW x AS"})
    assert (bad.status_code, bad.json()["code"]) == (400, "custom_invalid")
    missing = post(client, resolve, {"resolution": "CUSTOM"})
    assert (missing.status_code, list(missing.json()["errors"])) == (400, ["custom_definition"])
    custom = (
        "CREATE OR REPLACE VIEW public.order_view AS "
        "SELECT id, total * 2 AS doubled, total FROM public.orders"
    )
    resolved = ok(post(client, resolve, {"resolution": "CUSTOM", "custom_definition": custom}))
    assert (resolved["id"], resolved["resolution"], resolved["remaining"]) == (1, "CUSTOM", 0)
    done = ok(post(client, f"/api/v1/merges/{merge['id']}/complete"))
    assert done["status"] == "completed"
    commit = ok(client.get(f"/api/v1/commits/{done['result_commit']}"))
    assert commit["kind"] == "merge" and commit["parents"][0] == main_head
    columns = query(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'public.order_view'::regclass "
        "AND attnum > 0 ORDER BY attnum"
    )
    assert [c[0] for c in columns] == ["id", "doubled", "total"]
    closed = post(client, f"/api/v1/merges/{merge['id']}/abort")
    assert (closed.status_code, closed.json()["code"]) == (409, "merge_not_open")


def test_abort_over_the_api(operator_client):
    client = operator_client
    ddl("CREATE TABLE public.t (id integer)")
    ok(post(client, "/api/v1/commits", {"message": "t"}), 201)
    ok(post(client, "/api/v1/branches", {"name": "other"}), 201)
    ddl("CREATE TABLE public.x (id integer)")
    ok(post(client, "/api/v1/commits", {"message": "x on main"}), 201)
    ok(post(client, "/api/v1/branches/other/checkout"))
    ddl("CREATE TABLE public.x (id bigint)")
    ok(post(client, "/api/v1/commits", {"message": "x on other"}), 201)
    ok(post(client, "/api/v1/branches/main/checkout", {"force": True}))
    merge = ok(
        post(client, "/api/v1/merges", {"source": "other", "strategy": "MANUAL_REVIEW"}), 201
    )
    assert (merge["target"], merge["status"]) == ("main", "conflicted")
    aborted = ok(post(client, f"/api/v1/merges/{merge['id']}/abort"))
    assert aborted["status"] == "aborted"
    stopped = ok(post(client, "/api/v1/merges", {"source": "other"}), 201)
    assert (stopped["status"], stopped["conflict_count"]) == ("aborted", 1)


def test_errors_map_to_404_409_400_never_500(operator_client, user_client):
    client = operator_client
    for path, body, status, code in [
        ("/api/v1/merges", {"source": "nope", "target": "main"}, 404, "ref_not_found"),
        ("/api/v1/merges", {"source": "main", "target": "nope"}, 404, "branch_not_found"),
        ("/api/v1/merges", {"source": "main", "strategy": "YOLO"}, 400, "invalid"),
        ("/api/v1/merges/999/complete", {}, 404, "merge_not_found"),
        ("/api/v1/merges/999/abort", {}, 404, "merge_not_found"),
        (
            "/api/v1/merges/999/conflicts/1/resolve",
            {"resolution": "SOURCE"},
            404,
            "merge_not_found",
        ),
        ("/api/v1/reverts", {"commit": "nope"}, 404, "ref_not_found"),
        ("/api/v1/resets", {"branch": "nope", "to": "main"}, 404, "branch_not_found"),
        ("/api/v1/resets", {"branch": "main", "to": "main"}, 409, "nothing_to_reset"),
        ("/api/v1/undos", {"objects": ["public.none"], "to": "main"}, 404, "object_not_found"),
        ("/api/v1/undos", {"objects": [], "to": "main"}, 400, "invalid"),
    ]:
        response = post(client, path, body)
        assert (response.status_code, response.json()["code"]) == (status, code), path
    for path in ("/api/v1/merges/999", "/api/v1/merges/999/conflicts"):
        response = client.get(path)
        assert (response.status_code, response.json()["code"]) == (404, "merge_not_found"), path
    # a viewer reads merges but may not merge or revert
    assert user_client.get("/api/v1/merges").status_code == 200
    assert user_client.get("/api/v1/rollbacks").status_code == 200
    assert post(user_client, "/api/v1/merges", {"source": "main"}).status_code == 403
    assert post(user_client, "/api/v1/reverts", {"commit": "main"}).status_code == 403
    assert post(user_client, "/api/v1/merges/1/abort").status_code == 403


def test_a_refused_revert_is_409_with_its_findings(operator_client):
    client = operator_client
    ddl("CREATE TABLE public.kept (id integer)")
    added = ok(post(client, "/api/v1/commits", {"message": "kept"}), 201)["hash"]
    ddl("INSERT INTO public.kept VALUES (1)")
    response = post(client, "/api/v1/reverts", {"commit": added, "dry_run": False})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "rollback_refused"
    assert body["errors"]["findings"] == [
        {
            "check": "data_loss",
            "level": "error",
            "message": "table_dropped: public.kept holds rows that would be lost",
        }
    ]
    assert query("SELECT count(*) FROM public.kept") == [(1,)]
    forced = post(client, "/api/v1/reverts", {"commit": added, "dry_run": False, "force": True})
    assert forced.status_code == 201
    reset = ok(post(client, "/api/v1/resets", {"branch": "main", "to": added}))
    assert reset["status"] == "dry_run" and "CREATE TABLE public.kept" in reset["script"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/branches/main/checkout", {"force": True}),
        ("/api/v1/merges", {"source": "main", "target": "main", "force": True}),
        ("/api/v1/merges/1/complete", {"force": True}),
    ],
)
def test_force_needs_the_revert_permission_on_checkout_and_merge(path, body):
    """``force`` destroys data as a reset does: without ``vcs.revert_commit`` it is a 403 before
    anything runs, for a checkout, a merge and a merge's completion alike."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    from tests.conftest import bearer

    user = get_user_model().objects.create_user("merger")
    codenames = ["view_branch", "checkout_branch", "view_merge", "add_merge", "change_merge"]
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="vcs", codename__in=codenames)
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(user))
    operations_before = query("SELECT count(*) FROM pggit.operations")

    forced = post(client, path, body)
    assert forced.status_code == 403
    assert forced.json()["detail"] == "force needs the permission vcs.revert_commit"
    assert query("SELECT count(*) FROM pggit.operations") == operations_before

    # the same request without force passes the permission check (and meets the engine's answer)
    unforced = post(client, path, {**body, "force": False})
    assert unforced.status_code != 403
