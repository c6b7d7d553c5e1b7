"""Serializers of the webhooks API: separate input and output shapes; secrets are write-once
(returned only by create and rotate). Without ``pggit_project.view_sensitive`` (docs/security.md)
target URLs show only their origin, and deliveries no payload and no receiver's answer."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from rest_framework import serializers

from pggit_project.permissions import request_sees_sensitive
from pggit_project.serializers import FastInputMixin, FastOutputMixin
from webhooks import services
from webhooks.choices import ACTIVE_DELIVERY_STATUSES, DeliveryStatus, EndpointHealth
from webhooks.constants import ALL_EVENTS, EVENT_TYPES
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

EVENT_TYPE_CHOICES = [ALL_EVENTS, *EVENT_TYPES]
HIDDEN = "***"


@functools.lru_cache(maxsize=1024)
def url_origin_only(url: str) -> str:
    """``https://hooks.example.com/***``: scheme, host and port; the user, path, query and
    fragment (where capability URLs keep their secrets) hidden. Kept per URL (a function of the
    text alone; every list item without ``view_sensitive`` asks it; URLs are at most 2,000
    characters, so at most a few MB)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    origin = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    return f"{origin}/{HIDDEN}"


class WebhookHealthSerializer(FastOutputMixin, serializers.Serializer):
    status = serializers.ChoiceField(EndpointHealth.choices, source="health_status")
    total_deliveries = serializers.IntegerField(help_text="Attempts made.")
    successful_deliveries = serializers.IntegerField(help_text="Attempts answered with a 2xx.")
    failed_deliveries = serializers.IntegerField(help_text="Attempts that failed.")
    consecutive_failures = serializers.IntegerField()
    last_delivery_at = serializers.DateTimeField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    last_failure_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField(allow_null=True)


class WebhookSerializer(FastOutputMixin, serializers.ModelSerializer):
    health = WebhookHealthSerializer(source="*", read_only=True)
    event_types = serializers.ListField(child=serializers.CharField())
    url = serializers.CharField(
        read_only=True,
        help_text="The target URL; without `pggit_project.view_sensitive` only its origin "
        "(`https://host/***`).",
    )
    secret_hint = serializers.CharField(
        read_only=True, help_text="The secret's prefix and last characters, e.g. `whsec_...Ab3=`."
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "name",
            "url",
            "description",
            "is_active",
            "event_types",
            "created_at",
            "updated_at",
            "health",
            "secret_hint",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not request_sees_sensitive(self.context):
            data["url"] = url_origin_only(data["url"])
        return data


class WebhookWithSecretSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (`whsec_...`): shown only in this response."
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookInputSerializer(FastInputMixin, serializers.Serializer):
    """Create: name and url are required. Update (PUT or PATCH): any subset of the fields."""

    name = serializers.CharField(max_length=200)
    url = serializers.CharField(
        max_length=2000,
        help_text="http(s) URL; private/loopback targets only with WEBHOOK_ALLOW_PRIVATE_TARGETS.",
    )
    description = serializers.CharField(max_length=2000, allow_blank=True, required=False)
    is_active = serializers.BooleanField(required=False)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(EVENT_TYPE_CHOICES),
        allow_empty=False,
        max_length=len(EVENT_TYPE_CHOICES),
        required=False,
        help_text='Event types to receive; `["*"]` (the default) means all.',
    )

    def validate_url(self, value: str) -> str:
        """The target rules (webhooks.services), here so that a bad URL is reported together with
        the other fields' errors rather than after them."""
        try:
            services.webhook_validate_url(url=value)
        except services.WebhookInvalid as exc:
            raise serializers.ValidationError(exc.errors["url"]) from None
        return value

    def to_internal_value(self, data):
        """Every field's error at once, a ``secret`` in the body among them."""
        errors = {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors = dict(exc.detail)
        if isinstance(data, dict) and "secret" in data:
            errors["secret"] = ["The secret cannot be set here; use POST .../rotate-secret."]
        if errors:
            raise serializers.ValidationError(errors)
        return value


class AttemptSerializer(FastOutputMixin, serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "started_at", "duration_ms", "status_code", "error", "response_excerpt"]
        read_only_fields = fields


class DeliverySerializer(FastOutputMixin, serializers.ModelSerializer):
    webhook = serializers.IntegerField(source="endpoint_id", read_only=True)
    status = serializers.ChoiceField(DeliveryStatus.choices, read_only=True)
    next_attempt_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When the next attempt is due; null once the delivery is over (delivered, "
        "failed or cancelled).",
    )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if instance.status not in ACTIVE_DELIVERY_STATUSES:
            data["next_attempt_at"] = None
        return data

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "webhook",
            "event_id",
            "event_type",
            "status",
            "attempt_count",
            "next_attempt_at",
            "last_status_code",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    attempts = AttemptSerializer(many=True, read_only=True)
    payload = serializers.JSONField(
        read_only=True,
        help_text="The event envelope sent as body; null without `pggit_project.view_sensitive` "
        "(and the attempts' `response_excerpt` is then empty).",
    )

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "last_error", "payload", "attempts"]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not request_sees_sensitive(self.context):
            data["payload"] = None
            for attempt in data["attempts"]:
                attempt["response_excerpt"] = ""
        return data


class ReplayInputSerializer(serializers.Serializer):
    since = serializers.DateTimeField(
        help_text="Re-queue the failed and cancelled deliveries created since then."
    )


class ReplayResultSerializer(serializers.Serializer):
    requeued = serializers.IntegerField()
