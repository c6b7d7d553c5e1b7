"""Compiled SQL of list pages, kept per request shape.

Compiling a queryset (Django's ``SQLCompiler.as_sql``: the select list, the ``ORDER BY`` pairs, the
``WHERE`` tree) costs more CPU than PostgreSQL's answer to a page of a list (docs/benchmarks.md,
"Issue 16: the uncached path, fourth round"). A view whose list query is a function of the request's
*shape* only says so by mixing in ``ReusableListSQL``: its view class, action, URL keyword arguments
and query string decide the SQL and its parameters, never the user, the clock or any other state.
``PageNumberPagination`` then compiles the page query and the count query of one shape once per
process and later only executes them: the same SQL and parameters, through the same cursor, with
the rows made into model instances by Django's own converters and ``Model.from_db``.

Only plain model querysets are kept (no ``select_related``, annotations, extra select, ``values()``,
prefetching or known related objects); any other queryset, and a query that Django would not send
(an always-empty ``WHERE``), takes Django's ordinary path every time. Entries are per process, at
most ``MAX_ENTRIES`` (least recently used dropped); a deploy restarts the process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models.query import ModelIterable

MAX_ENTRIES = 2048


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
    select: list
    col_count: int
    klass_info: dict
    annotation_col_map: dict


@dataclass
class _Entry:
    page: _Page | None = None
    count: tuple[str, tuple, str] | None = None  # sql, params, database alias


class CompiledLists:
    """The per-process store of compiled page and count queries (module docstring)."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

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
        return _fetch_page(queryset, page)

    def count(self, key: tuple, queryset) -> int:
        """``queryset.count()``, compiled once for ``key``: the statement Django sends for it is
        recorded on its first execution and sent again with the same parameters after."""
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
            return total
        sql, params, _ = count
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]


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


def _compile_page(page_queryset) -> _Page | None:
    compiler = page_queryset.query.get_compiler(using=page_queryset.db)
    try:
        sql, params = compiler.as_sql()
    except (EmptyResultSet, FullResultSet):
        return None
    klass_info = compiler.klass_info
    if (
        not sql
        or compiler.has_extra_select
        or compiler.annotation_col_map
        or klass_info is None
        or klass_info.get("related_klass_infos")
    ):
        return None
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    return _Page(
        sql=sql,
        params=tuple(params),
        using=page_queryset.db,
        model=klass_info["model"],
        init_list=[column[0].target.attname for column in compiler.select[start:end]],
        start=start,
        end=end,
        select=compiler.select,
        col_count=compiler.col_count,
        klass_info=klass_info,
        annotation_col_map=compiler.annotation_col_map,
    )


def _fetch_page(queryset, page: _Page) -> list[Any]:
    # a compiler of this thread's connection, given the kept select list: its converters are the
    # ones Django's own iteration would apply to these columns
    compiler = queryset.query.get_compiler(using=page.using)
    compiler.select = page.select
    compiler.col_count = page.col_count
    compiler.klass_info = page.klass_info
    compiler.annotation_col_map = page.annotation_col_map
    with compiler.connection.cursor() as cursor:
        cursor.execute(page.sql, page.params)
        rows = cursor.fetchall()
    from_db = page.model.from_db
    using, init_list, start, end = page.using, page.init_list, page.start, page.end
    return [from_db(using, init_list, row[start:end]) for row in compiler.results_iter([rows])]


compiled_lists = CompiledLists()
