"""Unmanaged models over the engine's tables in the ``pggit`` schema.

The engine (sql/) owns these tables: Django reads them through the ORM and writes them only by
calling the engine's SQL functions (vcs.services). Never ``save()`` one of these models.
"""

# These models mirror tables the engine defines; nullable text columns are NULL there, not "".
# ruff: noqa: DJ001

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from pggit_project.models import ReadOnlyModel


class Commit(ReadOnlyModel):
    """A commit: parents, tree, author, committer, time and message; its hash covers all of them."""

    id = models.BigIntegerField(primary_key=True)
    hash = models.TextField(unique=True)
    parents = ArrayField(models.TextField())
    tree_hash = models.TextField()
    branch = models.TextField()
    author = models.TextField()
    committer = models.TextField()
    message = models.TextField()
    committed_at = models.DateTimeField()
    kind = models.TextField()
    change_count = models.IntegerField()

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."commits'
        ordering = ["-committed_at", "-id"]
        permissions = [("revert_commit", "Can revert commits and reset branches")]

    def __str__(self) -> str:
        return f"{self.hash[:12]} {self.message.splitlines()[0] if self.message else ''}"

    @property
    def short_hash(self) -> str:
        return self.hash[:12]


class CommitChange(ReadOnlyModel):
    """What a commit changed, one row per object."""

    pk = models.CompositePrimaryKey("commit_id", "object_key")
    commit = models.ForeignKey(Commit, on_delete=models.DO_NOTHING, related_name="changes")
    object_key = models.TextField()
    kind = models.TextField()
    schema_name = models.TextField(null=True)
    object_name = models.TextField()
    change = models.TextField()
    old_blob = models.TextField(null=True)
    new_blob = models.TextField(null=True)

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."commit_changes'
        ordering = ["object_key"]

    def __str__(self) -> str:
        return f"{self.change} {self.object_key}"


class Branch(ReadOnlyModel):
    """A named pointer to a commit. Deleted branches stay (status DELETED) for the history."""

    id = models.BigIntegerField(primary_key=True)
    name = models.TextField()
    head_commit = models.TextField()
    parent_branch = models.TextField(null=True)
    base_commit = models.TextField(null=True)
    status = models.TextField()
    protected = models.BooleanField()
    description = models.TextField(null=True)
    created_by = models.TextField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True)

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."branches'
        ordering = ["name"]
        verbose_name_plural = "branches"
        permissions = [("checkout_branch", "Can check out branches")]

    def __str__(self) -> str:
        return self.name


class Head(ReadOnlyModel):
    """HEAD: the branch whose tree the live schema is (one row)."""

    singleton = models.BooleanField(primary_key=True)
    branch = models.ForeignKey(Branch, on_delete=models.DO_NOTHING, db_column="branch_id")
    moved_at = models.DateTimeField()
    moved_by = models.TextField()

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."head'

    def __str__(self) -> str:
        return f"HEAD -> {self.branch_id}"


class LiveObject(ReadOnlyModel):
    """A tracked object of the live schema, as capture knows it."""

    object_key = models.TextField(primary_key=True)
    kind = models.TextField()
    schema_name = models.TextField(null=True)
    object_name = models.TextField()
    parent_name = models.TextField(null=True)
    blob_hash = models.TextField()

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."live_state'
        ordering = ["schema_name", "kind", "object_key"]

    def __str__(self) -> str:
        return self.object_key


class Blob(ReadOnlyModel):
    """A canonical definition, stored once per content hash."""

    hash = models.TextField(primary_key=True)
    kind = models.TextField()
    object_key = models.TextField()
    definition = models.TextField()

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."blobs'

    def __str__(self) -> str:
        return f"{self.hash[:12]} {self.object_key}"


class AuditEntry(ReadOnlyModel):
    """One captured DDL command with who ran it (the view pggit.audit_log)."""

    id = models.BigIntegerField(primary_key=True)
    captured_at = models.DateTimeField()
    command_tag = models.TextField()
    statement = models.TextField(null=True)
    targets = models.JSONField()
    touched_objects = models.JSONField(db_column="objects")
    role_name = models.TextField()
    session_role = models.TextField()
    application_name = models.TextField(null=True)
    client_addr = models.GenericIPAddressField(null=True)
    actor = models.TextField(null=True)
    branch = models.TextField(null=True)
    engine_operation = models.TextField(null=True)
    backend_pid = models.IntegerField()
    commit_hash = models.TextField(null=True)

    objects = models.Manager()

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."audit_log'
        ordering = ["-captured_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.command_tag} by {self.role_name} at {self.captured_at}"


class Event(ReadOnlyModel):
    """An entry of the event outbox (the stream WebSockets, webhooks and caches consume)."""

    id = models.BigIntegerField(primary_key=True)
    type = models.TextField()
    occurred_at = models.DateTimeField()
    data = models.JSONField()
    actor = models.TextField(null=True)

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."events'
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class Merge(ReadOnlyModel):
    """A merge of a source ref into a target branch (pggit.merge): its base, status and result."""

    id = models.BigIntegerField(primary_key=True)
    source = models.TextField()
    target = models.TextField()
    target_branch_id = models.BigIntegerField()
    strategy = models.TextField()
    status = models.TextField()
    source_commit = models.TextField()
    target_commit = models.TextField()
    base = models.TextField(null=True)
    result_commit = models.TextField(null=True)
    conflict_count = models.IntegerField()
    message = models.TextField(null=True)
    created_by = models.TextField()
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."merges'
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"merge {self.id}: {self.source} into {self.target} ({self.status})"


class MergeConflict(ReadOnlyModel):
    """One conflict of a merge; ``conflict_id`` is stable within its merge."""

    pk = models.CompositePrimaryKey("merge_id", "conflict_id")
    merge = models.ForeignKey(Merge, on_delete=models.DO_NOTHING, related_name="conflicts")
    conflict_id = models.IntegerField()
    object_key = models.TextField()
    kind = models.TextField()
    schema_name = models.TextField(null=True)
    object_name = models.TextField()
    conflict_type = models.TextField()
    severity = models.TextField()
    base_blob = models.TextField(null=True)
    source_blob = models.TextField(null=True)
    target_blob = models.TextField(null=True)
    related_key = models.TextField(null=True)
    detail = models.TextField()
    resolution = models.TextField(null=True)
    resolved_blob = models.TextField(null=True)
    resolved_by = models.TextField(null=True)
    resolved_at = models.DateTimeField(null=True)

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."conflicts'
        ordering = ["merge_id", "conflict_id"]

    def __str__(self) -> str:
        return f"{self.conflict_type} {self.object_key}"


class Rollback(ReadOnlyModel):
    """An executed revert, reset or undo (dry runs are not recorded)."""

    id = models.BigIntegerField(primary_key=True)
    operation = models.TextField()
    branch = models.TextField()
    target = models.TextField()
    result_commit = models.TextField()
    script = models.TextField()
    findings = models.JSONField()
    forced = models.BooleanField()
    created_by = models.TextField()
    created_at = models.DateTimeField()

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."rollbacks'
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.operation} of {self.branch} to {self.target[:12]}"
