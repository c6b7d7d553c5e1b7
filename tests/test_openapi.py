"""The committed OpenAPI schema (docs/openapi.yaml) matches the code."""

from pathlib import Path

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
