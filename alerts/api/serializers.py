"""Serializers of the alerts API (output shapes per docs/api.md and docs/openapi.yaml; input
serializers validate bodies)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerts.choices import MatcherOp
from alerts.constants import (
    MAX_BATCH_IDS,
    SILENCE_MATCHER_DETAILS_PREFIX,
    SILENCE_MATCHER_NAMES,
)
from alerts.models import (
    Alert,
    AlertOccurrence,
    AlertSilence,
    OperationRecord,
    PerformanceBaseline,
)
from pggit_project.serializers import FastOutputMixin

ALERT_FIELDS = [
    "id",
    "fingerprint",
    "source",
    "severity",
    "status",
    "title",
    "message",
    "details",
    "first_seen_at",
    "last_seen_at",
    "occurrences",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_by",
    "note",
]


class AlertSerializer(FastOutputMixin, serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = ALERT_FIELDS
        read_only_fields = ALERT_FIELDS


class AlertOccurrenceSerializer(FastOutputMixin, serializers.ModelSerializer):
    class Meta:
        model = AlertOccurrence
        fields = ["id", "occurred_at", "severity", "status", "message", "details", "notified"]
        read_only_fields = fields


class AlertDetailSerializer(AlertSerializer):
    """An alert with its silence and its latest occurrences (newest first)."""

    silence_id = serializers.IntegerField(allow_null=True, read_only=True)
    history = serializers.SerializerMethodField()

    class Meta(AlertSerializer.Meta):
        fields = [*ALERT_FIELDS, "silence_id", "history"]
        read_only_fields = fields

    @extend_schema_field(AlertOccurrenceSerializer(many=True))
    def get_history(self, alert: Alert) -> list[dict]:
        return AlertOccurrenceSerializer(self.context["history"], many=True).data


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class BatchAcknowledgeSerializer(NoteSerializer):
    alert_ids = serializers.ListField(
        child=serializers.IntegerField(),
        allow_empty=False,
        max_length=MAX_BATCH_IDS,
        help_text="Alert ids (integers). Ids no alert has are reported in `not_found`.",
    )


class BatchAcknowledgeResultSerializer(serializers.Serializer):
    acknowledged = serializers.ListField(child=serializers.IntegerField())
    not_found = serializers.ListField(child=serializers.IntegerField())
    acknowledged_count = serializers.IntegerField()
    already_acknowledged = serializers.ListField(
        child=serializers.IntegerField(), help_text="Left as they were (acknowledged before)."
    )
    not_acknowledgeable = serializers.ListField(
        child=serializers.IntegerField(), help_text="Resolved alerts: they cannot be acknowledged."
    )


class CountsBySeveritySerializer(serializers.Serializer):
    critical = serializers.IntegerField()
    error = serializers.IntegerField()
    warning = serializers.IntegerField()
    info = serializers.IntegerField()


class CountsByStatusSerializer(serializers.Serializer):
    firing = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    resolved = serializers.IntegerField()
    silenced = serializers.IntegerField()


class AlertStatsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    open = serializers.IntegerField(help_text="Not resolved: firing, acknowledged or silenced.")
    occurrences = serializers.IntegerField()
    by_status = CountsByStatusSerializer()
    by_severity = CountsBySeveritySerializer()
    open_by_severity = CountsBySeveritySerializer()
    new_last_24h = serializers.IntegerField()
    resolved_last_24h = serializers.IntegerField()
    oldest_open_since = serializers.DateTimeField(allow_null=True)
    mean_seconds_to_acknowledge = serializers.FloatField(allow_null=True)
    mean_seconds_to_resolve = serializers.FloatField(allow_null=True)


class MatcherSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=100,
        help_text="fingerprint, source, severity, title, or details.<key>.",
    )
    op = serializers.ChoiceField(choices=MatcherOp.choices, default=MatcherOp.EQUAL)
    value = serializers.CharField(allow_blank=True, max_length=500)

    def validate_name(self, value: str) -> str:
        key = value.removeprefix(SILENCE_MATCHER_DETAILS_PREFIX)
        if value in SILENCE_MATCHER_NAMES or (key != value and key.isidentifier()):
            return value
        raise serializers.ValidationError(
            "Must be fingerprint, source, severity, title or details.<key>."
        )


class AlertSilenceSerializer(serializers.ModelSerializer):
    matchers = MatcherSerializer(many=True)
    is_active = serializers.SerializerMethodField()

    class Meta:
        model = AlertSilence
        fields = [
            "id",
            "matchers",
            "comment",
            "starts_at",
            "ends_at",
            "is_active",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_is_active(self, silence: AlertSilence) -> bool:
        now = self.context["now"]
        return silence.starts_at <= now < silence.ends_at


class AlertSilenceWriteSerializer(serializers.Serializer):
    matchers = MatcherSerializer(many=True, allow_empty=False, max_length=20)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField()


class OperationSummarySerializer(serializers.Serializer):
    operation = serializers.CharField()
    runs = serializers.IntegerField()
    failures = serializers.IntegerField()
    slow_runs = serializers.IntegerField(help_text="Runs beyond the baseline threshold.")
    mean_ms = serializers.FloatField()
    p50_ms = serializers.FloatField()
    p95_ms = serializers.FloatField()
    p99_ms = serializers.FloatField()
    max_ms = serializers.FloatField()
    last_run_at = serializers.DateTimeField()
    objects = serializers.IntegerField()
    statements = serializers.IntegerField()
    threshold_ms = serializers.FloatField(allow_null=True)


class OperationSummaryListSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    operations = OperationSummarySerializer(many=True)


class OperationMetricSerializer(serializers.ModelSerializer):
    parent_id = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta:
        model = OperationRecord
        fields = [
            "id",
            "operation",
            "started_at",
            "duration_ms",
            "object_count",
            "statement_count",
            "branch",
            "actor",
            "success",
            "error",
            "parent_id",
            "details",
        ]
        read_only_fields = fields


class SpanSerializer(OperationMetricSerializer):
    depth = serializers.IntegerField()
    self_ms = serializers.FloatField(help_text="Time in this span minus its child spans.")

    class Meta(OperationMetricSerializer.Meta):
        fields = [*OperationMetricSerializer.Meta.fields, "depth", "self_ms"]
        read_only_fields = fields


class OperationTraceSerializer(OperationMetricSerializer):
    spans = SpanSerializer(many=True, read_only=True, source="trace_spans")

    class Meta(OperationMetricSerializer.Meta):
        fields = [*OperationMetricSerializer.Meta.fields, "spans"]
        read_only_fields = fields


class BaselineSerializer(serializers.ModelSerializer):
    class Meta:
        model = PerformanceBaseline
        fields = [
            "operation",
            "sample_count",
            "mean_ms",
            "stddev_ms",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "max_ms",
            "threshold_ms",
            "window_start",
            "window_end",
            "calculated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        """Milliseconds to the microsecond (3 decimals): the statistics carry no more precision
        worth reading."""
        data = super().to_representation(instance)
        for name, value in data.items():
            if name.endswith("_ms") and isinstance(value, float):
                data[name] = round(value, 3)
        return data


class RecalculateSerializer(serializers.Serializer):
    window_hours = serializers.FloatField(
        required=False,
        min_value=0.01,
        max_value=24 * 366,
        help_text="Window in hours (default: configuration perf_baseline_window).",
    )


class RecalculateResultSerializer(serializers.Serializer):
    recalculated = serializers.IntegerField()
    baselines = BaselineSerializer(many=True)
