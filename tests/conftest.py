"""Shared fixtures: API clients, users and tokens."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from pggit_project.throttling import TokenRateThrottle

PASSWORD = "correct-horse-battery-staple"


TEST_CLIENT_ADDRESS = "127.0.0.1"


@pytest.fixture(autouse=True)
def uncounted_token_requests():
    """Each test starts with no token request counted against the test client's address."""
    cache.delete(TokenRateThrottle.cache_format % {"scope": "token", "ident": TEST_CLIENT_ADDRESS})


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("reader", password=PASSWORD)


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_user("operator", password=PASSWORD, is_staff=True)


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
