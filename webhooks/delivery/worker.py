"""The delivery worker: claim due deliveries, send them concurrently, record the outcomes.

Any number of workers may run against one database: ``pggit.webhook_claim`` hands each due
delivery to one worker (``FOR UPDATE SKIP LOCKED``) with a lease. A worker holds a session lock
on its claim connection while it runs; when it dies, its session ends, and the next claim of any
worker takes its claims back at once (otherwise they would count against the per-endpoint cap
until their lease expired). They are sent again: at least once; receivers dedupe on
``webhook-id``. A delivery is marked delivered only by recording a 2xx attempt.

One asyncio loop runs four kinds of task:
- the claim loop: claims as many deliveries as there are free slots (in turns across endpoints,
  at most ``per_endpoint`` in flight per endpoint), wakes on NOTIFY from the
  fan-out trigger, on a freed slot, or every ``poll_seconds`` (retries that came due);
- one task per attempt (``sender.send_attempt``), bounded by ``concurrency``;
- the recorder: writes finished attempts in batches (one transaction per batch);
- the listener (LISTEN) and the heartbeat.
``request_stop`` (SIGTERM/SIGINT) stops claiming, lets attempts in flight finish for up to
``grace_seconds`` and records the ones it has to interrupt as interrupted attempts, due again now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import psycopg

from webhooks import constants
from webhooks.choices import AttemptOutcome
from webhooks.conf import WebhookSettings, webhook_settings
from webhooks.delivery import store
from webhooks.delivery.outcome import Decision, decide
from webhooks.delivery.sender import AttemptResult, Job, send_attempt
from webhooks.delivery.transport import DeliveryClients

logger = logging.getLogger(__name__)

RECORD_RETRIES = 5


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = constants.WORKER_CONCURRENCY
    per_endpoint: int | None = constants.WORKER_PER_ENDPOINT  # in flight per endpoint; None: no cap
    poll_seconds: float = constants.WORKER_POLL_SECONDS
    heartbeat_seconds: float = constants.WORKER_HEARTBEAT_SECONDS
    grace_seconds: float = constants.WORKER_SHUTDOWN_GRACE_SECONDS
    lease_seconds: float | None = None  # default: the request timeout + a margin
    record_batch: int = constants.WORKER_RECORD_BATCH
    until_idle: bool = False  # stop once nothing is due and nothing is in flight (tests, scripts)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class DeliveryWorker:
    """One worker process's delivery loop (see the module docstring)."""

    def __init__(self, options: WorkerOptions | None = None, config: WebhookSettings | None = None):
        self.options = options or WorkerOptions()
        self.config = config or webhook_settings()
        self.name = worker_name()
        self.lease_seconds = self.options.lease_seconds or (
            self.config.timeout_seconds + constants.WORKER_LEASE_MARGIN_SECONDS
        )
        self.attempts = 0
        self._rng = random.Random()  # noqa: S311 (jitter, not cryptography)
        self._in_flight: set[asyncio.Task] = set()
        self._last_claim = 0.0  # time.monotonic() of the last claim
        self._stopping: asyncio.Event | None = None
        self._wakeup: asyncio.Event | None = None
        self._results: asyncio.Queue[tuple[AttemptResult, Decision]] | None = None
        self._claim_conn: psycopg.AsyncConnection | None = None
        self._beat_conn: psycopg.AsyncConnection | None = None

    # --- control ---------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Stop claiming; in-flight attempts finish (or are interrupted after the grace)."""
        if self._stopping is not None:
            logger.info("worker %s stopping", self.name)
            self._stopping.set()
            self._wakeup.set()

    async def run(self) -> None:
        self._stopping, self._wakeup = asyncio.Event(), asyncio.Event()
        self._results = asyncio.Queue()
        self._claim_conn = await store.connect()
        await store.hold(self._claim_conn, worker=self.name)
        record_conn = await store.connect()
        clients = DeliveryClients(
            allow_private=self.config.allow_private_targets,
            timeout=self.config.timeout_seconds,
            concurrency=self.options.concurrency,
        )
        helpers: list[asyncio.Task] = []
        try:
            helpers = [
                asyncio.create_task(self._listen()),
                asyncio.create_task(self._record_loop(record_conn)),
                asyncio.create_task(self._heartbeat_loop()),
            ]
            logger.info("worker %s started (concurrency %s)", self.name, self.options.concurrency)
            await self._claim_loop(clients)
            await self._drain()
            await self._results.join()
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self._beat(stopped=True)
            await clients.aclose()
            for conn in (self._claim_conn, record_conn, self._beat_conn):
                if conn is not None:
                    await conn.close()
            logger.info("worker %s stopped after %s attempts", self.name, self.attempts)

    # --- claiming --------------------------------------------------------------------------

    def _claim_size(self) -> int:
        """How many to claim now: 0 while most slots are busy (claims come in batches), unless
        the last claim is ``poll_seconds`` old (slots held by slow attempts do not stop the
        free ones from being used)."""
        free = self.options.concurrency - len(self._in_flight)
        threshold = max(1, self.options.concurrency // 4)
        if free >= threshold or not self._in_flight:
            return free
        overdue = time.monotonic() - self._last_claim >= self.options.poll_seconds
        return free if overdue else 0

    async def _claim_loop(self, clients: DeliveryClients) -> None:
        while not self._stopping.is_set():
            self._wakeup.clear()
            size = self._claim_size()
            jobs = []
            if size:
                self._last_claim = time.monotonic()
                try:
                    jobs = await store.claim(
                        self._claim_conn,
                        worker=self.name,
                        limit=size,
                        lease_seconds=self.lease_seconds,
                        per_endpoint=self.options.per_endpoint,
                    )
                except psycopg.OperationalError as exc:
                    await self._reconnect(exc)
                    continue
                for job in jobs:
                    self._start(job, clients.for_delivery(job.delivery_id))
            if self.options.until_idle and not jobs and not self._in_flight:
                return
            if jobs and self._claim_size():
                continue  # there may be more due right now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.options.poll_seconds)

    async def _reconnect(self, exc: Exception) -> None:
        """A fresh claim connection after the database went away (retried until it is back)."""
        logger.warning("worker %s: database unavailable (%s); reconnecting", self.name, exc)
        await self._claim_conn.close()
        while True:
            await asyncio.sleep(self.options.poll_seconds)
            try:
                self._claim_conn = await store.connect()
                await store.hold(self._claim_conn, worker=self.name)
                return
            except psycopg.OperationalError:
                if self._stopping.is_set():
                    raise

    def _start(self, job: Job, client: httpx.AsyncClient) -> None:
        task = asyncio.create_task(self._attempt(job, client))
        self._in_flight.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._in_flight.discard(task)
        self._wakeup.set()

    # --- attempts --------------------------------------------------------------------------

    async def _attempt(self, job: Job, client: httpx.AsyncClient) -> None:
        try:
            result = await send_attempt(client, job, timeout=self.config.timeout_seconds)
        except asyncio.CancelledError:
            self._results.put_nowait(self._interrupted(job))
            raise
        decision = decide(
            status_code=result.status_code,
            retry_after=result.retry_after,
            round_attempts=job.round_attempts,
            schedule=self.config.retry_schedule,
            jitter=self.config.retry_jitter,
            now=datetime.now(tz=UTC),
            rng=self._rng,
        )
        self.attempts += 1
        logger.debug(
            "delivery %s attempt %s: %s %s",
            job.delivery_id,
            job.attempt_number,
            result.status_code,
            decision.outcome,
        )
        self._results.put_nowait((result, decision))

    def _interrupted(self, job: Job) -> tuple[AttemptResult, Decision]:
        now = datetime.now(tz=UTC)
        result = AttemptResult(
            job=job,
            started_at=now,
            duration_ms=0.0,
            status_code=None,
            error="interrupted: the worker stopped before the receiver answered",
            request_headers={},
            response_excerpt="",
            retry_after=None,
        )
        return result, Decision(AttemptOutcome.RETRY, now)

    async def _drain(self) -> None:
        if not self._in_flight:
            return
        logger.info("worker %s: waiting for %s attempts in flight", self.name, len(self._in_flight))
        _, pending = await asyncio.wait(set(self._in_flight), timeout=self.options.grace_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    # --- recording, listening, heartbeat ---------------------------------------------------

    async def _record_loop(self, conn: psycopg.AsyncConnection) -> None:
        while True:
            batch = [await self._results.get()]
            while len(batch) < self.options.record_batch and not self._results.empty():
                batch.append(self._results.get_nowait())
            try:
                conn = await self._record_batch(conn, batch)
            finally:
                for _ in batch:
                    self._results.task_done()
                # recorded attempts no longer count against their endpoint's cap in flight
                self._wakeup.set()

    async def _record_batch(
        self, conn: psycopg.AsyncConnection, batch: list[tuple[AttemptResult, Decision]]
    ) -> psycopg.AsyncConnection:
        """Record ``batch``; when the connection fails, retry on a fresh one, then give up.
        When the database refuses the batch's data, record its results one by one so that one
        result it cannot take does not lose the others.

        Giving up loses nothing that matters: the claims' leases expire and the deliveries are
        sent again (at least once).
        """
        for retry in range(RECORD_RETRIES):
            try:
                await store.record(
                    conn, batch, disable_after=self.config.disable_after, worker=self.name
                )
                return conn
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                logger.warning("worker %s: recording failed (%s); retrying", self.name, exc)
                await asyncio.sleep(min(2**retry, 10))
                if conn.closed or conn.broken:
                    conn = await store.connect()
            except psycopg.Error as exc:
                if len(batch) == 1:
                    logger.error(
                        "worker %s: the result of delivery %s cannot be recorded (%s); its lease "
                        "will expire",
                        self.name,
                        batch[0][0].job.delivery_id,
                        exc,
                    )
                    return conn
                for item in batch:
                    conn = await self._record_batch(conn, [item])
                return conn
        logger.error(
            "worker %s: dropped %s results; their leases will expire", self.name, len(batch)
        )
        return conn

    async def _listen(self) -> None:
        """Wake the claim loop on every NOTIFY of the fan-out; reconnect when the link breaks
        (meanwhile the poll interval still finds due deliveries)."""
        while True:
            try:
                async with await store.connect() as conn:
                    await conn.execute(f"LISTEN {constants.DELIVERY_CHANNEL}")
                    self._wakeup.set()  # anything emitted while not listening
                    async for _ in conn.notifies():
                        self._wakeup.set()
            except psycopg.OperationalError as exc:
                logger.warning("worker %s: LISTEN connection lost (%s)", self.name, exc)
                await asyncio.sleep(self.options.poll_seconds)

    async def _beat(self, *, stopped: bool = False) -> None:
        """Record the heartbeat on the worker's own connection (reopened when it broke)."""
        try:
            if self._beat_conn is None or self._beat_conn.closed or self._beat_conn.broken:
                self._beat_conn = await store.connect()
            await store.heartbeat(
                self._beat_conn,
                worker=self.name,
                hostname=socket.gethostname(),
                pid=os.getpid(),
                in_flight=len(self._in_flight),
                attempts=self.attempts,
                stopped=stopped,
            )
        except psycopg.Error as exc:
            logger.warning("worker %s: heartbeat failed: %s", self.name, exc)

    async def _heartbeat_loop(self) -> None:
        while True:
            await self._beat()
            await asyncio.sleep(self.options.heartbeat_seconds)


def deliver_until_idle(options: WorkerOptions | None = None) -> int:
    """Run a worker until nothing is due and nothing is in flight; the number of attempts."""
    base = options or WorkerOptions()
    worker = DeliveryWorker(
        WorkerOptions(**{**base.__dict__, "until_idle": True}),
    )
    asyncio.run(worker.run())
    return worker.attempts
