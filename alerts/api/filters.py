"""FilterSets of the alerts API. Bad filter or ordering values are a 400, never silently ignored
(the strict filters and ordering are pggit_project/filters.py's)."""

from __future__ import annotations

import django_filters

from alerts.choices import AlertStatus, Severity
from alerts.models import Alert, OperationRecord
from pggit_project.filters import StrictBooleanFilter, StrictFilterSet


class AlertFilter(StrictFilterSet):
    """``status``, ``severity``, ``source``, ``since`` (seen at or after); the older names
    ``status_filter`` and ``severity_filter`` filter the same way."""

    status = django_filters.ChoiceFilter(choices=AlertStatus.choices)
    status_filter = django_filters.ChoiceFilter(
        field_name="status", choices=AlertStatus.choices, help_text="Older name of `status`."
    )
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    severity_filter = django_filters.ChoiceFilter(
        field_name="severity", choices=Severity.choices, help_text="Older name of `severity`."
    )
    source = django_filters.CharFilter(max_length=63)
    fingerprint = django_filters.CharFilter(max_length=500)
    since = django_filters.IsoDateTimeFilter(
        field_name="last_seen_at", lookup_expr="gte", help_text="Last seen at or after (ISO 8601)."
    )

    class Meta:
        model = Alert
        fields = ["status", "severity", "source", "fingerprint", "since"]


class OperationMetricFilter(StrictFilterSet):
    operation = django_filters.CharFilter(max_length=100)
    branch = django_filters.CharFilter(max_length=200)
    actor = django_filters.CharFilter(max_length=200)
    success = StrictBooleanFilter()
    since = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")
    root = StrictBooleanFilter(
        field_name="parent", lookup_expr="isnull", help_text="true: only spans without a parent."
    )

    class Meta:
        model = OperationRecord
        fields = ["operation", "branch", "actor", "success", "since", "until", "root"]
