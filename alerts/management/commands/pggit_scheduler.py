"""``manage.py pggit_scheduler``: recalculates baselines and evaluates alerts on a schedule."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand
from django.db import connection

from alerts.scheduler import run_forever, run_safely, scheduled_jobs


class Command(BaseCommand):
    help = (
        "Run the monitoring jobs on a schedule: baseline recalculation and alert evaluation "
        "(anomalies, automatic resolution, silence expiry). --once runs each job once and exits."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every job once, then exit.")

    def handle(self, *args, once: bool, **options):
        jobs = scheduled_jobs()
        if once:
            for job in jobs:
                self.stdout.write(f"{job.name}: {run_safely(job)}")
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, frame: stop.set())
        intervals = ", ".join(f"{job.name} every {job.interval_seconds:g}s" for job in jobs)
        self.stdout.write(f"pggit_scheduler: {intervals}")
        run_forever(jobs, stop)
        connection.close()
