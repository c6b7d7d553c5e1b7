"""The user-state generation read on the request thread's kept Redis connection
(cachemgmt.redis_link, ``RedisLink.get``): every change is still seen on the next request, a Redis
that is down means the user is read from the database, and a Redis that is back is used again.

Each test runs on a throwaway redis-server of its own (tests/faults/servers.py), which it stops and
starts; "another process" is a separate Redis client moving the generation, as another web
process's bump would.
"""

from __future__ import annotations

import threading
import time

import pytest
import redis
from django.contrib.auth import get_user_model
from django.db import connection

from cachemgmt.constants import REDIS_RETRY_SECONDS
from cachemgmt.hitpath import user_states
from cachemgmt.runtime import get_store
from pggit_project.settings.backends import cache_config
from tests.faults.servers import ThrowawayRedis

pytestmark = pytest.mark.django_db
PATH = "/api/v1/webhooks"  # needs webhooks.view_webhookendpoint (the viewer role has it)


@pytest.fixture
def own_redis(settings):
    server = ThrowawayRedis()
    if server.binary is None:
        pytest.skip("needs redis-server")
    server.start()
    settings.CACHES = cache_config(server.url)  # a store of its own (runtime.forget_store)
    user_states.clear()
    try:
        yield server
    finally:
        user_states.clear()
        server.stop()


def kept_connection():
    """This thread's kept connection of the store's link (``None``: none yet)."""
    kept = getattr(get_store().redis._kept, "connection", None)
    return None if kept is None else kept[2]


def move_generation(server: ThrowawayRedis) -> None:
    """What another process's bump does: a client of its own moves the generation."""
    other = redis.Redis.from_url(server.url)
    try:
        assert other.incr(get_store().keys.users) > 1
    finally:
        other.close()


def answer(client) -> tuple[int, str | None]:
    response = client.get(PATH)
    return response.status_code, None if response.status_code == 200 else response.json()["code"]


def wait_out_the_link_pause() -> None:
    time.sleep(REDIS_RETRY_SECONDS + 0.2)


def test_changes_made_elsewhere_are_refused_on_the_next_request_through_the_kept_connection(
    own_redis, user_client, user
):
    assert answer(user_client) == (200, None)
    kept = kept_connection()
    assert kept is not None and kept.is_connected
    assert answer(user_client) == (200, None)
    assert kept_connection() is kept and kept.is_connected  # the same socket, request after request

    # Deactivated by another process (no signal here): refused once it moved the generation.
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert answer(user_client) == (200, None)  # not moved yet: the state read before holds
    move_generation(own_redis)
    assert answer(user_client) == (401, "user_inactive")

    get_user_model().objects.filter(pk=user.pk).update(is_active=True)
    move_generation(own_redis)
    assert answer(user_client) == (200, None)

    # Its role removed by SQL elsewhere: 403 on the next request.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM auth_user_groups WHERE user_id = %s", [user.pk])
    move_generation(own_redis)
    assert answer(user_client)[0] == 403

    # Its password changed elsewhere: the token from before is refused.
    get_user_model().objects.filter(pk=user.pk).update(password="changed elsewhere")
    move_generation(own_redis)
    assert answer(user_client) == (401, "password_changed")
    assert kept_connection() is kept


def test_with_redis_down_the_user_is_read_from_the_database(own_redis, user_client, user):
    assert answer(user_client) == (200, None)  # a state kept under the current generation
    own_redis.stop()
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)  # nothing can bump it
    assert answer(user_client) == (401, "user_inactive")  # the kept socket fails: the database
    assert get_store().user_generation() is None
    assert answer(user_client) == (401, "user_inactive")  # the link pauses: the database again
    wait_out_the_link_pause()
    assert answer(user_client) == (401, "user_inactive")  # tried again, refused: the database
    get_user_model().objects.filter(pk=user.pk).update(is_active=True)
    assert answer(user_client) == (200, None)


def test_once_redis_is_back_the_kept_connection_reconnects(own_redis, user_client, user):
    assert answer(user_client) == (200, None)
    kept = kept_connection()
    own_redis.stop()
    assert get_store().user_generation() is None
    assert not kept.is_connected
    own_redis.start()  # same port, empty: no generation stored
    wait_out_the_link_pause()
    generation = get_store().user_generation()
    assert isinstance(generation, int)
    assert kept_connection() is kept and kept.is_connected
    assert get_store().redis.last_error is None  # the link recovered
    assert answer(user_client) == (200, None)
    move_generation(own_redis)
    assert get_store().user_generation() == generation + 1
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    move_generation(own_redis)
    assert answer(user_client) == (401, "user_inactive")


def test_a_kept_socket_closed_by_a_restart_is_replaced_without_a_failure(
    own_redis, user_client, user
):
    assert answer(user_client) == (200, None)
    kept = kept_connection()
    own_redis.stop()
    own_redis.start()  # the link never saw it: its socket to the old server is open, and dead
    assert kept.is_connected
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    # Redis lost the generation with the restart: a new one is started, the user read again.
    assert answer(user_client) == (401, "user_inactive")
    assert get_store().redis.available and get_store().redis.last_error is None
    assert kept_connection() is kept and kept.is_connected


def _generation(server: ThrowawayRedis, name: str) -> int | None:
    other = redis.Redis.from_url(server.url)
    try:
        value = other.get(get_store().keys.gen(name))
        return None if value is None else int(value)
    finally:
        other.close()


def test_a_bump_runs_on_the_kept_connection_and_moves_each_generation_it_names(own_redis):
    from cachemgmt.redis_link import RedisUnavailable

    store = get_store()
    before = store.generations(("webhooks",))[0]  # started; "alerts" is not yet
    assert _generation(own_redis, "alerts") is None
    store.bump(["webhooks", "alerts"])
    assert _generation(own_redis, "webhooks") == before + 1
    started = _generation(own_redis, "alerts")  # a fresh generation, bumped once
    assert started is not None and started > before
    assert kept_connection() is not None and kept_connection().is_connected
    # the kept socket closed by a restart: replaced once, the bump made, no failure
    own_redis.stop()
    own_redis.start()
    store.bump(["webhooks"])
    assert _generation(own_redis, "webhooks") is not None
    assert store.redis.available and store.redis.last_error is None
    # Redis down: the bump is refused as before (the caller defers it to the recovery)
    own_redis.stop()
    with pytest.raises(RedisUnavailable):
        store.bump(["webhooks"])
    assert not store.redis.available


def test_a_bump_of_no_names_asks_redis_nothing(own_redis):
    """Events whose types make nothing stale end in ``bump([])``: with Redis down that must not
    fail the link (a new thread: it has no kept connection yet, so any exchange would open one)."""
    store = get_store()
    own_redis.stop()
    outcome = []

    def bump_nothing():
        try:
            store.bump([])
            outcome.append("done")
        except Exception as exc:  # the outcome is asserted
            outcome.append(type(exc).__name__)

    thread = threading.Thread(target=bump_nothing)
    thread.start()
    thread.join()
    assert outcome == ["done"]
    assert store.redis.available


def test_an_error_reply_in_a_bump_fails_the_link_and_leaves_no_reply_unread(own_redis):
    from cachemgmt.redis_link import RedisUnavailable

    store = get_store()
    other = redis.Redis.from_url(own_redis.url)
    try:
        other.set(store.keys.gen("webhooks"), "not a number")
    finally:
        other.close()
    with pytest.raises(RedisUnavailable):
        store.bump(["webhooks", "alerts"])
    assert store.redis.last_error == "ResponseError"
    wait_out_the_link_pause()
    other = redis.Redis.from_url(own_redis.url)
    try:
        other.delete(store.keys.gen("webhooks"))
    finally:
        other.close()
    # the next exchange reads its own replies, not the ones left by the failed bump
    assert store.user_generation() is not None
    store.bump(["webhooks"])
    assert _generation(own_redis, "webhooks") is not None
