"""X-Request-ID: generated, echoed when well formed, replaced when not; carried by log lines."""

import logging
import re

import pytest
from django.conf import settings
from django.test import AsyncClient

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.urls")]
GENERATED = re.compile(r"^[0-9a-f]{32}$")


def test_request_id_is_generated_when_the_client_sends_none(api_client):
    response = api_client.get("/health")
    assert GENERATED.match(response["X-Request-ID"])


def test_each_request_gets_its_own_generated_id(api_client):
    first = api_client.get("/health")["X-Request-ID"]
    second = api_client.get("/health")["X-Request-ID"]
    assert first != second


def test_well_formed_client_request_id_is_echoed(api_client):
    response = api_client.get("/health", HTTP_X_REQUEST_ID="ci-run-42.step:7")
    assert response["X-Request-ID"] == "ci-run-42.step:7"


@pytest.mark.parametrize(
    "offered", ["has spaces", "x" * 129, "<script>", "-starts-with-dash", "line\nbreak", ""]
)
def test_malformed_client_request_id_is_replaced(api_client, offered):
    response = api_client.get("/health", HTTP_X_REQUEST_ID=offered)
    assert GENERATED.match(response["X-Request-ID"])


def test_error_responses_carry_the_request_id_in_header_and_body(api_client):
    response = api_client.get("/no/such/page", HTTP_X_REQUEST_ID="trace-404")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "trace-404"
    assert response.json()["request_id"] == "trace-404"


def test_log_lines_of_a_request_carry_its_id(api_client, caplog):
    caplog.set_level(logging.INFO)
    api_client.get("/no/such/page", HTTP_X_REQUEST_ID="trace-logs")
    request_records = [r for r in caplog.records if r.name in ("pggit.access", "django.request")]
    assert [r.name for r in request_records] == ["pggit.access", "django.request"]
    assert {r.request_id for r in request_records} == {"trace-logs"}


def test_log_lines_after_the_request_carry_no_id(api_client, caplog):
    api_client.get("/health", HTTP_X_REQUEST_ID="trace-done")
    with caplog.at_level(logging.INFO):
        logging.getLogger("pggit.test").info("after the request")
    assert caplog.records[-1].request_id == "-"


@pytest.mark.asyncio
async def test_log_lines_of_a_request_served_over_asgi_carry_its_id(caplog):
    caplog.set_level(logging.INFO)
    response = await AsyncClient().get("/no/such/page", headers={"X-Request-ID": "trace-asgi"})
    assert response.status_code == 404
    assert response["X-Request-ID"] == "trace-asgi"
    request_records = [r for r in caplog.records if r.name in ("pggit.access", "django.request")]
    assert sorted(r.name for r in request_records) == ["django.request", "pggit.access"]
    assert {r.request_id for r in request_records} == {"trace-asgi"}


def test_formatted_log_line_names_the_request_id(api_client, caplog):
    caplog.set_level(logging.INFO)
    api_client.get("/health", HTTP_X_REQUEST_ID="trace-format")
    [access] = [r for r in caplog.records if r.name == "pggit.access"]
    formatter = logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"])
    assert "[request_id=trace-format] GET /health 200 " in formatter.format(access)
