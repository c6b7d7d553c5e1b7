"""Unmanaged models over the monitoring and alert tables of the ``pggit`` schema
(sql/schema/005_monitoring.sql, sql/schema/006_alerts.sql).

The engine owns these tables: Django reads them through the ORM and changes them only through
the SQL functions (alerts.services). Never ``save()`` one of these models.
"""

# These models mirror tables the engine defines; nullable text columns are NULL there, not "".
# ruff: noqa: DJ001

from __future__ import annotations

from django.db import models

from alerts.choices import AlertStatus, Severity
from pggit_project.models import ReadOnlyModel


class AlertSilence(ReadOnlyModel):
    """A silence: alerts matching all its matchers between starts_at and ends_at are recorded
    but not announced."""

    id = models.BigIntegerField(primary_key=True)
    matchers = models.JSONField()
    comment = models.TextField()
    created_by = models.TextField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."alert_silences'
        ordering = ["-ends_at", "-id"]

    def __str__(self) -> str:
        return f"silence {self.id}"


class Alert(ReadOnlyModel):
    """One open (or resolved) problem, identified by a stable fingerprint.

    Invariant: at most one alert per fingerprint is not resolved; a repeat bumps ``occurrences``.
    """

    id = models.BigIntegerField(primary_key=True)
    fingerprint = models.TextField()
    source = models.TextField()
    severity = models.TextField(choices=Severity.choices)
    status = models.TextField(choices=AlertStatus.choices)
    title = models.TextField()
    message = models.TextField()
    details = models.JSONField()
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    occurrences = models.IntegerField()
    acknowledged_at = models.DateTimeField(null=True)
    acknowledged_by = models.TextField(null=True)
    resolved_at = models.DateTimeField(null=True)
    resolved_by = models.TextField(null=True)
    note = models.TextField(null=True)
    silence = models.ForeignKey(
        AlertSilence, null=True, on_delete=models.DO_NOTHING, related_name="alerts"
    )
    notified_at = models.DateTimeField(null=True)

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."alerts'
        ordering = ["-last_seen_at", "-id"]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.title}"


class AlertOccurrence(ReadOnlyModel):
    """One raise of an alert: the history behind ``Alert.occurrences``."""

    id = models.BigIntegerField(primary_key=True)
    alert = models.ForeignKey(Alert, on_delete=models.DO_NOTHING, related_name="history")
    occurred_at = models.DateTimeField()
    severity = models.TextField(choices=Severity.choices)
    status = models.TextField(choices=AlertStatus.choices)
    message = models.TextField()
    details = models.JSONField()
    notified = models.BooleanField()
    silence_id = models.BigIntegerField(null=True)

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."alert_occurrences'
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"occurrence {self.id} of alert {self.alert_id}"


class OperationRecord(ReadOnlyModel):
    """One timed engine operation (pggit.operations); ``parent`` links a span to its trace."""

    id = models.BigIntegerField(primary_key=True)
    operation = models.TextField()
    started_at = models.DateTimeField()
    duration_ms = models.FloatField()
    object_count = models.IntegerField()
    statement_count = models.IntegerField()
    branch = models.TextField(null=True)
    actor = models.TextField()
    success = models.BooleanField()
    error = models.TextField(null=True)
    parent = models.ForeignKey(
        "self", null=True, on_delete=models.DO_NOTHING, related_name="children"
    )
    details = models.JSONField()

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."operations'
        ordering = ["-started_at", "-id"]
        verbose_name = "operation metric"

    def __str__(self) -> str:
        return f"{self.operation} {self.duration_ms:.1f} ms"


class PerformanceBaseline(ReadOnlyModel):
    """Duration statistics of one operation type over the baseline window."""

    operation = models.TextField(primary_key=True)
    sample_count = models.IntegerField()
    mean_ms = models.FloatField()
    stddev_ms = models.FloatField()
    p50_ms = models.FloatField()
    p95_ms = models.FloatField()
    p99_ms = models.FloatField()
    max_ms = models.FloatField()
    threshold_ms = models.FloatField(null=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    calculated_at = models.DateTimeField()

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."perf_baselines'
        ordering = ["operation"]

    def __str__(self) -> str:
        return f"baseline of {self.operation}"


class MonitoringRun(ReadOnlyModel):
    """When a periodic monitoring job (baselines, evaluate, anomalies) last ran."""

    job = models.TextField(primary_key=True)
    last_run_at = models.DateTimeField()
    duration_ms = models.FloatField()
    runs = models.BigIntegerField()
    result = models.JSONField()

    class Meta(ReadOnlyModel.Meta):
        db_table = 'pggit"."monitoring_runs'
        ordering = ["job"]

    def __str__(self) -> str:
        return self.job
