"""Reads of the version-control domain: the ORM over the pggit tables, the engine's functions
where the answer is computed (refs, diffs, schema as of a time, verification)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat

from pggit_project.engine import engine_status as status_get  # the CLI and console: every change
from pggit_project.engine import engine_status_page, fetch_all, fetch_one, fetch_value
from pggit_project.errors import DomainError
from vcs.models import (
    AuditEntry,
    Blob,
    Branch,
    Commit,
    CommitChange,
    Event,
    Head,
    LiveObject,
    Merge,
    Rollback,
)


def status_page(limit: int, offset: int = 0) -> dict[str, Any]:
    """HEAD and one page of the working changes with their count (the API's status)."""
    return engine_status_page(limit, offset)


def branch_queryset() -> QuerySet[Branch]:
    return Branch.objects.exclude(status="DELETED").order_by("name")


def head_branch_id() -> int | None:
    return Head.objects.values_list("branch_id", flat=True).first()


def head_branch_name() -> str | None:
    """HEAD's branch name, without computing the working changes (for decorating history)."""
    return Branch.objects.filter(id=head_branch_id()).values_list("name", flat=True).first()


def commit_resolve(ref: str) -> Commit:
    """The commit a ref names (hash, unique prefix, branch, HEAD, HEAD~n); EngineError if none."""
    commit_hash = fetch_value("SELECT pggit.resolve_ref(%s)", [ref])
    return Commit.objects.get(hash=commit_hash)


def commit_queryset(
    *,
    branch: str | None = None,
    author: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    object_ref: str | None = None,
    text: str | None = None,
) -> QuerySet[Commit]:
    """Commits newest first; with a branch, its first-parent history (git log --first-parent)."""
    commits = Commit.objects.all()
    if branch:
        head = fetch_value("SELECT pggit.resolve_ref(%s)", [branch])  # unknown ref -> 404
        commits = commits.filter(
            hash__in=RawSQL("SELECT hash FROM pggit.first_parent_walk(%s)", [head])
        )
    if author:
        commits = commits.filter(author=author)
    if since:
        commits = commits.filter(committed_at__gte=since)
    if until:
        commits = commits.filter(committed_at__lte=until)
    if text:
        commits = commits.filter(message__icontains=text)
    if object_ref:
        touching = (
            CommitChange.objects.filter(commit_id=OuterRef("id"))
            .annotate(
                qualified=Concat("schema_name", Value("."), "object_name", output_field=TextField())
            )
            .filter(Q(object_key=object_ref) | Q(object_name=object_ref) | Q(qualified=object_ref))
        )
        commits = commits.filter(Exists(touching))
    return commits.order_by("-committed_at", "-id")


def commit_changes(commit: Commit) -> QuerySet[CommitChange]:
    """A commit's changes, by object key (unique within a commit): a queryset the API pages in
    SQL (its count is the commit's ``change_count``)."""
    return (
        CommitChange.objects.filter(commit_id=commit.id)
        .order_by("object_key")
        .values("schema_name", "object_name", "change", object_type=F("kind"))
    )


def object_queryset() -> QuerySet[LiveObject]:
    return LiveObject.objects.order_by("schema_name", "kind", "object_key")


def object_definition(obj: LiveObject) -> str:
    return fetch_value("SELECT definition FROM pggit.blobs WHERE hash = %s", [obj.blob_hash])


def object_history(object_key: str, limit: int = 100) -> list[dict[str, Any]]:
    return fetch_all(
        "SELECT commit_hash, committed_at, author, message, branch, change, definition "
        "FROM pggit.object_history(%s, %s)",
        [object_key, limit],
    )


def diff_get(*, from_ref: str, to_ref: str) -> dict[str, Any]:
    changes = fetch_all(
        "SELECT object_type, schema_name, object_name, change, before, after "
        "FROM pggit.diff(%s, %s)",
        [from_ref, to_ref],
    )
    script = fetch_value("SELECT pggit.diff_script(%s, %s)", [from_ref, to_ref])
    return {"from": from_ref, "to": to_ref, "changes": changes, "script": script}


def schema_at(at: str) -> str:
    return fetch_value("SELECT pggit.schema_at(%s)", [at])


def audit_queryset() -> QuerySet[AuditEntry]:
    return AuditEntry.objects.order_by("-captured_at", "-id")


def verify() -> dict[str, Any]:
    row = fetch_one("SELECT ok, checked, breaks FROM pggit.verify()")
    return {"ok": row["ok"], "checked": row["checked"], "breaks": row["breaks"]}


def event_queryset(*, after: int | None = None) -> QuerySet[Event]:
    events = Event.objects.order_by("id")
    if after is not None:
        events = events.filter(id__gt=after)
    return events


def merge_queryset() -> QuerySet[Merge]:
    return Merge.objects.order_by("-created_at", "-id")


def merge_get(merge_id: int) -> Merge:
    merge = Merge.objects.filter(id=merge_id).first()
    if merge is None:
        raise DomainError(f"no merge {merge_id}", code="merge_not_found", status=404)
    return merge


def merge_conflicts(merge_id: int) -> list[dict[str, Any]]:
    """A merge's conflicts with the three definitions (the engine's pggit.merge_conflicts)."""
    return fetch_all(
        "SELECT conflict_id AS id, object_key, object_type, schema_name, object_name, "
        "conflict_type AS type, severity, base, source, target, related_key, detail, resolution, "
        "resolved FROM pggit.merge_conflicts(%s)",
        [merge_id],
    )


def rollback_queryset() -> QuerySet[Rollback]:
    return Rollback.objects.order_by("-created_at", "-id")


def open_merge(target: str) -> Merge | None:
    """The open (conflicted) merge into a branch (``HEAD``: HEAD's branch), if any."""
    if target.upper() == "HEAD":
        branch_id = head_branch_id()
    else:
        branch_id = branch_queryset().filter(name=target).values_list("id", flat=True).first()
        if branch_id is None:
            raise DomainError(
                f"branch {target!r} does not exist", code="branch_not_found", status=404
            )
    return Merge.objects.filter(target_branch_id=branch_id, status="conflicted").first()


def working_changes_with_diffs() -> dict[str, Any]:
    """``status`` with each working change's before (HEAD) and after (live) definitions."""
    status = status_get()
    if status["clean"]:
        return {**status, "working_changes": []}
    diff = diff_get(from_ref="HEAD", to_ref="WORKING")
    sides = {
        (c["object_type"], c["schema_name"], c["object_name"]): (c["before"], c["after"])
        for c in diff["changes"]
    }
    changes = []
    for change in status["working_changes"]:
        key = (change["object_type"], change["schema_name"], change["object_name"])
        before, after = sides.get(key, (None, None))
        changes.append({**change, "before": before, "after": after})
    return {**status, "working_changes": changes, "script": diff["script"]}


def commit_change_queryset(commit: Commit):
    """A commit's recorded changes, in object-key order."""
    return CommitChange.objects.filter(commit_id=commit.id).order_by("object_key")


def commit_detail(commit: Commit, changes: list[CommitChange] | None = None) -> dict[str, Any]:
    """A commit's changes (all, or the given ones: a page of them) with both definitions (from
    their blobs) and, against its first parent, the migration script (a root commit has none: it
    is the schema as installed)."""
    if changes is None:
        changes = list(commit_change_queryset(commit))
    blob_hashes = {h for c in changes for h in (c.old_blob, c.new_blob) if h}
    definitions = dict(Blob.objects.filter(hash__in=blob_hashes).values_list("hash", "definition"))
    rows = [
        {
            "object_key": c.object_key,
            "object_type": c.kind,
            "schema_name": c.schema_name,
            "object_name": c.object_name,
            "change": c.change,
            "before": definitions.get(c.old_blob),
            "after": definitions.get(c.new_blob),
        }
        for c in changes
    ]
    script = None
    if commit.parents:
        script = fetch_value("SELECT pggit.diff_script(%s, %s)", [commit.parents[0], commit.hash])
    return {"changes": rows, "script": script}


def checkout_preview(name: str) -> dict[str, Any]:
    """What checking ``name`` out would do now: the migration from the live schema to the
    branch's tree, the data-loss findings that would refuse it without force, and the working
    changes it would discard. Runs nothing (the engine's own planning functions)."""
    branch = fetch_one("SELECT name, head_commit FROM pggit.active_branch(%s)", [name])
    statements = fetch_all(
        "SELECT step, phase, object_key, statement FROM pggit.migration_plan("
        "pggit.live_tree(), pggit.ref_tree(%s)) ORDER BY step",
        [branch["head_commit"]],
    )
    findings = fetch_all(
        "SELECT check_name, level, message FROM pggit.data_loss_findings("
        "pggit.live_tree(), pggit.ref_tree(%s))",
        [branch["head_commit"]],
    )
    status = status_get()
    return {
        "branch": branch["name"],
        "commit": branch["head_commit"],
        "statements": statements,
        "findings": findings,
        "working_changes": status["working_changes"],
        "current_branch": status["branch"],
    }


def object_blame(object_key: str, definition: str) -> list[dict[str, Any]]:
    """Line blame of an object's current definition: for each line, the commit (of the object's
    history in HEAD's ancestry, oldest first) that introduced it. Lines not committed yet have
    ``commit`` None."""
    import difflib

    reachable = ancestors("HEAD")  # the line of history the live definition comes from
    history = [
        version
        for version in reversed(object_history(object_key, limit=1000))
        if version["commit_hash"] in reachable
    ]
    lines: list[tuple[str, dict | None]] = []
    for version in history:
        new_lines = (version["definition"] or "").splitlines()
        origin = {k: version[k] for k in ("commit_hash", "author", "committed_at", "message")}
        matcher = difflib.SequenceMatcher(a=[t for t, _ in lines], b=new_lines, autojunk=False)
        carried: list[tuple[str, dict | None]] = []
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                carried.extend(lines[i1:i2])
            else:
                carried.extend((text, origin) for text in new_lines[j1:j2])
        lines = carried
    matcher = difflib.SequenceMatcher(
        a=[t for t, _ in lines], b=definition.splitlines(), autojunk=False
    )
    result = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            result.extend({"line": text, "commit": origin} for text, origin in lines[i1:i2])
        else:
            result.extend({"line": text, "commit": None} for text in definition.splitlines()[j1:j2])
    return result


def branch_heads() -> dict[str, list[str]]:
    """commit hash → the names of the branches whose head it is (for decorating history)."""
    heads: dict[str, list[str]] = {}
    for name, head_commit in branch_queryset().values_list("name", "head_commit"):
        heads.setdefault(head_commit, []).append(name)
    return heads


def graph_commits(limit: int = 200) -> list[Commit]:
    """The newest ``limit`` commits of every branch (newest first) for the commit graph."""
    return list(Commit.objects.order_by("-committed_at", "-id")[:limit])


def ancestors(ref: str) -> set[str]:
    """The hashes of the commit ``ref`` names and of all its ancestors (every parent)."""
    parents = dict(Commit.objects.values_list("hash", "parents"))
    seen: set[str] = set()
    todo = [commit_resolve(ref).hash]
    while todo:
        current = todo.pop()
        if current in seen or current not in parents:
            continue
        seen.add(current)
        todo.extend(parents[current])
    return seen


def _tree_changes(from_tree: Any, to_tree: Any) -> list[dict[str, Any]]:
    """The objects that differ between two trees (jsonb), with both definitions, by key."""
    return fetch_all(
        "SELECT d.object_key, d.change, coalesce(n.kind, o.kind) AS object_type, "
        "coalesce(n.schema_name, o.schema_name) AS schema_name, "
        "coalesce(n.object_name, o.object_name) AS object_name, "
        "o.definition AS before, n.definition AS after "
        "FROM pggit.tree_diff(%s::jsonb, %s::jsonb) d "
        "LEFT JOIN pggit.blobs o ON o.hash = d.old_blob "
        "LEFT JOIN pggit.blobs n ON n.hash = d.new_blob "
        'ORDER BY d.object_key COLLATE "C"',
        [_json(from_tree), _json(to_tree)],
    )


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _head_plan(to_tree: Any) -> dict[str, Any]:
    """What moving the live schema to ``to_tree`` would run and destroy (the checkout's planning
    functions; runs nothing)."""
    tree = _json(to_tree)
    statements = fetch_all(
        "SELECT step, phase, object_key, statement FROM pggit.migration_plan("
        "pggit.live_tree(), %s::jsonb) ORDER BY step",
        [tree],
    )
    findings = fetch_all(
        "SELECT check_name, level, message FROM pggit.data_loss_findings("
        "pggit.live_tree(), %s::jsonb)",
        [tree],
    )
    return {"statements": statements, "findings": findings}


def merge_preview(source: str, target: str) -> dict[str, Any]:
    """What ``pggit.merge(source, target)`` would do now, running nothing: the outcome
    (``up_to_date``, ``fast_forward``, ``merge`` or ``no_merge_base``), the merge base, the
    changes to the target's tree (each object with the target's and the result's definition),
    the conflicts with the base's, source's and target's definitions (the engine's own analysis,
    ``pggit.merge_analyze``), an open merge into the target that would refuse a new one, and —
    when the target is HEAD's branch and there is no conflict — the migration of the live schema
    and its data-loss findings. EngineError for an unknown ref or branch."""
    target_is_head = target.strip().upper() == "HEAD"
    branch = fetch_one(
        "SELECT id, name, head_commit FROM pggit.head_branch()"
        if target_is_head
        else "SELECT id, name, head_commit FROM pggit.active_branch(%s)",
        [] if target_is_head else [target],
    )
    source_commit = fetch_value("SELECT pggit.resolve_ref(%s)", [source])
    base = fetch_value("SELECT pggit.merge_base(%s, %s)", [source_commit, branch["head_commit"]])
    status = status_get()
    preview: dict[str, Any] = {
        "source": source,
        "source_commit": source_commit,
        "target": branch["name"],
        "target_commit": branch["head_commit"],
        "target_is_head": status["branch"] == branch["name"],
        "base": base,
        "changes": [],
        "conflicts": [],
        "plan": None,
        "working_changes": status["working_changes"],
        "open_merge": Merge.objects.filter(
            target_branch_id=branch["id"], status="conflicted"
        ).first(),
    }
    if base is None:
        return {**preview, "outcome": "no_merge_base"}
    if base == source_commit:
        return {**preview, "outcome": "up_to_date"}
    trees = fetch_one(
        "SELECT pggit.commit_tree(%s) AS base, pggit.commit_tree(%s) AS source, "
        "pggit.commit_tree(%s) AS target",
        [base, source_commit, branch["head_commit"]],
    )
    if base == branch["head_commit"]:
        outcome, result = "fast_forward", trees["source"]
    else:
        analysis = fetch_one(
            "SELECT changes, conflicts, pggit.tree_with_changes(%s::jsonb, changes) AS result "
            "FROM pggit.merge_analyze(%s::jsonb, %s::jsonb, %s::jsonb)",
            [_json(trees["target"]), *(_json(trees[k]) for k in ("base", "source", "target"))],
        )
        outcome, result = "merge", analysis["result"]
        blobs = {
            h
            for c in analysis["conflicts"]
            for h in (c["base_blob"], c["source_blob"], c["target_blob"])
            if h
        }
        rows = Blob.objects.filter(hash__in=blobs).values("hash", "definition", "kind")
        by_hash = {row["hash"]: row for row in rows}
        for c in analysis["conflicts"]:
            side = by_hash.get(c["source_blob"] or c["target_blob"] or c["base_blob"], {})
            preview["conflicts"].append(
                {
                    "id": c["conflict_id"],
                    "object_key": c["object_key"],
                    "object_type": side.get("kind"),
                    "type": c["conflict_type"],
                    "detail": c["detail"],
                    "related_key": c["related_key"],
                    **{
                        name: by_hash.get(c[f"{name}_blob"], {}).get("definition")
                        for name in ("base", "source", "target")
                    },
                }
            )
    preview["changes"] = _tree_changes(trees["target"], result)
    if preview["target_is_head"] and not preview["conflicts"]:
        preview["plan"] = _head_plan(result)
    return {**preview, "outcome": outcome}


def merge_completion_plan(merge_id: int) -> dict[str, Any] | None:
    """For an open merge into HEAD's branch whose conflicts are all resolved: the changes its
    completion makes to the target's tree and the migration of the live schema it would run
    (runs nothing). None while a conflict is open or when the target is not HEAD's branch."""
    merge = merge_get(merge_id)
    if merge.status != "conflicted" or merge.conflicts.filter(resolution__isnull=True).exists():
        return None
    row = fetch_one(
        "SELECT pggit.commit_tree(%s) AS target, pggit.tree_with_changes("
        "pggit.commit_tree(%s), pggit.merge_changes(%s)) AS result",
        [merge.target_commit, merge.target_commit, merge_id],
    )
    plan = _head_plan(row["result"]) if head_branch_id() == merge.target_branch_id else None
    return {"changes": _tree_changes(row["target"], row["result"]), "plan": plan}
