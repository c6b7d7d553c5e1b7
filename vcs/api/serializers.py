"""Input and output shapes of the version-control API (docs/api.md, "Version control";
docs/openapi.yaml)."""

from __future__ import annotations

from rest_framework import serializers

from pggit_project.constants import DEFAULT_PAGE_SIZE
from pggit_project.permissions import request_sees_sensitive
from vcs.choices import CHANGE_CHOICES


class WorkingChangeSerializer(serializers.Serializer):
    object_type = serializers.CharField()
    schema_name = serializers.CharField(allow_null=True)
    object_name = serializers.CharField()
    change_type = serializers.ChoiceField(choices=CHANGE_CHOICES)
    statement = serializers.CharField(allow_null=True)
    actor = serializers.CharField(allow_null=True)
    captured_at = serializers.DateTimeField()


class StatusSerializer(serializers.Serializer):
    branch = serializers.CharField()
    commit = serializers.CharField()
    clean = serializers.BooleanField()
    working_change_count = serializers.IntegerField(
        help_text="All the working changes; `working_changes` holds the first page of them."
    )
    working_changes = WorkingChangeSerializer(
        many=True,
        help_text=f"The first page ({DEFAULT_PAGE_SIZE}, in capture order) of the working changes; "
        "`GET /api/v1/status/changes` pages them all.",
    )


class BranchSerializer(serializers.Serializer):
    name = serializers.CharField()
    head = serializers.CharField(source="head_commit")
    parent = serializers.CharField(source="parent_branch", allow_null=True)
    status = serializers.SerializerMethodField()
    is_head = serializers.SerializerMethodField()
    protected = serializers.BooleanField()
    description = serializers.CharField(allow_null=True)
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_status(self, branch) -> str:
        return branch.status.lower()

    def get_is_head(self, branch) -> bool:
        return branch.id == self.context.get("head_branch_id")


class BranchCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    # "from" is a Python keyword: exposed as "from", read as from_ref
    from_ref = serializers.CharField(required=False, default="HEAD", max_length=200)
    description = serializers.CharField(required=False, allow_null=True, max_length=1000)

    def to_internal_value(self, data):
        if isinstance(data, dict) and "from" in data and "from_ref" not in data:
            data = {**data, "from_ref": data["from"]}
        return super().to_internal_value(data)


class BranchUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=100)
    protected = serializers.BooleanField(required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("give at least one of: name, protected")
        return attrs


class CheckoutSerializer(serializers.Serializer):
    force = serializers.BooleanField(required=False, default=False)


class CheckoutResultSerializer(serializers.Serializer):
    branch = serializers.CharField()
    commit = serializers.CharField()
    statements = serializers.ListField(child=serializers.CharField())


class CommitChangeSerializer(serializers.Serializer):
    object_type = serializers.CharField()
    schema_name = serializers.CharField(allow_null=True)
    object_name = serializers.CharField()
    change = serializers.ChoiceField(choices=CHANGE_CHOICES)


class CommitSerializer(serializers.Serializer):
    hash = serializers.CharField()
    short_hash = serializers.CharField()
    parents = serializers.ListField(child=serializers.CharField())
    branch = serializers.CharField()
    author = serializers.CharField()
    committer = serializers.CharField()
    message = serializers.CharField()
    committed_at = serializers.DateTimeField()
    kind = serializers.CharField()
    change_count = serializers.IntegerField(
        help_text="How many objects the commit changed; `GET /api/v1/commits/{ref}/changes` "
        "pages them."
    )


class CommitCreateSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=10000, trim_whitespace=True)
    author = serializers.CharField(required=False, allow_null=True, max_length=200)


class ObjectSerializer(serializers.Serializer):
    id = serializers.CharField(source="object_key")
    object_type = serializers.CharField(source="kind")
    schema_name = serializers.CharField(allow_null=True)
    object_name = serializers.CharField()
    parent_name = serializers.CharField(allow_null=True)
    hash = serializers.CharField(source="blob_hash")


class ObjectDetailSerializer(ObjectSerializer):
    definition = serializers.CharField()


class ObjectHistorySerializer(serializers.Serializer):
    commit = serializers.CharField(source="commit_hash")
    committed_at = serializers.DateTimeField()
    author = serializers.CharField()
    message = serializers.CharField()
    branch = serializers.CharField()
    change = serializers.ChoiceField(choices=CHANGE_CHOICES)
    definition = serializers.CharField(allow_null=True)


class DiffQuerySerializer(serializers.Serializer):
    from_ref = serializers.CharField(max_length=200)
    to_ref = serializers.CharField(max_length=200)


class DiffChangeSerializer(serializers.Serializer):
    object_type = serializers.CharField()
    schema_name = serializers.CharField(allow_null=True)
    object_name = serializers.CharField()
    change = serializers.ChoiceField(choices=CHANGE_CHOICES)
    before = serializers.CharField(allow_null=True)
    after = serializers.CharField(allow_null=True)


class DiffSerializer(serializers.Serializer):
    changes = DiffChangeSerializer(many=True)
    script = serializers.CharField()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        return {"from": instance["from"], "to": instance["to"], **data}


class SchemaQuerySerializer(serializers.Serializer):
    at = serializers.CharField(required=False, default="HEAD", max_length=200)


class SchemaSerializer(serializers.Serializer):
    at = serializers.CharField()
    ddl = serializers.CharField()


class AuditEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    captured_at = serializers.DateTimeField()
    command_tag = serializers.CharField()
    statement = serializers.CharField(allow_null=True)
    targets = serializers.JSONField()
    objects = serializers.JSONField(source="touched_objects")
    role_name = serializers.CharField()
    session_role = serializers.CharField()
    application_name = serializers.CharField(allow_null=True)
    client_addr = serializers.CharField(
        allow_null=True, help_text="null without `pggit_project.view_sensitive`."
    )
    actor = serializers.CharField(allow_null=True)
    branch = serializers.CharField(allow_null=True)
    engine_operation = serializers.CharField(allow_null=True)
    commit = serializers.CharField(source="commit_hash", allow_null=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not request_sees_sensitive(self.context):
            data["client_addr"] = None
        return data


class VerifyBreakSerializer(serializers.Serializer):
    commit = serializers.CharField()
    reason = serializers.CharField()


class VerifySerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField()
    breaks = VerifyBreakSerializer(many=True)


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    data = serializers.JSONField()


STRATEGIES = ["ABORT_ON_CONFLICT", "SOURCE_WINS", "TARGET_WINS", "MANUAL_REVIEW"]
MERGE_STATUSES = ["completed", "fast_forward", "up_to_date", "conflicted", "aborted"]
RESOLUTIONS = ["SOURCE", "TARGET", "CUSTOM"]
CONFLICT_TYPES = ["BOTH_MODIFIED", "MODIFY_DELETE", "DELETE_MODIFY", "ADD_ADD", "DEPENDENCY"]


class MergeCreateSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=200)
    target = serializers.CharField(max_length=200, required=False, default="HEAD")
    strategy = serializers.ChoiceField(
        choices=STRATEGIES, required=False, default="ABORT_ON_CONFLICT"
    )
    message = serializers.CharField(
        max_length=10000, required=False, allow_null=True, allow_blank=True
    )
    force = serializers.BooleanField(
        required=False, default=False, help_text="Destroy data the migration of HEAD would lose."
    )


class MergeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField()
    target = serializers.CharField()
    strategy = serializers.ChoiceField(choices=STRATEGIES)
    status = serializers.ChoiceField(choices=MERGE_STATUSES)
    base = serializers.CharField(allow_null=True)
    result_commit = serializers.CharField(allow_null=True)
    conflict_count = serializers.IntegerField()
    message = serializers.CharField(allow_null=True)
    source_commit = serializers.CharField()
    target_commit = serializers.CharField()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class ConflictSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Stable within the merge.")
    object_key = serializers.CharField()
    object_type = serializers.CharField()
    schema_name = serializers.CharField(allow_null=True)
    object_name = serializers.CharField()
    type = serializers.ChoiceField(choices=CONFLICT_TYPES)
    severity = serializers.ChoiceField(choices=["low", "medium", "high"])
    base = serializers.CharField(allow_null=True)
    source = serializers.CharField(allow_null=True)
    target = serializers.CharField(allow_null=True)
    related_key = serializers.CharField(allow_null=True)
    detail = serializers.CharField()
    resolution = serializers.ChoiceField(choices=RESOLUTIONS, allow_null=True)
    resolved = serializers.CharField(allow_null=True)


class ResolveSerializer(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=RESOLUTIONS)
    custom_definition = serializers.CharField(
        required=False, allow_null=True, max_length=100000, trim_whitespace=False
    )

    def validate(self, attrs):
        custom = attrs.get("custom_definition")
        if attrs["resolution"] == "CUSTOM" and not (custom and custom.strip()):
            raise serializers.ValidationError(
                {"custom_definition": ["A CUSTOM resolution needs the object's DDL."]}
            )
        if attrs["resolution"] != "CUSTOM" and custom is not None:
            raise serializers.ValidationError(
                {"custom_definition": ["Only a CUSTOM resolution takes a definition."]}
            )
        return attrs


class ResolveResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="conflict_id")
    object_key = serializers.CharField()
    resolution = serializers.ChoiceField(choices=RESOLUTIONS)
    resolved = serializers.CharField(allow_null=True)
    remaining = serializers.IntegerField(help_text="Conflicts of the merge still unresolved.")


class MergeCompleteSerializer(serializers.Serializer):
    force = serializers.BooleanField(required=False, default=False)


class FindingSerializer(serializers.Serializer):
    check = serializers.CharField()
    level = serializers.ChoiceField(choices=["error", "info"])
    message = serializers.CharField()


class RollbackResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["completed", "dry_run"])
    commit = serializers.CharField(allow_null=True)
    script = serializers.CharField()
    findings = FindingSerializer(many=True)


class RevertSerializer(serializers.Serializer):
    commit = serializers.CharField(max_length=200)
    dry_run = serializers.BooleanField(required=False, default=True)
    force = serializers.BooleanField(
        required=False, default=False, help_text="Overrides data-loss findings only."
    )


class ResetSerializer(serializers.Serializer):
    branch = serializers.CharField(max_length=200)
    to = serializers.CharField(max_length=200, help_text="A ref or an ISO 8601 timestamp.")
    dry_run = serializers.BooleanField(required=False, default=True)
    force = serializers.BooleanField(required=False, default=False)


class UndoSerializer(serializers.Serializer):
    objects = serializers.ListField(
        child=serializers.CharField(max_length=500), min_length=1, max_length=1000
    )
    to = serializers.CharField(max_length=200)
    dry_run = serializers.BooleanField(required=False, default=True)
    force = serializers.BooleanField(required=False, default=False)


class RollbackSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    operation = serializers.ChoiceField(choices=["revert", "reset", "undo"])
    branch = serializers.CharField()
    target = serializers.CharField()
    commit = serializers.CharField(source="result_commit")
    script = serializers.CharField()
    findings = FindingSerializer(many=True)
    forced = serializers.BooleanField()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
