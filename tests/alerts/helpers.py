"""Helpers of the alerts tests: SQL through the test's own connection (inside its transaction),
seeded operation history, alert events of the outbox."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection


def sql(query: str, params: list | tuple | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def value(query: str, params: list | tuple | None = None) -> Any:
    rows = sql(query, params)
    return rows[0][0] if rows else None


def seed_runs(operation: str, durations: list[float], *, minutes_ago: float = 60) -> None:
    """Recorded runs of ``operation`` that started ``minutes_ago`` (one second apart)."""
    sql(
        "INSERT INTO pggit.operations (operation, started_at, duration_ms)"
        " SELECT %s, now() - make_interval(mins => %s) + (d.n * interval '1 second'), d.ms"
        " FROM unnest(%s::float8[]) WITH ORDINALITY d(ms, n)",
        [operation, minutes_ago, durations],
    )


def seed_baseline(operation: str = "commit", runs: int = 50) -> None:
    """A baseline of ``runs`` runs of 10..14 ms: p99 14 ms → threshold 50 ms (the floor)."""
    seed_runs(operation, [10.0 + (i % 5) for i in range(runs)])
    sql("SELECT count(*) FROM pggit.perf_baselines_recalculate()")


def record(operation: str, duration_ms: float, *, success: bool = True, error: str | None = None):
    """One run inserted directly (judged = false: the AFTER INSERT trigger judges it)."""
    return value(
        "INSERT INTO pggit.operations (operation, started_at, duration_ms, success, error)"
        " VALUES (%s, clock_timestamp(), %s, %s, %s) RETURNING id",
        [operation, duration_ms, success, error],
    )


def raise_alert(fingerprint: str, severity: str = "warning", source: str = "performance") -> int:
    return value(
        "SELECT (pggit.alert_raise(%s, %s, %s, %s, %s, %s::jsonb)).id",
        [fingerprint, source, severity, f"title of {fingerprint}", "message", json.dumps({})],
    )


def alert_row(alert_id: int) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM pggit.alerts WHERE id = %s", [alert_id])
        columns = [c.name for c in cursor.description]
        return dict(zip(columns, cursor.fetchone(), strict=True))


def alert_events() -> list[tuple[str, int]]:
    """(type, alert id) of every alert event in the outbox, in order."""
    return [
        (kind, int(alert_id))
        for kind, alert_id in sql(
            "SELECT type, data->>'alert_id' FROM pggit.events"
            " WHERE type LIKE 'alert.%%' ORDER BY id"
        )
    ]
