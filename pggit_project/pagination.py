"""The list pagination of docs/api.md (Conventions): ``?page=`` (≥1), ``?page_size=`` (1..100,
default 20).

Body: ``{"items", "total", "page", "page_size", "pages"}``. A page or page size out of range is a
400 with the error shape (``errors`` names the parameter), never an empty page or a silent clamp.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from pggit_project.compiled_sql import compiled_lists
from pggit_project.constants import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from pggit_project.filters import REPEATED, repeated

INTEGER = re.compile(r"-?[0-9]+")
MAX_OFFSET = 2**62  # within PostgreSQL's bigint


def _positive_int(request, name: str, default: int, maximum: int | None = None) -> int:
    if repeated(request.query_params, name):
        raise ValidationError({name: [REPEATED]})
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not INTEGER.fullmatch(raw):  # int() would also take " 2", "1_0" and non-ASCII digits
        raise ValidationError({name: [f"Must be an integer; got {raw!r}."]})
    value = int(raw)
    if value < 1 or (maximum is not None and value > maximum):
        upper = f"..{maximum}" if maximum is not None else " or more"
        raise ValidationError({name: [f"Must be 1{upper}; got {value}."]})
    return value


class PageNumberPagination(pagination.BasePagination):
    """Page-number pagination with strict bounds (see the module docstring)."""

    page_query_param = "page"
    page_size_query_param = "page_size"
    default_page_size = DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None) -> list[Any]:
        """The page, and the total for the body. A page that is not full and not past the end
        tells the total itself (its offset plus its rows, read in the same snapshot): the count
        query is made only for a full page, or an empty page that is not the first (whose 400
        names the valid range). A view with ``ReusableListSQL`` has both queries compiled once per
        request shape, and a full page of a shape counted before is read with its total by one
        statement (``pggit_project.compiled_sql``)."""
        self.read_parameters(request)
        start = (self.page - 1) * self.page_size
        if isinstance(queryset, (list, tuple)):
            self.set_total(len(queryset))
            return list(queryset[start : start + self.page_size])
        key_of = getattr(view, "list_sql_key", None)
        key = key_of(request) if key_of is not None else None
        stop = start + self.page_size
        total = None
        if start > MAX_OFFSET:
            rows = []
        elif key is None:
            rows = list(queryset[start:stop])
        else:
            rows, total = compiled_lists.page_and_total(key, queryset, start, stop)
        if total is not None:
            self.set_total(total)
        elif len(rows) < self.page_size and (rows or start == 0):
            self.set_total(start + len(rows))
        elif key is None:
            self.set_total(queryset.count())
        elif start > MAX_OFFSET:  # past every row: nothing to read with the total
            self.set_total(compiled_lists.count(key, queryset))
        else:
            self.set_total(compiled_lists.count(key, queryset, start, stop))
        return rows

    def paginate_fetched(
        self, request, fetch: Callable[[int, int], tuple[int, list[Any]]]
    ) -> list[Any]:
        """A page of a list computed by one query: ``fetch(limit, offset)`` returns the total and
        that slice (an engine function paged in SQL). Same parameters, bounds and errors as
        ``paginate_queryset``; a page past the last is refused once the total is known."""
        self.read_parameters(request)
        # a page number beyond any list must still reach the range check, not overflow SQL's
        # bigint OFFSET: such an offset is past every row either way
        offset = min((self.page - 1) * self.page_size, MAX_OFFSET)
        total, rows = fetch(self.page_size, offset)
        self.set_total(total)
        return rows

    def read_parameters(self, request) -> None:
        self.page_size = _positive_int(
            request, self.page_size_query_param, self.default_page_size, self.max_page_size
        )
        self.page = _positive_int(request, self.page_query_param, 1)

    def set_total(self, total: int) -> None:
        self.total = total
        self.pages = max(1, math.ceil(self.total / self.page_size))
        if self.page > self.pages:
            raise ValidationError(
                {self.page_query_param: [f"Page {self.page} is out of range (1..{self.pages})."]}
            )

    def get_paginated_response(self, data) -> Response:
        return Response(
            {
                "items": data,
                "total": self.total,
                "page": self.page,
                "page_size": self.page_size,
                "pages": self.pages,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["items", "total", "page", "page_size", "pages"],
            "properties": {
                "items": schema,
                "total": {"type": "integer", "example": 42},
                "page": {"type": "integer", "minimum": 1, "example": 1},
                "page_size": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "example": self.default_page_size,
                },
                "pages": {"type": "integer", "minimum": 1, "example": 3},
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict[str, Any]]:
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Page number, from 1.",
                "schema": {"type": "integer", "minimum": 1, "default": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Items per page, 1..{self.max_page_size}.",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.default_page_size,
                },
            },
        ]
