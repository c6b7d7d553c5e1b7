"""Reads of the alerts app: alerts, silences, stats, performance metrics and trends."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    Q,
    QuerySet,
    Sum,
)
from django.utils import timezone

from alerts.choices import OPEN_STATUSES, AlertStatus, Severity
from alerts.constants import OCCURRENCE_HISTORY_LIMIT
from alerts.models import (
    Alert,
    AlertOccurrence,
    AlertSilence,
    MonitoringRun,
    OperationRecord,
    PerformanceBaseline,
)
from pggit_project.engine import fetch_all


def json_value(raw: Any) -> Any:
    """A json/jsonb value of a raw query (Django's connection leaves them as text)."""
    return json.loads(raw) if isinstance(raw, str) else raw


def alert_queryset() -> QuerySet[Alert]:
    return Alert.objects.order_by("-last_seen_at", "-id")


def alert_history(alert: Alert, limit: int = OCCURRENCE_HISTORY_LIMIT) -> list[AlertOccurrence]:
    """The latest occurrences of an alert, newest first."""
    return list(AlertOccurrence.objects.filter(alert_id=alert.pk).order_by("-id")[:limit])


def silence_queryset() -> QuerySet[AlertSilence]:
    return AlertSilence.objects.order_by("-ends_at", "-id")


def _mean_seconds(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 3)


def _mean_duration(end_field: str) -> Avg:
    return Avg(
        ExpressionWrapper(F(end_field) - F("first_seen_at"), output_field=DurationField()),
        filter=Q(**{f"{end_field}__isnull": False}),
    )


def alert_stats_summary(*, now: datetime | None = None) -> dict[str, Any]:
    """Counts by status and severity, open alerts by severity, the last 24 hours, and the mean
    times to acknowledge and resolve."""
    now = now or timezone.now()
    day_ago = now - timedelta(hours=24)
    totals = Alert.objects.aggregate(
        total=Count("id"),
        occurrences=Sum("occurrences"),
        open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        new_last_24h=Count("id", filter=Q(first_seen_at__gte=day_ago)),
        resolved_last_24h=Count("id", filter=Q(resolved_at__gte=day_ago)),
        oldest_open_since=Min("first_seen_at", filter=Q(status__in=OPEN_STATUSES)),
        mean_to_acknowledge=_mean_duration("acknowledged_at"),
        mean_to_resolve=_mean_duration("resolved_at"),
        **{f"status_{s}": Count("id", filter=Q(status=s)) for s in AlertStatus.values},
        **{f"severity_{s}": Count("id", filter=Q(severity=s)) for s in Severity.values},
        **{
            f"open_{s}": Count("id", filter=Q(severity=s, status__in=OPEN_STATUSES))
            for s in Severity.values
        },
    )
    return {
        "total": totals["total"],
        "open": totals["open"],
        "occurrences": totals["occurrences"] or 0,
        "by_status": {s: totals[f"status_{s}"] for s in AlertStatus.values},
        "by_severity": {s: totals[f"severity_{s}"] for s in Severity.values},
        "open_by_severity": {s: totals[f"open_{s}"] for s in Severity.values},
        "new_last_24h": totals["new_last_24h"],
        "resolved_last_24h": totals["resolved_last_24h"],
        "oldest_open_since": totals["oldest_open_since"],
        "mean_seconds_to_acknowledge": _mean_seconds(totals["mean_to_acknowledge"]),
        "mean_seconds_to_resolve": _mean_seconds(totals["mean_to_resolve"]),
    }


def operation_summary(*, since: datetime) -> list[dict[str, Any]]:
    """Per operation type since ``since``: runs, failures, slow runs, mean/p50/p95/p99/max, the
    last run and the baseline threshold."""
    return fetch_all(
        """
        SELECT o.operation, count(*) AS runs,
               count(*) FILTER (WHERE NOT o.success) AS failures,
               count(*) FILTER (WHERE o.duration_ms > b.threshold_ms) AS slow_runs,
               avg(o.duration_ms) AS mean_ms,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY o.duration_ms) AS p50_ms,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY o.duration_ms) AS p95_ms,
               percentile_cont(0.99) WITHIN GROUP (ORDER BY o.duration_ms) AS p99_ms,
               max(o.duration_ms) AS max_ms, max(o.started_at) AS last_run_at,
               sum(o.object_count) AS objects, sum(o.statement_count) AS statements,
               min(b.threshold_ms) AS threshold_ms
          FROM pggit.operations o
          LEFT JOIN pggit.perf_baselines b ON b.operation = o.operation
         WHERE o.started_at >= %s
         GROUP BY o.operation
         ORDER BY o.operation
        """,
        [since],
    )


def metric_queryset() -> QuerySet[OperationRecord]:
    return OperationRecord.objects.order_by("-started_at", "-id")


def operation_trace(operation_id: int) -> list[dict[str, Any]]:
    """The trace (root and every span under it) of a recorded operation; 404 when unknown."""
    spans = fetch_all(
        "SELECT id, parent_id, depth, operation, started_at, duration_ms, self_ms, object_count,"
        " statement_count, branch, actor, success, error, details"
        " FROM pggit.operation_trace(%s)",
        [operation_id],
    )
    for span in spans:
        span["details"] = json_value(span["details"])
    return spans


def baseline_queryset() -> QuerySet[PerformanceBaseline]:
    return PerformanceBaseline.objects.order_by("operation")


def monitoring_runs() -> dict[str, dict[str, Any]]:
    """When each periodic job last ran: ``{job: {last_run_at, duration_ms, runs, result}}``."""
    return {
        run.job: {
            "last_run_at": run.last_run_at,
            "duration_ms": round(run.duration_ms, 3),
            "runs": run.runs,
            "result": run.result,
        }
        for run in MonitoringRun.objects.order_by("job")
    }


def operation_trends(*, since: datetime, bucket: timedelta) -> dict[str, list[dict[str, Any]]]:
    """Per operation type, one point per time bucket: runs, p50, p95 and max duration."""
    rows = fetch_all(
        """
        SELECT o.operation, date_bin(%s, o.started_at, %s) AS bucket, count(*) AS runs,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY o.duration_ms) AS p50_ms,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY o.duration_ms) AS p95_ms,
               max(o.duration_ms) AS max_ms
          FROM pggit.operations o
         WHERE o.started_at >= %s
         GROUP BY 1, 2
         ORDER BY 1, 2
        """,
        [bucket, since, since],
    )
    trends: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        trends.setdefault(row.pop("operation"), []).append(row)
    return trends
