"""``manage.py deliver_webhooks``: the webhook delivery worker (run as many as you like)."""

from __future__ import annotations

import asyncio
import logging
import signal

from django.core.management.base import BaseCommand

from webhooks import constants
from webhooks.delivery.worker import DeliveryWorker, WorkerOptions


class Command(BaseCommand):
    help = (
        "Deliver webhooks: claim due deliveries (FOR UPDATE SKIP LOCKED), send them signed and "
        "concurrently, retry on schedule. SIGTERM/SIGINT stop it gracefully."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--concurrency",
            type=int,
            default=constants.WORKER_CONCURRENCY,
            help="Attempts in flight at once (default %(default)s).",
        )
        parser.add_argument(
            "--per-endpoint",
            type=int,
            default=constants.WORKER_PER_ENDPOINT,
            help="Attempts in flight at once to one endpoint, counted across all workers "
            "(default %(default)s; 0: no cap).",
        )
        parser.add_argument(
            "--poll-seconds",
            type=float,
            default=constants.WORKER_POLL_SECONDS,
            help="Look for due retries at least this often (default %(default)s).",
        )
        parser.add_argument(
            "--lease-seconds",
            type=float,
            default=None,
            help="How long a claim lasts before another worker may take the delivery over "
            "(default: the request timeout + 30 s).",
        )
        parser.add_argument(
            "--grace-seconds",
            type=float,
            default=constants.WORKER_SHUTDOWN_GRACE_SECONDS,
            help="On SIGTERM, how long attempts in flight may take to finish (default "
            "%(default)s).",
        )
        parser.add_argument(
            "--until-idle",
            action="store_true",
            help="Exit once nothing is due and nothing is in flight.",
        )

    def handle(self, *args, **options) -> None:
        for name in ("concurrency",):
            if options[name] < 1:
                self.stderr.write(f"--{name} must be at least 1")
                raise SystemExit(2)
        if options["per_endpoint"] < 0:
            self.stderr.write("--per-endpoint must be 0 (no cap) or more")
            raise SystemExit(2)
        # One INFO line per request would drown the worker's own log at hundreds per second.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        worker = DeliveryWorker(
            WorkerOptions(
                concurrency=options["concurrency"],
                per_endpoint=options["per_endpoint"] or None,
                poll_seconds=options["poll_seconds"],
                lease_seconds=options["lease_seconds"],
                grace_seconds=options["grace_seconds"],
                until_idle=options["until_idle"],
            )
        )
        asyncio.run(self._run(worker))

    async def _run(self, worker: DeliveryWorker) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.request_stop)
        await worker.run()
