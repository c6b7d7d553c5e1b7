"""Trailing-slash tolerance: every route answers with and without '/', and never redirects."""

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.urls")]


@pytest.mark.parametrize("path", ["/t/echo", "/t/echo/"])
def test_get_answers_with_and_without_trailing_slash(user_client, path):
    response = user_client.get(path)
    assert response.status_code == 200
    assert response.json() == {"ok": True}


@pytest.mark.parametrize("path", ["/t/echo", "/t/echo/"])
def test_post_answers_with_and_without_trailing_slash_without_redirect(user_client, path):
    response = user_client.post(path, {"name": "x", "count": 2})
    assert response.status_code == 201
    assert response.json() == {"name": "x", "count": 2}


@pytest.mark.parametrize("path", ["/t/resource", "/t/resource/"])
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_put_and_patch_answer_with_and_without_trailing_slash(user_client, path, method):
    response = user_client.generic(method, path, '{"a": 1}', content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"method": method, "body": {"a": 1}}


@pytest.mark.parametrize("path", ["/t/resource", "/t/resource/"])
def test_delete_answers_with_and_without_trailing_slash(user_client, path):
    assert user_client.delete(path).status_code == 204


@pytest.mark.parametrize("path", ["/t/echo//", "/t//echo", "/t/echo/?"])
def test_other_spellings_are_404_not_redirects(user_client, path):
    response = user_client.post(path, {"name": "x", "count": 2})
    assert response.status_code in (201, 404)
    assert "Location" not in response


@pytest.mark.parametrize(
    "path", ["/api/v1/auth/token", "/api/v1/auth/token/", "/api/v1/auth/token/refresh/"]
)
def test_token_endpoints_accept_post_with_and_without_slash(api_client, path):
    response = api_client.post(path, {})
    assert response.status_code == 400  # reached the view: a validation error, not 301/404


@pytest.mark.parametrize("path", ["/health", "/health/", "/health/deep", "/health/deep/"])
def test_health_answers_with_and_without_slash(api_client, path):
    assert api_client.get(path).status_code == 200


def test_admin_without_slash_redirects_to_the_admin(client):
    response = client.get("/admin")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_admin_login_page_is_titled_for_pggit(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert "pgGit console" in response.content.decode()
