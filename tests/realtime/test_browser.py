"""The live operations page in a real headless Chromium (Debian's package, driven by Playwright):
log in, open the page from the admin, see a test alert appear without a reload, acknowledge it,
and see a DDL statement run in psql appear in the event stream.

Skipped, saying why, only when /usr/bin/chromium is absent and PGGIT_REQUIRE_BROWSER is not set
(CI sets it and installs the browser: .ci/run). Needs DATABASE_URL and REDIS_URL like the other
server-process tests."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.cachemgmt.live import PASSWORD, STAFF
from tests.realtime.live import psql, wait_for_log

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 20_000


@pytest.fixture
def chromium_path() -> str:
    if not CHROMIUM.exists():
        if os.environ.get("PGGIT_REQUIRE_BROWSER"):
            pytest.fail(
                f"PGGIT_REQUIRE_BROWSER is set but {CHROMIUM} is missing: "
                "apt-get install -y chromium chromium-driver"
            )
        pytest.skip(
            f"{CHROMIUM} is absent (apt-get install -y chromium chromium-driver); "
            "set PGGIT_REQUIRE_BROWSER=1 to make this a failure"
        )
    return str(CHROMIUM)


def test_the_live_page_shows_alerts_and_ddl_as_they_happen(processes, chromium_path):
    from playwright.sync_api import expect, sync_playwright

    # DJANGO_DEBUG=1: the server serves the page's static files itself, and its session cookie
    # is not Secure-only (this server speaks plain HTTP on 127.0.0.1)
    web = processes.server("web", DJANGO_DEBUG="1")
    listener = processes.listener()
    wait_for_log(listener, "pggit_listen is the active listener")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{web.base_url}/admin/login/?next=/admin/")
            page.fill("#id_username", STAFF)
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.click("text=Live operations")
            expect(page.locator("#connection-state")).to_have_attribute("data-state", "live")
            page.evaluate("window.__notReloaded = true")

            # a test alert goes through the whole pipeline (API -> outbox -> listener -> socket)
            response = httpx.post(
                f"{web.base_url}/api/v1/alerts/test",
                headers={"Authorization": f"Bearer {web.token}"},
                timeout=15,
            )
            assert response.status_code in (200, 201), response.text
            alert_id = response.json()["id"]
            row = page.locator(f'#open-alerts tr[data-alert-id="{alert_id}"]')
            expect(row).to_have_attribute("data-status", "firing")
            fired = page.locator('#event-stream li[data-event-type="alert.fired"]')
            expect(fired.first).to_contain_text(f"(#{alert_id})")

            row.locator('button[data-action="acknowledge"]').click()
            expect(row).to_have_attribute("data-status", "acknowledged")
            expect(page.locator("#action-message")).to_have_text(
                f"Alert #{alert_id}: acknowledged."
            )
            alert = httpx.get(
                f"{web.base_url}/api/v1/alerts/{alert_id}",
                headers={"Authorization": f"Bearer {web.token}"},
            ).json()
            assert alert["status"] == "acknowledged"
            assert alert["acknowledged_by"] == STAFF

            psql(processes.database.url, "CREATE TABLE public.browser_probe (id integer)")
            ddl = page.locator('#event-stream li[data-event-type="ddl.captured"]')
            expect(ddl.first).to_contain_text("CREATE TABLE")
            expect(page.locator("#head-line")).to_contain_text("working change")
            assert page.evaluate("window.__notReloaded") is True
        finally:
            browser.close()
    assert "Traceback" not in web.log()
