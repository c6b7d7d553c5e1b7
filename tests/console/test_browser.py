"""The console in a real headless Chromium (Debian's package, driven by Playwright), against real
server processes: log in -> working changes -> commit -> create a branch -> check it out with
confirmation -> the commit graph -> an object's history -> a merge with a conflict resolved in the
browser (MANUAL_REVIEW, a custom definition), completed -> the revert's dry run of the merge.

With ``PGGIT_SCREENSHOT_DIR`` set, the walk saves a screenshot of each main page there (what
``docs/console_screenshots.py`` runs for docs/console.md). Skipped, saying why, only when
/usr/bin/chromium is absent and PGGIT_REQUIRE_BROWSER is not set (CI sets it: .ci/run). Needs
DATABASE_URL and REDIS_URL like the other server-process tests."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tests.cachemgmt.live import PASSWORD, STAFF
from tests.realtime import test_browser as live_page_browser
from tests.realtime.test_browser import CHROMIUM_ARGS, TIMEOUT_MS

chromium_path = live_page_browser.chromium_path  # the fixture: /usr/bin/chromium or a skip


@pytest.fixture(scope="module")
def console_database(django_db_setup, django_db_blocker):
    from tests.cachemgmt.live import create_live_database, drop_live_database

    if not (os.environ.get("DATABASE_URL") and settings.REDIS_URL):
        pytest.skip("server-process tests need DATABASE_URL and REDIS_URL")
    database = create_live_database("console")
    yield database
    drop_live_database(database)


@pytest.fixture
def console_server(console_database, tmp_path):
    from tests.cachemgmt import live as helpers

    # DJANGO_DEBUG=1: the server serves the admin's static files itself, and its session cookie
    # is not Secure-only (this server speaks plain HTTP on 127.0.0.1)
    env = {**console_database.env, "DJANGO_DEBUG": "1"}
    server = helpers.start_server(env, tmp_path / "web.log")
    yield server
    server.stop()


def run_sql(url: str, *statements: str) -> None:
    """DDL from a session of its own, as a DBA in psql would run it."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET application_name = 'psql'")
        for statement in statements:
            conn.execute(statement)


def test_an_operator_walks_the_console_in_a_browser(
    console_server, console_database, chromium_path
):
    from playwright.sync_api import expect, sync_playwright

    shots = os.environ.get("PGGIT_SCREENSHOT_DIR")
    base = console_server.base_url
    # a committed table to start from, then a working change to commit in the browser
    run_sql(console_database.url, "CREATE TABLE public.accounts (id integer PRIMARY KEY)")
    api = console_server.client()
    assert api.post("/api/v1/commits", json={"message": "add accounts"}).status_code == 201
    run_sql(
        console_database.url,
        "CREATE TABLE public.orders (id integer, account integer)",
        "ALTER TABLE public.accounts ADD COLUMN email text",
    )

    def snap(page, name: str) -> None:
        if shots:
            page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{base}/")
            snap(page, "landing")
            page.click("text=Console")
            page.fill("#id_username", STAFF)
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            snap(page, "admin-index")

            # working changes: each with its statement, actor and diff
            page.click("#version-control-console >> text=Working changes")
            expect(page.locator("#head-status")).to_contain_text("working change(s) not committed")
            orders = page.locator('section.change[data-object="public.orders"]')
            expect(orders.locator("pre.statement")).to_contain_text("CREATE TABLE public.orders")
            expect(orders.locator(".d-add").first).to_contain_text("+CREATE TABLE public.orders")
            snap(page, "working-changes")

            # commit
            page.fill("#commit-message", "orders, and accounts get an email")
            page.click("#commit-form input[type=submit]")
            expect(page.locator(".messagelist")).to_contain_text("Committed ")
            expect(page.locator("#migration-script")).to_contain_text(
                "ALTER TABLE public.accounts ADD COLUMN email text"
            )
            expect(page.locator("section.change")).to_have_count(2)
            snap(page, "commit")

            # create a branch at the commit before
            page.click("nav.vcs-nav >> text=Branches")
            page.fill("#branch-name", "before-orders")
            page.fill("#branch-from", "HEAD~1")
            page.click("#branch-create input[type=submit]")
            expect(page.locator(".messagelist")).to_contain_text(
                "Created branch before-orders from HEAD~1"
            )
            row = page.locator('tr[data-branch="before-orders"]')
            expect(row).to_be_visible()
            snap(page, "branches")

            # check it out: the preview first, then the confirmation
            row.locator("text=Check out…").click()
            expect(page.locator("#checkout-plan")).to_contain_text("DROP TABLE")
            expect(page.locator("#checkout-findings")).to_contain_text("No data would be lost")
            snap(page, "checkout-preview")
            page.click("#checkout-form input[type=submit]")  # not confirmed: the browser refuses
            expect(page).to_have_url(f"{base}/admin/console/branches/before-orders/checkout/")
            page.check("#confirm-checkout")
            page.click("#checkout-form input[type=submit]")

            # the graph: HEAD moved; the commit holds the branch heads
            expect(page.locator(".messagelist")).to_contain_text("Switched to branch before-orders")
            graph = page.locator("svg.commit-graph")
            expect(graph).to_contain_text("HEAD → before-orders")
            expect(graph).to_contain_text("main")
            expect(page.locator("a.commit-node")).to_have_count(3)
            snap(page, "graph")
            page.locator("a.commit-node", has_text="orders, and accounts get an email").click()
            expect(page.locator("#commit-hash")).to_be_visible()

            # an object's history: accounts changed in both commits
            page.click("nav.vcs-nav >> text=Objects")
            page.get_by_role("link", name="table:public.accounts", exact=True).click()
            expect(page.locator("#history > li")).to_have_count(2)
            expect(page.locator("#history")).to_contain_text("orders, and accounts get an email")
            expect(page.locator("#definition")).not_to_contain_text("email")  # HEAD~1's table
            snap(page, "object")

            # a change on before-orders that conflicts with main's: merge main into it
            run_sql(console_database.url, "ALTER TABLE public.accounts ADD COLUMN phone text")
            committed = api.post("/api/v1/commits", json={"message": "accounts get a phone"})
            assert committed.status_code == 201
            page.click("nav.vcs-nav >> text=Branches")
            page.locator('tr[data-branch="main"]').locator("text=Merge into before-orders…").click()
            expect(page.locator("#merge-outcome")).to_contain_text("1 conflict(s)")
            page.select_option("#merge-strategy", "MANUAL_REVIEW")
            page.click("#merge-preview-form input[type=submit]")
            expect(page.locator("#merge-outcome")).to_contain_text("stay open")
            orders_added = '#merge-preview section.change[data-object="table:public.orders"]'
            expect(page.locator(orders_added)).to_contain_text("ADDED")
            snap(page, "merge-preview")
            page.check("#confirm-merge")
            page.click("#merge-form input[type=submit]")
            expect(page.locator(".messagelist")).to_contain_text("1 conflict(s) to resolve")
            conflict = page.locator("#conflict-1")
            expect(conflict.locator("pre.side-target")).to_contain_text("phone")
            expect(conflict.locator("pre.side-source")).to_contain_text("email")
            conflict.locator("input[value=CUSTOM]").check()
            conflict.locator("textarea").fill("ALTER TABLE public.accounts ADD COLUMN email text")
            snap(page, "merge-conflict")
            conflict.locator("input[type=submit]").click()
            expect(page.locator(".messagelist")).to_contain_text("resolved as CUSTOM; 0 unresolved")
            expect(page.locator("#completion-plan")).to_contain_text("CREATE TABLE public.orders")
            page.click("#merge-complete input[type=submit]")
            expect(page.locator(".messagelist")).to_contain_text("Merged main into before-orders")
            expect(page.locator("#merge-status")).to_have_text("completed")

            # the graph draws the merge; its commit offers a revert, the dry run first
            page.click("nav.vcs-nav >> text=Commit graph")
            expect(page.locator('a.commit-node[data-merge="true"]')).to_have_count(1)
            snap(page, "graph-merge")
            page.locator('a.commit-node[data-merge="true"]').click()
            page.click("#revert-link input[type=submit]")
            expect(page.locator("#mainline")).to_contain_text("mainline 1")
            expect(page.locator("#rollback-script")).to_contain_text("DROP TABLE")
            expect(page.locator("#rollback-confirm")).to_be_visible()
            snap(page, "revert-dry-run")
        finally:
            browser.close()

    status = api.get("/api/v1/status").json()
    assert (status["branch"], status["clean"]) == ("before-orders", True)
    merge = api.get("/api/v1/merges").json()["items"][0]
    assert (merge["status"], merge["created_by"]) == ("completed", STAFF)
    assert status["commit"] == merge["result_commit"]  # the revert was a dry run only
    # the checkout's DDL in the engine's audit trail, with the console user as actor
    audit = api.get("/api/v1/audit", params={"actor": STAFF}).json()["items"]
    assert sorted(
        entry["command_tag"] for entry in audit if entry["engine_operation"] == "checkout"
    ) == ["ALTER TABLE", "DROP TABLE"]
    assert "Traceback" not in console_server.log()
