"""Authentication: JWT obtain/refresh/verify, using tokens, and every way a token is refused."""

import time
from datetime import timedelta

import jwt
import pytest
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from pggit_project.authentication import validated_tokens
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
BEARER_CHALLENGE = 'Bearer realm="api"'
PROTECTED = "/api/v1/status"  # an ordinary API endpoint: any authenticated user may read it


def test_unsupported_authorization_scheme_is_401_with_bearer_challenge(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Basic {PASSWORD}")
    response = api_client.get(PROTECTED)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BEARER_CHALLENGE
    assert response.json()["code"] == "not_authenticated"


def test_expired_token_is_refused_by_the_openapi_schema_too(api_client, user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api_client.get("/api/schema")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BEARER_CHALLENGE


def throttle_token_requests(settings, rate: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": rate},
    }


def test_token_requests_past_the_rate_are_429_with_retry_after(api_client, user, settings):
    throttle_token_requests(settings, "3/minute")
    wrong = {"username": "reader", "password": "guess"}
    statuses = [api_client.post("/api/v1/auth/token", wrong).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]

    refused = api_client.post("/api/v1/auth/token", {"username": "reader", "password": PASSWORD})
    assert refused.status_code == 429
    wait = int(refused["Retry-After"])
    assert 1 <= wait <= 60
    assert refused.json() == {
        "detail": f"Request was throttled. Expected available in {wait} seconds.",
        "code": "throttled",
        "request_id": refused["X-Request-ID"],
    }


def test_token_throttle_counts_per_address_and_ignores_forwarded_for(api_client, user, settings):
    throttle_token_requests(settings, "1/minute")
    wrong = {"username": "reader", "password": "guess"}
    assert api_client.post("/api/v1/auth/token", wrong).status_code == 401
    spoofed = api_client.post("/api/v1/auth/token", wrong, HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert spoofed.status_code == 429
    elsewhere = api_client.post("/api/v1/auth/token", wrong, REMOTE_ADDR="198.51.100.20")
    assert elsewhere.status_code == 401


def test_token_refresh_and_verify_are_not_throttled(api_client, user, settings):
    throttle_token_requests(settings, "1/minute")
    refresh = str(RefreshToken.for_user(user))
    statuses = set()
    for _ in range(3):  # each refresh answers the next refresh token (rotation)
        response = api_client.post("/api/v1/auth/token/refresh", {"refresh": refresh})
        statuses.add(response.status_code)
        refresh = response.json()["refresh"]
    assert statuses == {200}


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


def test_obtained_token_is_used_then_refreshed_and_the_new_one_is_used(api_client, user):
    assert api_client.get(PROTECTED).status_code == 401
    pair = api_client.post(
        "/api/v1/auth/token", {"username": "reader", "password": PASSWORD}, format="json"
    ).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    first = api_client.get(PROTECTED)
    assert first.status_code == 200
    assert first.json()["branch"] == "main"

    api_client.credentials()
    refreshed = api_client.post(
        "/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json"
    )
    assert refreshed.status_code == 200
    assert sorted(refreshed.json()) == ["access", "refresh"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert api_client.get(PROTECTED).status_code == 200


def test_token_of_a_deactivated_user_is_refused(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    user.is_active = False
    user.save()
    response = api_client.get(PROTECTED)
    assert response.status_code == 401
    assert response.json()["code"] == "user_inactive"


def test_forged_or_expired_refresh_token_is_401(api_client, user):
    expired = RefreshToken.for_user(user)
    expired.set_exp(lifetime=-timedelta(seconds=1))
    for refresh in (str(expired), str(RefreshToken.for_user(user))[:-4] + "AAAA"):
        response = api_client.post(
            "/api/v1/auth/token/refresh", {"refresh": refresh}, format="json"
        )
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == BEARER_CHALLENGE
        assert response.json()["code"] == "token_not_valid"


def test_verify_refuses_an_expired_token(api_client, user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    response = api_client.post("/api/v1/auth/token/verify", {"token": str(token)}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_expired_access_token_is_401_with_bearer_challenge(api_client, user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api_client.get(PROTECTED)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BEARER_CHALLENGE
    assert response.json()["code"] == "token_not_valid"


def test_token_signed_with_another_key_is_401(api_client, user):
    claims = dict(AccessToken.for_user(user).payload)
    forged = jwt.encode(claims, "a-different-signing-key-of-sufficient-length", algorithm="HS256")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    response = api_client.get(PROTECTED)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BEARER_CHALLENGE
    assert response.json()["code"] == "token_not_valid"


def test_refresh_token_is_refused_as_an_access_token(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user)}")
    response = api_client.get(PROTECTED)
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_missing_token_is_401_with_bearer_challenge(api_client):
    response = api_client.get(PROTECTED)
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


def refresh_with(api_client, refresh: str):
    return api_client.post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json")


def test_a_refresh_token_is_used_once_then_refused(api_client, user):
    refresh = str(RefreshToken.for_user(user))
    first = refresh_with(api_client, refresh)
    assert first.status_code == 200
    assert first.json()["refresh"] != refresh
    again = refresh_with(api_client, refresh)
    assert again.status_code == 401
    assert again.json()["code"] == "token_not_valid"
    assert refresh_with(api_client, first.json()["refresh"]).status_code == 200


def test_refresh_token_of_a_deleted_user_is_401(api_client, user):
    refresh = str(RefreshToken.for_user(user))
    user.delete()
    response = refresh_with(api_client, refresh)
    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"
    assert response["WWW-Authenticate"] == BEARER_CHALLENGE


def test_refresh_token_of_a_deactivated_user_stays_refused_after_reactivation(api_client, user):
    refresh = str(RefreshToken.for_user(user))
    user.is_active = False
    user.save()  # blacklists the user's refresh tokens
    refused = refresh_with(api_client, refresh)
    assert (refused.status_code, refused.json()["code"]) == (401, "token_not_valid")
    user.is_active = True
    user.save()
    assert refresh_with(api_client, refresh).status_code == 401


def test_tokens_issued_before_a_password_change_are_refused_after_it(api_client, user):
    pair = api_client.post(
        "/api/v1/auth/token", {"username": "reader", "password": PASSWORD}, format="json"
    ).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert api_client.get(PROTECTED).status_code == 200

    user.set_password("another-long-passphrase-42")
    user.save()

    refused = api_client.get(PROTECTED)
    assert refused.status_code == 401
    assert refused.json()["code"] == "password_changed"
    api_client.credentials()
    refresh = refresh_with(api_client, pair["refresh"])
    assert refresh.status_code == 401
    assert refresh.json()["code"] == "password_changed"

    new = api_client.post(
        "/api/v1/auth/token",
        {"username": "reader", "password": "another-long-passphrase-42"},
        format="json",
    ).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {new['access']}")
    assert api_client.get(PROTECTED).status_code == 200


def test_an_admin_session_ends_when_the_password_changes(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/admin/").status_code == 200
    staff_user.set_password("another-long-passphrase-42")
    staff_user.save()
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_an_admin_session_ends_when_the_user_is_deactivated(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/admin/").status_code == 200
    staff_user.is_active = False
    staff_user.save()
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_token_remembered_by_the_process_is_refused_once_it_expires(api_client, user):
    # The signature is checked once per process (pggit_project.authentication.ValidatedTokens);
    # expiry is checked on every use, with the same answer as for a token never seen.
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=2))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api_client.get(PROTECTED).status_code == 200
    assert validated_tokens.get(str(token).encode()) is not None
    time.sleep(max(0.0, token["exp"] - time.time()) + 0.2)
    refused = api_client.get(PROTECTED)
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == BEARER_CHALLENGE
    validated_tokens.clear()
    never_seen = api_client.get(PROTECTED).json()
    assert {**never_seen, "request_id": None} == {**refused.json(), "request_id": None}
    assert refused.json()["code"] == "token_not_valid"


def test_a_forged_token_is_not_remembered_after_the_genuine_one_was(api_client, user):
    token = str(AccessToken.for_user(user))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api_client.get(PROTECTED).status_code == 200
    claims = dict(AccessToken(token).payload)
    forged = jwt.encode(claims, "a-different-signing-key-of-sufficient-length", algorithm="HS256")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert api_client.get(PROTECTED).status_code == 401
    assert validated_tokens.get(forged.encode()) is None
    assert validated_tokens.get(token.encode()) is not None
