"""Serializers of the webhooks API: separate input and output shapes; secrets are write-once
(returned only by create and rotate). Without ``pggit_project.view_sensitive`` (docs/security.md)
target URLs show only their origin, and deliveries no payload and no receiver's answer."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from rest_framework import serializers
from rest_framework.fields import empty

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

    def run_validators(self, value):
        """Nothing to run: no field is read-only with a default and the serializer has no
        validators of its own (``tests/webhooks/test_input.py`` keeps it so). DRF's would build
        every field to look for read-only defaults, also after the plain path below."""

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
            value = _plain_values(self, data)
            if value is None:
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


# The plain path of WebhookInputSerializer: a JSON object whose keys are fields of the serializer
# and whose values are each already what DRF's field would make of them (text without NUL
# characters, ASCII, within its length and not blank unless blanks are allowed; a JSON boolean;
# a list of known event types, within its bounds) is validated without DRF building and running
# its fields (about 0.1 ms a create). Anything else, and any doubt, takes DRF's path: the
# validated data, its key order (the fields') and the errors are DRF's either way
# (tests/webhooks/test_input.py compares both paths on a corpus of bodies).


def _text_rule(field):
    """(max_length, allow_blank) of a ``CharField`` whose validation is DRF's default one with a
    maximum length, else None."""
    if not (
        type(field) is serializers.CharField
        and field.trim_whitespace
        and field.min_length is None
        and field.max_length is not None
        and not field.allow_null
        and [type(v).__name__ for v in field.validators]
        == [
            "MaxLengthValidator",
            "ProhibitNullCharactersValidator",
            "ProhibitSurrogateCharactersValidator",
        ]
    ):
        return None
    return ("text", field.max_length, field.allow_blank)


def _field_rule(field):
    """How the plain path checks a value of ``field``, or None when it cannot."""
    if field.read_only:
        return None
    if type(field) is serializers.CharField:
        return _text_rule(field)
    if type(field) is serializers.BooleanField and not field.allow_null and not field.validators:
        return ("bool",)
    child = getattr(field, "child", None)
    if (
        type(field) is serializers.ListField
        and type(child) is serializers.ChoiceField
        and not field.allow_null
        and not child.allow_blank
        and not child.allow_null
        and not child.validators
        and field.min_length is None
        and [type(v).__name__ for v in field.validators] == ["MaxLengthValidator"]
        and all(type(key) is str and key == value for key, value in child.choices.items())
    ):
        return ("choices", field.allow_empty, field.max_length, frozenset(child.choices))
    return None


@functools.cache
def _plain_plan(cls) -> tuple[tuple[str, bool, tuple], ...] | None:
    """Per declared field in order: (name, required, rule); None when a field has no rule."""
    plan = []
    for name, field in cls._declared_fields.items():
        rule = _field_rule(field)
        if rule is None or field.source not in (None, name) or field.default is not empty:
            return None
        if name != "url" and hasattr(cls, f"validate_{name}"):
            return None  # the plain path runs validate_url only
        plan.append((name, field.required, rule))
    return tuple(plan)


def _plain_value(rule, value):
    """``(True, value)`` as DRF's field would validate it, ``(False, None)`` when not plain."""
    kind = rule[0]
    if kind == "text":
        if type(value) is not str or "\x00" in value or not value.isascii():
            return False, None
        stripped = value.strip()
        if not stripped:
            return (True, "") if rule[2] else (False, None)
        return (True, stripped) if len(stripped) <= rule[1] else (False, None)
    if kind == "bool":
        return (True, value) if type(value) is bool else (False, None)
    if (
        type(value) is not list
        or not (value or rule[1])
        or len(value) > rule[2]
        or not all(type(item) is str and item in rule[3] for item in value)
    ):
        return False, None
    return True, list(value)


def _plain_values(serializer, data) -> dict | None:
    """The validated data of a plain body (see above), or None for DRF's path. A URL refused by
    ``validate_url`` is raised as DRF raises a field's error (``{"url": [...]}``)."""
    plan = _plain_plan(type(serializer))
    if plan is None or type(data) is not dict or not data.keys() <= _plain_names(plan):
        return None
    values = {}
    for name, required, rule in plan:
        if name not in data:
            if required and not serializer.partial:
                return None
            continue
        plain, value = _plain_value(rule, data[name])
        if not plain:
            return None
        values[name] = value
    if "url" in values:
        try:
            values["url"] = serializer.validate_url(values["url"])
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"url": exc.detail}) from None
    return values


@functools.cache
def _plain_names(plan) -> frozenset[str]:
    return frozenset(name for name, _, _ in plan)
