"""Query filters of the webhooks lists (django-filter). A bad filter value is a 400, never
silently ignored."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from pggit_project.filters import StrictBooleanFilter, StrictFilterSet
from webhooks.choices import DeliveryStatus
from webhooks.constants import ALL_EVENTS, EVENT_TYPES
from webhooks.models import WebhookDelivery, WebhookEndpoint


class WebhookFilter(StrictFilterSet):
    """is_active; event_type (endpoints that receive it, "*" included); search (name, url,
    description)."""

    is_active = StrictBooleanFilter()
    event_type = django_filters.ChoiceFilter(
        choices=[(name, name) for name in EVENT_TYPES], method="filter_event_type"
    )
    search = django_filters.CharFilter(method="filter_search", max_length=200)

    class Meta:
        model = WebhookEndpoint
        fields = ["is_active", "event_type", "search"]

    def filter_event_type(self, queryset, name, value):
        return queryset.filter(
            Q(event_types__contains=[value]) | Q(event_types__contains=[ALL_EVENTS])
        )

    def filter_search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(url__icontains=value) | Q(description__icontains=value)
        )


class DeliveryFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    event_type = django_filters.ChoiceFilter(choices=[(name, name) for name in EVENT_TYPES])
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event_type", "since"]
