"""One attempt: sign the envelope, POST it, keep what the receiver answered."""

from __future__ import annotations

import asyncio
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx

from webhooks.constants import ERROR_CHARS, RESPONSE_EXCERPT_CHARS
from webhooks.signing import envelope_body, redacted, signed_headers
from webhooks.targets import TargetRefused


@dataclass(frozen=True)
class Job:
    """A claimed delivery, as the worker sends it."""

    delivery_id: int
    claim_token: UUID
    attempt_number: int
    round_attempts: int
    endpoint_id: int
    event_id: int
    event_type: str
    payload: dict[str, Any]
    url: str
    secrets: list[str] = field(repr=False)


@dataclass(frozen=True)
class AttemptResult:
    job: Job
    started_at: datetime
    duration_ms: float
    status_code: int | None
    error: str | None
    request_headers: dict[str, str]
    response_excerpt: str
    retry_after: str | None


def storable(text: str) -> str:
    """``text`` as a PostgreSQL text value: NUL characters (refused by PostgreSQL) replaced."""
    return text.replace("\x00", "\ufffd")


def _decoded(raw: bytes, encoding: str) -> bytes | None:
    """The start of a gzip/deflate body (at most RESPONSE_EXCERPT_CHARS, however much it
    inflates); None for an encoding not decoded here."""
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        return None
    for wbits in (zlib.MAX_WBITS | 32, -zlib.MAX_WBITS):  # gzip or zlib header; raw deflate
        try:
            return zlib.decompressobj(wbits).decompress(raw, RESPONSE_EXCERPT_CHARS)
        except zlib.error:
            continue
    return None


async def _read_excerpt(response: httpx.Response) -> str:
    """At most RESPONSE_EXCERPT_CHARS of the body, decoded: a huge answer is never downloaded
    (or inflated) whole. Identity is asked for; a gzip/deflate answer is decoded anyway."""
    collected = b""
    async for chunk in response.aiter_raw():
        collected += chunk
        if len(collected) >= RESPONSE_EXCERPT_CHARS:
            break
    encoding = response.headers.get("content-encoding", "").strip().lower()
    body = _decoded(collected[:RESPONSE_EXCERPT_CHARS], encoding)
    if body is None:
        return f"[{encoding[:40]}-encoded answer, not shown]"
    return storable(body[:RESPONSE_EXCERPT_CHARS].decode("utf-8", errors="replace"))


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TargetRefused):
        return f"refused: {exc}"
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return f"timeout: no complete answer within {timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _unsent(job: Job, started_at: datetime, error: str) -> AttemptResult:
    return AttemptResult(
        job=job,
        started_at=started_at,
        duration_ms=0.0,
        status_code=None,
        error=error,
        request_headers={},
        response_excerpt="",
        retry_after=None,
    )


async def send_attempt(client: httpx.AsyncClient, job: Job, *, timeout: float) -> AttemptResult:
    """POST the signed envelope of ``job``; never raises for what the network or receiver does."""
    body = envelope_body(job.payload)
    started_at = datetime.now(tz=UTC)
    if not job.secrets:
        return _unsent(job, started_at, "the endpoint's signing secret cannot be decrypted")
    headers = signed_headers(
        msg_id=str(job.event_id),
        timestamp=int(started_at.timestamp()),
        body=body,
        secrets=job.secrets,
    )
    clock = time.monotonic()
    status_code: int | None = None
    error: str | None = None
    excerpt = ""
    retry_after: str | None = None
    try:
        async with asyncio.timeout(timeout):
            request = client.build_request("POST", job.url, content=body.encode(), headers=headers)
            response = await client.send(request, stream=True)
            try:
                status_code = response.status_code
                retry_after = response.headers.get("retry-after")
                excerpt = await _read_excerpt(response)
                if response.is_redirect:
                    location = response.headers.get("location", "")
                    error = storable(f"redirect to {location!r} not followed")[:ERROR_CHARS]
            finally:
                await response.aclose()
    except (httpx.HTTPError, TargetRefused, TimeoutError, OSError) as exc:
        error = storable(_describe(exc, timeout))[:ERROR_CHARS]
    return AttemptResult(
        job=job,
        started_at=started_at,
        duration_ms=round((time.monotonic() - clock) * 1000, 3),
        status_code=status_code,
        error=error,
        request_headers=redacted(headers),
        response_excerpt=excerpt,
        retry_after=retry_after,
    )
