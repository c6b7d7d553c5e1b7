"""Health checks: a registry that ``/health/deep`` runs, and the checks of the foundation.

Add a check from any app (in its ``AppConfig.ready``)::

    from pggit_project.health import DEGRADED, register_check

    @register_check("listener", on_failure=DEGRADED)
    def listener_check() -> dict:
        ...  # return details (dict) when healthy, raise when not,
        ...  # or return CheckResult(status, details) to decide the status yourself

``on_failure`` is the status the check gets when it raises: ``UNHEALTHY`` (the default) makes
``/health/deep`` answer 503, ``DEGRADED`` keeps it at 200. The overall status is the worst one.
``needs_database=True`` marks a check that queries PostgreSQL: while this process knows the
database unreachable (the ``database`` check, which runs first, or any other read failed lately:
``pggit_project.outage``), it is not run — it would only wait for the pool's timeout — and is
reported with its ``on_failure`` status and ``skipped`` in its details.
Details go to authenticated staff only; anonymous callers see each check's status.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import caches
from django.db import connections

from pggit_project.outage import database_reachability

logger = logging.getLogger(__name__)

HEALTHY = "healthy"
DEGRADED = "degraded"
UNHEALTHY = "unhealthy"
_SEVERITY = {HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2}
CHANNEL_LAYER_TIMEOUT_SECONDS = 3


@dataclass(frozen=True)
class CheckResult:
    status: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HealthCheck:
    name: str
    func: Callable[[], CheckResult | dict[str, Any] | None]
    on_failure: str
    needs_database: bool = False


_registry: dict[str, HealthCheck] = {}


def register_check(name: str, *, on_failure: str = UNHEALTHY, needs_database: bool = False):
    """Decorator registering ``func`` as the health check ``name`` (re-registering replaces it)."""
    if on_failure not in (DEGRADED, UNHEALTHY):
        raise ValueError(f"on_failure must be {DEGRADED!r} or {UNHEALTHY!r}")

    def decorator(func):
        _registry[name] = HealthCheck(
            name=name, func=func, on_failure=on_failure, needs_database=needs_database
        )
        return func

    return decorator


def unregister_check(name: str) -> None:
    _registry.pop(name, None)


def registered_checks() -> list[HealthCheck]:
    return list(_registry.values())


SKIPPED_WHILE_DATABASE_DOWN = "not run: the database is unreachable (see the database check)"


def _run_one(check: HealthCheck) -> tuple[CheckResult, float]:
    if check.needs_database and database_reachability.failing():
        return CheckResult(check.on_failure, {"skipped": SKIPPED_WHILE_DATABASE_DOWN}), 0.0
    started = time.monotonic()
    try:
        outcome = check.func()
        if not isinstance(outcome, CheckResult):
            outcome = CheckResult(HEALTHY, dict(outcome or {}))
    except Exception as exc:  # a failing check is a finding, not an error of the endpoint
        logger.warning("health check %s failed: %s", check.name, type(exc).__name__)
        outcome = CheckResult(check.on_failure, {"error": f"{type(exc).__name__}: {exc}"})
    return outcome, round((time.monotonic() - started) * 1000, 1)


def run_checks(*, include_details: bool) -> dict[str, Any]:
    """Every registered check, and the overall status: ``{"status", "checks": {...}}``."""
    overall = HEALTHY
    checks: dict[str, Any] = {}
    for check in registered_checks():
        result, duration_ms = _run_one(check)
        if _SEVERITY[result.status] > _SEVERITY[overall]:
            overall = result.status
        entry: dict[str, Any] = {"status": result.status}
        if include_details:
            entry.update(duration_ms=duration_ms, **result.details)
        checks[check.name] = entry
    return {"status": overall, "checks": checks}


# --- the foundation's checks ------------------------------------------------------------------


def probe_database(alias: str = "default") -> dict[str, Any]:
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('server_version'), current_database()")
            version, database = cursor.fetchone()
    except Exception as exc:
        database_reachability.record_failure(exc)
        connection.close_if_unusable_or_obsolete()
        raise
    database_reachability.record_success()
    embedded = connection.settings_dict["ENGINE"] == "pggit_project.embedded_pg"
    return {
        "backend": "embedded PostgreSQL" if embedded else "PostgreSQL",
        "server_version": version,
        "database": database,
        "host": connection.settings_dict.get("HOST") or "local socket",
    }


def probe_cache(alias: str = "default") -> dict[str, Any]:
    cache = caches[alias]
    key = f"pggit:health:{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=10)
    value = cache.get(key)
    cache.delete(key)
    if value != "ok":
        raise RuntimeError("the cache did not return the value just written")
    backend = type(cache).__module__
    return {"backend": "Redis" if "redis" in backend else "local memory"}


async def _layer_round_trip(layer) -> None:
    # A plain channel name (no "!"): channels-redis receives it on its own, without the receive
    # lock and buffers it shares among a process's "!" channels, which belong to one event loop
    # (the server's, where the sockets' topic hub receives) while this check runs on a loop of
    # its own in a test or a command.
    channel = f"pggit.health.{uuid.uuid4().hex}"
    await layer.send(channel, {"type": "health.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "health.ping":
        raise RuntimeError("the channel layer returned another message")


def probe_channel_layer(alias: str = "default") -> dict[str, Any]:
    layer = get_channel_layer(alias)
    if layer is None:
        raise RuntimeError("no channel layer is configured")

    async def bounded() -> None:
        await asyncio.wait_for(_layer_round_trip(layer), CHANNEL_LAYER_TIMEOUT_SECONDS)

    async_to_sync(bounded)()
    backend = type(layer).__module__
    return {"backend": "Redis" if "redis" in backend else "in memory (single process)"}


def register_foundation_checks() -> None:
    register_check("database", on_failure=UNHEALTHY)(probe_database)
    register_check("cache", on_failure=DEGRADED)(probe_cache)
    register_check("channel_layer", on_failure=DEGRADED)(probe_channel_layer)
