"""The API's authentication keeps the token's user and permissions per user-state generation
(pggit_project.authentication): read once, and every change to the user refused at once."""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cachemgmt.hitpath import UserStates, user_states
from cachemgmt.runtime import get_store
from tests.conftest import with_role

pytestmark = pytest.mark.django_db
PATH = "/api/v1/webhooks"  # needs webhooks.view_webhookendpoint (the viewer role has it)
needs_redis = pytest.mark.skipif(
    not django_settings.REDIS_URL, reason="REDIS_URL is not set: the generation lives in Redis"
)


@pytest.fixture(autouse=True)
def no_states():
    user_states.clear()
    yield
    user_states.clear()


def queries_of(client, path: str = PATH) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        status = client.get(path).status_code
    return status, len(captured)


@needs_redis
def test_the_user_and_its_permissions_are_read_once_per_user_state_generation(user_client):
    status, first = queries_of(user_client)
    assert status == 200
    # the user, its own permissions, its groups' permissions (one query): not again
    assert queries_of(user_client) == (200, first - 1)
    get_store().bump_users()  # any user changed somewhere: read again
    assert queries_of(user_client) == (200, first)
    assert queries_of(user_client) == (200, first - 1)


@needs_redis
def test_each_request_gets_its_own_copy_of_the_user_with_its_permissions_known(
    user, django_assert_num_queries
):
    state = user_states.for_request(user.pk)
    one, other = state.user_copy(), state.user_copy()
    assert one is not other and one is not state.user
    assert one.pk == other.pk == user.pk
    with django_assert_num_queries(0):
        assert one.has_perm("webhooks.view_webhookendpoint")
        assert not one.has_perm("webhooks.add_webhookendpoint")
    one.first_name = "changed in one request"
    one._perm_cache.add("webhooks.add_webhookendpoint")
    assert other.first_name == state.user.first_name == ""
    assert not other.has_perm("webhooks.add_webhookendpoint")


def test_a_user_deactivated_in_this_process_is_refused_at_once(user_client, user):
    assert user_client.get(PATH).status_code == 200
    user.is_active = False
    user.save()
    response = user_client.get(PATH)
    assert (response.status_code, response.json()["code"]) == (401, "user_inactive")


def test_a_deleted_user_is_refused_at_once(user_client, user):
    assert user_client.get(PATH).status_code == 200
    user.delete()
    response = user_client.get(PATH)
    assert (response.status_code, response.json()["code"]) == (401, "user_not_found")


def test_a_token_from_before_a_password_change_is_refused_at_once(user_client, user):
    assert user_client.get(PATH).status_code == 200
    user.set_password("another-long-passphrase-42")
    user.save()
    response = user_client.get(PATH)
    assert (response.status_code, response.json()["code"]) == (401, "password_changed")


def test_a_removed_role_is_refused_and_a_granted_one_allowed_at_once(user_client, user):
    assert user_client.get(PATH).status_code == 200
    user.groups.clear()
    response = user_client.get(PATH)
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    with_role(user, "viewer")
    assert user_client.get(PATH).status_code == 200


def test_a_user_changed_by_another_process_is_refused_once_the_generation_moved(user_client, user):
    assert user_client.get(PATH).status_code == 200
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)  # no signal here
    get_store().bump_users()  # what the other process's post_save does once it has committed
    response = user_client.get(PATH)
    assert (response.status_code, response.json()["code"]) == (401, "user_inactive")


def test_without_a_generation_to_trust_the_user_is_read_on_every_request(
    user_client, user, settings
):
    # Local mode whose follower has not connected: nothing vouches for remembered states.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    store = get_store()
    assert store.mode == "local" and not store.local_ready.is_set()
    assert user_client.get(PATH).status_code == 200
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)  # no signal, no bump
    response = user_client.get(PATH)
    assert (response.status_code, response.json()["code"]) == (401, "user_inactive")


def readers(count: int) -> list:
    return [
        with_role(get_user_model().objects.create_user(f"reader-{n}", password="x" * 20), "viewer")
        for n in range(count)
    ]


@needs_redis
def test_a_read_after_a_user_change_reads_every_recently_used_user_in_one_query(
    django_assert_num_queries,
):
    users = readers(4)
    for user in users:
        assert user_states.for_request(user.pk).active
    get_store().bump_users()
    with django_assert_num_queries(1):  # the user asked for and the three others, together
        assert user_states.for_request(users[0].pk).permissions >= {"webhooks.view_webhookendpoint"}
    generation = get_store().user_generation()
    with django_assert_num_queries(0):
        for user in users[1:]:
            state = user_states.for_request(user.pk)
            assert (state.generation, state.active) == (generation, True)
            assert state.user_copy().has_perm("webhooks.view_webhookendpoint")


@needs_redis
def test_states_read_in_a_batch_follow_every_change_made_since(django_assert_num_queries):
    deactivated, deleted, repassworded, demoted, unchanged = readers(5)
    for user in (deactivated, deleted, repassworded, demoted, unchanged):
        user_states.for_request(user.pk)
    before = user_states.for_request(repassworded.pk).password
    users = get_user_model().objects
    users.filter(pk=deactivated.pk).update(is_active=False)  # no signal: the generation moves
    users.filter(pk=deleted.pk).delete()
    repassworded.set_password("another-long-passphrase-42")
    repassworded.save()
    demoted.groups.clear()
    get_store().bump_users()  # what the listener does for the SQL changes above
    with django_assert_num_queries(1):
        assert user_states.for_request(unchanged.pk).active
    with django_assert_num_queries(0):  # all read by that one query
        assert not user_states.for_request(deactivated.pk).active
        assert user_states.for_request(repassworded.pk).password != before
        assert user_states.for_request(demoted.pk).permissions == frozenset()
        assert (
            not user_states.for_request(demoted.pk)
            .user_copy()
            .has_perm("webhooks.view_webhookendpoint")
        )
    with django_assert_num_queries(1):  # no state is kept for a user not found: asked again
        assert user_states.for_request(deleted.pk) is None


@needs_redis
def test_states_due_to_expire_are_renewed_with_the_one_read(django_assert_num_queries):
    first, second, third = readers(3)
    states = UserStates(ttl=60.0)
    states.for_request(first.pk)
    states.for_request(second.pk)
    # second's state is about to expire (within a quarter of the TTL), first's has expired
    states._states[str(first.pk)] = (states._states[str(first.pk)][0], time.monotonic() - 1)
    states._states[str(second.pk)] = (states._states[str(second.pk)][0], time.monotonic() + 5)
    with django_assert_num_queries(1):
        states.for_request(third.pk)
    renewed_after = time.monotonic() + 55
    assert states._states[str(first.pk)][1] > renewed_after
    assert states._states[str(second.pk)][1] > renewed_after
    # a user not asked for within the TTL is not read again
    states._used[str(first.pk)] = time.monotonic() - 61
    get_store().bump_users()
    with django_assert_num_queries(1):
        states.for_request(third.pk)
    with django_assert_num_queries(0):
        states.for_request(second.pk)
    with django_assert_num_queries(1):
        states.for_request(first.pk)


class GrantingBackend:
    """A permission backend besides ModelBackend: every active user may add webhooks."""

    def authenticate(self, request, **credentials):
        return None

    def get_all_permissions(self, user_obj, obj=None):
        return {"webhooks.add_webhookendpoint"} if user_obj.is_active else set()


@needs_redis
def test_with_another_permission_backend_its_permissions_are_asked_too(user, settings):
    state = user_states.for_request(user.pk)
    assert "webhooks.add_webhookendpoint" not in state.permissions
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        f"{__name__}.GrantingBackend",
    ]
    user_states.clear()
    state = user_states.for_request(user.pk)
    assert state.permissions >= {"webhooks.view_webhookendpoint", "webhooks.add_webhookendpoint"}


@needs_redis
def test_a_thread_needing_a_state_while_another_reads_uses_that_read(django_assert_num_queries):
    from cachemgmt.hitpath import _read_users

    first, second = readers(2)
    states = UserStates()
    found: list = []
    states._reading.acquire()  # a read in progress, in this thread (below)
    try:
        waiting = threading.Thread(target=lambda: found.append(states.for_request(second.pk)))
        waiting.start()
        deadline = time.monotonic() + 10
        while str(second.pk) not in states._used and time.monotonic() < deadline:
            time.sleep(0.01)
        generation = get_store().user_generation()
        with django_assert_num_queries(1):  # the read in progress takes the waiting user along
            batch = states._batch(first.pk, generation)
            states._keep(first.pk, batch, _read_users(batch), generation, states._epoch)
    finally:
        states._reading.release()
    waiting.join(timeout=10)
    # the waiting thread did not read (its own connection sees no user of this test's
    # transaction): it used the state the other read kept
    assert found[0].user.pk == second.pk and found[0].generation == generation
