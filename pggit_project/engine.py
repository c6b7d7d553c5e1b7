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
def engine_cursor(*, actor: str | None = None) -> Iterator[Any]:
    """A cursor inside a transaction with ``pggit.actor`` set for its duration.

    Raises ``EngineError`` (a DomainError with the engine's stable code) for engine errors.
    """
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if actor:
                cursor.execute("SELECT set_config('pggit.actor', %s, true)", [actor])
            yield cursor
    except DatabaseError as exc:
        engine_error = engine_error_from(exc)
        if engine_error is None:
            raise
        raise engine_error from exc


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
    """HEAD (branch, commit) and the working changes: what ``pggit.status()`` says, read by every
    app that shows it (the vcs API and CLI, the live operations page)."""
    head = fetch_one("SELECT branch, commit_hash, clean FROM pggit.head()")
    changes = fetch_all(
        "SELECT object_type, schema_name, object_name, change_type, statement, actor, captured_at "
        "FROM pggit.status()"
    )
    return {
        "branch": head["branch"],
        "commit": head["commit_hash"],
        "clean": not changes,
        "working_changes": changes,
    }
