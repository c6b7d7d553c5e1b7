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


@pytest.fixture(scope="session")
def live_database(django_db_setup, django_db_blocker):
    """A migrated database of their own for server processes (the test database stays clean)."""
    import os

    from tests.cachemgmt.live import create_live_database, drop_live_database

    if not (os.environ.get("DATABASE_URL") and settings.REDIS_URL):
        pytest.skip("server-process tests need DATABASE_URL and REDIS_URL")
    database = create_live_database()
    yield database
    drop_live_database(database)


@pytest.fixture
def live(live_database, tmp_path):
    """Starts processes on ``live_database``; wipes its cache keyspace; stops them afterwards."""
    import redis

    from tests.cachemgmt import live as helpers

    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = f"pggit:cache:{live_database.name}:*"

    def wipe() -> None:
        keys = list(client.scan_iter(match=prefix, count=1000))
        if keys:
            client.delete(*keys)

    wipe()
    started: list[helpers.Process] = []

    class Live:
        database = live_database

        def server(self, name: str, **env_overrides) -> helpers.Process:
            env = {**live_database.env, **env_overrides}
            env = {k: v for k, v in env.items() if v is not None}
            process = helpers.start_server(env, tmp_path / f"{name}.log")
            started.append(process)
            return process

        def listener(self, name: str = "listener", **env_overrides) -> helpers.Process:
            env = {**live_database.env, **env_overrides}
            process = helpers.start_listener(env, tmp_path / f"{name}.log")
            started.append(process)
            return process

    yield Live()
    for process in started:
        process.stop()
    wipe()
