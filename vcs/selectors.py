"""Reads of the version-control domain: the ORM over the pggit tables, the engine's functions
where the answer is computed (refs, diffs, schema as of a time, verification)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat

from pggit_project.engine import engine_status as status_get  # noqa: F401 (the vcs API and CLI read it here)
from pggit_project.engine import fetch_all, fetch_one, fetch_value
from pggit_project.errors import DomainError
from vcs.models import (
    AuditEntry,
    Branch,
    Commit,
    CommitChange,
    Event,
    Head,
    LiveObject,
    Merge,
    Rollback,
)


def branch_queryset() -> QuerySet[Branch]:
    return Branch.objects.exclude(status="DELETED").order_by("name")


def head_branch_id() -> int | None:
    return Head.objects.values_list("branch_id", flat=True).first()


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


def commit_changes(commit: Commit) -> list[dict[str, Any]]:
    return list(
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
