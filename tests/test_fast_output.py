"""FastOutputMixin (pggit_project/serializers.py) answers exactly what DRF's generic
``to_representation`` answers, for every serializer that uses it."""

from __future__ import annotations

import datetime
import random
from types import SimpleNamespace

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIRequestFactory
from rest_framework.utils.formatting import lazy_format

from alerts.api.serializers import AlertOccurrenceSerializer, AlertSerializer
from alerts.models import Alert, AlertOccurrence
from alerts.services import alert_acknowledge, alert_raise
from pggit_project import serializers as fast_output
from pggit_project.serializers import FastOutputMixin, _input_templates, _templates_of, plan_of
from webhooks import services
from webhooks.api.serializers import (
    EVENT_TYPE_CHOICES,
    AttemptSerializer,
    DeliverySerializer,
    WebhookHealthSerializer,
    WebhookInputSerializer,
    WebhookSerializer,
    WebhookWithSecretSerializer,
)
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db
PLANNED = [
    AlertOccurrenceSerializer,
    AlertSerializer,
    AttemptSerializer,
    DeliverySerializer,
    WebhookHealthSerializer,
    WebhookSerializer,
    WebhookWithSecretSerializer,
]


def generic(serializer, instance):
    """DRF's own ``to_representation`` of the serializer's class (below the mixin)."""
    return super(FastOutputMixin, serializer).to_representation(instance)


def both(cls, instance, **kwargs):
    """(the output with the plans, the output of DRF's generic path)."""
    fast = cls(instance, **kwargs).data
    saved = dict(fast_output._plans)
    fast_output._plans.update(dict.fromkeys(PLANNED))  # no plans: the mixin hands over to DRF
    try:
        drf = cls(instance, **kwargs).data
    finally:
        fast_output._plans.clear()
        fast_output._plans.update(saved)
    assert list(fast) == list(drf)  # the same keys in the same order
    return fast, drf


@pytest.fixture
def webhooks_and_alerts():
    for number, url in enumerate(
        [
            "https://hooks.example.com/a?token=s3cret",
            "https://93.184.215.14:8443/b",
            "https://hooks.example.com:8443/c",
        ]
    ):
        services.webhook_create(
            name=f"fast-{number}",
            url=url,
            event_types=["*"] if number else ["commit.created", "branch.created"],
            actor="test",
            description="émoji ✓ and \u2028 separators" if number == 1 else "",
        )
    for number in range(3):
        alert_raise(
            fingerprint=f"fast-{number}",
            source="test",
            severity=["info", "warning", "critical"][number],
            title=f"alert {number}",
            message="x" * number,
            details={"n": number, "nested": {"list": [1, 2.5, None, "ü"]}},
            actor="test",
        )
    alert_acknowledge(alert_id=Alert.objects.order_by("id").first().id, actor="ops", note="seen")


def test_every_planned_serializer_has_a_plan():
    for cls in PLANNED:
        assert plan_of(cls) is not None, cls


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/St_Johns"])
def test_the_outputs_are_identical_in_every_time_zone(
    webhooks_and_alerts, zone, user, operator_user
):
    endpoint = WebhookEndpoint.objects.order_by("id").first()
    endpoint.last_delivery_at = timezone.now()  # one date-time set, the others null
    with timezone.override(zone):
        for reader in (user, operator_user):  # origin-only URLs for the viewer, full for ops
            request = APIRequestFactory().get("/")
            request.user = reader
            for instance in [endpoint, *WebhookEndpoint.objects.all()]:
                fast, drf = both(WebhookSerializer, instance, context={"request": request})
                assert fast == drf
                instance.secret = "whsec_shown-once"
                fast, drf = both(
                    WebhookWithSecretSerializer, instance, context={"request": request}
                )
                assert fast == drf and fast["secret"] == "whsec_shown-once"
        for instance in Alert.objects.all():
            fast, drf = both(AlertSerializer, instance)
            assert fast == drf
        for instance in AlertOccurrence.objects.all():
            fast, drf = both(AlertOccurrenceSerializer, instance)
            assert fast == drf
        now = timezone.now()
        delivery = WebhookDelivery(
            id=5,
            endpoint_id=endpoint.id,
            event_id=9,
            event_type="commit.created",
            status="failed",
            attempt_count=2,
            next_attempt_at=now,
            last_status_code=None,
            created_at=now - datetime.timedelta(days=400),
            delivered_at=None,
        )
        fast, drf = both(DeliverySerializer, delivery)
        assert fast == drf and fast["webhook"] == endpoint.id
        attempt = WebhookAttempt(
            number=1,
            started_at=now,
            duration_ms=12.5,
            status_code=502,
            error=None,
            response_excerpt="bad gateway",
        )
        fast, drf = both(AttemptSerializer, attempt)
        assert fast == drf and fast["duration_ms"] == 12.5


def test_utc_date_times_are_written_as_drfs_date_time_field_writes_them():
    # the converter's UTC case (orjson's text): every year's width, microseconds zero or not
    field = serializers.DateTimeField()
    convert = fast_output._datetime_plan(field)
    rng = random.Random(16)  # noqa: S311 (the same values every run)
    values = [
        datetime.datetime(1, 1, 1, tzinfo=datetime.UTC),
        datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.UTC),
        datetime.datetime(2026, 1, 2, 3, 4, 5, 60, tzinfo=datetime.UTC, fold=1),
    ]
    for _ in range(5_000):
        values.append(
            datetime.datetime(
                rng.choice((rng.randint(1, 9999), 9, 99, 999, 1000)),
                rng.randint(1, 12),
                rng.randint(1, 28),
                rng.randint(0, 23),
                rng.randint(0, 59),
                rng.randint(0, 59),
                rng.choice((0, 1, 999999, rng.randint(0, 999999))),
                tzinfo=datetime.UTC,
            )
        )
    with timezone.override("UTC"):
        zone = timezone.get_current_timezone()
        for value in values:
            assert convert(value, zone) == field.to_representation(value)
            assert convert(value, datetime.UTC) == field.to_representation(value)


def test_a_naive_or_text_date_time_and_a_missing_attribute_take_drfs_path():
    values = {
        "status": "healthy",
        "total_deliveries": 3,
        "successful_deliveries": 2,
        "failed_deliveries": 1,
        "consecutive_failures": 0,
        "last_delivery_at": datetime.datetime(2026, 1, 2, 3, 4, 5),  # naive
        "last_success_at": "2026-01-02T03:04:05Z",  # already text
        "last_failure_at": datetime.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=datetime.UTC),
        "disabled_reason": None,
    }
    instance = SimpleNamespace(health_status="healthy", **values)
    serializer = WebhookHealthSerializer()
    assert serializer.to_representation(instance) == both(WebhookHealthSerializer, instance)[1]
    assert serializer.to_representation(instance)["last_failure_at"] == (
        "2026-01-02T03:04:05.000006Z"
    )
    del instance.failed_deliveries
    with pytest.raises(AttributeError):
        generic(serializer, instance)
    with pytest.raises(AttributeError):
        serializer.to_representation(instance)


def test_a_serializer_whose_fields_depend_on_the_request_keeps_drfs_path():
    class PerRequest(FastOutputMixin, serializers.Serializer):
        name = serializers.CharField()

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if not self.context.get("all"):
                self.fields.pop("name")

    class WithMethodField(FastOutputMixin, serializers.Serializer):
        name = serializers.SerializerMethodField()

        def get_name(self, instance):
            return self.context["name"]

    assert plan_of(PerRequest) is None and plan_of(WithMethodField) is None
    instance = SimpleNamespace(name="n")
    assert PerRequest(instance).data == {}
    assert PerRequest(instance, context={"all": True}).data == {"name": "n"}
    assert WithMethodField(instance, context={"name": "from the context"}).data == {
        "name": "from the context"
    }


def test_a_plan_with_a_nested_serializer_is_made_when_the_nested_one_has_none_yet():
    fast_output._plans.clear()  # WebhookSerializer first: its plan makes WebhookHealthSerializer's
    assert plan_of(WebhookSerializer) is not None
    assert plan_of(WebhookHealthSerializer) is not None


class Plain(FastOutputMixin, serializers.Serializer):
    text = serializers.CharField()
    number = serializers.IntegerField()
    big = serializers.BigIntegerField()
    big_text = serializers.BigIntegerField(coerce_to_string=True)
    flag = serializers.BooleanField()
    ratio = serializers.FloatField()
    names = serializers.ListField(child=serializers.CharField())


def test_kept_types_are_output_as_read_and_other_values_converted_as_drf_does():
    class Colour(str, __import__("enum").Enum):
        RED = "red"

    kept = SimpleNamespace(
        text="t", number=3, big=2**40, big_text=7, flag=False, ratio=0.5, names=["a", "b"]
    )
    odd = SimpleNamespace(
        text=Colour.RED,  # a str subclass: str() of it, as DRF
        number=True,  # a bool for an integer: 1
        big="12",
        big_text=8,
        flag="false",  # DRF's text values of a boolean
        ratio=2,  # an int for a float: 2.0
        names=(1, None, "c"),  # a tuple, items not text
    )
    for instance in (kept, odd):
        fast = Plain(instance).data
        drf = generic(Plain(), instance)
        assert list(fast.items()) == list(drf.items())
        assert [type(value) for value in fast.values()] == [type(v) for v in drf.values()]
    assert Plain(odd).data["names"] == ["1", None, "c"] and Plain(odd).data["big_text"] == "8"
    assert Plain(kept).data["names"] is not kept.names  # a copy, as DRF's ListField makes


def described(field):
    """A field's state: all but its parent and child (the child described in turn) and the
    construction counter (DRF's deep copy builds each field again: a new number, used only to
    order declarations); its validators by type, limit and message text."""
    own = {
        name: repr(value) if name == "_kwargs" else value  # a child field: by its arguments
        for name, value in vars(field).items()
        if name not in ("parent", "child", "_validators", "_creation_counter")
    }
    validators = [
        (type(v), getattr(v, "limit_value", None), str(getattr(v, "message", "")))
        for v in field.validators
    ]
    child = described(field.child) if hasattr(field, "child") else None
    return type(field), own, validators, child


def drf_input_fields():
    """WebhookInputSerializer's fields as DRF makes them (deep copies of the declared ones)."""
    saved = _input_templates.pop(WebhookInputSerializer, None)
    _input_templates[WebhookInputSerializer] = None
    try:
        return WebhookInputSerializer(data={}).fields
    finally:
        _input_templates.pop(WebhookInputSerializer)
        if saved is not None:
            _input_templates[WebhookInputSerializer] = saved


def test_input_fields_are_copies_of_fields_built_once_equal_to_drfs():
    first, second = WebhookInputSerializer(data={}), WebhookInputSerializer(data={})
    drf_fields = drf_input_fields()
    assert list(first.fields) == list(drf_fields)
    for name, field in first.fields.items():
        assert described(field) == described(drf_fields[name]), name
        assert field.parent is first and second.fields[name] is not field
        assert second.fields[name].parent is second
    event_types = first.fields["event_types"]
    assert event_types.child.parent is event_types
    assert event_types.child is not second.fields["event_types"].child
    assert _input_templates[WebhookInputSerializer] is not None


def reject(value):
    raise serializers.ValidationError("LEAKED validator")


LEAK_PROBES = [
    {"name": "", "url": "https://93.184.215.14/h", "event_types": ["nope"]},
    {"name": "n" * 201, "description": "d" * 2001, "is_active": "maybe", "event_types": []},
    {"name": "n", "url": "https://93.184.215.14/h", "event_types": ["*", "commit.created"]},
    {"event_types": ["*"] * 30},
]


def test_a_change_to_one_serializers_fields_reaches_no_other_serializer():
    def outcomes():
        found = []
        for data in LEAK_PROBES:
            serializer = WebhookInputSerializer(data=data)
            valid = serializer.is_valid()
            found.append((valid, serializer.errors, dict(serializer.validated_data)))
        return found

    before = outcomes()
    assert [valid for valid, _, _ in before] == [False, False, True, False]
    changed = WebhookInputSerializer(data={}).fields
    child = changed["event_types"].child
    for field in [*changed.values(), child]:
        field.error_messages.update(dict.fromkeys(field.error_messages, "LEAKED"))
        field.validators.append(reject)
        field.style["input_type"] = "LEAKED"
    child.choice_strings_to_values["nope"] = "nope"
    del child.choice_strings_to_values["commit.created"]
    child._choices["nope"] = child.grouped_choices["nope"] = "nope"
    child.source_attrs.append("LEAKED")
    assert outcomes() == before
    fresh, drf_fields = WebhookInputSerializer(data={}).fields, drf_input_fields()
    for name, field in fresh.items():
        assert described(field) == described(drf_fields[name]), name
    assert fresh["event_types"].child.source_attrs == [""]


def test_the_templates_validator_messages_are_text():
    # DRF's lazy_format caches its text on first use without a lock: a template's validators
    # are read by every thread, so their messages are formatted once, when the template is made
    templates = _templates_of(WebhookInputSerializer)
    fields = [*templates.values(), templates["event_types"].child]
    messages = [
        validator.message
        for field in fields
        for validator in field.__dict__.get("_validators", ())
        if hasattr(validator, "message")
    ]
    # name, url, description: max_length, null and surrogate characters; event_types: max_length
    assert len(messages) == 10
    assert not any(isinstance(message, lazy_format) for message in messages)
    assert [message for message in messages if type(message) is str] == [
        "Ensure this field has no more than 200 characters.",
        "Ensure this field has no more than 2000 characters.",
        "Ensure this field has no more than 2000 characters.",
        f"Ensure this field has no more than {len(EVENT_TYPE_CHOICES)} elements.",
    ]


@pytest.mark.parametrize("partial", [False, True])
@pytest.mark.parametrize(
    "data",
    [
        {},
        {"name": "n", "url": "https://93.184.215.14/h"},
        {"name": "", "url": "ftp://x", "is_active": "maybe", "event_types": ["*", "nope"]},
        {"name": "n" * 201, "url": "https://93.184.215.14/h", "event_types": []},
        {"name": "n", "url": "https://93.184.215.14/h", "event_types": "*", "secret": "s"},
        {"name": " n ", "url": " https://93.184.215.14/h ", "description": "", "is_active": 0},
        {"event_types": []},
        {"url": "ftp://x"},
        {"description": None, "event_types": ["commit.created", "commit.created"]},
        ["not", "a", "dict"],
    ],
)
def test_input_validation_is_drfs(data, partial):
    def outcome():
        serializer = WebhookInputSerializer(data=data, partial=partial)
        valid = serializer.is_valid()
        return valid, serializer.errors, dict(serializer.validated_data) if valid else None

    fast = outcome()
    saved = _input_templates.get(WebhookInputSerializer)
    _input_templates[WebhookInputSerializer] = None
    try:
        drf = outcome()
    finally:
        _input_templates[WebhookInputSerializer] = saved
    assert fast == drf
