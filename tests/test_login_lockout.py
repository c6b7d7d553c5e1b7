"""Brute-force lockout (django-axes) shared by /admin/login/ and POST /api/v1/auth/token."""

import pytest
from axes.models import AccessAttempt

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
TOKEN = "/api/v1/auth/token"
ADMIN_LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return 3


def admin_login(client, password: str, address: str = "127.0.0.1"):
    return client.post(
        ADMIN_LOGIN, {"username": "operator", "password": password}, REMOTE_ADDR=address
    )


def token(api_client, password: str, address: str = "127.0.0.1"):
    return api_client.post(
        TOKEN, {"username": "operator", "password": password}, format="json", REMOTE_ADDR=address
    )


def assert_locked_out(response) -> None:
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "locked_out"
    assert body["detail"].startswith("Too many failed logins for this user name from this address.")
    assert int(response["Retry-After"]) == 15 * 60


def test_the_admin_login_locks_out_after_the_limit_even_for_the_right_password(
    client, staff_user, limit
):
    for _ in range(limit - 1):
        assert admin_login(client, "wrong").status_code == 200  # the form again, with an error
    assert_locked_out(admin_login(client, "wrong"))
    assert_locked_out(admin_login(client, PASSWORD))
    assert client.get("/admin/").status_code == 302  # not logged in


def test_admin_and_api_failures_count_together(client, api_client, staff_user, limit):
    assert admin_login(client, "wrong").status_code == 200
    assert token(api_client, "wrong").status_code == 401
    assert_locked_out(token(api_client, "wrong"))
    assert_locked_out(token(api_client, PASSWORD))
    assert_locked_out(admin_login(client, PASSWORD))
    attempt = AccessAttempt.objects.get(username="operator")
    # every attempt counts, those refused during the lockout too
    assert (attempt.ip_address, attempt.failures_since_start) == ("127.0.0.1", 5)


def test_the_lockout_is_per_user_name_and_address(client, api_client, staff_user, limit):
    for _ in range(limit):
        token(api_client, "wrong")
    assert_locked_out(token(api_client, PASSWORD))
    assert token(api_client, PASSWORD, address="198.51.100.7").status_code == 200
    other_user = api_client.post(TOKEN, {"username": "nobody-here", "password": "x"}, format="json")
    assert other_user.status_code == 401


def test_a_successful_login_resets_the_count(api_client, staff_user, limit):
    for _ in range(limit - 1):
        assert token(api_client, "wrong").status_code == 401
    assert token(api_client, PASSWORD).status_code == 200
    for _ in range(limit - 1):
        assert token(api_client, "wrong").status_code == 401
    assert token(api_client, PASSWORD).status_code == 200
