"""The engine's ``schema`` check in /health/deep: installed, HEAD, capture on."""

import pytest
from django.db import connection

from pggit_project import __version__, health

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def schema_check_only(monkeypatch):
    """Only the checks this file is about (others need their processes running)."""
    registry = {name: c for name, c in health._registry.items() if name in {"database", "schema"}}
    monkeypatch.setattr(health, "_registry", registry)


def test_schema_check_reports_the_installed_engine_with_capture_on(staff_client):
    body = staff_client.get("/health/deep").json()
    assert body["status"] == "healthy"
    schema = body["checks"]["schema"]
    assert {k: v for k, v in schema.items() if k != "duration_ms"} == {
        "status": "healthy",
        "installed": True,
        "version": __version__,
        "head": "main",
        "capture_enabled": True,
        "event_triggers": 2,
    }


def test_capture_switched_off_globally_is_degraded_not_unhealthy(staff_client, api_client):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pggit.set_capture(false, 'global')")
    response = staff_client.get("/health/deep")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["schema"]["status"] == "degraded"
    assert response.json()["checks"]["schema"]["capture_enabled"] is False
    assert api_client.get("/health/deep").json()["checks"]["schema"] == {"status": "degraded"}


def test_a_missing_engine_is_unhealthy(staff_client):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE pggit.head RENAME TO head_moved")
    response = staff_client.get("/health/deep")
    assert response.status_code == 503
    assert response.json()["checks"]["schema"]["status"] == "unhealthy"
