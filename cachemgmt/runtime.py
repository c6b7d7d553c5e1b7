"""The process's cache store, built on first use from the settings."""

from __future__ import annotations

import logging
import threading

from django.conf import settings

from cachemgmt.local_events import attach_local_follower
from cachemgmt.redis_link import RedisLink
from cachemgmt.store import CacheStore

logger = logging.getLogger(__name__)

_store: CacheStore | None = None
_lock = threading.Lock()


def redis_configured() -> bool:
    return settings.CACHES["default"]["BACKEND"].startswith("django_redis.")


def _redis_client():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def get_store() -> CacheStore:
    global _store
    if _store is None:
        with _lock:
            if _store is None:
                database = str(settings.DATABASES["default"]["NAME"])
                if redis_configured():
                    _store = CacheStore(RedisLink(_redis_client), database=database)
                else:
                    _store = CacheStore(None, database=database)
                    attach_local_follower(_store)
    return _store


def forget_store(**kwargs) -> None:
    """Drop this process's store so the next use builds one from the current settings.

    Connected to ``setting_changed``: a test (or anything) that overrides ``CACHES`` gets a store
    for the new backend instead of one pointing at the old Redis.
    """
    global _store
    if kwargs.get("setting", "CACHES") != "CACHES":
        return
    with _lock:
        old, _store = _store, None
    if old is not None and old.stop_follower is not None:
        old.stop_follower()
