"""Strict list filters for every API list: a bad query value is a 400 naming the parameter, never
silently ignored.

- ``StrictOrderingFilter`` (a default filter backend): ``?ordering=`` takes only the fields the view
  names in ``ordering_fields`` (a list, or a dict of public name -> ORM field); an unknown field is
  a 400 ``errors["ordering"]`` listing the allowed ones (DRF drops it and uses the default order).
  A list without ``ordering_fields`` has a fixed order and refuses any ``?ordering=``. The primary
  key breaks ties so pages never overlap or skip rows.
- ``StrictBooleanFilter``: ``true``/``false``/``1``/``0`` only (django-filter's BooleanFilter treats
  any other value as "no filter", so ``?is_active=maybe`` listed everything).
- ``StrictFilterSet``: the base FilterSet of every list (``StrictDjangoFilterBackend``, the
  other default backend, refuses any other); a boolean model field gets ``StrictBooleanFilter``.
  Choice (naming the allowed values), date-time (including a UTC offset beyond PostgreSQL's
  ±15:59) and number filters refuse bad values; the backend
  makes that a 400 with ``errors`` keyed by parameter. A filter or ``ordering`` given twice is a
  400 too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import django_filters
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django_filters.filters import QuerySetRequestMixin
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

BOOLEAN_VALUES = ("true", "false", "1", "0")
TRUE_VALUES = ("true", "1")
SHOWN_TERMS = 3  # unknown ordering terms quoted back in the error, each at most SHOWN_LENGTH
SHOWN_LENGTH = 40
REPEATED = "Given more than once; give it once."
# No % in it: django-filter's translation to a DRF error formats messages with %.
BAD_TIME = (
    "Must be an ISO 8601 time such as 2024-01-31T12:00:00Z (in a URL, encode the + of an offset)."
)
# PostgreSQL takes UTC offsets up to 15:59:59 either way (Python up to 23:59): a time beyond is
# refused here, as a 400 naming the filter, rather than by PostgreSQL as a 500.
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59, seconds=59)
BAD_OFFSET = "The UTC offset must be between -15:59 and +15:59."


def validate_utc_offset(value) -> None:
    offset = value.utcoffset() if isinstance(value, datetime) else None
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise forms.ValidationError(BAD_OFFSET, code="utc_offset")


def shorten(term: str) -> str:
    return term if len(term) <= SHOWN_LENGTH else term[: SHOWN_LENGTH - 1] + "…"


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """``true``/``false`` (or ``1``/``0``); any other value is a 400."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [(value, value) for value in BOOLEAN_VALUES])
        kwargs.setdefault("coerce", lambda raw: raw in TRUE_VALUES)
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": "Must be true or false (or 1 or 0); got %(value)r."},
        )
        super().__init__(*args, **kwargs)


def repeated(query, name: str) -> bool:
    """Whether ``name`` is given more than once in ``query`` (a QueryDict): only one value would
    be used (the last), the others silently dropped."""
    return hasattr(query, "getlist") and len(query.getlist(name)) > 1


class StrictFilterSet(django_filters.FilterSet):
    """Base FilterSet of the API lists: boolean model fields are filtered strictly, and a filter
    given more than once is a 400 (it is not an "or" of the values)."""

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
    }

    @classmethod
    def get_filters(cls):
        """The class's filters (built once, into ``base_filters``); a choice filter's error names
        the allowed values, a time filter's the expected form."""
        filters = super().get_filters()
        for filter_ in filters.values():
            if isinstance(filter_, django_filters.IsoDateTimeFilter):
                filter_.extra.setdefault("error_messages", {"invalid": BAD_TIME})
                filter_.extra.setdefault("validators", [validate_utc_offset])
            choices = filter_.extra.get("choices")
            if isinstance(filter_, django_filters.ChoiceFilter) and isinstance(choices, list):
                allowed = ", ".join(str(value) for value, _ in choices).replace("%", "%%")
                filter_.extra.setdefault(
                    "error_messages",
                    {"invalid_choice": f"Must be one of {allowed}; got %(value)r."},
                )
        return filters

    def get_form_class(self):
        """The form validating the query; made once per filter set class and set of filters when
        no filter's form field depends on the request (a class per request cost about a tenth of
        an uncached list)."""
        names = tuple(self.filters)
        shareable = not any(
            isinstance(filter_, QuerySetRequestMixin) for filter_ in self.filters.values()
        )
        key = (type(self), names)
        if shareable and key in _form_classes:
            return _form_classes[key]

        class StrictFilterForm(super().get_form_class()):
            def clean(self):
                cleaned = super().clean()
                for name in names:
                    if repeated(self.data, name):
                        self.add_error(name, forms.ValidationError(REPEATED, code="repeated"))
                return cleaned

        if shareable:
            _form_classes[key] = StrictFilterForm
        return StrictFilterForm


# (filter set class, filter names) → its form class (StrictFilterSet.get_form_class).
_form_classes: dict[tuple[type, tuple[str, ...]], type] = {}


# What a filter set may do with a query that names none of its filters: the hooks whose
# django-filter versions pass such a query through unchanged.
_FILTERSET_HOOKS = (
    "__init__",
    "qs",
    "form",
    "errors",
    "is_valid",
    "filter_queryset",
    "get_form_class",
)
# filter set class → its filter names when a query naming none of them can skip it, else None.
_skippable: dict[type, tuple[str, ...] | None] = {}


def _skippable_names(filterset_class) -> tuple[str, ...] | None:
    """The names of ``filterset_class``'s filters if a query giving none of them (nor a
    ``<name>_...`` parameter, what a multi-value widget reads) leaves the queryset as it is: no
    filter is required and the filter set keeps django-filter's (and StrictFilterSet's) way of
    validating and filtering, its form class and its filters' way of passing an empty value
    through. ``None``: it must always run."""
    try:
        return _skippable[filterset_class]
    except KeyError:
        pass
    names: tuple[str, ...] | None = tuple(filterset_class.base_filters)
    for hook in _FILTERSET_HOOKS:
        own = getattr(filterset_class, hook)
        if own is not getattr(StrictFilterSet, hook):
            names = None
    if names is not None and (
        filterset_class._meta.form is not forms.Form
        or any(
            filter_.extra.get("required")
            # django-filter's own filters pass an empty value through; another's may not
            or not type(filter_).filter.__module__.startswith("django_filters.")
            for filter_ in filterset_class.base_filters.values()
        )
    ):
        names = None
    _skippable[filterset_class] = names
    return names


class StrictDjangoFilterBackend(DjangoFilterBackend):
    """django-filter's backend (bad values are a 400) over ``StrictFilterSet``s only, so no list
    can bring back a lenient filter."""

    filterset_base = StrictFilterSet
    raise_exception = True

    def filter_queryset(self, request, queryset, view):
        """django-filter's, except that a query naming none of the filter set's parameters
        leaves the queryset as it is without building the filter set (its filters are deep-copied
        and its form made per instance: about a twelfth of an uncached list). The result is the
        same: an empty form is valid and every filter passes an empty value through."""
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return queryset
        names = _skippable_names(filterset_class)
        if names is not None and not any(
            key == name or key.startswith(f"{name}_")
            for key in request.query_params
            for name in names
        ):
            return queryset
        filterset = filterset_class(**self.get_filterset_kwargs(request, queryset, view))
        if not filterset.is_valid() and self.raise_exception:
            raise translate_validation(filterset.errors)
        return filterset.qs

    def get_filterset_class(self, view, queryset=None):
        filterset_class = super().get_filterset_class(view, queryset)
        if filterset_class is not None and not issubclass(filterset_class, StrictFilterSet):
            raise ImproperlyConfigured(
                f"{filterset_class.__name__} of {type(view).__name__} must extend "
                "pggit_project.filters.StrictFilterSet"
            )
        return filterset_class


class StrictOrderingFilter(OrderingFilter):
    """DRF's ordering filter, except that only the view's declared fields are accepted and
    anything else is a 400. ``fields``/``default`` override the view's ``ordering_fields`` and
    ``ordering`` (for a list served by an action of a view about something else)."""

    def __init__(self, fields=None, default=None):
        self.fields = fields
        self.default = default

    def declared_fields(self, view) -> dict[str, str]:
        """``{public name: ORM field}`` this list can be ordered by (empty: a fixed order)."""
        fields = self.fields if self.fields is not None else getattr(view, "ordering_fields", None)
        if not fields:
            return {}
        if fields == "__all__" or isinstance(fields, str):
            raise TypeError("ordering_fields must name the fields (no '__all__')")
        if isinstance(fields, dict):
            return dict(fields)
        return {name: name for name in fields}

    def get_valid_fields(self, queryset, view, context=None):
        return [(name, name) for name in self.declared_fields(view)]

    def get_default_ordering(self, view):
        if self.default is not None:
            return list(self.default)
        return super().get_default_ordering(view)

    def get_ordering(self, request, queryset, view):
        if repeated(request.query_params, self.ordering_param):
            raise ValidationError({self.ordering_param: [REPEATED]})
        raw = request.query_params.get(self.ordering_param)
        if raw is None or raw == "":
            return self.get_default_ordering(view)
        declared = self.declared_fields(view)
        terms = [term.strip() for term in raw.split(",")]
        unknown = [term for term in terms if term.removeprefix("-") not in declared]
        if not declared:
            raise ValidationError({self.ordering_param: ["This list has a fixed order."]})
        if unknown:
            shown = ", ".join(repr(shorten(term)) for term in unknown[:SHOWN_TERMS])
            if len(unknown) > SHOWN_TERMS:
                shown += f" and {len(unknown) - SHOWN_TERMS} more"
            raise ValidationError(
                {
                    self.ordering_param: [
                        f"Unknown ordering field {shown}; use {', '.join(declared)} "
                        "(a leading - for descending)."
                    ]
                }
            )
        ordering = []
        for term in dict.fromkeys(terms):
            descending = term.startswith("-")
            field = declared[term.removeprefix("-")]
            ordering.append(f"-{field}" if descending else field)
        pk = queryset.model._meta.pk.name
        if not any(term.removeprefix("-") in (pk, "pk") for term in ordering):
            ordering.append(f"-{pk}" if ordering[0].startswith("-") else pk)
        return ordering

    def get_schema_operation_parameters(self, view):
        declared = self.declared_fields(view)
        if not declared:
            return []
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": (
                    f"Comma-separated fields to order by, a leading - for descending: "
                    f"{', '.join(declared)}. Any other field is a 400."
                ),
                "schema": {"type": "string"},
            }
        ]
