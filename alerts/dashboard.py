"""The sections of ``GET /api/v1/dashboard``: overview, performance, webhooks, alerts, recent
events. Each is real data; a section whose part of the product is not installed in this database
says so (``{"available": false, "detail": ...}``) instead of failing the whole dashboard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from alerts import selectors
from alerts.choices import OPEN_STATUSES
from alerts.constants import (
    DASHBOARD_RECENT_ALERTS,
    DASHBOARD_RECENT_EVENTS,
    PERFORMANCE_WINDOW_HOURS,
)
from alerts.selectors import json_value
from pggit_project.engine import fetch_all, fetch_one, fetch_value

WEBHOOK_TABLES = ("pggit.webhook_endpoints", "pggit.webhook_deliveries")


def _installed(*tables: str) -> bool:
    return all(fetch_value("SELECT to_regclass(%s) IS NOT NULL", [table]) for table in tables)


def _unavailable(detail: str) -> dict[str, Any]:
    return {"available": False, "detail": detail}


def overview_section() -> dict[str, Any]:
    head = fetch_one("SELECT branch, commit_hash, object_count, clean FROM pggit.head()")
    counts = fetch_one(
        """
        SELECT (SELECT count(*) FROM pggit.commits) AS commits,
               (SELECT count(*) FROM pggit.branches WHERE status = 'ACTIVE') AS branches,
               (SELECT count(*) FROM pggit.working) AS working_changes,
               (SELECT count(*) FROM pggit.capture_errors) AS capture_errors,
               pggit.capture_state() <> 'off' AS capture_enabled
        """
    )
    return {
        "available": True,
        "head": {"branch": head["branch"], "commit": head["commit_hash"]},
        "tracked_objects": head["object_count"],
        "clean": head["clean"],
        **counts,
    }


def performance_section() -> dict[str, Any]:
    since = timezone.now() - timedelta(hours=PERFORMANCE_WINDOW_HOURS)
    operations = selectors.operation_summary(since=since)
    return {
        "available": True,
        "window_hours": PERFORMANCE_WINDOW_HOURS,
        "runs": sum(row["runs"] for row in operations),
        "failures": sum(row["failures"] for row in operations),
        "slow_runs": sum(row["slow_runs"] for row in operations),
        "operations": operations,
        "baselines": selectors.baseline_queryset().count(),
        "jobs": selectors.monitoring_runs(),
    }


def webhooks_section() -> dict[str, Any]:
    if not _installed(*WEBHOOK_TABLES):
        return _unavailable("The webhooks part is not installed in this database yet.")
    endpoints = fetch_one(
        """
        SELECT count(*) AS total, count(*) FILTER (WHERE is_active) AS active,
               count(*) FILTER (WHERE NOT is_active) AS disabled,
               count(*) FILTER (WHERE is_active AND consecutive_failures > 0) AS failing
          FROM pggit.webhook_endpoints
        """
    )
    deliveries = fetch_one(
        """
        SELECT count(*) FILTER (WHERE status IN ('pending', 'delivering')) AS queued,
               count(*) FILTER (WHERE status = 'delivered'
                                  AND delivered_at >= now() - interval '24 hours') AS delivered_24h,
               count(*) FILTER (WHERE status = 'failed'
                                  AND updated_at >= now() - interval '24 hours') AS failed_24h
          FROM pggit.webhook_deliveries
        """
    )
    return {"available": True, "endpoints": endpoints, "deliveries": deliveries}


def alerts_section() -> dict[str, Any]:
    summary = selectors.alert_stats_summary()
    recent = selectors.alert_queryset().filter(status__in=OPEN_STATUSES)[:DASHBOARD_RECENT_ALERTS]
    return {
        "available": True,
        "open": summary["open"],
        "by_status": summary["by_status"],
        "open_by_severity": summary["open_by_severity"],
        "recent": [
            {
                "id": alert.id,
                "severity": alert.severity,
                "status": alert.status,
                "title": alert.title,
                "occurrences": alert.occurrences,
                "last_seen_at": alert.last_seen_at,
            }
            for alert in recent
        ],
    }


def recent_events_section() -> dict[str, Any]:
    rows = fetch_all(
        "SELECT pggit.event_envelope(e) AS envelope"
        " FROM pggit.events e ORDER BY e.id DESC LIMIT %s",
        [DASHBOARD_RECENT_EVENTS],
    )
    return {"available": True, "events": [json_value(row["envelope"]) for row in rows]}


SECTIONS: dict[str, Callable[[], dict[str, Any]]] = {
    "overview": overview_section,
    "performance": performance_section,
    "webhooks": webhooks_section,
    "alerts": alerts_section,
    "recent_events": recent_events_section,
}


def dashboard_get() -> dict[str, Any]:
    """Every section, plus when the dashboard was computed."""
    return {
        "generated_at": timezone.now(),
        **{name: build() for name, build in SECTIONS.items()},
    }
