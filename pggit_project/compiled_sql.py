"""Compiled SQL of list pages, kept per request shape, and of lookups by primary key.

Compiling a queryset (Django's ``SQLCompiler.as_sql``: the select list, the ``ORDER BY`` pairs, the
``WHERE`` tree) costs more CPU than PostgreSQL's answer to a page of a list (docs/benchmarks.md,
"Issue 16: the uncached path, fourth round"). A view whose list query is a function of the request's
*shape* only says so by mixing in ``ReusableListSQL``: its view class, action, URL keyword arguments
and query string decide the SQL and its parameters, never the user, the clock or any other state.
``PageNumberPagination`` then compiles the page query and the count query of one shape once per
process and later only executes them: the same SQL and parameters, through the same cursor, with
the rows converted by Django's own converters (kept with the page; a plain ``JSONField`` column's
by ``_json_column``, which gives the same values) and made into model instances
as ``Model.from_db`` makes them: by ``_new_instances`` (the instance's ``__dict__`` filled
directly) when ``from_db`` would only store the values (``_plain_init``, and no
``pre_init``/``post_init`` receiver at the time of the fetch), else by ``Model.from_db`` itself.

Once a shape's count was needed (a full page: ``PageNumberPagination`` counts only then), its
page and its count are one statement: the page's, with the count's statement as a scalar subquery
in its last column (``page_and_total``). One round trip instead of two, and the rows and the total
are read in the same snapshot (two statements could each see a different one).

Only plain model querysets are kept (no ``select_related``, annotations, extra select, ``values()``,
prefetching or known related objects); any other queryset, and a query that Django would not send
(an always-empty ``WHERE``), takes Django's ordinary path every time. Entries are per process, at
most ``MAX_ENTRIES`` (least recently used dropped); a deploy restarts the process.

``first_by_pk(make_queryset, pk)`` is ``make_queryset().filter(pk=pk).first()`` (a detail view's
object) with the statement compiled once per ``make_queryset`` — a function whose queryset depends
on nothing else (a selector such as ``Alert.objects.all``) — and later sent with the new key as its
only parameter, adapted as Django adapts it (psycopg's ``Int8`` for a ``bigint`` key). It is kept
only for an ``int`` key of an integer primary key field, a plain queryset (as for pages) and a
statement whose one parameter is that key; a key outside the field's range (which Django answers
without a query) and any other case take Django's path. At most ``MAX_ENTRIES`` statements are
kept (one per ``make_queryset``), the oldest dropped first.
"""

from __future__ import annotations

import inspect
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections, router
from django.db.models import BigIntegerField, IntegerField, JSONField, Model, signals
from django.db.models.base import ModelState
from django.db.models.expressions import Col, RawSQL
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import ModelIterable
from django.db.models.query_utils import DeferredAttribute

MAX_ENTRIES = 2048
# The alias of the count's column in a page read with its total (``page_and_total``).
_TOTAL = "_pggit_page_total"


class ReusableListSQL:
    """View mixin: the list's SQL depends on the request's shape only (see the module docstring).

    The key is the view class, its action, its URL keyword arguments and every query parameter with
    its values (``page`` and ``page_size`` included: the page's ``LIMIT``/``OFFSET`` are in its
    SQL)."""

    def list_sql_key(self, request) -> tuple:
        return (
            type(self),
            getattr(self, "action", None),
            tuple(sorted(self.kwargs.items())),
            tuple(sorted((name, tuple(values)) for name, values in request.query_params.lists())),
        )


@dataclass
class _Page:
    sql: str
    params: tuple
    using: str
    model: type
    init_list: list[str]
    start: int
    end: int
    # Django's converters of the selected columns (``SQLCompiler.get_converters``), as
    # ``_row_converters`` lists them
    row_converters: list
    plain_init: bool  # rows may become instances as ``_new_instances`` makes them


@dataclass
class _Entry:
    page: _Page | None = None
    count: tuple[str, tuple, str] | None = None  # sql, params, database alias
    counted: _Page | None = None  # the page with the count as its last column


@dataclass
class _Lookup:
    page: _Page | None  # None: this queryset's lookup is not kept (Django's path every time)
    explicit_db: str | None  # the queryset's own ``using()``, else the router decides
    key_range: tuple[int | None, int | None] = (None, None)  # the primary key field's range
    wrap: type = int  # the key's type as a parameter


class CompiledLists:
    """The per-process store of compiled page and count queries (module docstring)."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._lookups: dict[tuple, _Lookup] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._lookups.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _entry(self, key: tuple) -> _Entry:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry()
                if len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            else:
                self._entries.move_to_end(key)
            return entry

    def page(self, key: tuple, queryset, start: int, stop: int) -> list[Any]:
        """``list(queryset[start:stop])``, compiled once for ``key`` (two requests of a new shape
        at once may both compile it: the same result, either kept)."""
        if not _plain(queryset):
            return list(queryset[start:stop])
        entry = self._entry(key)
        page = entry.page
        if page is None or page.using != queryset.db:
            page = _compile_page(queryset[start:stop])
            if page is None:
                return list(queryset[start:stop])
            entry.page = page
        return _fetch_page(page, page.params)

    def page_and_total(
        self, key: tuple, queryset, start: int, stop: int
    ) -> tuple[list[Any], int | None]:
        """``list(queryset[start:stop])`` and ``queryset.count()`` read by one statement, once
        ``count(key, queryset, start, stop)`` has compiled it for ``key``; until then (and for
        a queryset that is not kept) the page alone, with ``None``. The total is ``None`` too when
        the page is empty (no row carries it)."""
        if _plain(queryset):
            counted = self._entry(key).counted
            if counted is not None and counted.using == queryset.db:
                rows = _fetch_rows(counted, counted.params)
                return _instances(counted, rows), (rows[0][-1] if rows else None)
        return self.page(key, queryset, start, stop), None

    def count(self, key: tuple, queryset, start: int | None = None, stop: int | None = None) -> int:
        """``queryset.count()``, compiled once for ``key``: the statement Django sends for it is
        recorded on its first execution and sent again with the same parameters after. Given the
        page's ``start`` and ``stop``, the first execution also compiles the page read with its
        total (``page_and_total``)."""
        if not _plain(queryset):
            return queryset.count()
        entry = self._entry(key)
        count = entry.count
        using = queryset.db
        if count is None or count[2] != using:
            sent: list[tuple[str, tuple]] = []

            def record(execute, sql, params, many, context):
                sent.append((sql, tuple(params or ())))
                return execute(sql, params, many, context)

            with connections[using].execute_wrapper(record):
                total = queryset.count()
            if len(sent) == 1:  # one statement, nothing around it: safe to send again
                entry.count = (*sent[0], using)
                if start is not None:
                    entry.counted = _compile_counted(queryset, start, stop, sent[0])
            return total
        sql, params, _ = count
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    def first_by_pk(self, make_queryset, pk):
        """``make_queryset().filter(pk=pk).first()``, compiled once per ``make_queryset`` (see
        the module docstring)."""
        key = ("first_by_pk", make_queryset)
        lookup = self._lookups.get(key)
        if lookup is not None and type(pk) is int:
            page = lookup.page
            if page is None:
                return make_queryset().filter(pk=pk).first()
            low, high = lookup.key_range
            using = lookup.explicit_db or router.db_for_read(page.model)
            if using == page.using and (low is None or pk >= low) and (high is None or pk <= high):
                found = _fetch_page(page, (lookup.wrap(pk),))
                return found[0] if found else None
        queryset = make_queryset().filter(pk=pk)
        if not queryset.ordered:
            queryset._check_ordering_first_last_queryset_aggregation(method="first")
            queryset = queryset.order_by("pk")
        if lookup is None or lookup.page is not None:
            lookup = _compile_lookup(queryset, pk)
            if lookup is not None:
                with self._lock:
                    self._lookups[key] = lookup
                    if len(self._lookups) > self.max_entries:
                        self._lookups.pop(next(iter(self._lookups)))
        for instance in queryset[:1]:
            return instance
        return None


def _compile_lookup(queryset, pk) -> _Lookup | None:
    """What ``first_by_pk`` keeps for ``queryset`` (already filtered by ``pk`` and ordered), or
    ``None`` when nothing can be decided from this call (another key may be in range)."""
    model = queryset.model
    field = model._meta.pk
    if type(pk) is not int or queryset._hints:
        return None
    if not isinstance(field, IntegerField) or not _plain(queryset):
        return _Lookup(page=None, explicit_db=None)
    using = queryset.db
    low, high = connections[using].ops.integer_field_range(field.get_internal_type())
    if (low is not None and pk < low) or (high is not None and pk > high):
        return None  # Django sends nothing (EmptyResultSet): compile from a key in range
    page = _compile_page(queryset[:1])
    if (
        page is None
        or len(page.params) != 1
        or not isinstance(page.params[0], int)
        or int(page.params[0]) != pk
        or type(page.params[0])(pk) != page.params[0]
    ):
        return _Lookup(page=None, explicit_db=None)
    # the parameter as Django adapts the key (an int, or psycopg's Int8... for the field's type)
    return _Lookup(
        page=page, explicit_db=queryset._db, key_range=(low, high), wrap=type(page.params[0])
    )


def _plain(queryset) -> bool:
    query = queryset.query
    return (
        queryset._iterable_class is ModelIterable
        and not queryset._prefetch_related_lookups
        and not queryset._known_related_objects
        and not query.select_related
        and not query.annotation_select
        and not query.extra_select
        and not query.combinator
        and queryset._result_cache is None
    )


def _compile_counted(queryset, start: int, stop: int | None, count: tuple[str, tuple]):
    """The page ``queryset[start:stop]`` with the count statement ``count`` (its SQL and
    parameters as sent) as a scalar subquery in its last column, or ``None`` when it cannot be
    kept."""
    sql, params = count
    # (Django's own count statement as it sent it, its parameters passed apart)
    total = RawSQL(sql, params, output_field=BigIntegerField())  # noqa: S611
    return _compile_page(queryset.annotate(**{_TOTAL: total})[start:stop], total_column=True)


def _compile_page(page_queryset, total_column: bool = False) -> _Page | None:
    """What ``_fetch_page`` needs to send ``page_queryset``'s statement again, or ``None`` when
    it cannot be kept. With ``total_column``, the queryset's one annotation, ``_TOTAL``, must be
    its last column (``page_and_total`` reads it there)."""
    compiler = page_queryset.query.get_compiler(using=page_queryset.db)
    try:
        sql, params = compiler.as_sql()
    except (EmptyResultSet, FullResultSet):
        return None
    klass_info = compiler.klass_info
    annotations = {_TOTAL: len(compiler.select) - 1} if total_column and compiler.select else {}
    if (
        not sql
        or compiler.has_extra_select
        or compiler.annotation_col_map != annotations
        or klass_info is None
        or klass_info.get("related_klass_infos")
    ):
        return None
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    init_list = [column[0].target.attname for column in compiler.select[start:end]]
    converters = compiler.get_converters([column[0] for column in compiler.select])
    if total_column:  # COUNT(*)'s bigint comes from the driver as an int: int() changes nothing
        converters.pop(len(compiler.select) - 1, None)
    return _Page(
        sql=sql,
        params=tuple(params),
        using=page_queryset.db,
        model=klass_info["model"],
        init_list=init_list,
        start=start,
        end=end,
        row_converters=_row_converters(converters),
        plain_init=_plain_init(klass_info["model"], init_list),
    )


def _fetch_page(page: _Page, params: tuple) -> list[Any]:
    return _instances(page, _fetch_rows(page, params))


def _fetch_rows(page: _Page, params: tuple) -> list:
    """The page's rows, converted as Django converts them (``results_iter``)."""
    with connections[page.using].cursor() as cursor:
        cursor.execute(page.sql, params)
        rows = cursor.fetchall()
    if page.row_converters:
        # on this thread's connection
        rows = _convert(rows, page.row_converters, connections[page.using])
    return rows


def _instances(page: _Page, rows: list) -> list[Any]:
    """The model instances of fetched rows (``Model.from_db``'s, or ``_new_instances``')."""
    model, using, init_list, start, end = (
        page.model,
        page.using,
        page.init_list,
        page.start,
        page.end,
    )
    if page.plain_init and not (
        signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)
    ):
        return _new_instances(model, using, init_list, rows, start, end)
    from_db = model.from_db
    return [from_db(using, init_list, row[start:end]) for row in rows]


# What ``json.loads(text)`` decodes with when given no other argument.
_decode_json = json.JSONDecoder().decode


def _json_column(field: JSONField):
    """``field.from_db_value`` of a plain column (not a key transform) of a ``JSONField`` without a
    decoder of its own: ``None`` stays ``None``; text is decoded as ``json.loads`` decodes it and
    kept as it is when it is not JSON; any other value goes to ``from_db_value``."""
    from_db_value = field.from_db_value

    def convert(value, expression, connection):
        if value.__class__ is str:
            try:
                return _decode_json(value)
            except json.JSONDecodeError:
                return value
        return None if value is None else from_db_value(value, expression, connection)

    return convert


def _row_converters(converters: dict) -> list[tuple[int, list, Any]]:
    """``SQLCompiler.apply_converters``'s list of (position, converters, expression), with each
    plain ``JSONField`` column's converter replaced by ``_json_column``'s (same values, without
    ``json.loads``'s and ``from_db_value``'s checks per value)."""
    planned = []
    for position, (functions, expression) in converters.items():
        functions = [
            _json_column(function.__self__)
            if getattr(function, "__func__", None) is JSONField.from_db_value
            and type(function.__self__) is JSONField
            and function.__self__.decoder is None
            and type(expression) is Col
            else function
            for function in functions
        ]
        planned.append((position, functions, expression))
    return planned


def _convert(rows, row_converters: list, connection) -> list[list]:
    """The rows as ``SQLCompiler.apply_converters`` converts them."""
    converted = []
    for row in map(list, rows):
        for position, functions, expression in row_converters:
            value = row[position]
            for function in functions:
                value = function(value, expression, connection)
            row[position] = value
        converted.append(row)
    return converted


# The class attributes of concrete fields that ``Model.__init__``'s ``setattr`` of a new instance
# reduces to storing the value in its ``__dict__``: DeferredAttribute has no ``__set__``;
# ForeignKeyDeferredAttribute's only also drops a cached related object, which a new one lacks
# (looking for one, for a non-null value, creates the ``_state.fields_cache`` it would be in).
_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)


def _plain_init(model, init_list: list[str]) -> bool:
    """Whether ``model.from_db(using, init_list, values)`` only stores the values: Django's own
    ``from_db``, ``__new__``, ``__init__`` and ``__setattr__``, every concrete field selected in
    field order (nothing deferred), and every field's class attribute one of
    ``_PLAIN_DESCRIPTORS``. (``pre_init``/``post_init`` receivers are checked at each fetch: one
    may connect later.)"""
    fields = model._meta.concrete_fields
    return (
        model.__init__ is Model.__init__
        and model.__new__ is object.__new__
        and getattr(model.from_db, "__func__", None) is Model.from_db.__func__
        and model.__setattr__ is object.__setattr__
        and not model._meta.abstract
        and [field.attname for field in fields] == list(init_list)
        and all(
            type(inspect.getattr_static(model, field.attname, None)) in _PLAIN_DESCRIPTORS
            for field in fields
        )
    )


def _new_instances(model, using: str, init_list: list[str], rows, start: int, end: int):
    """What ``[model.from_db(using, init_list, row[start:end]) for row in rows]`` gives for a
    model that ``_plain_init`` admits, without ``Model.__init__``'s per-field work: the same
    ``__dict__`` (``_state`` first, then the fields in order) and a ``_state`` with the same
    ``adding`` and ``db``. The one difference: for a non-null foreign key value, ``__init__``'s
    ``setattr`` looks for a cached related object and so creates ``_state.fields_cache`` (an
    empty dict); here it is left to ``ModelState``'s descriptor, which creates the same empty
    dict on first use (the related object is then read and cached as for ``from_db``'s)."""
    new = model.__new__
    instances = []
    for row in rows:
        instance = new(model)
        state = ModelState()
        state.adding = False
        state.db = using
        values = instance.__dict__
        values["_state"] = state
        values.update(zip(init_list, row[start:end], strict=True))
        instances.append(instance)
    return instances


compiled_lists = CompiledLists()
