"""The version-control console in the admin: every page rendered with data (a history with a
merge drawn in the graph), every action posted with and without permission (a viewer sees no
action and gets 403), each action through the API's services, in the admin's history and in the
engine's audit trail with the acting user."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.db import connection

from tests.console.clients import browser, ddl
from vcs import selectors, services
from vcs.console import graph
from vcs.models import Branch, Commit

pytestmark = pytest.mark.django_db
BASE = "/admin/console/"


@pytest.fixture
def admin_browser(db):
    return browser("admin", "console-admin")


@pytest.fixture
def operator_browser(db):
    return browser("operator", "console-operator")


@pytest.fixture
def viewer_browser(db):
    return browser("viewer", "console-viewer")


def operations(name: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT branch, actor, success FROM pggit.operations WHERE operation = %s ORDER BY id",
            [name],
        )
        return cursor.fetchall()


def history_with_a_merge() -> dict[str, str]:
    """main: accounts; feature: accounts.email; main: orders; a merge commit of both on main
    (pggit.merge: two parents, the live schema migrated)."""
    ddl("CREATE TABLE public.accounts (id integer PRIMARY KEY)")
    first = services.commit_create(message="add accounts", author=None, actor="alice")
    services.branch_create(name="feature", from_ref="HEAD", actor="alice")
    services.branch_checkout(name="feature", force=False, actor="alice")
    ddl("ALTER TABLE public.accounts ADD COLUMN email text")
    on_feature = services.commit_create(message="accounts get email", author=None, actor="bob")
    services.branch_checkout(name="main", force=False, actor="alice")
    ddl("CREATE TABLE public.orders (id integer)")
    on_main = services.commit_create(message="add orders", author=None, actor="alice")
    merged = services.merge_create(
        source="feature",
        target="main",
        strategy="ABORT_ON_CONFLICT",
        message="merge feature",
        force=False,
        actor="alice",
    )
    assert merged["status"] == "completed"
    return {
        "first": first,
        "feature": on_feature,
        "main": on_main,
        "merge": merged["result_commit"],
    }


def test_the_admin_index_links_the_console(admin_browser):
    page = admin_browser.get("/admin/").content.decode()
    for path in ("", "graph/", "branches/", "objects/", "schema/"):
        assert f'href="{BASE}{path}"' in page
    assert "Live operations" in page  # the live page's link stays


def test_working_changes_show_statement_actor_and_diff_then_commit(admin_browser):
    ddl("CREATE TABLE public.accounts (id integer)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pggit.actor', 'carol', false)")
        cursor.execute("ALTER TABLE public.accounts ADD COLUMN name text")
        cursor.execute("SELECT set_config('pggit.actor', '', false)")

    page = admin_browser.get(BASE).content.decode()
    assert "<strong>1</strong> working change(s)" in page
    assert "ALTER TABLE public.accounts ADD COLUMN name text" in page
    assert "by <strong>carol</strong>" in page
    assert '<span class="d-add">+CREATE TABLE public.accounts (' in page
    assert 'id="commit-form"' in page

    response = admin_browser.post(f"{BASE}commit/", {"message": "accounts with names"})
    commit = Commit.objects.get(message="accounts with names")
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}commits/{commit.hash}/"
    assert commit.author == "console-admin"
    assert selectors.status_get()["clean"] is True
    entry = LogEntry.objects.get(object_id=str(commit.pk), content_type__model="commit")
    assert (entry.user.username, entry.action_flag) == ("console-admin", ADDITION)
    assert entry.change_message == "Committed: accounts with names"
    assert operations("commit")[-1] == ("main", "console-admin", True)
    assert "Nothing to commit" in admin_browser.get(BASE).content.decode()


def test_an_empty_commit_message_or_nothing_to_commit_is_said_not_failed(admin_browser):
    refused = admin_browser.post(f"{BASE}commit/", {"message": "  "}, follow=True)
    assert "A commit needs a message." in refused.content.decode()
    nothing = admin_browser.post(f"{BASE}commit/", {"message": "nothing"}, follow=True)
    assert "Not committed: " in nothing.content.decode()
    assert not Commit.objects.filter(message="nothing").exists()


def test_the_commit_page_has_per_object_diffs_script_and_parent_links(admin_browser):
    refs = history_with_a_merge()
    page = admin_browser.get(f"{BASE}commits/{refs['feature']}/").content.decode()
    assert f'<code id="commit-hash">{refs["feature"]}</code>' in page
    assert f'href="{BASE}commits/{refs["first"]}/"' in page  # parent linked
    assert '<span class="d-add">+    email text' in page or "+    email text" in page
    assert re.search(r'<span class="d-del">-.*\n?', page)
    script = re.search(r'<pre class="script" id="migration-script">(.*?)</pre>', page, re.S)
    assert "ALTER TABLE public.accounts ADD COLUMN email text" in script.group(1)
    assert '<span class="branch-label">feature</span>' in page

    root = Commit.objects.get(kind="root")
    root_page = admin_browser.get(f"{BASE}commits/{root.hash}/").content.decode()
    assert "(root commit)" in root_page and "The root commit" in root_page
    assert admin_browser.get(f"{BASE}commits/nosuchref/").status_code == 404


def test_the_graph_marks_heads_head_and_merges_and_links_every_commit(admin_browser):
    refs = history_with_a_merge()
    # lanes of a merge: the merge commit's second parent gets a lane of its own
    merge = graph.layout(
        [
            FakeCommit("m", ["b", "f"]),
            FakeCommit("b", ["a"]),
            FakeCommit("f", ["a"]),
            FakeCommit("a", []),
        ]
    )
    assert [(n.hash, n.lane) for n in merge] == [("m", 0), ("b", 0), ("f", 1), ("a", 0)]

    page = admin_browser.get(f"{BASE}graph/").content.decode()
    svg = re.search(r"<svg.*</svg>", page, re.S).group(0)
    links = re.findall(r'<a href="([^"]+)" class="commit-node" data-commit="(\w+)"', svg)
    assert len(links) == Commit.objects.count() == 5
    assert all(href == f"{BASE}commits/{h}/" for href, h in links)
    assert svg.count('data-merge="true"') == 1  # the merge commit, drawn as a diamond
    assert svg.count('class="merge-edge"') == 1  # its second parent's edge
    assert "HEAD → main" in svg
    assert '<text x="' in svg and ">feature</text>" in svg
    # feature's commit is on a lane of its own (x differs from main's commits)
    xs = dict(re.findall(r'data-commit="(\w+)"[^>]*><title>[^<]*</title><circle cx="(\d+)"', svg))
    assert xs[refs["feature"]] != xs[refs["main"]]


class FakeCommit:
    def __init__(self, hash, parents):
        from datetime import UTC, datetime

        self.hash, self.parents, self.message, self.author = hash, parents, f"c {hash}", "x"
        self.committed_at = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_graph_draws_a_merge_commit_as_a_diamond():
    svg = graph.render(
        [
            FakeCommit("m" * 64, ["b" * 64, "f" * 64]),
            FakeCommit("b" * 64, []),
            FakeCommit("f" * 64, []),
        ],
        heads={"m" * 64: ["main"]},
        head_branch="main",
        link=lambda h: f"/c/{h}",
    )
    assert svg.count('data-merge="true"') == 1
    assert svg.count('class="merge-edge"') == 1
    assert 'transform="rotate(45' in svg


def test_objects_list_definition_history_with_diffs_and_blame(admin_browser):
    refs = history_with_a_merge()
    listing = admin_browser.get(f"{BASE}objects/").content.decode()
    key = next(o.object_key for o in selectors.object_queryset() if o.object_name == "accounts")
    assert f'href="{BASE}objects/{key}/"' in listing

    page = admin_browser.get(f"{BASE}objects/{key}/").content.decode()
    assert "CREATE TABLE public.accounts" in page
    history = re.findall(r'<li data-commit="(\w+)">', page)
    assert history == [refs["merge"], refs["feature"], refs["first"]]  # newest first
    assert "+    email text" in page
    blame = re.findall(r'<td class="who"><a href="[^"]+"><code>(\w+)</code></a> (\w+)</td>', page)
    # HEAD is main after the merge: the email column's line comes from feature's commit (bob's,
    # through the merge's second parent), every other line from the first commit
    assert {(h, who) for h, who in blame} == {
        (refs["first"][:8], "alice"),
        (refs["feature"][:8], "bob"),
    }
    # feature wrote two lines: the email column and the comma it added to the line before it
    assert [h for h, _ in blame].count(refs["feature"][:8]) == 2
    assert "not committed" not in page
    assert admin_browser.get(f"{BASE}objects/table:public.nosuch/").status_code == 404


def test_blame_attributes_each_line_to_the_commit_that_introduced_it():
    ddl("CREATE TABLE public.people (id integer)")
    first = services.commit_create(message="people", author=None, actor="alice")
    ddl("ALTER TABLE public.people ADD COLUMN name text")
    second = services.commit_create(message="names", author=None, actor="bob")
    obj = next(o for o in selectors.object_queryset() if o.object_name == "people")
    definition = selectors.object_definition(obj)
    rows = selectors.object_blame(obj.object_key, definition)
    by_line = {row["line"].strip(): row["commit"] for row in rows}
    assert "\n".join(row["line"] for row in rows) == definition.rstrip("\n")
    name_line = next(k for k in by_line if k.startswith("name text"))
    # "id integer" became "id integer," when name was added: that line is the second commit's
    assert by_line["CREATE TABLE public.people ("]["commit_hash"] == first
    assert by_line["id integer,"]["commit_hash"] == second
    assert by_line[name_line]["commit_hash"] == second
    assert by_line[name_line]["author"] == "bob"
    # a line the history does not have (a definition not committed yet) has no commit
    edited = selectors.object_blame(obj.object_key, definition.rstrip("\n") + "\n-- edited")
    assert edited[-1] == {"line": "-- edited", "commit": None}


def test_branch_actions_go_through_the_services_and_the_logs(admin_browser):
    ddl("CREATE TABLE public.accounts (id integer)")
    services.commit_create(message="accounts", author=None, actor="alice")

    page = admin_browser.get(f"{BASE}branches/").content.decode()
    assert 'id="branch-create"' in page and "HEAD → main" in page
    created = admin_browser.post(f"{BASE}branches/new/", {"name": "feature/x", "from_ref": "HEAD"})
    assert created.status_code == 302
    branch = Branch.objects.get(name="feature/x", status="ACTIVE")
    assert branch.created_by == "console-admin"

    admin_browser.post(f"{BASE}branches/feature/x/protect/", {"protected": "true"})
    assert Branch.objects.get(pk=branch.pk).protected is True
    refused = admin_browser.post(f"{BASE}branches/feature/x/delete/", follow=True)
    assert "Not deleted: branch &#x27;feature/x&#x27; is protected" in refused.content.decode()
    admin_browser.post(f"{BASE}branches/feature/x/protect/", {"protected": "false"})
    admin_browser.post(f"{BASE}branches/feature/x/rename/", {"new_name": "feature/y"})
    assert Branch.objects.get(pk=branch.pk).name == "feature/y"
    admin_browser.post(f"{BASE}branches/feature/y/delete/")
    assert Branch.objects.get(pk=branch.pk).status == "DELETED"

    entries = LogEntry.objects.filter(object_id=str(branch.pk)).order_by("id")
    assert [(e.action_flag, e.change_message) for e in entries] == [
        (ADDITION, "Created branch feature/x from HEAD"),
        (CHANGE, "Protected feature/x"),
        (CHANGE, "Unprotected feature/x"),
        (CHANGE, "Renamed feature/x to feature/y"),
        (DELETION, "Deleted branch feature/y"),
    ]
    assert operations("branch_create")[-1] == ("feature/x", "console-admin", True)
    assert operations("branch_rename")[-1] == ("feature/y", "console-admin", True)
    assert operations("branch_delete")[-1] == ("feature/y", "console-admin", True)

    bad = admin_browser.post(f"{BASE}branches/new/", {"name": "bad name!", "from_ref": "HEAD"})
    assert bad.status_code == 302
    assert admin_browser.post(f"{BASE}branches/nosuch/delete/").status_code == 404


def test_checkout_previews_the_migration_then_runs_it_confirmed(admin_browser):
    ddl("CREATE TABLE public.accounts (id integer)")
    services.commit_create(message="accounts", author=None, actor="alice")
    services.branch_create(name="empty", from_ref="HEAD~1", actor="alice")
    ddl("INSERT INTO public.accounts VALUES (1)")

    preview = admin_browser.get(f"{BASE}branches/empty/checkout/").content.decode()
    plan = re.search(r'<pre class="script" id="checkout-plan">(.*?)</pre>', preview, re.S).group(1)
    assert plan == "-- step 1 (drop table:public.accounts)\nDROP TABLE IF EXISTS public.accounts;\n"
    assert "Data loss: " in preview and "public.accounts holds rows" in preview
    assert 'id="force-checkout"' in preview

    unconfirmed = admin_browser.post(f"{BASE}branches/empty/checkout/", {}, follow=True)
    assert "Confirm the checkout first." in unconfirmed.content.decode()
    refused = admin_browser.post(f"{BASE}branches/empty/checkout/", {"confirm": "yes"}, follow=True)
    assert "Not checked out: checkout of empty refused" in refused.content.decode()
    assert selectors.status_get()["branch"] == "main"

    done = admin_browser.post(
        f"{BASE}branches/empty/checkout/", {"confirm": "yes", "force": "true"}, follow=True
    )
    assert (
        "Switched to branch empty" in done.content.decode() and "(forced)" in done.content.decode()
    )
    assert selectors.status_get()["branch"] == "empty"
    assert operations("checkout")[-1] == ("empty", "console-admin", True)
    branch = Branch.objects.get(name="empty", status="ACTIVE")
    assert LogEntry.objects.filter(
        object_id=str(branch.pk), change_message__startswith="Checked out empty (forced)"
    ).exists()


def test_schema_at_a_ref_shows_and_downloads_sql(admin_browser):
    ddl("CREATE TABLE public.accounts (id integer)")
    commit = services.commit_create(message="accounts", author=None, actor="alice")
    page = admin_browser.get(f"{BASE}schema/", {"at": commit}).content.decode()
    assert "CREATE TABLE public.accounts" in page
    download = admin_browser.get(f"{BASE}schema/", {"at": "HEAD~1", "download": "1"})
    assert download["Content-Type"] == "application/sql; charset=utf-8"
    assert download["Content-Disposition"] == 'attachment; filename="schema-HEAD_1.sql"'
    assert "public.accounts" not in download.content.decode()
    unknown = admin_browser.get(f"{BASE}schema/", {"at": "nosuchref"})
    assert unknown.status_code == 200
    assert "No schema at &#x27;nosuchref&#x27;" in unknown.content.decode()


def test_a_viewer_sees_no_action_and_gets_403_posting(viewer_browser):
    ddl("CREATE TABLE public.accounts (id integer)")
    services.commit_create(message="accounts", author=None, actor="alice")
    services.branch_create(name="other", from_ref="HEAD", actor="alice")
    ddl("CREATE TABLE public.pending (id integer)")
    pages = {
        "": 'id="commit-form"',
        "branches/": 'id="branch-create"',
        "branches/other/checkout/": 'id="checkout-form"',
    }
    for page, form in pages.items():
        response = viewer_browser.get(BASE + page)
        assert response.status_code == 200, page
        assert form not in response.content.decode()
    assert "Check out…" not in viewer_browser.get(f"{BASE}branches/").content.decode()
    for page in ("graph/", "objects/", "schema/"):
        assert viewer_browser.get(BASE + page).status_code == 200

    posts = {
        "commit/": {"message": "no"},
        "branches/new/": {"name": "nope"},
        "branches/other/rename/": {"new_name": "x"},
        "branches/other/protect/": {"protected": "true"},
        "branches/other/delete/": {},
        "branches/other/checkout/": {"confirm": "yes"},
    }
    for page, data in posts.items():
        assert viewer_browser.post(BASE + page, data).status_code == 403, page
    assert not Commit.objects.filter(message="no").exists()
    assert Branch.objects.get(name="other").status == "ACTIVE"
    assert selectors.status_get()["branch"] == "main"


def test_an_operator_checks_out_but_forcing_needs_the_reset_permission(db):
    operator = browser("operator", "console-op")
    user = get_user_model().objects.get(username="console-op")
    from django.contrib.auth.models import Permission

    user.groups.clear()
    for codename in ("view_branch", "view_commit", "checkout_branch"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    services.branch_create(name="other", from_ref="HEAD", actor="alice")
    ddl("CREATE TABLE public.pending (id integer)")
    preview = operator.get(f"{BASE}branches/other/checkout/").content.decode()
    assert 'id="checkout-form"' in preview and 'id="force-checkout"' not in preview
    forced = operator.post(f"{BASE}branches/other/checkout/", {"confirm": "yes", "force": "true"})
    assert forced.status_code == 403
    assert selectors.status_get()["branch"] == "main"


def test_the_api_refuses_force_without_the_reset_permission(db):
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    from tests.conftest import PASSWORD, bearer

    user = get_user_model().objects.create_user("checkout-only", password=PASSWORD)
    for codename in ("view_branch", "checkout_branch"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    services.branch_create(name="other", from_ref="HEAD", actor="alice")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(user))
    forced = client.post("/api/v1/branches/other/checkout", {"force": True}, format="json")
    assert forced.status_code == 403
    plain = client.post("/api/v1/branches/other/checkout", {"force": False}, format="json")
    assert plain.status_code == 200
    assert plain.json()["branch"] == "other"


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get(f"{BASE}graph/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def sections(page: str) -> list[str]:
    return re.findall(r'<section class="change" data-object="([^"]+)"', page)


def test_working_changes_commits_and_objects_are_paged(admin_browser, monkeypatch):
    from vcs.console import views

    monkeypatch.setattr(views, "CHANGES_PER_PAGE", 4)
    monkeypatch.setattr(views, "OBJECTS_PER_PAGE", 4)
    for n in range(10):
        ddl(f"CREATE TABLE public.paged_{n} (id integer)")

    first = admin_browser.get(BASE).content.decode()
    last = admin_browser.get(BASE, {"page": "3"}).content.decode()
    assert "<strong>10</strong> working change(s)" in first
    assert len(sections(first)) == 4 and len(sections(last)) == 2
    assert "1 to 4 of 10 (page 1 of 3)" in first and "9 to 10 of 10 (page 3 of 3)" in last
    assert 'href="?page=2" rel="next"' in first and 'rel="next"' not in last
    every = [*sections(first), *sections(admin_browser.get(BASE, {"page": "2"}).content.decode())]
    assert len(set(every + sections(last))) == 10  # no change shown twice, none left out
    # the migration script still covers every change
    assert all(f"public.paged_{n}" in first.split("Migration script")[1] for n in range(10))

    commit_hash = services.commit_create(message="ten tables", author=None, actor="alice")
    commit_page = admin_browser.get(f"{BASE}commits/{commit_hash}/", {"page": "2"}).content
    assert "10 changed object(s)" in commit_page.decode()
    assert len(sections(commit_page.decode())) == 4
    assert "5 to 8 of 10 (page 2 of 3)" in commit_page.decode()

    objects = admin_browser.get(f"{BASE}objects/", {"kind": "table", "page": "2"}).content.decode()
    listed = re.findall(r'<tr><td><a href="[^"]+">(table:public\.paged_\d+)</a>', objects)
    assert len(listed) == 4
    assert 'href="?kind=table&amp;page=3" rel="next"' in objects
    # a page number beyond the end shows the last page rather than an error
    assert admin_browser.get(BASE, {"page": "99"}).status_code == 200
