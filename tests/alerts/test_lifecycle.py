"""The alert lifecycle in SQL: states, re-raising, silences, announcements in the outbox."""

from __future__ import annotations

import json

import pytest
from django.db import DatabaseError

from tests.alerts.helpers import alert_events, alert_row, raise_alert, sql, value

pytestmark = pytest.mark.django_db


def silence(matchers: list[dict], minutes: int = 60) -> int:
    return value(
        "SELECT (pggit.alert_silence_create(%s::jsonb, now() + make_interval(mins => %s),"
        " 'maintenance', 'operator')).id",
        [json.dumps(matchers), minutes],
    )


def engine_code(excinfo) -> str:
    message = str(excinfo.value)
    return message[message.index("[PGGIT-") + 7 : message.index("]")]


def test_acknowledge_then_resolve_moves_through_the_states_and_announces_each():
    alert_id = raise_alert("disk:full", "critical")
    sql("SELECT pggit.alert_acknowledge(%s, 'operator', 'looking')", [alert_id])
    row = alert_row(alert_id)
    assert (row["status"], row["acknowledged_by"], row["note"]) == (
        "acknowledged",
        "operator",
        "looking",
    )
    sql("SELECT pggit.alert_resolve(%s, 'operator', 'fixed')", [alert_id])
    row = alert_row(alert_id)
    assert (row["status"], row["resolved_by"], row["note"]) == ("resolved", "operator", "fixed")
    assert alert_events() == [
        ("alert.fired", alert_id),
        ("alert.acknowledged", alert_id),
        ("alert.resolved", alert_id),
    ]


@pytest.mark.parametrize(
    ("steps", "call", "code"),
    [
        (["acknowledge"], "acknowledge", "ALERT_ALREADY_ACKNOWLEDGED"),
        (["resolve"], "acknowledge", "ALERT_ALREADY_RESOLVED"),
        (["resolve"], "resolve", "ALERT_ALREADY_RESOLVED"),
    ],
)
def test_invalid_transitions_are_refused_with_a_stable_code(steps, call, code):
    alert_id = raise_alert("disk:full")
    for step in steps:
        sql(f"SELECT pggit.alert_{step}(%s, 'operator')", [alert_id])
    with pytest.raises(DatabaseError) as excinfo:
        sql(f"SELECT pggit.alert_{call}(%s, 'operator')", [alert_id])
    assert engine_code(excinfo) == code


def test_acknowledging_an_unknown_alert_is_not_found():
    with pytest.raises(DatabaseError) as excinfo:
        sql("SELECT pggit.alert_acknowledge(424242, 'operator')")
    assert engine_code(excinfo) == "ALERT_NOT_FOUND"


def test_an_acknowledged_alert_raised_again_stays_acknowledged_and_quiet():
    alert_id = raise_alert("disk:full", "warning")
    sql("SELECT pggit.alert_acknowledge(%s, 'operator')", [alert_id])
    assert raise_alert("disk:full", "warning") == alert_id
    assert raise_alert("disk:full", "info") == alert_id
    row = alert_row(alert_id)
    assert (row["status"], row["severity"], row["occurrences"]) == ("acknowledged", "warning", 3)
    assert [kind for kind, _ in alert_events()] == ["alert.fired", "alert.acknowledged"]


def test_an_acknowledged_alert_fires_again_when_its_severity_rises():
    alert_id = raise_alert("disk:full", "warning")
    sql("SELECT pggit.alert_acknowledge(%s, 'operator')", [alert_id])
    raise_alert("disk:full", "critical")
    row = alert_row(alert_id)
    assert (row["status"], row["severity"], row["acknowledged_at"]) == ("firing", "critical", None)
    assert [kind for kind, _ in alert_events()] == [
        "alert.fired",
        "alert.acknowledged",
        "alert.fired",
    ]


def test_a_resolved_fingerprint_raised_again_is_a_new_alert():
    first = raise_alert("disk:full")
    sql("SELECT pggit.alert_resolve(%s, 'operator')", [first])
    second = raise_alert("disk:full")
    assert second != first
    assert sql("SELECT id, status, occurrences FROM pggit.alerts ORDER BY id") == [
        (first, "resolved", 1),
        (second, "firing", 1),
    ]


def test_a_silenced_alert_is_recorded_but_not_announced():
    silence([{"name": "source", "op": "=", "value": "performance"}])
    alert_id = raise_alert("slow_operation:commit")
    raise_alert("slow_operation:commit")
    row = alert_row(alert_id)
    assert (row["status"], row["occurrences"], row["notified_at"]) == ("silenced", 2, None)
    assert sql("SELECT notified FROM pggit.alert_occurrences ORDER BY id") == [(False,), (False,)]
    assert alert_events() == []
    # resolving an alert nobody was told about tells nobody either
    sql("SELECT pggit.alert_resolve(%s, 'operator')", [alert_id])
    assert alert_events() == []


def test_a_silence_only_covers_alerts_matching_every_matcher():
    silence(
        [
            {"name": "source", "value": "performance"},
            {"name": "fingerprint", "op": "=~", "value": "slow_operation:.*"},
            {"name": "severity", "op": "!=", "value": "critical"},
        ]
    )
    silenced = raise_alert("slow_operation:diff", "warning")
    critical = raise_alert("slow_operation:commit", "critical")
    other = raise_alert("capture_failure:x", "warning", source="capture")
    assert [alert_row(i)["status"] for i in (silenced, critical, other)] == [
        "silenced",
        "firing",
        "firing",
    ]
    assert alert_events() == [("alert.fired", critical), ("alert.fired", other)]


def test_a_new_silence_silences_firing_alerts_and_its_end_makes_them_fire_again():
    alert_id = raise_alert("disk:full")
    silence_id = silence([{"name": "fingerprint", "value": "disk:full"}])
    assert alert_row(alert_id)["status"] == "silenced"
    assert alert_row(alert_id)["silence_id"] == silence_id
    sql("UPDATE pggit.alert_silences SET ends_at = starts_at + interval '1 microsecond'")
    assert value("SELECT pggit.alert_silences_apply()") == 1
    assert alert_row(alert_id)["status"] == "firing"
    assert alert_events() == [("alert.fired", alert_id), ("alert.fired", alert_id)]
    assert (
        value(
            "SELECT data->>'unsilenced' FROM pggit.events WHERE type = 'alert.fired'"
            " ORDER BY id DESC LIMIT 1"
        )
        == "true"
    )


def test_deleting_a_silence_releases_its_alerts():
    silence_id = silence([{"name": "fingerprint", "value": "disk:full"}])
    alert_id = raise_alert("disk:full")
    sql("SELECT pggit.alert_silence_delete(%s)", [silence_id])
    assert alert_row(alert_id)["status"] == "firing"
    assert alert_events() == [("alert.fired", alert_id)]


@pytest.mark.parametrize(
    "matchers",
    [
        [],
        [{"name": "colour", "value": "red"}],
        [{"name": "source", "op": "~~", "value": "x"}],
        [{"name": "source", "op": "=~", "value": "(unclosed"}],
        [{"name": "source"}],
    ],
)
def test_invalid_silence_matchers_are_refused(matchers):
    with pytest.raises(DatabaseError) as excinfo:
        silence(matchers)
    assert engine_code(excinfo) == "INVALID_ARGUMENT"


def test_a_silence_that_has_already_ended_is_refused():
    with pytest.raises(DatabaseError) as excinfo:
        silence([{"name": "source", "value": "x"}], minutes=-5)
    assert engine_code(excinfo) == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    ("fingerprint", "source", "severity", "title"),
    [
        ("", "performance", "warning", "t"),
        ("f", "Not Valid", "warning", "t"),
        ("f", "performance", "fatal", "t"),
        ("f", "performance", "warning", "  "),
    ],
)
def test_alert_raise_validates_its_input(fingerprint, source, severity, title):
    with pytest.raises(DatabaseError) as excinfo:
        sql("SELECT pggit.alert_raise(%s, %s, %s, %s)", [fingerprint, source, severity, title])
    assert engine_code(excinfo) == "INVALID_ARGUMENT"


def test_batch_acknowledge_reports_an_outcome_per_distinct_id():
    firing = raise_alert("a:1")
    acknowledged = raise_alert("a:2")
    resolved = raise_alert("a:3")
    sql("SELECT pggit.alert_acknowledge(%s, 'x')", [acknowledged])
    sql("SELECT pggit.alert_resolve(%s, 'x')", [resolved])
    rows = sql(
        "SELECT alert_id, outcome FROM pggit.alert_acknowledge_many(%s::bigint[], 'operator')",
        [[firing, firing, acknowledged, resolved, 999999]],
    )
    assert rows == [
        (firing, "acknowledged"),
        (acknowledged, "already_acknowledged"),
        (resolved, "resolved"),
        (999999, "not_found"),
    ]


def test_a_lower_severity_repeat_is_silenced_only_if_the_kept_severity_is():
    silence([{"name": "severity", "op": "!=", "value": "critical"}])
    alert_id = raise_alert("disk:full", "critical")
    assert raise_alert("disk:full", "warning") == alert_id
    row = alert_row(alert_id)
    assert (row["status"], row["severity"], row["occurrences"], row["silence_id"]) == (
        "firing",
        "critical",
        2,
        None,
    )
    assert sql("SELECT severity, status, notified FROM pggit.alert_occurrences ORDER BY id") == [
        ("critical", "firing", True),
        ("warning", "firing", False),
    ]
    assert alert_events() == [("alert.fired", alert_id)]


def test_an_acknowledged_alert_whose_severity_rises_under_a_silence_is_silenced():
    alert_id = raise_alert("disk:full", "warning")
    sql("SELECT pggit.alert_acknowledge(%s, 'operator')", [alert_id])
    silence_id = silence([{"name": "fingerprint", "value": "disk:full"}])
    raise_alert("disk:full", "critical")
    row = alert_row(alert_id)
    assert (row["status"], row["severity"], row["silence_id"], row["acknowledged_at"]) == (
        "silenced",
        "critical",
        silence_id,
        None,
    )
    assert alert_events() == [("alert.fired", alert_id), ("alert.acknowledged", alert_id)]
    # when the silence ends the raised severity is announced
    sql("SELECT pggit.alert_silence_delete(%s)", [silence_id])
    assert alert_row(alert_id)["status"] == "firing"
    assert alert_events() == [
        ("alert.fired", alert_id),
        ("alert.acknowledged", alert_id),
        ("alert.fired", alert_id),
    ]
    assert (
        value("SELECT data->>'severity' FROM pggit.events ORDER BY id DESC LIMIT 1") == "critical"
    )


def test_a_silenced_alert_raised_after_its_silence_ended_fires_and_is_announced():
    silence_id = silence([{"name": "fingerprint", "value": "disk:full"}])
    alert_id = raise_alert("disk:full")
    # the silence ends, but no evaluation ran yet: the next raise finds it ended
    sql("UPDATE pggit.alert_silences SET ends_at = starts_at + interval '1 microsecond'"
        " WHERE id = %s", [silence_id])  # fmt: skip
    raise_alert("disk:full")
    row = alert_row(alert_id)
    assert (row["status"], row["silence_id"], row["occurrences"]) == ("firing", None, 2)
    assert alert_events() == [("alert.fired", alert_id)]
