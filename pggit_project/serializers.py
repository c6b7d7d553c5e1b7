"""Output serializers without DRF's per-request field building: ``FastOutputMixin``.

For every request DRF builds a serializer's fields anew (``ModelSerializer.get_fields``: model
introspection and a deep copy of the declared fields) and then, for every object, walks them
generically (``Field.get_attribute``; ``DateTimeField`` looks the current time zone up for every
value). In an uncached list of 20 webhooks that was about a third of the request's time.

``FastOutputMixin.to_representation`` gives the same dictionary from a plan made once per
serializer class: for each readable field its name, its source and how its value is turned into
output — the field's own ``to_representation`` (of a template instance of the serializer; only
field types whose output does not depend on the serializer's context or on the field's parent are
planned), a nested serializer's plan (one using this mixin without a ``to_representation`` of
its own), or, for ISO 8601 date-times, ``astimezone`` to the time
zone current for the object + ``isoformat`` exactly as ``DateTimeField`` does. A class whose fields
the plan cannot cover (another field type, a source with dots, ``__init__`` or ``get_fields``
overridden: fields that may depend on the context) keeps DRF's own ``to_representation``, and
so does any object whose attributes cannot be read as planned (the generic path then answers or
raises exactly as before). tests/test_fast_output.py compares both outputs for every serializer
that uses the mixin.
"""

from __future__ import annotations

import copy
import datetime
import threading
import zoneinfo
from collections.abc import Mapping
from typing import Any

import orjson
from django.conf import settings
from django.utils import timezone
from rest_framework import serializers
from rest_framework.fields import get_attribute
from rest_framework.settings import api_settings
from rest_framework.utils.formatting import lazy_format

# Field types whose ``to_representation`` uses nothing but the value and the field's own options.
PLAIN_FIELDS = (
    serializers.BigIntegerField,
    serializers.BooleanField,
    serializers.CharField,
    serializers.ChoiceField,
    serializers.EmailField,
    serializers.FloatField,
    serializers.IntegerField,
    serializers.JSONField,
    serializers.ReadOnlyField,
    serializers.UUIDField,
)
_NOT_PLANNED = object()
_SERIALIZER_HOOKS = ("__init__", "get_fields", "fields", "_readable_fields", "get_field_names")

_plans: dict[type, Any] = {}
_plans_lock = threading.RLock()  # a plan is made with its nested serializers' plans


class _Fallback(Exception):
    """An attribute could not be read as planned: DRF's generic path answers."""


def _plain_converter(field):
    """The field's own ``to_representation`` for plain fields (lists of plain fields too; a list
    whose items all have the child's kept type, see ``_kept_type``, is copied as it is)."""
    if type(field) in PLAIN_FIELDS:
        return field.to_representation
    if type(field) is serializers.ListField and type(field.child) in PLAIN_FIELDS:
        kept = _kept_type(field.child)
        if kept is None:
            return field.to_representation

        def convert(value):
            if type(value) is list and all(type(item) is kept for item in value):
                return value.copy()
            return field.to_representation(value)

        return convert
    return None


def _kept_type(field):
    """The value type whose values this plain field's ``to_representation`` returns unchanged
    (``str(text)``, ``int(number)``, ``float(number)`` and ``BooleanField``'s ``True``/``False``
    give the value itself): such a value is output as it is read. ``None`` for any other field."""
    kind = type(field)
    if kind in (serializers.CharField, serializers.EmailField):
        return str
    if kind is serializers.IntegerField:
        return int
    if kind is serializers.BigIntegerField:
        coerce = getattr(field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING)
        return None if coerce else int
    if kind is serializers.BooleanField:
        return bool
    if kind is serializers.FloatField:
        return float
    return None


_UTC = datetime.UTC
# UTC as ``timezone.get_current_timezone()`` gives it under ``TIME_ZONE = "UTC"`` (``ZoneInfo``
# instances are kept per key): its offset is zero at every instant.
_UTC_ZONE_INFO = zoneinfo.ZoneInfo("UTC")


def _datetime_plan(field):
    """For a ``DateTimeField`` writing ISO 8601 in the current time zone: a converter taking
    (value, time zone); ``None`` for any other format or a fixed time zone."""
    if type(field) is not serializers.DateTimeField or hasattr(field, "timezone"):
        return None
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if not isinstance(output_format, str) or output_format.lower() != "iso-8601":
        return None

    def convert(value, zone):
        if (
            value.__class__ is datetime.datetime
            and value.tzinfo is _UTC
            and (zone is _UTC_ZONE_INFO or zone is _UTC)
        ):
            # a UTC value (what the database's loader gives) shown in UTC: ``astimezone`` would
            # give the same fields with the zone's tzinfo, and the same text. orjson writes
            # ``isoformat()`` with "Z" for "+00:00" (microseconds only when not zero), without
            # ``isoformat``'s formatting of each field by ``PyUnicode_FromFormat``.
            return orjson.dumps(value, option=orjson.OPT_UTC_Z)[1:-1].decode()
        if zone is None or not isinstance(value, datetime.datetime) or value.utcoffset() is None:
            return field.to_representation(value)  # naive, str, a date: DRF decides
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError:
            return field.to_representation(value)  # raises DRF's own error
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return convert


def _overrides_hooks(cls) -> bool:
    for hook in _SERIALIZER_HOOKS:
        found = getattr(cls, hook, None)
        if found is not getattr(serializers.ModelSerializer, hook, None) and found is not getattr(
            serializers.Serializer, hook, None
        ):
            return True
    return False


def plan_of(cls):
    """The class's plan: a list of (name, source attributes, attribute, kind, converter, kept
    type), or ``None``. The attribute is the only source attribute, else ``None``."""
    plan = _plans.get(cls, _NOT_PLANNED)
    if plan is not _NOT_PLANNED:
        return plan
    with _plans_lock:
        plan = _plans.get(cls, _NOT_PLANNED)
        if plan is _NOT_PLANNED:
            plan = _plans[cls] = _make_plan(cls)
    return plan


def _make_plan(cls):
    if _overrides_hooks(cls):
        return None
    template = cls(context={})
    plan = []
    for field in template._readable_fields:
        if any("." in part for part in field.source_attrs) or (
            field.source == "*" and not (isinstance(field, FastOutputMixin))
        ):
            return None
        if isinstance(field, serializers.BaseSerializer):
            nested = type(field)
            if (
                not isinstance(field, FastOutputMixin)
                or nested.to_representation is not FastOutputMixin.to_representation
                or plan_of(nested) is None
            ):
                return None  # a list of them, or one with its own to_representation
            kind, converter, kept = "nested", type(field), None
        elif (converter := _datetime_plan(field)) is not None:
            kind, kept = "datetime", None
        elif (converter := _plain_converter(field)) is not None:
            kind, kept = "plain", _kept_type(field)
        else:
            return None
        attribute = field.source_attrs[0] if len(field.source_attrs) == 1 else None
        plan.append((field.field_name, field.source_attrs, attribute, kind, converter, kept))
    return plan


def _read(instance, source_attrs):
    try:
        return get_attribute(instance, source_attrs)
    except Exception as exc:
        raise _Fallback from exc


def _represent(instance, plan, zone) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # DRF's ``get_attribute`` checks every value for a mapping and a callable; an object's plain
    # attribute (no mapping, one name, not callable) is read directly, anything else by DRF's
    # function (which also decides what an exception means).
    # A value of the field's kept type (see ``_kept_type``; never callable) is output as read.
    generic = isinstance(instance, Mapping)
    for name, source_attrs, attribute, kind, converter, kept in plan:
        if generic or attribute is None:
            value = _read(instance, source_attrs)
        else:
            try:
                value = getattr(instance, attribute)
            except Exception:
                value = _read(instance, source_attrs)
            else:
                if value is None or type(value) is kept:
                    out[name] = value
                    continue
                if callable(value):
                    value = _read(instance, source_attrs)
        if value is None:
            out[name] = None
        elif kind == "plain":
            out[name] = converter(value)
        elif kind == "datetime":
            out[name] = converter(value, zone)
        else:  # a nested serializer of plain fields
            out[name] = _represent(value, plan_of(converter), zone)
    return out


class FastOutputMixin:
    # DRF's ``to_representation`` from a plan made once per class (see the module docstring).
    # Only for output serializers whose fields do not depend on the request (no ``__init__`` or
    # ``get_fields`` of their own); anything the plan does not cover takes DRF's path. No
    # docstring: drf-spectacular would take it as the description of every serializer using it.

    def to_representation(self, instance):
        plan = plan_of(type(self))
        if plan is None:
            return super().to_representation(instance)
        # The current time zone, looked up once per serializer (a list's items share the child
        # serializer): it does not change while one answer is serialized.
        try:
            zone = self._pggit_zone
        except AttributeError:
            zone = self._pggit_zone = timezone.get_current_timezone() if settings.USE_TZ else None
        try:
            return _represent(instance, plan, zone)
        except _Fallback:
            return super().to_representation(instance)


# Input serializers: ``FastInputMixin``. DRF's ``Serializer.get_fields`` deep-copies the declared
# fields for every serializer made (every request with a body): each field is built again from its
# arguments (``Field.__deepcopy__``), a ``ChoiceField`` recomputing its choice maps. For the field
# types below, a field built once per class is copied instead: a shallow copy, with a copy of each
# container that ``__init__`` builds for every instance (its error messages, style, validators
# list, a ``ChoiceField``'s three choice maps, a ``ListField``'s child, bound to the copy), so
# that a request that changes one of them (``field.validators.append(...)``) changes nobody
# else's. What ``bind`` sets (name, parent, label, source) is set on the copy by DRF. Shared, as
# values: the validator objects (DRF too shares those given as ``validators=``; their messages
# are made text once, see ``_formatted_messages``) and the arguments the field was built with
# (``_args``/``_kwargs``, which DRF only reads, for ``repr`` and ``deepcopy``).
CLONED_INPUT_FIELDS = (
    serializers.BooleanField,
    serializers.CharField,
    serializers.ChoiceField,
    serializers.IntegerField,
)
_input_templates: dict[type, Any] = {}


def _clonable(field) -> bool:
    if type(field) is serializers.ListField:
        return type(field.child) in CLONED_INPUT_FIELDS
    return type(field) in CLONED_INPUT_FIELDS


def _formatted_messages(field) -> None:
    """Replace each of the field's ``lazy_format`` validator messages (a ``max_length``,
    ``max_value``...) by its text: a template's validators serve every request on every thread,
    and ``lazy_format`` formats and caches its text on first use without a lock. The project has
    one language (``LANGUAGE_CODE``, no locale middleware), the one a lazy message would take."""
    for validator in field.__dict__.get("_validators", ()):
        if isinstance(getattr(validator, "message", None), lazy_format):
            validator.message = str(validator.message)


def _templates_of(cls):
    """The class's declared fields built once (DRF's deep copy), or ``None`` when a field is of
    another type or the class builds its fields otherwise (a ``ModelSerializer``, or
    ``get_fields``, ``__init__`` or ``fields`` of its own)."""
    templates = _input_templates.get(cls, _NOT_PLANNED)
    if templates is _NOT_PLANNED:
        templates = None
        if (
            cls.get_fields is FastInputMixin.get_fields
            and not issubclass(cls, serializers.ModelSerializer)  # fields from its model
            and all(
                getattr(cls, hook) is getattr(serializers.Serializer, hook)
                for hook in ("__init__", "fields", "_writable_fields", "_readable_fields")
            )
        ):
            declared = copy.deepcopy(cls._declared_fields)
            if all(_clonable(field) for field in declared.values()):
                for field in declared.values():
                    _formatted_messages(field)
                    if type(field) is serializers.ListField:
                        _formatted_messages(field.child)
                templates = declared
        templates = _input_templates.setdefault(cls, templates)
    return templates


def _copy(field):
    """A shallow copy of the field (what ``copy.copy`` makes of it: these types keep their state
    in ``__dict__``, without ``__slots__``) with its own containers (see above)."""
    clone = object.__new__(type(field))
    values = clone.__dict__
    values.update(field.__dict__)
    values["error_messages"] = field.error_messages.copy()
    values["style"] = field.style.copy()
    if "_validators" in values:
        values["_validators"] = list(values["_validators"])
    if "choice_strings_to_values" in values:  # a ChoiceField (grouped choices: dicts in a dict)
        values["choice_strings_to_values"] = field.choice_strings_to_values.copy()
        values["_choices"] = field._choices.copy()
        values["grouped_choices"] = {
            key: value.copy() if isinstance(value, dict) else value
            for key, value in field.grouped_choices.items()
        }
    return clone


def _clone(field):
    clone = _copy(field)
    if type(field) is serializers.ListField:
        # the template's child is bound (ListField.__init__: name "", the list its parent)
        child = _copy(field.child)
        child.parent = clone
        child.source_attrs = list(child.source_attrs)
        clone.child = child
    return clone


class FastInputMixin:
    # ``get_fields``: shallow copies of fields built once per class (see above), else DRF's. No
    # docstring: drf-spectacular would take it as the description of every serializer using it.

    def get_fields(self):
        templates = _templates_of(type(self))
        if templates is None:
            return super().get_fields()
        return {name: _clone(field) for name, field in templates.items()}
