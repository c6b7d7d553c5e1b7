"""Failed engine operations driven by the console (API, CLI): the engine's own recording rolls back
with the failed transaction, so vcs.services records the failed run in a transaction of its own;
it is measured and raises the operation_failed alert. Refusals of a request (4xx: an unknown name,
working changes, nothing to commit...) are no failure of the engine and are not recorded."""

from __future__ import annotations

import getpass
import json

import pytest
from django.core.management import CommandError, call_command

from tests.alerts.helpers import alert_events, sql, value

pytestmark = pytest.mark.django_db

RECORDED_BY_CONSOLE = {"recorded_by": "console"}
APPLY_FAILED = (
    "[PGGIT-APPLY_FAILED] checkout failed at step 1 (table:public.orders): cannot drop table"
    " public.orders because other objects depend on it (hint: statement: DROP TABLE IF EXISTS"
    " public.orders;)"
)


@pytest.fixture(autouse=True)
def nothing_pending():
    """The test database's own setup DDL flushed and its recording dropped, so counts are exact."""
    sql("SELECT pggit.capture_flush()")
    sql("DELETE FROM pggit.operations")


@pytest.fixture
def checkout_that_cannot_apply(staff_client):
    """Branch ``empty`` lacks table public.orders of main, which a view outside the tracked schemas
    (pggit_* schemas are never tracked) depends on: checking ``empty`` out cannot drop the table."""
    assert (
        staff_client.post("/api/v1/branches", {"name": "empty"}, format="json").status_code == 201
    )
    sql("CREATE TABLE public.orders (id integer)")
    assert (
        staff_client.post("/api/v1/commits", {"message": "orders"}, format="json").status_code
        == 201
    )
    sql("CREATE SCHEMA pggit_reports")
    sql("CREATE VIEW pggit_reports.orders_v AS SELECT id FROM public.orders")
    sql("DELETE FROM pggit.operations")  # the set-up's own successful runs


def failed_runs() -> list[tuple]:
    return [
        (operation, branch, actor, error, json.loads(details))
        for operation, branch, actor, error, details in sql(
            "SELECT operation, branch, actor, error, details::text FROM pggit.operations"
            " WHERE NOT success ORDER BY id"
        )
    ]


def test_a_checkout_whose_migration_fails_records_exactly_one_failed_run(
    staff_client, checkout_that_cannot_apply
):
    response = staff_client.post("/api/v1/branches/empty/checkout", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "apply_failed")
    assert failed_runs() == [
        (
            "checkout",
            "empty",
            "operator",
            APPLY_FAILED,
            {"error_code": "APPLY_FAILED", **RECORDED_BY_CONSOLE},
        )
    ]
    [(duration_ms, parent_id)] = sql(
        "SELECT duration_ms, parent_id FROM pggit.operations WHERE NOT success"
    )
    assert duration_ms > 0
    assert parent_id is None
    # the engine's own recordings of that transaction (its capture flush) rolled back with it
    assert value("SELECT count(*) FROM pggit.operations") == 1
    [(alert_id, fingerprint, severity, occurrences)] = sql(
        "SELECT id, fingerprint, severity, occurrences FROM pggit.alerts"
    )
    assert (fingerprint, severity, occurrences) == ("operation_failed:checkout", "error", 1)
    assert alert_events() == [("alert.fired", alert_id)]
    # nothing of the checkout was applied: HEAD and the table are where they were
    assert value("SELECT branch FROM pggit.head()") == "main"
    assert value("SELECT to_regclass('public.orders') IS NOT NULL") is True


def test_a_repeated_failure_bumps_the_alert_occurrences(staff_client, checkout_that_cannot_apply):
    for _ in range(2):
        assert staff_client.post("/api/v1/branches/empty/checkout", {}).status_code == 409
    assert [run[0] for run in failed_runs()] == ["checkout", "checkout"]
    assert sql("SELECT fingerprint, occurrences FROM pggit.alerts") == [
        ("operation_failed:checkout", 2)
    ]


def test_refusals_are_answered_and_neither_recorded_nor_alerted(staff_client):
    assert (
        staff_client.post("/api/v1/branches", {"name": "empty"}, format="json").status_code == 201
    )
    sql("CREATE TABLE public.orders (id integer)")
    checkout = staff_client.post("/api/v1/branches/empty/checkout", {}, format="json")
    assert (checkout.status_code, checkout.json()["code"]) == (409, "working_changes")
    assert (
        staff_client.post("/api/v1/commits", {"message": "orders"}, format="json").status_code
        == 201
    )
    empty = staff_client.post("/api/v1/commits", {"message": "again"}, format="json")
    assert (empty.status_code, empty.json()["code"]) == (409, "nothing_to_commit")
    assert staff_client.delete("/api/v1/branches/main").status_code == 409
    assert (
        staff_client.patch("/api/v1/branches/main", {"name": "trunk"}, format="json").status_code
        == 409
    )
    assert staff_client.post("/api/v1/branches", {"name": "main"}, format="json").status_code == 409
    assert staff_client.post("/api/v1/branches/nope/checkout", {}).status_code == 404
    assert failed_runs() == []
    assert value("SELECT count(*) FROM pggit.alerts") == 0
    assert alert_events() == []


def test_a_successful_operation_records_no_failure(staff_client):
    staff_client.post("/api/v1/branches", {"name": "dev"}, format="json")
    assert staff_client.post("/api/v1/branches/dev/checkout", {}).status_code == 200
    assert sql("SELECT operation, success FROM pggit.operations ORDER BY id") == [
        ("branch_create", True),
        ("checkout", True),
    ]
    assert value("SELECT count(*) FROM pggit.alerts") == 0


def test_a_failed_checkout_from_the_cli_is_recorded_with_its_actor(checkout_that_cannot_apply):
    with pytest.raises(CommandError, match=r"\[apply_failed\]$"):
        call_command("pggit", "checkout", "empty")
    [(operation, branch, actor, error, details)] = failed_runs()
    assert (operation, branch, actor) == ("checkout", "empty", f"{getpass.getuser()} (manage.py)")
    assert error == APPLY_FAILED
    assert details == {"error_code": "APPLY_FAILED", **RECORDED_BY_CONSOLE}


def test_a_refused_checkout_from_the_cli_records_nothing():
    with pytest.raises(CommandError, match=r"\[branch_not_found\]$"):
        call_command("pggit", "checkout", "nope")
    assert failed_runs() == []
