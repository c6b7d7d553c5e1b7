"""The API's JSON renderer: DRF's ``JSONRenderer`` with the same bytes, encoded by orjson.

DRF encodes with the standard library's ``json`` (compact separators, non-ASCII unescaped, NaN and
infinities refused, its ``JSONEncoder.default`` for dates, decimals, lazy text...), then escapes
U+2028 and U+2029; that was about a seventh of an uncached list's instructions. orjson writes the
same text for strings (every code point, U+2028/U+2029 escaped afterwards as DRF does), integers,
``None``, booleans, lists, tuples and dictionaries; it differs for some floats (``1e-05`` is
``0.00001`` there, NaN is ``null``) and it writes enum members, dataclasses and a reordered
``OrderedDict`` in its own way. So an answer is encoded by orjson only when a walk of the data
finds nothing but:

- ``str``, ``int`` and ``bool`` values, ``None``, lists, tuples and dictionaries, subclasses
  included (orjson writes their contents as ``json`` does; the exceptions: an enum member, and a
  dictionary whose ``items()`` order is not its storage order);
- floats that both write alike: zero, and finite magnitudes from ``1e-4`` up
  (tests/test_renderers.py compares them);
- values ``JSONEncoder.default`` turns into those without side effects: lazy text, ``datetime``,
  ``date``, ``time``, ``timedelta``, ``Decimal`` (orjson hands them to that ``default``) and
  ``UUID`` (orjson writes ``str(uuid)``, as ``default`` does).

Anything else — another type (a generator, a query set, an enum, a dataclass), another float, a
big integer or a non-string key (which orjson refuses) — and any request for indentation (the
``Accept`` header's ``indent``), or a subclass changing the encoder's settings, takes DRF's
renderer, which answers or raises exactly as before.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import math
import uuid

import orjson
from django.utils.functional import Promise
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# Values that ``JSONEncoder.default`` converts to a string or a float without side effects.
_CONVERTED = (Promise, datetime.date, datetime.time, datetime.timedelta, decimal.Decimal)
_PLAIN = frozenset((str, int, bool, type(None)))
_LINE_SEPARATOR = "\u2028".encode()
_PARAGRAPH_SEPARATOR = "\u2029".encode()


def _same_float(value: float) -> bool:
    """Whether orjson writes this float as ``json`` does (NaN fails both comparisons)."""
    return value == 0.0 or 1e-4 <= abs(value) < math.inf


def same_text(value) -> bool:
    """Whether orjson (with ``_default``) writes ``value`` exactly as DRF's encoder does (a cycle
    raises ``RecursionError``)."""
    kind = type(value)
    if kind is dict:
        items = value.values()
    elif kind is list or kind is tuple:
        items = value
    elif kind in _PLAIN:
        return True
    elif kind is float:
        return _same_float(value)
    elif isinstance(value, dict):
        # ``json`` writes ``value.items()``, orjson the dictionary's storage
        if kind.items is not dict.items and list(value.items()) != list(dict.items(value)):
            return False
        items = value.values()
    elif isinstance(value, (list, tuple)):
        # ``json`` and orjson read the storage, not an ``__iter__`` of the subclass
        items = list.copy(value) if isinstance(value, list) else tuple(tuple.__iter__(value))
    elif isinstance(value, float):
        return _same_float(value)
    elif isinstance(value, (str, int)):
        # subclasses: orjson writes an enum member's value
        return not isinstance(value, enum.Enum)
    else:
        return kind is uuid.UUID or isinstance(value, _CONVERTED)
    for item in items:  # noqa: SIM110 (a loop: all() over a generator costs more per item)
        if type(item) not in _PLAIN and not same_text(item):
            return False
    return True


class _Refused(TypeError):
    """``JSONEncoder.default`` gave a value orjson would write otherwise: DRF's renderer answers."""


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if (
            data is None
            or self.ensure_ascii
            or not self.compact
            or not self.strict
            or self.encoder_class is not JSONEncoder
            or not (accepted_media_type == self.media_type or accepted_media_type is None)
            or (renderer_context is not None and renderer_context.get("indent") is not None)
        ):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            same = same_text(data)
        except RecursionError:  # a cycle: DRF's error
            same = False
        if not same:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            text = orjson.dumps(data, default=_default, option=_OPTIONS)
        except orjson.JSONEncodeError:  # a big integer, a non-string key, more than 254 levels...
            return super().render(data, accepted_media_type, renderer_context)
        if _LINE_SEPARATOR in text:
            text = text.replace(_LINE_SEPARATOR, b"\\u2028")
        if _PARAGRAPH_SEPARATOR in text:
            text = text.replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
        return text


_encoder = JSONEncoder()


def _default(value):
    converted = _encoder.default(value)
    if not same_text(converted):
        raise _Refused
    return converted
