"""The worker's SQL, on its own psycopg connections (the worker is asyncio; Django's ORM is not).

Every write is a call to a function of ``sql/engine/webhooks/webhooks.sql`` with bound parameters.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import psycopg
from django.db import connections
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from webhooks.crypto import SecretUnreadable, secret_decrypt
from webhooks.delivery.outcome import Decision
from webhooks.delivery.sender import AttemptResult, Job

logger = logging.getLogger(__name__)

# Keys of Django's connection parameters that are not libpq connection options.
_NOT_CONNINFO = ("cursor_factory", "context", "prepare_threshold", "server_side_binding", "pool")

CLAIM_SQL = "SELECT * FROM pggit.webhook_claim(%s, %s, %s, %s)"
RECORD_SQL = (
    "SELECT pggit.webhook_record_attempt(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
HOLD_SQL = "SELECT pggit.webhook_worker_hold(%s)"
BEAT_SQL = "SELECT pggit.webhook_worker_beat(%s, %s, %s, %s, %s, %s)"


def connection_params(alias: str = "default") -> dict[str, Any]:
    """libpq parameters of Django's database (the test database under pytest)."""
    params = connections[alias].get_connection_params()
    for key in _NOT_CONNINFO:
        params.pop(key, None)
    return params


async def connect(*, autocommit: bool = True) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(
        **connection_params(), autocommit=autocommit, row_factory=dict_row
    )


def _job(row: dict[str, Any]) -> Job:
    """The job of a claimed row; no secrets when they cannot be decrypted (the attempt fails)."""
    try:
        secrets = [secret_decrypt(row["secret_encrypted"])]
        if row["previous_secret_encrypted"] is not None:
            secrets.append(secret_decrypt(row["previous_secret_encrypted"]))
    except SecretUnreadable:
        logger.error("delivery %s: the endpoint's secret cannot be decrypted", row["delivery_id"])
        secrets = []
    return Job(
        delivery_id=row["delivery_id"],
        claim_token=row["claim_token"],
        attempt_number=row["attempt_number"],
        round_attempts=row["round_attempts"],
        endpoint_id=row["endpoint_id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        payload=row["payload"],
        url=row["url"],
        secrets=secrets,
    )


async def hold(conn: psycopg.AsyncConnection, *, worker: str) -> None:
    """Take the worker's session lock on its claim connection: while it is held, claims count
    the worker's leases; once its session is gone, the next claim takes them back
    (sql/engine/webhooks/webhooks.sql)."""
    await conn.execute(HOLD_SQL, (worker,))


async def claim(
    conn: psycopg.AsyncConnection,
    *,
    worker: str,
    limit: int,
    lease_seconds: float,
    per_endpoint: int | None = None,
) -> list[Job]:
    """Claim up to ``limit`` due deliveries, each with a lease: in turns across endpoints (the
    oldest of each, then the next...), at most ``per_endpoint`` in flight per endpoint across all
    workers (None: no cap); see pggit.webhook_claim in sql/engine/webhooks/webhooks.sql."""
    cursor = await conn.execute(CLAIM_SQL, (worker, limit, lease_seconds, per_endpoint))
    return [_job(row) for row in await cursor.fetchall()]


def _record_params(
    result: AttemptResult, decision: Decision, *, disable_after: timedelta, worker: str
) -> tuple[Any, ...]:
    job = result.job
    return (
        job.delivery_id,
        job.claim_token,
        job.attempt_number,
        result.started_at,
        result.duration_ms,
        result.status_code,
        result.error,
        Jsonb(result.request_headers),
        result.response_excerpt,
        str(decision.outcome),
        decision.next_attempt_at,
        disable_after,
        worker,
    )


async def record(
    conn: psycopg.AsyncConnection,
    outcomes: list[tuple[AttemptResult, Decision]],
    *,
    disable_after: timedelta,
    worker: str,
) -> None:
    """Record a batch of attempts in one transaction (one commit for the whole batch)."""
    params = [
        _record_params(result, decision, disable_after=disable_after, worker=worker)
        for result, decision in outcomes
    ]
    async with conn.transaction(), conn.cursor() as cursor:
        await cursor.executemany(RECORD_SQL, params)


async def heartbeat(
    conn: psycopg.AsyncConnection,
    *,
    worker: str,
    hostname: str,
    pid: int,
    in_flight: int,
    attempts: int,
    stopped: bool = False,
) -> None:
    await conn.execute(BEAT_SQL, (worker, hostname, pid, in_flight, attempts, stopped))
