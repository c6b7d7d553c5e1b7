"""``manage.py pggit`` closer to git: log --oneline --graph, show with diffs, blame, colour on a
terminal, --json everywhere (the API's shapes)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from vcs import selectors, services

pytestmark = pytest.mark.django_db


def ddl(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def pggit(*args: str, **options) -> str:
    out = io.StringIO()
    call_command("pggit", *args, stdout=out, **options)
    return out.getvalue()


def two_branches() -> dict[str, str]:
    ddl("CREATE TABLE public.accounts (id integer)")
    first = services.commit_create(message="add accounts", author=None, actor="alice")
    services.branch_create(name="feature", from_ref="HEAD", actor="alice")
    services.branch_checkout(name="feature", force=False, actor="alice")
    ddl("ALTER TABLE public.accounts ADD COLUMN email text")
    feature = services.commit_create(message="accounts get email", author=None, actor="bob")
    services.branch_checkout(name="main", force=False, actor="alice")
    ddl("CREATE TABLE public.orders (id integer)")
    main = services.commit_create(message="add orders", author=None, actor="alice")
    return {"first": first, "feature": feature, "main": main}


def test_log_oneline_decorates_heads():
    refs = two_branches()
    lines = pggit("log", "--oneline").splitlines()
    assert lines[0] == f"{refs['main'][:12]} (HEAD -> main) add orders"
    assert lines[1] == f"{refs['first'][:12]} add accounts"
    assert lines[2].endswith(" Initial schema")
    assert len(lines) == 3


def test_log_graph_all_draws_both_branches():
    refs = two_branches()
    lines = pggit("log", "--oneline", "--graph", "--all").splitlines()
    assert lines == [
        f"* {refs['main'][:12]} (HEAD -> main) add orders",
        f"| * {refs['feature'][:12]} (feature) accounts get email",
        "| /",
        f"* {refs['first'][:12]} add accounts",
        lines[4],
    ]
    assert lines[4].startswith("* ") and lines[4].endswith("Initial schema")


def test_log_graph_of_a_merge_opens_and_joins_a_lane():
    from vcs.console import graph

    class C:
        def __init__(self, h, parents):
            from datetime import UTC, datetime

            self.hash, self.parents, self.message, self.author = h, parents, h, "x"
            self.committed_at = datetime(2026, 1, 1, tzinfo=UTC)

    nodes = graph.layout([C("m", ["b", "f"]), C("b", ["a"]), C("f", ["a"]), C("a", [])])
    rows = [(prefix, node.hash if node else None) for prefix, node in graph.text_rows(nodes)]
    assert rows == [
        ("*", "m"),
        ("| \\", None),
        ("* |", "b"),
        ("| *", "f"),
        ("| /", None),
        ("*", "a"),
    ]


def test_show_prints_changes_and_their_diffs():
    refs = two_branches()
    out = pggit("show", refs["feature"])
    assert out.startswith(f"commit {refs['feature']} (feature)\n")
    assert "  MODIFIED  table              public.accounts" in out
    assert "-    id integer\n" in out and "+    id integer,\n" in out and "+    email text\n" in out
    assert "@@" in out
    stat = pggit("show", refs["feature"], "--stat")
    assert "@@" not in stat and "public.accounts" in stat


def test_blame_names_the_commit_of_each_line():
    refs = two_branches()
    out = pggit("blame", "public.accounts").splitlines()
    assert out[0].startswith(f"{refs['first'][:8]} (alice ")
    assert out[0].endswith(" CREATE TABLE public.accounts (")
    with pytest.raises(CommandError, match=r"no tracked object 'public\.nosuch'"):
        pggit("blame", "public.nosuch")


def test_colour_on_a_terminal_and_none_in_a_pipe():
    two_branches()
    plain = pggit("log", "--oneline")
    coloured = pggit("log", "--oneline", force_color=True)
    assert "\x1b[" not in plain
    assert "\x1b[" in coloured
    assert "\x1b[" in pggit("show", "HEAD", force_color=True)


def test_json_everywhere():
    refs = two_branches()
    status = json.loads(pggit("status", "--json"))
    assert (status["branch"], status["clean"]) == ("main", True)
    log = json.loads(pggit("log", "--json", "-n", "2"))
    assert [c["hash"] for c in log] == [refs["main"], refs["first"]]
    show = json.loads(pggit("show", refs["feature"], "--json"))
    assert show["hash"] == refs["feature"]
    assert show["changes"][0]["object_name"] == "accounts"
    assert "email text" in show["changes"][0]["after"]
    assert "ADD COLUMN email text" in show["script"]
    diff = json.loads(pggit("diff", "main", "feature", "--json"))
    assert (diff["from"], diff["to"]) == ("main", "feature")
    branches = json.loads(pggit("branch", "--json"))
    assert {b["name"]: b["is_head"] for b in branches} == {"feature": False, "main": True}
    created = json.loads(pggit("branch", "topic", "--json"))
    assert (created["name"], created["head"]) == ("topic", refs["main"])
    blame = json.loads(pggit("blame", "public.orders", "--json"))
    assert {line["commit"] for line in blame["lines"]} == {refs["main"]}
    schema = json.loads(pggit("schema", "--json"))
    assert "CREATE TABLE public.orders" in schema["ddl"]
    verify = json.loads(pggit("verify", "--json"))
    assert verify["ok"] is True
    ddl("CREATE TABLE public.more (id integer)")
    commit = json.loads(pggit("commit", "-m", "more", "--json"))
    assert (commit["message"], commit["change_count"]) == ("more", 1)
    checkout = json.loads(pggit("checkout", "feature", "--json"))
    assert checkout["branch"] == "feature"
    assert selectors.status_get()["branch"] == "feature"


def test_log_refuses_meaningless_combinations():
    with pytest.raises(CommandError, match="--all goes with --graph"):
        pggit("log", "--all")
    with pytest.raises(CommandError, match="--graph draws whole histories"):
        pggit("log", "--graph", "--author", "x")


def test_status_show_and_log_carry_the_apis_counts_and_list_every_change():
    """The CLI prints the API's fields (docs/api.md, "Change lists are paged"), but a terminal
    command lists every change, not a page of them."""
    refs = two_branches()
    names = [f"cli_{number:02d}" for number in range(25)]
    for name in names:
        ddl(f"CREATE TABLE public.{name} (id integer)")
    status = json.loads(pggit("status", "--json"))
    assert set(status) == {"branch", "commit", "clean", "working_change_count", "working_changes"}
    assert (status["clean"], status["working_change_count"]) == (False, 25)
    assert sorted(c["object_name"] for c in status["working_changes"]) == names
    text = pggit("status").splitlines()
    assert text[1] == "25 working change(s):"
    assert len(text) == 2 + 25

    commit = json.loads(pggit("commit", "-m", "twenty-five", "--json"))
    assert commit["change_count"] == 25 and "changes" not in commit
    show = json.loads(pggit("show", "HEAD", "--json"))
    assert show["change_count"] == len(show["changes"]) == 25
    assert sorted(c["object_name"] for c in show["changes"]) == names
    log = json.loads(pggit("log", "--json", "-n", "3"))
    assert [(c["hash"], c["change_count"]) for c in log] == [
        (commit["hash"], 25),
        (refs["main"], 1),
        (refs["first"], 1),
    ]
    assert all("changes" not in c for c in log)
    assert "On branch main" in pggit("status")
