"""Input and output shapes of the version-control API (docs/api.md, "Version control";
docs/openapi.yaml)."""

from __future__ import annotations

from rest_framework import serializers

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
    working_changes = WorkingChangeSerializer(many=True)


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
    object_type = serializers.CharField(source="kind")
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
    changes = CommitChangeSerializer(many=True)


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
