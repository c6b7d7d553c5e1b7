"""The API's JSON renderer (pggit_project/renderers.py) writes DRF's ``JSONRenderer``'s bytes, or
raises DRF's error, for every kind of value; plain answers are encoded by orjson."""

from __future__ import annotations

import collections
import datetime
import decimal
import enum
import json
import math
import random
import struct
import uuid
import zoneinfo
from dataclasses import dataclass

import orjson
import pytest
from django.utils.functional import lazy
from rest_framework import renderers as drf_renderers
from rest_framework.settings import api_settings
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from pggit_project import renderers
from pggit_project.renderers import JSONRenderer

DRF = drf_renderers.JSONRenderer()
OURS = JSONRenderer()
JSON = "application/json"


def same(data, media_type=JSON, context=None):
    """Both renderers' bytes, or both renderers' exception (type and message)."""
    answers = []
    for renderer in (DRF, OURS):
        try:
            answers.append(renderer.render(data, media_type, context))
        except Exception as exc:
            answers.append((type(exc), str(exc)))
    assert answers[0] == answers[1], answers
    return answers[1]


class Colour(enum.Enum):
    RED = 1


class Text(enum.StrEnum):
    A = "a"


class Number(enum.IntEnum):
    ONE = 1


@dataclass
class Point:
    x: int


class Label(str):
    pass


class Count(int):
    pass


class Ratio(float):
    pass


def _reordered():
    ordered = collections.OrderedDict(a=1, b=2, c=3)
    ordered.move_to_end("a")  # items() order is no longer the storage order
    return ordered


def test_every_code_point_is_written_as_drf_writes_it():
    code_points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(code_points), 4096):
        text = "".join(chr(c) + "x" for c in code_points[start : start + 4096])
        same({"text": text, text[:50]: [text[:10]]})
    same({"separators": "a\u2028b\u2029c\u2028"})


def test_a_lone_surrogate_raises_drfs_error():
    same({"text": "a\ud800b"})


def _floats():
    rng = random.Random(16)  # noqa: S311 (the same values every run)
    values = [0.0, -0.0, 1e-4, -1e-4, math.nextafter(1e-4, 0), 1e-5, 1e-7, 1.5e-300, 5e-324]
    values += [1e15, 1e16, 1e22, 1.5e300, 1.7976931348623157e308, 0.1, 1.0, 100.0, 123.456]
    for _ in range(20_000):
        values.append(struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0])
        values.append(rng.random() * 10.0 ** rng.randint(-9, 20) * rng.choice((1, -1)))
    return [value for value in values if math.isfinite(value)]


def test_floats_are_written_as_drf_writes_them():
    floats = _floats()
    for start in range(0, len(floats), 500):
        same({"values": floats[start : start + 500]})
    for value in floats[:2000]:
        same([value])
        same({"nested": {"value": Ratio(value)}})


def test_floats_orjson_writes_alike_are_exactly_those_it_is_given():
    for value in _floats():
        if renderers._same_float(value):
            assert orjson.dumps(value) == json.dumps(value).encode(), value


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinities_are_refused_as_drf_refuses_them(value):
    error = same({"values": [1, {"x": value}]})
    assert error[0] is ValueError
    assert error[1].startswith("Out of range float values are not JSON compliant")


def test_other_values_are_written_as_drf_writes_them():
    utc = datetime.UTC
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    values = [
        None,
        True,
        False,
        0,
        -(2**63),
        2**64 - 1,
        2**64,
        -(2**63) - 1,
        10**30,
        "",
        Label("label"),
        Count(7),
        (1, "a", None),
        [],
        {},
        {"nested": [{"a": [1, [2, (3,)]]}]},
        {1: "integer key", 2.5: "float key", None: "none", False: "bool"},
        collections.OrderedDict(b=1, a=2),
        _reordered(),
        ReturnDict({"a": 1}, serializer=None),
        ReturnList([1, 2], serializer=None),
        lazy(lambda: "lazy text", str)(),
        datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=utc),
        datetime.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=utc),
        datetime.datetime(1, 1, 1, tzinfo=utc),
        datetime.datetime(2026, 7, 1, 12, tzinfo=paris),
        datetime.datetime(
            2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=-3, minutes=-30))
        ),
        datetime.datetime(
            2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(seconds=5))
        ),
        datetime.datetime(2026, 1, 2, 3, 4, 5),
        datetime.date(2026, 1, 2),
        datetime.time(3, 4, 5, 6),
        datetime.time(3, 4, tzinfo=utc),
        datetime.timedelta(days=1, microseconds=5),
        decimal.Decimal("1.25"),
        decimal.Decimal("0.00001"),
        decimal.Decimal("NaN"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        Colour.RED,
        Text.A,
        Number.ONE,
        Point(1),
        b"bytes",
        {1, 2},
        object(),
    ]
    for value in values:
        same(value)
        same({"value": value, "list": [value]})


def test_cycles_and_deep_nesting_are_answered_as_drf_answers_them():
    cycle: list = [1]
    cycle.append({"back": cycle})
    assert same({"cycle": cycle}) == (ValueError, "Circular reference detected")
    for depth in (250, 260, 900):
        deep: list = ["bottom"]
        for _ in range(depth):
            deep = [deep]
        same({"deep": deep})


def test_an_iterator_is_read_once():
    # not two attempts over one generator: DRF's renderer answers from the start
    assert OURS.render({"items": (n * 1.5 for n in range(3))}, JSON) == b'{"items":[0.0,1.5,3.0]}'


@pytest.mark.parametrize(
    ("media_type", "context"),
    [
        ("application/json; indent=4", None),
        ("application/json; indent=0", None),
        ("application/json; indent=x", None),
        ("application/json; charset=utf-8", None),
        (None, {"indent": 2}),
        (JSON, {"indent": 3}),
        (None, None),
        (JSON, {}),
    ],
)
def test_indentation_is_honoured_as_drf_honours_it(media_type, context):
    same({"a": [1, {"b": "é"}], "c": None}, media_type, context)


def test_no_data_is_an_empty_body():
    assert OURS.render(None, JSON) == b""


def test_plain_answers_are_encoded_by_orjson(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("json.dumps called")

    monkeypatch.setattr(drf_renderers.json, "dumps", refuse)
    data = {
        "count": 2,
        "results": [{"name": "é\u2028", "at": datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)}],
        "ratio": 0.5,
        "id": uuid.UUID(int=5),
    }
    assert OURS.render(data, JSON) == (
        b'{"count":2,"results":[{"name":"\xc3\xa9\\u2028","at":"2026-01-02T00:00:00Z"}],'
        b'"ratio":0.5,"id":"00000000-0000-0000-0000-000000000005"}'
    )


def test_the_api_renders_with_it():
    assert [JSONRenderer] == api_settings.DEFAULT_RENDERER_CLASSES
