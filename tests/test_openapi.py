"""The committed OpenAPI schema (docs/openapi.yaml) matches the code."""

from pathlib import Path

import jsonschema
import pytest
from django.conf import settings
from django.core.management import call_command

REGENERATE = (
    "make schema  (or: .venv/bin/python manage.py spectacular --validate --file docs/openapi.yaml)"
)


def test_committed_openapi_schema_is_current(tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--file", str(generated))
    committed = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"
    assert committed.exists(), f"docs/openapi.yaml is missing; generate it with: {REGENERATE}"
    assert generated.read_text() == committed.read_text(), (
        f"docs/openapi.yaml is out of date; regenerate it with: {REGENERATE}"
    )


def test_schema_documents_paths_without_trailing_slash_and_the_error_shape(tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(generated))
    text = generated.read_text()
    assert "  /api/v1/auth/token:\n" in text
    assert "  /api/v1/auth/token/:\n" not in text
    assert "$ref: '#/components/schemas/Error'" in text


def test_swagger_ui_and_redoc_are_served_to_authenticated_users(user_client, api_client):
    for path in ("/api/schema/swagger-ui", "/api/schema/redoc/"):
        assert user_client.get(path).status_code == 200
        assert api_client.get(path).status_code == 401


# Answers the API gave that its schema did not describe (issue 17, defect 11): each request, the
# operation it reaches (path template, method) and the status it answers.
UNDOCUMENTED_BEFORE = [
    ("get", "/api/v1/diff?from=HEAD&to=no-such-ref", "/api/v1/diff", 404),
    ("get", "/api/v1/diff?from=HEAD", "/api/v1/diff", 400),
    ("get", "/api/v1/schema?at=no-such-ref", "/api/v1/schema", 404),
    ("get", "/api/v1/performance/operations?hours=x", "/api/v1/performance/operations", 400),
    ("get", "/api/v1/commits?branch=no-such-branch", "/api/v1/commits", 404),
]


@pytest.fixture(scope="module")
def generated_schema(django_db_blocker) -> dict:
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def assert_documented(schema: dict, template: str, method: str, response) -> None:
    """The response's status is documented for the operation, and its JSON body conforms."""
    responses = schema["paths"][template][method]["responses"]
    code = str(response.status_code)
    assert code in responses, f"{method.upper()} {template} answered undocumented {code}"
    body_schema = responses[code]["content"]["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**body_schema, "components": schema["components"]})
    errors = [error.message for error in validator.iter_errors(response.json())]
    assert errors == [], (method, template, code, response.json())


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "template", "status"), UNDOCUMENTED_BEFORE)
def test_these_answers_are_documented(
    generated_schema, staff_client, method, url, template, status
):
    response = getattr(staff_client, method)(url)
    assert response.status_code == status, response.json()
    assert_documented(generated_schema, template, method, response)


@pytest.mark.django_db
def test_creating_a_branch_from_an_unknown_ref_is_a_documented_404(generated_schema, staff_client):
    response = staff_client.post(
        "/api/v1/branches", {"name": "feature", "from": "no-such-ref"}, format="json"
    )
    assert response.status_code == 404, response.json()
    assert_documented(generated_schema, "/api/v1/branches", "post", response)


@pytest.mark.django_db
def test_a_bad_token_on_deep_health_is_a_documented_401(generated_schema, api_client):
    response = api_client.get("/health/deep", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401
    assert_documented(generated_schema, "/health/deep", "get", response)


@pytest.mark.django_db
def test_errors_of_list_valued_fields_conform_to_the_error_schema(generated_schema, staff_client):
    """``errors.event_types`` and ``errors.matchers`` are objects or lists of objects, where the
    schema said a list of messages."""
    webhook = staff_client.post(
        "/api/v1/webhooks",
        {"name": "x", "url": "https://hooks.example.com/x", "event_types": ["nope"]},
        format="json",
    )
    assert webhook.status_code == 400
    assert webhook.json()["errors"]["event_types"] == {"0": ['"nope" is not a valid choice.']}
    assert_documented(generated_schema, "/api/v1/webhooks", "post", webhook)

    silence = staff_client.post(
        "/api/v1/alert-silences",
        {"matchers": [{}], "ends_at": "2099-01-01T00:00:00Z"},
        format="json",
    )
    assert silence.status_code == 400
    assert silence.json()["errors"]["matchers"] == {
        "0": {"name": ["This field is required."], "value": ["This field is required."]}
    }
    assert_documented(generated_schema, "/api/v1/alert-silences", "post", silence)
