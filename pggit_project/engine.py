"""Calling the SQL engine from Django: one transaction per call, the acting console user set for
the engine's audit trail, and engine errors turned into the domain error the API maps to HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError, connection, transaction

from pggit_project.errors import EngineError, engine_error_from


@contextmanager
def engine_errors() -> Iterator[None]:
    """Raises the engine's errors inside it as ``EngineError`` (a DomainError with the engine's
    stable code); any other database error as it is."""
    try:
        yield
    except DatabaseError as exc:
        engine_error = engine_error_from(exc)
        if engine_error is None:
            raise
        raise engine_error from exc


@contextmanager
def engine_cursor(*, actor: str | None = None) -> Iterator[Any]:
    """A cursor inside a transaction with ``pggit.actor`` set for its duration (engine errors
    raised as ``engine_errors`` raises them)."""
    with engine_errors(), transaction.atomic(), connection.cursor() as cursor:
        if actor:
            cursor.execute("SELECT set_config('pggit.actor', %s, true)", [actor])
        yield cursor


JSON_TYPE_OIDS = frozenset({114, 3802})  # json, jsonb: Django's connection returns them as text


def fetch_all(query: str, params: Sequence[Any] = (), *, actor: str | None = None) -> list[dict]:
    """Runs an engine query and returns its rows as dicts (json/jsonb columns decoded)."""
    with engine_cursor(actor=actor) as cursor:
        cursor.execute(query, list(params))
        columns = [(col.name, col.type_code in JSON_TYPE_OIDS) for col in cursor.description]
        return [
            {
                name: json.loads(value) if is_json and isinstance(value, str) else value
                for (name, is_json), value in zip(columns, row, strict=True)
            }
            for row in cursor.fetchall()
        ]


def fetch_one(query: str, params: Sequence[Any] = (), *, actor: str | None = None) -> dict | None:
    rows = fetch_all(query, params, actor=actor)
    return rows[0] if rows else None


def fetch_value(query: str, params: Sequence[Any] = (), *, actor: str | None = None) -> Any:
    with engine_cursor(actor=actor) as cursor:
        cursor.execute(query, list(params))
        row = cursor.fetchone()
        return None if row is None else row[0]


__all__ = ["EngineError", "engine_cursor", "fetch_all", "fetch_one", "fetch_value"]


def engine_status() -> dict[str, Any]:
    """HEAD (branch, commit) and all the working changes: what ``pggit.status()`` says (the CLI
    and the console list them all; the API and the live page read ``engine_status_page``)."""
    head = fetch_one("SELECT branch, commit_hash, clean FROM pggit.head()")
    changes = fetch_all(
        "SELECT object_type, schema_name, object_name, change_type, statement, actor, captured_at "
        "FROM pggit.status()"
    )
    return {
        "branch": head["branch"],
        "commit": head["commit_hash"],
        "clean": not changes,
        "working_change_count": len(changes),
        "working_changes": changes,
    }


WORKING_CHANGE_COLUMNS = (
    "object_type",
    "schema_name",
    "object_name",
    "change_type",
    "statement",
    "actor",
    "captured_at",
)
STATUS_PAGE_QUERY = """
WITH s AS MATERIALIZED (SELECT * FROM pggit.status())
SELECT t.total, p.object_key, p.object_type, p.schema_name, p.object_name, p.change_type,
       p.statement, p.actor, p.captured_at
  FROM (SELECT count(*) AS total FROM s) t
  LEFT JOIN LATERAL (SELECT * FROM s ORDER BY s.captured_at, s.object_key
                     LIMIT %s OFFSET %s) p ON true
"""


def engine_status_page(limit: int, offset: int = 0) -> dict[str, Any]:
    """HEAD, the number of working changes and one slice of them (``pggit.status()``'s order:
    capture time, then object key), in one transaction: the engine's function runs once and
    only the slice leaves the database, so the answer does not grow with the schema."""
    with engine_cursor() as cursor:
        cursor.execute("SELECT branch, commit_hash FROM pggit.head()")
        branch, commit = cursor.fetchone()
        cursor.execute(STATUS_PAGE_QUERY, [limit, offset])
        rows = cursor.fetchall()
    total = rows[0][0]
    changes = [
        dict(zip(WORKING_CHANGE_COLUMNS, row[2:], strict=True))
        for row in rows
        if row[1] is not None  # the one row of an empty page has only the total
    ]
    return {
        "branch": branch,
        "commit": commit,
        "clean": total == 0,
        "working_change_count": total,
        "working_changes": changes,
    }
