"""FilterSets and the ordering filter of the alerts API. Bad filter or ordering values are a 400,
never silently ignored."""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

from alerts.choices import AlertStatus, Severity
from alerts.models import Alert, OperationRecord

BOOLEAN_CHOICES = [("true", "true"), ("false", "false"), ("1", "1"), ("0", "0")]


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """``true``/``false`` (or ``1``/``0``); any other value is a 400 (django-filter's
    BooleanFilter would ignore it and return everything)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", BOOLEAN_CHOICES)
        kwargs.setdefault("coerce", lambda raw: raw in ("true", "1"))
        super().__init__(*args, **kwargs)


class StrictOrderingFilter(OrderingFilter):
    """DRF's ordering filter, except that an unknown field is a 400 (DRF drops it silently), and
    the id breaks ties so pages do not overlap."""

    def remove_invalid_fields(self, queryset, fields, view, request):
        valid = super().remove_invalid_fields(queryset, fields, view, request)
        invalid = [term for term in fields if term not in valid]
        if invalid:
            allowed = ", ".join(name for name, _ in self.get_valid_fields(queryset, view))
            raise ValidationError(
                {self.ordering_param: [f"Unknown ordering {', '.join(invalid)}; use {allowed}."]}
            )
        if not any(term.lstrip("-") == "id" for term in valid):
            valid.append("-id")
        return valid


class AlertFilter(django_filters.FilterSet):
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


class OperationMetricFilter(django_filters.FilterSet):
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
