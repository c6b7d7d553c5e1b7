"""The webhook input serializer's plain path (webhooks.api.serializers) against DRF's own path:
the same validity, validated data (values, types, key order) and errors (texts and codes)."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from webhooks.api import serializers as s
from webhooks.api.serializers import WebhookInputSerializer

URL = "https://93.184.216.34/hook"
LONG = "n" * 200

BODIES = [
    # plain: taken by the plain path
    {"name": "ci", "url": URL},
    {"name": "  ci  ", "url": f" {URL} "},
    {"name": LONG, "url": URL, "description": "", "is_active": False, "event_types": ["*"]},
    {"name": "ci", "url": URL, "description": "   ", "event_types": ["commit.created", "*"]},
    {"name": "ci", "url": URL, "description": " d ", "is_active": True},
    {"name": "ci", "url": URL, "event_types": ["commit.created", "commit.created"]},
    {"url": URL, "name": "order of keys"},
    # refused by the URL check on the plain path
    {"name": "ci", "url": "http://10.1.2.3/hook"},
    {"name": "ci", "url": "ftp://93.184.216.34/hook"},
    {"name": "ci", "url": "https://user:pw@93.184.216.34/hook"},
    # not plain: DRF's path
    {"name": LONG + "n", "url": URL},
    {"name": "", "url": URL},
    {"name": "   ", "url": URL},
    {"name": "nul\x00", "url": URL},
    {"name": "caf\u00e9", "url": URL},
    {"name": "surrogate \ud800", "url": URL},
    {"name": 7, "url": URL},
    {"name": None, "url": URL},
    {"name": True, "url": URL},
    {"url": URL},
    {"name": "ci"},
    {},
    {"name": "ci", "url": URL, "is_active": "true"},
    {"name": "ci", "url": URL, "is_active": 1},
    {"name": "ci", "url": URL, "is_active": None},
    {"name": "ci", "url": URL, "event_types": []},
    {"name": "ci", "url": URL, "event_types": "commit.created"},
    {"name": "ci", "url": URL, "event_types": ["nope"]},
    {"name": "ci", "url": URL, "event_types": [None]},
    {"name": "ci", "url": URL, "event_types": ["*"] * 100},
    {"name": "ci", "url": URL, "description": None},
    {"name": "ci", "url": URL, "description": "d" * 2001},
    {"name": "ci", "url": URL, "secret": "whsec_x"},
    {"name": "ci", "url": URL, "unknown": 1},
    {"name": "", "url": "http://10.1.2.3/hook", "event_types": ["nope"], "secret": "x"},
    ["not", "an", "object"],
    "text",
]


def _outcome(body, *, partial: bool, plain: bool, monkeypatch):
    if not plain:
        monkeypatch.setattr(s, "_plain_values", lambda serializer, data: None)
    serializer = WebhookInputSerializer(data=body, partial=partial)
    valid = serializer.is_valid()
    monkeypatch.undo()
    data = serializer.validated_data if valid else None
    return (
        valid,
        None if data is None else [(k, type(v), v) for k, v in data.items()],
        _with_codes(serializer.errors),
    )


def _with_codes(errors):
    if isinstance(errors, dict):
        return {key: _with_codes(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [_with_codes(item) for item in errors]
    return (str(errors), getattr(errors, "code", None), type(errors))


@pytest.mark.parametrize("partial", [False, True])
@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_the_plain_path_validates_as_drf_does(body, partial, monkeypatch, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    assert _outcome(body, partial=partial, plain=True, monkeypatch=monkeypatch) == _outcome(
        body, partial=partial, plain=False, monkeypatch=monkeypatch
    )


def test_the_corpus_takes_the_plain_path_where_it_should(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    taken = []
    for body in BODIES[:10]:
        serializer = WebhookInputSerializer(data=body)
        try:
            taken.append(s._plain_values(serializer, body) is not None)
        except serializers.ValidationError:
            taken.append(True)  # the URL check's refusal, raised on the plain path
    assert taken == [True] * 10
    for body in BODIES[10:]:
        assert s._plain_values(WebhookInputSerializer(data=body), body) is None


def test_the_serializer_keeps_what_its_skipped_validators_rely_on():
    # run_validators runs nothing: no read-only field with a default, no validators of the
    # serializer itself; and every declared field has a plain rule
    serializer = WebhookInputSerializer(data={})
    assert serializer._read_only_defaults() == {}
    assert serializer.get_validators() == []
    assert s._plain_plan(WebhookInputSerializer) is not None
