"""Failed engine operations driven by the console (API, CLI): the engine's own recording rolls back
with the failed transaction, so vcs.services records the failed run in a transaction of its own;
it is measured and raises the operation_failed alert."""

from __future__ import annotations

import getpass
import json

import pytest
from django.core.management import CommandError, call_command

from tests.alerts.helpers import alert_events, sql, value

pytestmark = pytest.mark.django_db

RECORDED_BY_CONSOLE = {"recorded_by": "console"}


@pytest.fixture(autouse=True)
def nothing_pending():
    """The test database's own setup DDL flushed and its recording dropped, so counts are exact."""
    sql("SELECT pggit.capture_flush()")
    sql("DELETE FROM pggit.operations")


def failed_runs() -> list[tuple]:
    return [
        (operation, branch, actor, error, json.loads(details))
        for operation, branch, actor, error, details in sql(
            "SELECT operation, branch, actor, error, details::text FROM pggit.operations"
            " WHERE NOT success ORDER BY id"
        )
    ]


def test_a_refused_checkout_records_exactly_one_failed_run_with_its_code(staff_client):
    staff_client.post("/api/v1/branches", {"name": "empty"}, format="json")
    sql("CREATE TABLE public.orders (id integer)")
    response = staff_client.post("/api/v1/branches/empty/checkout", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "working_changes")
    assert failed_runs() == [
        (
            "checkout",
            "empty",
            "operator",
            "[PGGIT-WORKING_CHANGES] 1 uncommitted change(s) on main would be lost (hint: commit"
            " them (SELECT pggit.commit('message')) or check out with force => true)",
            {"error_code": "WORKING_CHANGES", **RECORDED_BY_CONSOLE},
        )
    ]
    [(duration_ms, parent_id)] = sql(
        "SELECT duration_ms, parent_id FROM pggit.operations WHERE NOT success"
    )
    assert duration_ms > 0
    assert parent_id is None
    # the engine's own recordings of that transaction (its capture flush) rolled back with it
    assert value("SELECT count(*) FROM pggit.operations") == 2  # branch_create + the failure
    [(alert_id, fingerprint, severity, occurrences)] = sql(
        "SELECT id, fingerprint, severity, occurrences FROM pggit.alerts"
    )
    assert (fingerprint, severity, occurrences) == ("operation_failed:checkout", "error", 1)
    assert alert_events() == [("alert.fired", alert_id)]


def test_a_repeated_failure_bumps_the_alert_occurrences(staff_client):
    staff_client.post("/api/v1/branches", {"name": "empty"}, format="json")
    sql("CREATE TABLE public.orders (id integer)")
    for _ in range(2):
        assert staff_client.post("/api/v1/branches/empty/checkout", {}).status_code == 409
    assert [run[0] for run in failed_runs()] == ["checkout", "checkout"]
    assert sql("SELECT fingerprint, occurrences FROM pggit.alerts") == [
        ("operation_failed:checkout", 2)
    ]


def test_a_commit_with_nothing_to_commit_is_a_failed_run_on_the_head_branch(staff_client):
    response = staff_client.post("/api/v1/commits", {"message": "empty"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "nothing_to_commit")
    assert failed_runs() == [
        (
            "commit",
            "main",
            "operator",
            "[PGGIT-NOTHING_TO_COMMIT] nothing to commit on main: the schema equals HEAD",
            {"error_code": "NOTHING_TO_COMMIT", **RECORDED_BY_CONSOLE},
        )
    ]


def test_failed_branch_operations_are_recorded_under_their_own_type(staff_client):
    assert staff_client.delete("/api/v1/branches/main").status_code == 409
    renamed = staff_client.patch("/api/v1/branches/main", {"name": "trunk"}, format="json")
    assert renamed.status_code == 409
    created = staff_client.post("/api/v1/branches", {"name": "main"}, format="json")
    assert created.status_code == 409
    assert [(op, branch, details["error_code"]) for op, branch, _, _, details in failed_runs()] == [
        ("branch_delete", "main", "PROTECTED"),
        ("branch_rename", "trunk", "PROTECTED"),
        ("branch_create", "main", "BRANCH_EXISTS"),
    ]


def test_a_successful_operation_records_no_failure(staff_client):
    staff_client.post("/api/v1/branches", {"name": "dev"}, format="json")
    assert staff_client.post("/api/v1/branches/dev/checkout", {}).status_code == 200
    assert sql("SELECT operation, success FROM pggit.operations ORDER BY id") == [
        ("branch_create", True),
        ("checkout", True),
    ]
    assert value("SELECT count(*) FROM pggit.alerts") == 0


def test_a_failed_checkout_from_the_cli_is_recorded_with_its_actor():
    with pytest.raises(CommandError, match=r"\[branch_not_found\]$"):
        call_command("pggit", "checkout", "nope")
    [(operation, branch, actor, error, details)] = failed_runs()
    assert (operation, branch, actor) == ("checkout", "nope", f"{getpass.getuser()} (manage.py)")
    assert error.startswith("[PGGIT-BRANCH_NOT_FOUND] ")
    assert details == {"error_code": "BRANCH_NOT_FOUND", **RECORDED_BY_CONSOLE}
