"""Fixtures of the cache tests: real Redis (the configured one), a clean cache keyspace per test."""

from __future__ import annotations

import pytest
from django.conf import settings

from cachemgmt.runtime import get_store


@pytest.fixture
def redis_cache(transactional_db):
    """The configured Redis, with this database's cache keys removed before and after the test.

    Cached reads are only shared outside transactions, so these tests use committed data
    (``transactional_db``); they read the engine's state but do not change it.
    """
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set: the cache's shared level needs Redis")
    store = get_store()
    assert store.mode == "redis"
    _wipe(store)
    yield store
    _wipe(store)


def _wipe(store) -> None:
    client = store.redis._get_client()
    keys = list(client.scan_iter(match=f"{store.keys.prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    store.l1.clear()
    store.bypassed = 0
