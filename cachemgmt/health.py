"""Health checks of the cache and of the event listener (``/health/deep``).

- ``cache``: Redis answers a PING (degraded otherwise: requests are then answered from the
  database); without Redis, the local-memory mode is reported as healthy.
- ``listener``: some ``pggit_listen`` process holds the leader lock of this database (degraded
  otherwise: writes made outside the API would not reach the cache, WebSockets or webhooks).
- ``cache_hit_path``: the early hit path's last read of user states reached the database
  (degraded otherwise: it failed more recently than it last succeeded).
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from pggit_project.health import DEGRADED, register_check


def cache_check() -> dict[str, Any]:
    from cachemgmt.runtime import _redis_client, get_store

    store = get_store()
    l1 = {"l1_entries": len(store.l1), "mode": store.mode}
    if store.redis is None:
        return {"backend": "local memory (this process only)", **l1}
    _redis_client().ping()
    return {"backend": "Redis", "recently_failed": not store.redis.available, **l1}


def listener_check() -> dict[str, Any]:
    from pggit_project.listener import leader_is_active

    with connection.cursor() as cursor:
        active = leader_is_active(cursor)
    if not active:
        raise RuntimeError("no pggit_listen process is active for this database")
    return {"active": True}


def hit_path_check() -> dict[str, Any]:
    from cachemgmt.hitpath import database_health

    if database_health.failing():
        raise RuntimeError(
            "the early hit path's last read of the database failed "
            f"({database_health.error}); cached reads go to the ordinary path"
        )
    return {"database": "ok" if database_health.succeeded_at is not None else "not used yet"}


def register_cache_checks() -> None:
    register_check("cache", on_failure=DEGRADED)(cache_check)
    register_check("listener", on_failure=DEGRADED, needs_database=True)(listener_check)
    register_check("cache_hit_path", on_failure=DEGRADED)(hit_path_check)
