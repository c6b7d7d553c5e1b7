"""Shared fixtures: API clients, users and tokens."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from pggit_project.roles import sync_roles
from pggit_project.throttling import TokenRateThrottle

PASSWORD = "correct-horse-battery-staple"


TEST_CLIENT_ADDRESS = "127.0.0.1"


@pytest.fixture(autouse=True)
def uncounted_token_requests():
    """Each test starts with no token request counted against the test client's address."""
    cache.delete(TokenRateThrottle.cache_format % {"scope": "token", "ident": TEST_CLIENT_ADDRESS})


class UserQueries(NamedTuple):
    first: int  # a user's first request in this process
    known: int  # its later requests


@pytest.fixture
def user_queries() -> UserQueries:
    """The queries the API makes to read a request's user. Where the process can vouch for the
    user-state generation (Redis; docs/security.md, "Tokens"): one for the user's first request,
    its state read with its own and its groups' permissions, none later. Where it cannot (the
    embedded defaults without Redis, before a follower of the database's notices is connected):
    three on every request, SimpleJWT's user query, then its own and its groups' permissions."""
    from cachemgmt.runtime import get_store

    store = get_store()
    if store.redis is not None or store.local_ready.is_set():
        return UserQueries(first=1, known=0)
    return UserQueries(first=3, known=3)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def with_role(user, role: str):
    """``user`` made a member of the role (group) ``role`` (pggit_project/roles.py). The roles
    are made again when a transactional test's flush removed those the migration made."""
    group = Group.objects.filter(name=role).first()
    if group is None:
        sync_roles()
        group = Group.objects.get(name=role)
    user.groups.add(group)
    return user


@pytest.fixture
def user(db):
    """A viewer: reads everything, secrets hidden, changes nothing."""
    return with_role(get_user_model().objects.create_user("reader", password=PASSWORD), "viewer")


@pytest.fixture
def operator_user(db):
    """An operator: reads everything with secrets, makes the changes of daily operation."""
    return with_role(get_user_model().objects.create_user("ops", password=PASSWORD), "operator")


@pytest.fixture
def staff_user(db):
    """Staff with the admin role: every permission."""
    staff = get_user_model().objects.create_user("operator", password=PASSWORD, is_staff=True)
    return with_role(staff, "admin")


def bearer(user) -> str:
    return f"Bearer {RefreshToken.for_user(user).access_token}"


@pytest.fixture
def user_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(user))
    return client


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(staff_user))
    return client


@pytest.fixture
def operator_client(operator_user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(operator_user))
    return client
