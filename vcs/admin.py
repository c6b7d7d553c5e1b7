"""Read-only admin over the engine's tables: branches, commits (with their changes), merges,
objects, the DDL audit trail and the event outbox. Changes go through the engine (API, console or
manage.py pggit); each object's History lists what the console did to it (LogEntry)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html_join

from pggit_project.admin import ReadOnlyAdmin
from pggit_project.permissions import sees_sensitive
from vcs.models import AuditEntry, Branch, Commit, CommitChange, Event, LiveObject, Merge


@admin.register(Branch)
class BranchAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "head_commit",
        "parent_branch",
        "status",
        "protected",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "protected"]
    search_fields = ["name", "description"]
    ordering = ["name"]


@admin.register(Commit)
class CommitAdmin(ReadOnlyAdmin):
    list_display = [
        "short_hash",
        "message",
        "branch",
        "author",
        "kind",
        "change_count",
        "committed_at",
    ]
    list_filter = ["kind", "branch"]
    search_fields = ["hash", "message", "author"]
    ordering = ["-committed_at", "-id"]
    readonly_fields = [
        "hash",
        "parents",
        "tree_hash",
        "branch",
        "author",
        "committer",
        "message",
        "committed_at",
        "kind",
        "change_count",
        "changes_table",
    ]
    exclude = ["id"]

    @admin.display(description="changes")
    def changes_table(self, commit: Commit) -> str:
        rows = CommitChange.objects.filter(commit_id=commit.id).order_by("object_key")
        return format_html_join(
            "\n", "<div><code>{}</code> {}</div>", ((c.change, c.object_key) for c in rows)
        )


@admin.register(Merge)
class MergeAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "source",
        "target",
        "strategy",
        "status",
        "conflict_count",
        "result_commit",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "strategy"]
    search_fields = ["source", "target", "message", "created_by"]
    ordering = ["-created_at", "-id"]


@admin.register(LiveObject)
class LiveObjectAdmin(ReadOnlyAdmin):
    list_display = ["object_key", "kind", "schema_name", "object_name", "blob_hash"]
    list_filter = ["kind", "schema_name"]
    search_fields = ["object_key"]
    ordering = ["schema_name", "kind", "object_key"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "captured_at",
        "command_tag",
        "role_name",
        "application_name",
        "actor",
        "branch",
        "engine_operation",
        "commit_hash",
    ]
    list_filter = ["command_tag", "role_name", "engine_operation"]
    search_fields = ["statement", "actor", "application_name"]
    ordering = ["-captured_at", "-id"]

    def get_exclude(self, request, obj=None):
        # client addresses only with pggit_project.view_sensitive (docs/security.md)
        hidden = [] if sees_sensitive(request.user) else ["client_addr"]
        return [*(super().get_exclude(request, obj) or []), *hidden]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "occurred_at", "actor"]
    list_filter = ["type"]
    ordering = ["-id"]
