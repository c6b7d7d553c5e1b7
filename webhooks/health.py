"""The ``webhook_worker`` check of /health/deep: heartbeat age, backlog, oldest due delivery.

Degraded (never unhealthy: the API works without a worker) when active endpoints have due
deliveries and no worker has beaten recently, or when a due delivery waits too long.
"""

from __future__ import annotations

from typing import Any

from pggit_project.health import DEGRADED, HEALTHY, CheckResult, register_check
from webhooks.constants import BACKLOG_LAG_DEGRADED_SECONDS
from webhooks.selectors import worker_status


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def webhook_worker_check() -> CheckResult:
    status = worker_status()
    details: dict[str, Any] = {
        "workers": status.workers,
        "heartbeat_age_seconds": _rounded(status.heartbeat_age_seconds),
        "backlog": status.backlog,
        "oldest_due_age_seconds": _rounded(status.oldest_due_age_seconds),
        "active_endpoints": status.active_endpoints,
    }
    if status.backlog and not status.workers:
        return CheckResult(
            DEGRADED, {**details, "problem": "deliveries are due and no worker runs"}
        )
    lag = status.oldest_due_age_seconds or 0
    if lag > BACKLOG_LAG_DEGRADED_SECONDS:
        return CheckResult(DEGRADED, {**details, "problem": "the oldest due delivery is late"})
    return CheckResult(HEALTHY, details)


def register_health_checks() -> None:
    register_check("webhook_worker", on_failure=DEGRADED, needs_database=True)(webhook_worker_check)
