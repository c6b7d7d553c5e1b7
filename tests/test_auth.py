"""Authentication: JWT obtain/refresh/verify, using tokens, and every way a token is refused."""

from datetime import timedelta

import jwt
import pytest
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
BEARER_CHALLENGE = 'Bearer realm="api"'


def test_token_is_obtained_with_username_and_password(api_client, user):
    response = api_client.post(
        "/api/v1/auth/token", {"username": "reader", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert sorted(response.json()) == ["access", "refresh"]
    assert AccessToken(response.json()["access"])["user_id"] == str(user.pk)


def test_wrong_password_is_401_with_bearer_challenge(api_client, user):
    response = api_client.post(
        "/api/v1/auth/token", {"username": "reader", "password": "nope"}, format="json"
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BEARER_CHALLENGE
    body = response.json()
    assert body["code"] == "no_active_account"
    assert body["detail"] == "No active account found with the given credentials"
    assert body["request_id"] == response["X-Request-ID"]


def test_token_request_without_password_is_a_validation_error(api_client, user):
    response = api_client.post("/api/v1/auth/token", {"username": "reader"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"password": ["This field is required."]}


def test_refresh_token_gives_a_new_access_token(api_client, user):
    refresh = RefreshToken.for_user(user)
    response = api_client.post(
        "/api/v1/auth/token/refresh", {"refresh": str(refresh)}, format="json"
    )
    assert response.status_code == 200
    assert AccessToken(response.json()["access"])["user_id"] == str(user.pk)


def test_verify_accepts_a_valid_token_and_refuses_a_forged_one(api_client, user):
    token = str(RefreshToken.for_user(user).access_token)
    ok = api_client.post("/api/v1/auth/token/verify", {"token": token}, format="json")
    forged = api_client.post("/api/v1/auth/token/verify", {"token": token[:-4] + "AAAA"})
    assert ok.status_code == 200
    assert ok.json() == {}
    assert forged.status_code == 401
    assert forged.json()["code"] == "token_not_valid"


def test_access_token_authenticates_api_requests(user_client):
    response = user_client.get("/health/deep")
    assert response.status_code == 200


def test_expired_access_token_is_401_with_bearer_challenge(api_client, user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api_client.get("/api/schema")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BEARER_CHALLENGE
    assert response.json()["code"] == "token_not_valid"


def test_token_signed_with_another_key_is_401(api_client, user):
    claims = dict(AccessToken.for_user(user).payload)
    forged = jwt.encode(claims, "a-different-signing-key-of-sufficient-length", algorithm="HS256")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    response = api_client.get("/api/schema")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BEARER_CHALLENGE
    assert response.json()["code"] == "token_not_valid"


def test_refresh_token_is_refused_as_an_access_token(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user)}")
    response = api_client.get("/api/schema")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_missing_token_is_401_with_bearer_challenge(api_client):
    response = api_client.get("/api/schema")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BEARER_CHALLENGE
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
        "request_id": response["X-Request-ID"],
    }


def test_authenticated_user_reads_the_openapi_schema(user_client):
    response = user_client.get("/api/schema")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
