"""The monitoring scheduler: periodic jobs run by ``manage.py pggit_scheduler``.

Jobs: ``baselines`` (recalculate every baseline) and ``evaluate`` (anomaly detection, automatic
resolution, silences that started or ended). Each run holds a transaction-level advisory lock
named after its job, so several schedulers (one per host) never run the same job at once: the
others skip that round. A failing run is logged and retried at the next interval; it never stops
the scheduler.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction

from alerts import services

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    interval_seconds: float
    run: Callable[[], Any]


def _recalculate_baselines() -> dict[str, int]:
    return {"baselines": len(services.baselines_recalculate(actor="pggit-scheduler"))}


def _evaluate() -> dict[str, Any]:
    return services.monitoring_evaluate(actor="pggit-scheduler")


def scheduled_jobs() -> list[Job]:
    """The jobs and their intervals (settings PGGIT_BASELINE_INTERVAL_SECONDS and
    PGGIT_EVALUATE_INTERVAL_SECONDS)."""
    return [
        Job("baselines", settings.PGGIT_BASELINE_INTERVAL_SECONDS, _recalculate_baselines),
        Job("evaluate", settings.PGGIT_EVALUATE_INTERVAL_SECONDS, _evaluate),
    ]


def run_job(job: Job) -> Any | None:
    """Runs ``job`` once unless another scheduler is running it (then None)."""
    with transaction.atomic(), connection.cursor() as cursor:
        lock_name = f"pggit.scheduler.{job.name}"
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s)::bigint)", [lock_name])
        if not cursor.fetchone()[0]:
            logger.info("job %s is running in another scheduler; skipped", job.name)
            return None
        return job.run()


def run_safely(job: Job) -> Any | None:
    if not connection.in_atomic_block:  # (only inside a test's transaction)
        close_old_connections()  # drops a connection a failed run broke, or one past its age
    started = time.monotonic()
    try:
        result = run_job(job)
    except Exception:
        # close_old_connections() at the next run replaces a connection the failure broke
        logger.exception("job %s failed; retrying in %ss", job.name, job.interval_seconds)
        return None
    logger.info("job %s done in %.0f ms: %s", job.name, (time.monotonic() - started) * 1000, result)
    return result


def run_forever(jobs: list[Job], stop: threading.Event) -> None:
    """Runs every job now, then each at its interval, until ``stop`` is set."""
    due = dict.fromkeys((job.name for job in jobs), time.monotonic())
    while not stop.is_set():
        now = time.monotonic()
        for job in jobs:
            if due[job.name] <= now:
                run_safely(job)
                due[job.name] = time.monotonic() + job.interval_seconds
        stop.wait(max(0.0, min(due.values()) - time.monotonic()))
