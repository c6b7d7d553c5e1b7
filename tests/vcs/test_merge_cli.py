"""The merge and rollback story through ``manage.py pggit``: readable output, and a non-zero exit
on every refusal (conflicts left open, findings that stop a revert, unknown names)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

pytestmark = pytest.mark.django_db


def ddl(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def query(statement: str):
    with connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchall()


def pggit(*args: str) -> str:
    out = io.StringIO()
    call_command("pggit", *args, stdout=out, no_color=True)
    return out.getvalue()


def refused(*args: str) -> tuple[str, str]:
    """Output and error message of a refused command."""
    out = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("pggit", *args, stdout=out, no_color=True)
    return out.getvalue(), str(excinfo.value)


def exit_status(*args: str) -> int:
    """The exit status manage.py gives from a shell: run_from_argv exits with the CommandError's
    returncode (run_from_argv itself closes the connections, which a test's transaction forbids)."""
    with pytest.raises(CommandError) as excinfo:
        call_command("pggit", *args, stdout=io.StringIO(), no_color=True)
    return excinfo.value.returncode


def test_cli_story_merge_then_revert():
    ddl("CREATE TABLE public.items (id integer PRIMARY KEY)")
    ddl("INSERT INTO public.items VALUES (1), (2), (3)")
    pggit("commit", "-m", "items")
    pggit("branch", "feature")
    pggit("checkout", "feature")
    ddl("ALTER TABLE public.items ADD COLUMN label text")
    pggit("commit", "-m", "label")
    assert "MODIFIED  table" in pggit("diff", "main", "feature")
    pggit("checkout", "main")
    ddl("CREATE TABLE public.audit_trail (id integer)")
    pggit("commit", "-m", "audit trail")

    out = pggit("merge", "feature")
    assert "Merging feature into HEAD (ABORT_ON_CONFLICT) ..." in out
    assert "Merged feature into main: commit " in out
    merge_commit = out.strip().rsplit(" ", 1)[1]
    assert query("SELECT id, label FROM public.items ORDER BY id") == [
        (1, None),
        (2, None),
        (3, None),
    ]
    assert "Already up to date: main has feature" in pggit("merge", "feature", "main")

    dry = pggit("revert", merge_commit, "--dry-run")
    assert "ALTER TABLE public.items DROP COLUMN label;" in dry
    assert "Dry run of revert: nothing was changed" in dry
    assert query(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = 'items' AND column_name = 'label'"
    ) == [(1,)]
    assert "Revert committed: " in pggit("revert", merge_commit)
    assert query(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = 'items' AND column_name = 'label'"
    ) == [(0,)]
    assert query("SELECT count(*) FROM public.items") == [(3,)]
    assert "hash chain intact" in pggit("verify")


def test_cli_conflict_story_resolve_and_continue():
    ddl("CREATE TABLE public.t (id integer)")
    ddl("CREATE VIEW public.v AS SELECT id FROM public.t")
    pggit("commit", "-m", "base")
    pggit("branch", "feature")
    pggit("checkout", "feature")
    ddl("CREATE OR REPLACE VIEW public.v AS SELECT id, 1 AS one FROM public.t")
    pggit("commit", "-m", "one")
    pggit("checkout", "main")
    ddl("CREATE OR REPLACE VIEW public.v AS SELECT id, 2 AS two FROM public.t")
    pggit("commit", "-m", "two")

    out, error = refused("merge", "feature")
    assert "1 conflict(s)" in out and "BOTH_MODIFIED" in out
    assert "stopped (ABORT_ON_CONFLICT): nothing was applied" in error
    out, error = refused("merge", "feature", "--strategy", "MANUAL_REVIEW")
    assert "#1   BOTH_MODIFIED" in out and "unresolved" in out
    assert "is open: resolve each conflict" in error
    assert "unresolved" in pggit("conflicts")
    _, error = refused("merge", "--continue")
    assert "[unresolved_conflicts]" in error
    assert exit_status("merge", "--continue") == 1
    out = pggit("resolve", "1", "--source")
    assert "Resolved #1 (view:public.v) as SOURCE; 0 conflict(s) left" in out
    out = pggit("merge", "--continue")
    assert "Merged feature into main: commit " in out
    assert query("SELECT * FROM public.v") == []
    assert query(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'public.v'::regclass AND attnum > 0 "
        "ORDER BY attnum"
    ) == [("id",), ("one",)]
    _, error = refused("merge", "--abort")
    assert "no open merge into HEAD" in error


def test_cli_abort_reset_undo_and_refusals():
    ddl("CREATE TABLE public.a (id integer)")
    ddl("CREATE TABLE public.b (id integer)")
    start = pggit("commit", "-m", "start").split("]")[0].lstrip("[")
    ddl("ALTER TABLE public.a ADD COLUMN x integer")
    ddl("ALTER TABLE public.b ADD COLUMN y integer")
    pggit("commit", "-m", "x and y")
    out = pggit("undo", "public.b", "--to", start, "--dry-run")
    assert "ALTER TABLE public.b DROP COLUMN y;" in out and "public.a" not in out
    assert "Undo committed: " in pggit("undo", "public.b", "--to", start)
    assert query(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_schema = 'public' AND column_name = 'x'"
    ) == [(1,)]
    assert "Reset committed: " in pggit("reset", "main", start)
    assert query(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_schema = 'public' AND column_name = 'x'"
    ) == [(0,)]
    ddl("INSERT INTO public.a VALUES (1)")
    out, error = refused("revert", start)
    assert "error data_loss: table_dropped: public.a holds rows that would be lost" in out
    assert "[rollback_refused]" in error
    _, error = refused("reset", "main", "HEAD~3")
    assert "[nothing_to_reset]" in error
    out, error = refused("reset", "main", "HEAD~4")
    assert "data_loss" in out and "[rollback_refused]" in error
    assert query("SELECT count(*) FROM public.a") == [(1,)]
    assert exit_status("revert", "nope") == 1
    assert exit_status("merge", "nope") == 1
    _, error = refused("resolve", "1", "--source")
    assert "no open merge into HEAD" in error


def test_merge_and_rollback_commands_print_the_apis_shapes_with_json():
    import json

    ddl("CREATE TABLE public.things (id integer PRIMARY KEY)")
    pggit("commit", "-m", "things")
    pggit("branch", "side")
    pggit("checkout", "side")
    ddl("CREATE TABLE public.side_only (id integer)")
    pggit("commit", "-m", "side only")
    pggit("checkout", "main")
    ddl("CREATE TABLE public.main_only (id integer)")
    pggit("commit", "-m", "main only")

    merged = json.loads(pggit("merge", "side", "--json"))
    assert (merged["source"], merged["target"], merged["status"]) == ("side", "main", "completed")
    assert merged["conflict_count"] == 0 and len(merged["result_commit"]) == 64
    assert query("SELECT to_regclass('public.side_only')::text") == [("public.side_only",)]

    dry = json.loads(pggit("revert", merged["result_commit"], "--dry-run", "--json"))
    assert (dry["status"], dry["commit"], dry["findings"]) == ("dry_run", None, [])
    assert dry["script"].endswith("DROP TABLE IF EXISTS public.side_only;\n")
    assert query("SELECT to_regclass('public.side_only')::text") == [("public.side_only",)]
