"""The one error shape: {"detail", "code", "errors" (validation only), "request_id"}."""

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.urls")]


def assert_error_shape(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code
    assert body["request_id"] == response["X-Request-ID"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_validation_error_lists_errors_by_field(user_client):
    response = user_client.post("/t/echo", {"name": "far too long a name", "count": 0})
    body = assert_error_shape(response, 400, "invalid")
    assert body["detail"] == "Invalid input."
    assert body["errors"] == {
        "name": ["Ensure this field has no more than 10 characters."],
        "count": ["Ensure this value is greater than or equal to 1."],
    }


def test_malformed_json_is_400_not_500(user_client):
    response = user_client.generic(
        "POST", "/t/echo", '{"name": "x", "count": ', content_type="application/json"
    )
    body = assert_error_shape(response, 400, "parse_error")
    assert body["detail"].startswith("JSON parse error")
    assert "errors" not in body


def test_unsupported_media_type_is_415(user_client):
    response = user_client.generic("POST", "/t/echo", "name=x", content_type="text/plain")
    assert_error_shape(response, 415, "unsupported_media_type")


def test_unauthenticated_is_401(api_client):
    response = api_client.get("/t/echo")
    assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_missing_permission_is_403(user_client):
    response = user_client.post("/t/guarded", {})
    body = assert_error_shape(response, 403, "permission_denied")
    assert body["detail"] == "You do not have permission to perform this action."


def test_unknown_url_is_404_in_the_error_shape(api_client):
    response = api_client.get("/no/such/page")
    body = assert_error_shape(response, 404, "not_found")
    assert body["detail"] == "Not found."


def test_wrong_method_is_405_with_allow_header(user_client):
    response = user_client.delete("/t/echo")
    body = assert_error_shape(response, 405, "method_not_allowed")
    assert body["detail"] == 'Method "DELETE" not allowed.'
    assert response["Allow"] == "GET, POST, HEAD, OPTIONS"


def test_unhandled_exception_in_api_view_is_500_without_internals(user_client, caplog):
    response = user_client.get("/t/api-crash")
    body = assert_error_shape(response, 500, "server_error")
    assert body == {
        "detail": "Internal server error.",
        "code": "server_error",
        "request_id": response["X-Request-ID"],
    }
    assert "secret" not in response.content.decode()
    logged = [r for r in caplog.records if r.levelname == "ERROR" and r.exc_info]
    assert len(logged) == 1
    assert logged[0].request_id == response["X-Request-ID"]


def test_unhandled_exception_outside_drf_is_json_500_without_internals():
    client = Client(raise_request_exception=False)
    response = client.get("/t/plain-crash")
    body = assert_error_shape(response, 500, "server_error")
    assert body["detail"] == "Internal server error."
    assert "secret" not in response.content.decode()


def test_html_error_response_outside_drf_is_rewritten_as_json():
    response = Client().get("/t/plain-teapot")
    body = assert_error_shape(response, 418, "error")
    assert body["detail"] == "The request failed."


def test_domain_error_keeps_its_status_code_and_detail(user_client):
    response = user_client.get("/t/domain-error")
    body = assert_error_shape(response, 409, "locked")
    assert body["detail"] == "branch 'main' is locked"


@pytest.mark.parametrize(
    ("engine_code", "status", "api_code"),
    [
        ("BRANCH_NOT_FOUND", 404, "branch_not_found"),
        ("NOTHING_TO_COMMIT", 409, "nothing_to_commit"),
        ("WORKING_CHANGES", 409, "working_changes"),
        ("UNRESOLVED_CONFLICTS", 409, "unresolved_conflicts"),
        ("INVALID_REF", 400, "invalid_ref"),
        ("CONFIG_UNKNOWN_KEY", 400, "config_unknown_key"),
    ],
)
def test_engine_error_raised_in_postgresql_maps_by_its_code(
    user_client, engine_code, status, api_code
):
    response = user_client.get(f"/t/engine-error?code={engine_code}")
    body = assert_error_shape(response, status, api_code)
    assert body["detail"] == "something about the request (hint: try again)"


def test_admin_csrf_failure_is_403_in_the_error_shape(staff_user):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "operator", "password": "x"})
    body = assert_error_shape(response, 403, "csrf_failed")
    assert body["detail"] == "CSRF verification failed."


def test_body_over_the_upload_limit_is_413(user_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = user_client.post("/t/echo", {"name": "x" * 2000, "count": 1})
    body = assert_error_shape(response, 413, "request_too_large")
    assert body["detail"] == "The request body is too large."


def test_malformed_json_is_400_even_for_a_view_that_ignores_its_body(staff_client):
    response = staff_client.generic("POST", "/t/guarded", '{"a": ', content_type="application/json")
    body = assert_error_shape(response, 400, "parse_error")
    assert body["detail"] == ("JSON parse error - Expecting value: line 1 column 7 (char 6)")


@pytest.mark.parametrize(
    ("raw", "kind"), [("[]", "list"), ('"text"', "str"), ("42", "int"), ("null", "null")]
)
def test_json_body_that_is_not_an_object_is_400(staff_client, raw, kind):
    response = staff_client.generic("POST", "/t/guarded", raw, content_type="application/json")
    body = assert_error_shape(response, 400, "invalid")
    assert body["errors"] == {"non_field_errors": [f"The body must be a JSON object; got {kind}."]}


def test_empty_body_of_a_view_that_ignores_it_is_accepted(staff_client):
    response = staff_client.generic("POST", "/t/guarded", "", content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"changed": True}


def test_form_body_is_415_even_for_a_view_that_ignores_its_body(staff_client):
    response = staff_client.post(
        "/t/guarded", "a=1", content_type="application/x-www-form-urlencoded"
    )
    body = assert_error_shape(response, 415, "unsupported_media_type")
    assert (
        body["detail"] == 'Unsupported media type "application/x-www-form-urlencoded" in request.'
    )


@pytest.mark.parametrize("url", ["/t/echo%00", "/t/echo?name=a%00b", "/t/echo?a%00=1"])
def test_nul_character_in_the_url_is_400(user_client, url):
    response = user_client.get(url)
    body = assert_error_shape(response, 400, "bad_request")
    assert body["detail"] == "The URL contains a NUL character."


def test_nul_character_in_a_json_string_is_a_validation_error(user_client):
    response = user_client.post("/t/echo", {"name": "a\x00b", "count": 1})
    body = assert_error_shape(response, 400, "invalid")
    assert body["errors"] == {"name": ["Null characters are not allowed."]}


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_json_nested_too_deep_is_400_before_authentication(depth):
    """A body nested 1,000 deep was a RecursionError (a 500) in the input middleware."""
    raw = "[" * depth + "]" * depth
    response = Client().generic(
        "POST", "/api/v1/auth/token", '{"a": ' + raw + "}", content_type="application/json"
    )
    body = assert_error_shape(response, 400, "parse_error")
    assert body["detail"] == "JSON parse error - nested deeper than 32 levels."


def test_json_nested_to_the_limit_reaches_the_view(api_client):
    raw = '{"a": ' + "[" * 31 + "]" * 31 + "}"
    response = api_client.generic(
        "POST", "/api/v1/auth/token", raw, content_type="application/json"
    )
    body = assert_error_shape(response, 400, "invalid")
    assert set(body["errors"]) == {"username", "password"}
