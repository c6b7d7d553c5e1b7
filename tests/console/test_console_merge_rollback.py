"""The console's merge, revert, reset and undo: every page rendered with data, every action posted
(happy paths and refusals), permissions checked exactly (a viewer sees no action and gets 403
posting; an operator may; force only with the reset permission), each action through the API's
services, in the admin's history and in the engine's operations with the console user."""

from __future__ import annotations

import html
import re

import psycopg
import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import connection

from tests.console.clients import browser, ddl
from vcs import selectors, services
from vcs.models import Commit, Merge, Rollback

pytestmark = pytest.mark.django_db
BASE = "/admin/console/"


def query(statement: str):
    with connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchall()


@pytest.fixture
def operator(db):
    return browser("operator", "console-op")


@pytest.fixture
def viewer(db):
    return browser("viewer", "console-viewer")


def operations(name: str) -> list[tuple]:
    return query(
        "SELECT branch, actor, success FROM pggit.operations "
        f"WHERE operation = '{name}' ORDER BY id"
    )


def text(response) -> str:
    return html.unescape(response.content.decode())


def plain(page: str) -> str:
    """The page's text without its tags."""
    return re.sub(r"<[^>]+>", "", page)


def statements(script: str) -> list[str]:
    """A migration script's statements (its header comment and settings left out)."""
    return [
        line
        for line in script.splitlines()
        if line and not line.startswith(("--", "SET check_function_bodies"))
    ]


def section(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(pre|ul|p|table)>', page, re.S)
    assert found, element_id
    return html.unescape(found.group(1))


def log_messages(model: str, object_id) -> list[tuple[int, str, str]]:
    return [
        (e.action_flag, e.user.username, e.change_message)
        for e in LogEntry.objects.filter(
            content_type__model=model, object_id=str(object_id)
        ).order_by("id")
    ]


def feature_adds_email() -> dict[str, str]:
    """main: customers (with a row); feature: customers.email; HEAD back on main."""
    ddl("CREATE TABLE public.customers (id integer PRIMARY KEY, name text)")
    base = services.commit_create(message="customers", author=None, actor="alice")
    services.branch_create(name="feature", from_ref="HEAD", actor="alice")
    services.branch_checkout(name="feature", force=False, actor="alice")
    ddl("ALTER TABLE public.customers ADD COLUMN email text")
    feature = services.commit_create(message="email column", author=None, actor="bob")
    services.branch_checkout(name="main", force=False, actor="alice")
    ddl("INSERT INTO public.customers VALUES (1, 'Ada')")
    return {"base": base, "feature": feature}


def view_conflict() -> dict[str, str]:
    """orders and order_view; feature and main each change the view differently."""
    ddl("CREATE TABLE public.orders (id integer, total numeric)")
    ddl("CREATE VIEW public.order_view AS SELECT id FROM public.orders")
    services.commit_create(message="orders", author=None, actor="alice")
    services.branch_create(name="feature", from_ref="HEAD", actor="alice")
    services.branch_checkout(name="feature", force=False, actor="alice")
    ddl("CREATE OR REPLACE VIEW public.order_view AS SELECT id, total FROM public.orders")
    feature = services.commit_create(message="total in the view", author=None, actor="bob")
    services.branch_checkout(name="main", force=False, actor="alice")
    ddl(
        "CREATE OR REPLACE VIEW public.order_view AS "
        "SELECT id, total * 2 AS doubled FROM public.orders"
    )
    main = services.commit_create(message="doubled", author=None, actor="alice")
    return {"feature": feature, "main": main}


def view_columns() -> list[str]:
    rows = query(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'order_view' ORDER BY ordinal_position"
    )
    return [name for (name,) in rows]


# --- merge ------------------------------------------------------------------------------------
def test_a_fast_forward_is_previewed_then_merged_and_recorded(operator):
    refs = feature_adds_email()
    branches = operator.get(f"{BASE}branches/").content.decode()
    assert f'href="{BASE}merges/new/?source=feature&amp;target=main">Merge into main…' in branches
    assert f'href="{BASE}merges/new/?target=feature">Merge into this…' in branches
    form = text(operator.get(f"{BASE}merges/new/"))
    assert 'id="merge-preview-form"' in form and 'id="merge-preview"' not in form

    preview = text(operator.get(f"{BASE}merges/new/", {"source": "feature", "target": "main"}))
    assert 'data-outcome="fast_forward"' in preview
    assert "Fast-forward: main has not moved since feature left it" in plain(preview)
    assert "+    email text" in preview  # the object's change, target → result
    plan = section(preview, "merge-plan")
    assert plan == "ALTER TABLE public.customers ADD COLUMN email text;\n"
    assert "No data would be lost." in preview
    assert 'id="merge-form"' in preview and 'id="force-merge"' not in preview
    assert Merge.objects.count() == 0  # the preview ran nothing

    unconfirmed = operator.post(f"{BASE}merges/create/", {"source": "feature", "target": "main"})
    assert unconfirmed.status_code == 302 and Merge.objects.count() == 0
    response = operator.post(
        f"{BASE}merges/create/",
        {"source": "feature", "target": "main", "strategy": "ABORT_ON_CONFLICT", "confirm": "yes"},
        follow=True,
    )
    merge = Merge.objects.get()
    assert response.redirect_chain == [(f"{BASE}merges/{merge.id}/", 302)]
    page = text(response)
    assert f"Fast-forward: main moved to feature's commit {refs['feature'][:12]}" in page
    assert (merge.status, merge.result_commit, merge.created_by) == (
        "fast_forward",
        refs["feature"],
        "console-op",
    )
    assert query("SELECT id, name, email FROM public.customers") == [(1, "Ada", None)]
    assert log_messages("merge", merge.id) == [
        (
            ADDITION,
            "console-op",
            f"Merge {merge.id} (ABORT_ON_CONFLICT): Fast-forward: main moved to feature's "
            f"commit {refs['feature'][:12]}; no merge commit.",
        )
    ]
    assert operations("merge")[-1] == ("main", "console-op", True)
    recent = operator.get("/admin/")  # Recent actions lists the merge, linked to its admin page
    assert recent.status_code == 200 and f"merge {merge.id}: feature into main" in text(recent)
    # the DDL the merge ran is in the engine's audit trail with the console user
    assert query(
        "SELECT actor, engine_operation FROM pggit.ddl_log "
        "WHERE statement LIKE '%ADD COLUMN email%' AND engine_operation = 'merge'"
    ) == [("console-op", "merge")]

    again = text(operator.get(f"{BASE}merges/new/", {"source": "feature", "target": "main"}))
    assert 'data-outcome="up_to_date"' in again and "Already up to date" in again
    listing = text(operator.get(f"{BASE}merges/"))
    assert f'<tr data-merge="{merge.id}">' in listing and "fast_forward" in listing


def test_a_three_way_merge_makes_a_merge_commit_drawn_in_the_graph(operator):
    feature_adds_email()
    ddl("CREATE TABLE public.invoices (id integer)")
    on_main = services.commit_create(message="invoices", author=None, actor="alice")
    preview = text(operator.get(f"{BASE}merges/new/", {"source": "feature", "target": "HEAD"}))
    assert 'data-outcome="merge"' in preview
    assert "Three-way merge without conflicts" in preview
    assert section(preview, "merge-plan") == "ALTER TABLE public.customers ADD COLUMN email text;\n"

    operator.post(
        f"{BASE}merges/create/",
        {"source": "feature", "target": "HEAD", "message": "ship email", "confirm": "yes"},
    )
    merge = Merge.objects.get()
    assert merge.status == "completed"
    commit = Commit.objects.get(hash=merge.result_commit)
    assert (commit.kind, commit.message, commit.parents[0]) == ("merge", "ship email", on_main)
    graph = text(operator.get(f"{BASE}graph/"))
    svg = re.search(r"<svg.*</svg>", graph, re.S).group(0)
    assert svg.count('data-merge="true"') == 1 and svg.count('class="merge-edge"') == 1
    assert f'data-commit="{merge.result_commit}"' in svg
    merge_page = text(operator.get(f"{BASE}merges/{merge.id}/"))
    assert f"Merged feature into main: merge commit {merge.result_commit[:12]}." in merge_page
    assert f'href="{BASE}commits/{merge.result_commit}/"' in merge_page


def test_manual_review_conflict_resolved_in_the_console_then_completed(operator):
    refs = view_conflict()
    preview = text(
        operator.get(
            f"{BASE}merges/new/",
            {"source": "feature", "target": "main", "strategy": "MANUAL_REVIEW"},
        )
    )
    assert "Three-way merge with 1 conflict(s)." in preview
    assert "The merge will stay open for you to resolve each conflict." in preview
    assert '<section class="conflict" data-conflict="1">' in preview
    assert "--- target/view:public.order_view" in preview
    assert "+++ source/view:public.order_view" in preview

    operator.post(
        f"{BASE}merges/create/",
        {"source": "feature", "target": "main", "strategy": "MANUAL_REVIEW", "confirm": "yes"},
    )
    merge = Merge.objects.get()
    assert (merge.status, merge.conflict_count) == ("conflicted", 1)
    page = text(operator.get(f"{BASE}merges/{merge.id}/"))
    assert "1 conflict(s), 1 unresolved" in page
    sides = re.findall(r'<pre class="script side-(target|source)">(.*?)</pre>', page, re.S)
    assert [side for side, _ in sides] == ["target", "source"]
    assert "doubled" in sides[0][1] and "total" in sides[1][1] and "doubled" not in sides[1][1]
    assert re.search(r'<span class="d-del">-.*doubled', page)
    assert 'id="merge-complete"' in page and 'id="merge-abort"' in page

    # completing with the conflict open is refused, plainly
    refused = text(operator.post(f"{BASE}merges/{merge.id}/complete/", follow=True))
    assert "Not completed: merge " in refused and "unresolved conflict(s)" in refused
    # a CUSTOM resolution needs a definition; an invalid one is refused with PostgreSQL's error
    resolve = f"{BASE}merges/{merge.id}/conflicts/1/resolve/"
    empty = text(
        operator.post(resolve, {"resolution": "CUSTOM", "custom_definition": " "}, follow=True)
    )
    assert "A CUSTOM resolution needs the object's DDL." in empty
    bad = text(
        operator.post(
            resolve,
            {"resolution": "CUSTOM", "custom_definition": "CREATE VIEW public.order_view AS x"},
            follow=True,
        )
    )
    assert "Conflict 1 not resolved: " in bad and "syntax error" in bad
    assert text(operator.post(resolve, {"resolution": "THEIRS"}, follow=True)).count(
        "Resolve as SOURCE, TARGET or CUSTOM."
    )

    custom = (
        "CREATE OR REPLACE VIEW public.order_view AS "
        "SELECT id, total * 2 AS doubled, total FROM public.orders"
    )
    done = operator.post(
        resolve, {"resolution": "CUSTOM", "custom_definition": custom}, follow=True
    )
    assert "Conflict 1 (view:public.order_view) resolved as CUSTOM; 0 unresolved." in text(done)
    page = text(operator.get(f"{BASE}merges/{merge.id}/"))
    assert 'data-resolution="CUSTOM"' in page and "1 conflict(s), 0 unresolved" in page
    # all resolved: what completing would change and run (main is checked out)
    assert "Completing makes 1 change(s) to main" in page
    assert "CREATE OR REPLACE VIEW public.order_view" in section(page, "completion-plan")

    completed = text(operator.post(f"{BASE}merges/{merge.id}/complete/", follow=True))
    merge.refresh_from_db()
    assert merge.status == "completed"
    assert f"Merged feature into main: merge commit {merge.result_commit[:12]}." in completed
    commit = Commit.objects.get(hash=merge.result_commit)
    assert commit.parents == [refs["main"], refs["feature"]]
    assert view_columns() == ["id", "doubled", "total"]
    assert [m for _, _, m in log_messages("merge", merge.id)] == [
        f"Merge {merge.id} (MANUAL_REVIEW): 1 conflict(s) to resolve before the merge of feature "
        "into main can be completed (or abort it).",
        "Resolved conflict 1 (view:public.order_view) as CUSTOM",
        f"Completed: merge commit {merge.result_commit}",
    ]
    assert operations("merge_resolve")[-1][1:] == ("console-op", True)
    assert operations("merge_complete")[-1] == ("main", "console-op", True)
    assert 'id="merge-complete"' not in text(operator.get(f"{BASE}merges/{merge.id}/"))


def test_an_open_merge_is_aborted_and_a_second_merge_is_refused_meanwhile(operator):
    refs = view_conflict()
    merge = services.merge_create(
        source="feature",
        target="main",
        strategy="MANUAL_REVIEW",
        message=None,
        force=False,
        actor="alice",
    )
    preview = text(operator.get(f"{BASE}merges/new/", {"source": "feature", "target": "main"}))
    assert f"Merge #{merge['id']}" in re.sub(r"<[^>]+>", "", section(preview, "open-merge"))
    second = text(
        operator.post(
            f"{BASE}merges/create/",
            {"source": "feature", "target": "main", "confirm": "yes"},
            follow=True,
        )
    )
    assert f"Not merged: merge {merge['id']} into main is open (conflicted)" in second
    resolved = operator.post(
        f"{BASE}merges/{merge['id']}/conflicts/1/resolve/", {"resolution": "SOURCE"}
    )
    assert resolved.status_code == 302
    aborted = text(operator.post(f"{BASE}merges/{merge['id']}/abort/", follow=True))
    assert "Aborted the merge of feature into main; nothing was applied." in aborted
    assert Merge.objects.get(id=merge["id"]).status == "aborted"
    assert view_columns() == ["id", "doubled"]
    assert selectors.status_get()["commit"] == refs["main"]
    assert log_messages("merge", merge["id"])[-1] == (CHANGE, "console-op", "Aborted")
    assert operations("merge_abort")[-1][1:] == ("console-op", True)
    again = text(operator.post(f"{BASE}merges/{merge['id']}/abort/", follow=True))
    assert "Not aborted: " in again
    assert operator.get(f"{BASE}merges/999999/").status_code == 404
    assert operator.post(f"{BASE}merges/999999/abort/").status_code == 404


def test_abort_on_conflict_and_source_wins_outcomes_are_said_plainly(operator):
    view_conflict()
    operator.post(
        f"{BASE}merges/create/", {"source": "feature", "target": "main", "confirm": "yes"}
    )
    aborted = Merge.objects.get()
    page = text(operator.get(f"{BASE}merges/{aborted.id}/"))
    assert aborted.status == "aborted"
    assert "Not merged: 1 conflict(s) and the strategy ABORT_ON_CONFLICT" in page
    assert "Merge again with MANUAL_REVIEW…" in page
    assert 'class="resolve-form"' not in page and 'id="merge-complete"' not in page
    operator.post(
        f"{BASE}merges/create/",
        {"source": "feature", "target": "main", "strategy": "SOURCE_WINS", "confirm": "yes"},
    )
    wins = Merge.objects.exclude(id=aborted.id).get()
    assert wins.status == "completed"
    assert view_columns() == ["id", "total"]


def test_merge_refusals_are_messages_never_500(operator):
    # an unknown ref: the preview says so; the merge itself too
    unknown = operator.get(f"{BASE}merges/new/", {"source": "nosuch", "target": "main"})
    assert unknown.status_code == 200 and "No preview: " in text(unknown)
    refused = operator.post(
        f"{BASE}merges/create/",
        {"source": "nosuch", "target": "main", "confirm": "yes"},
        follow=True,
    )
    assert refused.status_code == 200 and "Not merged: " in text(refused)
    assert refused.redirect_chain[0][0] == (
        f"{BASE}merges/new/?source=nosuch&target=main&strategy=ABORT_ON_CONFLICT"
    )
    bad_strategy = operator.post(
        f"{BASE}merges/create/",
        {"source": "main", "target": "main", "strategy": "OURS", "confirm": "yes"},
        follow=True,
    )
    assert "Not merged: unknown merge strategy &#x27;OURS&#x27;" in bad_strategy.content.decode()
    assert Merge.objects.count() == 0


def test_an_apply_failure_shows_postgresqls_message(operator):
    ddl("CREATE TABLE public.accounts (id integer)")
    services.commit_create(message="accounts", author=None, actor="alice")
    services.branch_create(name="feature", from_ref="HEAD", actor="alice")
    services.branch_checkout(name="feature", force=False, actor="alice")
    ddl("ALTER TABLE public.accounts ADD COLUMN code text NOT NULL")
    services.commit_create(message="code required", author=None, actor="bob")
    services.branch_checkout(name="main", force=False, actor="alice")
    ddl("INSERT INTO public.accounts VALUES (1)")
    failed = text(
        operator.post(
            f"{BASE}merges/create/",
            {"source": "feature", "target": "main", "confirm": "yes"},
            follow=True,
        )
    )
    assert "Not merged: merge failed at step 1" in failed
    assert 'column "code" of relation "accounts" contains null values' in failed
    assert Merge.objects.count() == 0
    assert operations("merge")[-1] == ("main", "console-op", False)


# --- revert, reset, undo ----------------------------------------------------------------------
def test_a_revert_dry_run_shows_the_ddl_and_changes_nothing_then_runs_confirmed(operator):
    refs = feature_adds_email()
    services.merge_create(
        source="feature", target="main", strategy="ABORT_ON_CONFLICT", message=None,
        force=False, actor="alice",
    )  # fmt: skip
    commit_page = text(operator.get(f"{BASE}commits/{refs['feature']}/"))
    assert 'id="revert-link"' in commit_page
    commits, rollbacks = Commit.objects.count(), Rollback.objects.count()

    dry = text(operator.post(f"{BASE}revert/", {"commit": refs["feature"]}))
    script = section(dry, "rollback-script")
    assert script.startswith("-- pgGit migration: main -> revert ")
    assert statements(script) == ["ALTER TABLE public.customers DROP COLUMN email;"]
    assert "No finding: nothing is lost and nothing blocks it." in dry
    assert 'id="rollback-confirm"' in dry and 'id="force-rollback"' not in dry
    # nothing changed: no commit, no rollback, the column is there
    assert (Commit.objects.count(), Rollback.objects.count()) == (commits, rollbacks)
    assert query(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'customers' "
        "AND column_name = 'email'"
    ) == [(1,)]
    assert operations("revert")[-1][1:] == ("console-op", True)  # the dry run, as the API's

    done = operator.post(f"{BASE}revert/", {"commit": refs["feature"], "confirm": "yes"})
    rollback = Rollback.objects.get()
    assert done["Location"] == f"{BASE}commits/{rollback.result_commit}/"
    revert = Commit.objects.get(hash=rollback.result_commit)
    assert (revert.kind, revert.parents, rollback.created_by) == (
        "revert",
        [refs["feature"]],
        "console-op",
    )
    assert log_messages("commit", revert.pk) == [
        (
            ADDITION,
            "console-op",
            f"Revert {refs['feature']} on HEAD's branch: commit {revert.hash}",
        )
    ]
    again = text(
        operator.post(f"{BASE}revert/", {"commit": refs["feature"], "confirm": "yes"}, follow=True)
    )
    assert "Revert refused: " in again
    missing = text(operator.post(f"{BASE}revert/", {"commit": "nosuch"}))
    assert "No dry run: " in missing and 'id="dry-run"' not in missing


def test_reverting_a_merge_commit_says_which_parent_is_the_mainline(operator):
    feature_adds_email()
    ddl("CREATE TABLE public.invoices (id integer)")
    on_main = services.commit_create(message="invoices", author=None, actor="alice")
    merge = services.merge_create(
        source="feature", target="main", strategy="ABORT_ON_CONFLICT", message=None,
        force=False, actor="alice",
    )  # fmt: skip
    assert selectors.status_get()["commit"] == merge["result_commit"]
    dry = text(operator.post(f"{BASE}revert/", {"commit": "HEAD"}))  # the merge commit
    mainline = re.sub(r"<[^>]+>", "", section(dry, "mainline"))
    assert f"against its first parent {on_main[:12]} (mainline 1)" in mainline
    script = section(dry, "rollback-script")
    assert script.startswith("-- pgGit migration: main -> revert ")
    assert statements(script) == ["ALTER TABLE public.customers DROP COLUMN email;"]


def test_a_reset_with_data_loss_needs_force_and_takes_a_time(operator):
    ddl("CREATE TABLE public.accounts (id integer)")
    first = services.commit_create(message="accounts", author=None, actor="alice")
    ddl("CREATE TABLE public.audit (id integer)")
    services.commit_create(message="audit", author=None, actor="alice")
    ddl("INSERT INTO public.audit VALUES (1)")
    branches = text(operator.get(f"{BASE}branches/"))
    assert f'href="{BASE}reset/?branch=main"' in branches
    assert text(operator.get(f"{BASE}reset/", {"branch": "main"})).count('value="main"') == 1

    dry = text(operator.post(f"{BASE}reset/", {"branch": "main", "to": first}))
    script = section(dry, "rollback-script")
    assert script.startswith("-- pgGit migration: main -> reset ")
    assert statements(script) == ["DROP TABLE IF EXISTS public.audit;"]
    assert 'data-check="data_loss"' in dry and 'data-check="later_commits"' in dry
    assert 'id="force-rollback"' in dry
    # a time: the branch's last commit at or before it (the same reset)
    at = query(f"SELECT committed_at FROM pggit.commits WHERE hash = '{first}'")[0][0]
    by_time = text(operator.post(f"{BASE}reset/", {"branch": "main", "to": at.isoformat()}))
    assert statements(section(by_time, "rollback-script")) == statements(script)
    refused = text(
        operator.post(
            f"{BASE}reset/", {"branch": "main", "to": first, "confirm": "yes"}, follow=True
        )
    )
    assert "Reset refused: " in refused and "public.audit" in refused
    assert Rollback.objects.count() == 0
    forced = operator.post(
        f"{BASE}reset/", {"branch": "main", "to": first, "confirm": "yes", "force": "true"}
    )
    assert forced.status_code == 302
    rollback = Rollback.objects.get()
    assert (rollback.operation, rollback.forced) == ("reset", True)
    assert query("SELECT to_regclass('public.audit')") == [(None,)]
    entry = log_messages("commit", Commit.objects.get(hash=rollback.result_commit).pk)
    assert entry[0][2] == f"Reset main to {first} (forced): commit {rollback.result_commit}"


def test_undo_one_object_from_its_page(operator):
    ddl("CREATE TABLE public.people (id integer)")
    first = services.commit_create(message="people", author=None, actor="alice")
    ddl("ALTER TABLE public.people ADD COLUMN nick text")
    services.commit_create(message="nick", author=None, actor="bob")
    key = next(o.object_key for o in selectors.object_queryset() if o.object_name == "people")
    page = text(operator.get(f"{BASE}objects/{key}/"))
    assert 'id="undo-link"' in page and f'value="{first}"' in page  # the version before

    dry = text(operator.post(f"{BASE}undo/", {"objects": key, "to": first}))
    script = section(dry, "rollback-script")
    assert script.startswith("-- pgGit migration: main -> undo ")
    assert statements(script) == ["ALTER TABLE public.people DROP COLUMN nick;"]
    done = operator.post(f"{BASE}undo/", {"objects": key, "to": first, "confirm": "yes"})
    rollback = Rollback.objects.get()
    assert rollback.operation == "undo"
    assert done["Location"] == f"{BASE}commits/{rollback.result_commit}/"
    assert operations("undo")[-1][1:] == ("console-op", True)
    empty = text(operator.post(f"{BASE}undo/", {"objects": " ", "to": first}))
    assert "Give objects and to." in empty
    unknown = text(operator.post(f"{BASE}undo/", {"objects": "table:public.nosuch", "to": first}))
    assert "No dry run: " in unknown and 'id="dry-run"' not in unknown
    # a finding that refuses and cannot be forced: working changes on HEAD
    ddl("CREATE TABLE public.pending (id integer)")
    blocked = text(operator.post(f"{BASE}revert/", {"commit": rollback.result_commit}))
    assert 'data-check="working_changes"' in blocked
    assert "It would be refused: working_changes cannot be forced." in plain(blocked)
    assert 'id="force-rollback"' not in blocked


# --- permissions --------------------------------------------------------------------------------
def test_a_viewer_sees_no_merge_or_rollback_action_and_gets_403_posting(viewer):
    refs = view_conflict()
    merge = services.merge_create(
        source="feature", target="main", strategy="MANUAL_REVIEW", message=None,
        force=False, actor="alice",
    )  # fmt: skip
    key = next(o.object_key for o in selectors.object_queryset() if o.object_name == "order_view")
    pages = {
        "merges/": ['id="new-merge"'],
        "merges/new/?source=feature&target=main": ['id="merge-form"'],
        f"merges/{merge['id']}/": ['class="resolve-form"', 'id="merge-complete"', "merge-abort"],
        "branches/": ["Merge into", "Reset…"],
        f"commits/{refs['main']}/": ['id="revert-link"'],
        f"objects/{key}/": ['id="undo-link"'],
        "revert/": ['id="rollback-form"'],
        "reset/": ['id="rollback-form"'],
        "undo/": ['id="rollback-form"'],
    }
    for page, forms in pages.items():
        response = viewer.get(BASE + page)
        assert response.status_code == 200, page
        for form in forms:
            assert form not in response.content.decode(), (page, form)
    posts = {
        "merges/create/": {"source": "feature", "target": "main", "confirm": "yes"},
        f"merges/{merge['id']}/conflicts/1/resolve/": {"resolution": "SOURCE"},
        f"merges/{merge['id']}/complete/": {},
        f"merges/{merge['id']}/abort/": {},
        "revert/": {"commit": refs["main"]},
        "reset/": {"branch": "main", "to": "HEAD~1"},
        "undo/": {"objects": key, "to": "HEAD~1"},
    }
    for page, data in posts.items():
        assert viewer.post(BASE + page, data).status_code == 403, page
        assert viewer.post(BASE + page, {**data, "confirm": "yes"}).status_code == 403, page
    assert Merge.objects.get(id=merge["id"]).status == "conflicted"
    assert Merge.objects.count() == 1 and Rollback.objects.count() == 0
    assert LogEntry.objects.count() == 0


def test_forcing_a_merge_needs_the_reset_permission(db):
    merger = browser(
        None,
        "merger",
        "view_merge",
        "view_branch",
        "view_commit",
        "add_merge",
        "change_merge",
    )
    ddl("CREATE TABLE public.audit (id integer)")
    services.commit_create(message="audit", author=None, actor="alice")
    services.branch_create(name="slim", from_ref="HEAD", actor="alice")
    services.branch_checkout(name="slim", force=False, actor="alice")
    ddl("DROP TABLE public.audit")
    services.commit_create(message="no audit", author=None, actor="alice")
    services.branch_checkout(name="main", force=False, actor="alice")
    ddl("INSERT INTO public.audit VALUES (1)")

    preview = text(merger.get(f"{BASE}merges/new/", {"source": "slim", "target": "main"}))
    assert "Data loss: " in preview and "public.audit" in preview
    assert 'id="merge-form"' in preview and 'id="force-merge"' not in preview
    assert "forcing needs the permission to reset" in preview
    data = {"source": "slim", "target": "main", "confirm": "yes"}
    assert merger.post(f"{BASE}merges/create/", {**data, "force": "true"}).status_code == 403
    refused = text(merger.post(f"{BASE}merges/create/", data, follow=True))
    assert "Not merged: " in refused and Merge.objects.count() == 0
    # the revert permission (an operator's) allows forcing
    operator = browser("operator", "forcing-op")
    assert 'id="force-merge"' in text(
        operator.get(f"{BASE}merges/new/", {"source": "slim", "target": "main"})
    )
    operator.post(f"{BASE}merges/create/", {**data, "force": "true"})
    assert Merge.objects.get().status == "fast_forward"
    assert query("SELECT to_regclass('public.audit')") == [(None,)]
    assert log_messages("merge", Merge.objects.get().id)[0][2].startswith(
        f"Merge {Merge.objects.get().id} (ABORT_ON_CONFLICT) (forced): "
    )


def test_the_navigation_and_the_index_link_merges_and_rollbacks(operator):
    for page in ("", "/admin/"):
        body = text(operator.get(page or BASE))
        assert f'href="{BASE}merges/"' in body and f'href="{BASE}revert/"' in body


def test_starting_a_merge_and_resolving_it_need_separate_permissions(db):
    starter = browser(None, "starter", "view_merge", "view_branch", "view_commit", "add_merge")
    view_conflict()
    preview = text(starter.get(f"{BASE}merges/new/", {"source": "feature", "target": "main"}))
    assert 'id="merge-form"' in preview
    data = {"source": "feature", "target": "main", "strategy": "MANUAL_REVIEW", "confirm": "yes"}
    assert starter.post(f"{BASE}merges/create/", data).status_code == 302
    merge = Merge.objects.get()
    assert (merge.status, merge.created_by) == ("conflicted", "starter")
    page = text(starter.get(f"{BASE}merges/{merge.id}/"))
    assert 'class="resolve-form"' not in page and 'id="merge-complete"' not in page
    for action, body in (
        ("conflicts/1/resolve/", {"resolution": "SOURCE"}),
        ("complete/", {}),
        ("abort/", {}),
    ):
        assert starter.post(f"{BASE}merges/{merge.id}/{action}", body).status_code == 403
    assert Merge.objects.get().status == "conflicted"
    assert starter.post(f"{BASE}revert/", {"commit": "HEAD"}).status_code == 403


# --- the engine lock held by another session ---------------------------------------------------
@pytest.fixture
def other_session():
    """A second connection to the test database, in a transaction of its own (rolled back)."""
    params = connection.settings_dict
    with psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"],
        host=params["HOST"],
        port=params["PORT"] or None,
        password=params["PASSWORD"] or None,
    ) as other:
        yield other
        other.rollback()


def test_a_checkout_or_merge_while_another_session_holds_the_engine_lock_is_a_message(
    operator, other_session
):
    # set up without the engine lock: this test's transaction (never committed) would hold it
    services.branch_create(name="feature", from_ref="HEAD", actor="alice")
    head = selectors.status_get()
    recorded = (
        LogEntry.objects.count(),
        query("SELECT count(*) FROM pggit.operations")[0][0],
        query("SELECT count(*) FROM pggit.events")[0][0],
    )
    # the transaction-scoped advisory lock a checkout, merge, revert or commit takes, held until
    # the other session's transaction ends
    other_session.execute("SELECT pggit.engine_lock('a long checkout')")
    checkout = operator.post(f"{BASE}branches/feature/checkout/", {"confirm": "yes"}, follow=True)
    assert checkout.status_code == 200
    assert checkout.redirect_chain == [(f"{BASE}branches/feature/checkout/", 302)]
    assert (
        "Not checked out: another checkout, merge, revert or commit is running; checkout was not "
        "started" in text(checkout)
    )
    merge = operator.post(
        f"{BASE}merges/create/",
        {"source": "feature", "target": "main", "strategy": "ABORT_ON_CONFLICT", "confirm": "yes"},
        follow=True,
    )
    assert merge.status_code == 200
    assert merge.redirect_chain[0][0].startswith(f"{BASE}merges/new/?source=feature")
    assert (
        "Not merged: another checkout, merge, revert or commit is running; merge was not started"
        in text(merge)
    )
    # nothing written: HEAD, merges, the admin's history, the engine's operations and events
    assert selectors.status_get() == head
    assert Merge.objects.count() == 0
    assert (
        LogEntry.objects.count(),
        query("SELECT count(*) FROM pggit.operations")[0][0],
        query("SELECT count(*) FROM pggit.events")[0][0],
    ) == recorded
    other_session.rollback()  # the other session is done: the same POST now runs
    done = text(operator.post(f"{BASE}branches/feature/checkout/", {"confirm": "yes"}, follow=True))
    assert "Switched to branch feature" in done


# --- a merge's history page ----------------------------------------------------------------------
def test_a_merge_has_a_history_page_of_what_the_console_did_to_it(operator, viewer):
    view_conflict()
    operator.post(
        f"{BASE}merges/create/",
        {"source": "feature", "target": "main", "strategy": "MANUAL_REVIEW", "confirm": "yes"},
    )
    merge = Merge.objects.get()
    operator.post(f"{BASE}merges/{merge.id}/conflicts/1/resolve/", {"resolution": "SOURCE"})
    operator.post(f"{BASE}merges/{merge.id}/abort/")
    entries = log_messages("merge", merge.id)
    assert [flag for flag, _, _ in entries] == [ADDITION, CHANGE, CHANGE]
    assert entries[-1] == (CHANGE, "console-op", "Aborted")
    history_url = f"/admin/vcs/merge/{merge.id}/history/"
    page = text(operator.get(f"{BASE}merges/{merge.id}/"))
    assert f'<a id="merge-history" href="{history_url}">' in page
    for client in (operator, viewer):  # like a branch's or a commit's: whoever may view merges
        history = client.get(history_url)
        assert history.status_code == 200
        rows = re.findall(
            r"<tr>\s*<th scope=\"row\">.*?</th>\s*<td>(.*?)</td>\s*<td>(.*?)</td>",
            text(history),
            re.S,
        )
        assert [(user.strip(), message.strip()) for user, message in rows] == [
            (user, message) for _, user, message in entries
        ]
    # the index's Recent actions links the merge's own admin page, which shows it read-only
    recent = text(operator.get("/admin/"))
    assert f'<a href="/admin/vcs/merge/{merge.id}/change/">merge {merge.id}: feature into main' in (
        recent
    )
    change = operator.get(f"/admin/vcs/merge/{merge.id}/change/")
    assert change.status_code == 200 and "MANUAL_REVIEW" in text(change)
    assert operator.post(f"/admin/vcs/merge/{merge.id}/change/", {}).status_code == 403
    nobody = browser(None, "no-merges", "view_branch")
    assert nobody.get(history_url).status_code == 403
