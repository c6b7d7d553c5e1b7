"""The API's authentication keeps the token's user and permissions per user-state generation
(pggit_project.authentication): read once, and every change to the user refused at once."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cachemgmt.hitpath import user_states
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
    # the user, its own permissions, its groups' permissions: not again
    assert queries_of(user_client) == (200, first - 3)
    get_store().bump_users()  # any user changed somewhere: read again
    assert queries_of(user_client) == (200, first)
    assert queries_of(user_client) == (200, first - 3)


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
