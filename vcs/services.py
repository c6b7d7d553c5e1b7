"""Writes of the version-control domain: each calls one engine function in its own transaction.

The engine validates everything and raises stable codes; these services only pass arguments and
the acting user, and shape the results.

A failed engine operation rolls back with its transaction, the engine's own recording of it too
(PostgreSQL has no autonomous transactions). So that failures through the API and the CLI are
measured and can raise ``operation_failed`` alerts, each service records a failed run of its
operation in a transaction of its own after the error (``recorded_failure``) — a real failure
only, not a refusal of the request.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError

from pggit_project.engine import engine_cursor, fetch_one, fetch_value
from pggit_project.errors import ENGINE_FAILURE_CODES, EngineError

logger = logging.getLogger(__name__)


def _error_code(exc: Exception) -> str:
    if isinstance(exc, EngineError):
        return exc.engine_code
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    return f"SQLSTATE_{sqlstate}" if sqlstate else "DATABASE_ERROR"


def _record_failed_run(
    operation: str, elapsed_s: float, branch: str | None, actor: str, exc: Exception
) -> None:
    """One failed run of ``operation`` in pggit.operations (its own transaction): duration,
    branch, actor, and the error with its code. A failure to record is logged, never raised."""
    code = _error_code(exc)
    detail = exc.detail if isinstance(exc, EngineError) else str(exc).split("\n", 1)[0]
    try:
        with engine_cursor(actor=actor) as cursor:
            cursor.execute(
                "SELECT pggit.record_operation(%s, clock_timestamp() - make_interval(secs => %s),"
                " 0, 0, coalesce(%s, (pggit.head_branch()).name), false, %s, %s::jsonb)",
                [
                    operation,
                    elapsed_s,
                    branch,
                    f"[PGGIT-{code}] {detail}",
                    json.dumps({"error_code": code, "recorded_by": "console"}),
                ],
            )
    except (DatabaseError, EngineError):
        logger.warning("could not record the failed %s run (%s)", operation, code, exc_info=True)


@contextmanager
def recorded_failure(operation: str, *, actor: str, branch: str | None = None) -> Iterator[None]:
    """Runs an engine call; if it fails, records the failed run, then lets the error through.

    A refusal (an engine code outside ``ENGINE_FAILURE_CODES``: a typo in a name, working changes,
    data loss...) is answered to the caller and not recorded: it is no failure of the engine, and
    recording it would raise an ``operation_failed`` alert for every user mistake."""
    started = time.perf_counter()
    try:
        yield
    except (EngineError, DatabaseError) as exc:
        if not isinstance(exc, EngineError) or exc.engine_code in ENGINE_FAILURE_CODES:
            _record_failed_run(operation, time.perf_counter() - started, branch, actor, exc)
        raise


def commit_create(*, message: str, author: str | None, actor: str) -> str:
    """Commits the working changes on HEAD; returns the new commit's hash."""
    with recorded_failure("commit", actor=actor):
        return fetch_value("SELECT pggit.commit(%s, %s)", [message, author or actor], actor=actor)


def branch_create(*, name: str, from_ref: str, actor: str, description: str | None = None) -> None:
    with recorded_failure("branch_create", actor=actor, branch=name):
        fetch_value(
            "SELECT pggit.branch_create(%s, %s, %s)",
            [name, from_ref or "HEAD", description],
            actor=actor,
        )


def branch_delete(*, name: str, actor: str) -> None:
    with recorded_failure("branch_delete", actor=actor, branch=name):
        fetch_value("SELECT pggit.branch_delete(%s)", [name], actor=actor)


def branch_update(
    *, name: str, actor: str, new_name: str | None = None, protected: bool | None = None
) -> str:
    """Renames and/or (un)protects a branch; returns its name afterwards. The rename comes first:
    a protected branch refuses to be renamed."""
    current = name
    if new_name is not None and new_name != name:
        with recorded_failure("branch_rename", actor=actor, branch=new_name):
            fetch_value("SELECT pggit.branch_rename(%s, %s)", [name, new_name], actor=actor)
        current = new_name
    if protected is not None:
        with recorded_failure("branch_protect", actor=actor, branch=current):
            fetch_value("SELECT pggit.branch_protect(%s, %s)", [current, protected], actor=actor)
    return current


def branch_checkout(*, name: str, force: bool, actor: str) -> dict[str, Any]:
    """Checks a branch out: migrates the live schema to its tree and moves HEAD."""
    with recorded_failure("checkout", actor=actor, branch=name):
        row = fetch_one(
            "SELECT branch, commit_hash, statements FROM pggit.checkout(%s, %s)",
            [name, force],
            actor=actor,
        )
    return {"branch": row["branch"], "commit": row["commit_hash"], "statements": row["statements"]}


# The merge's columns (not ``changes``, the engine's working data): every merge function returns
# a pggit.merges row.
MERGE_SELECT = (
    "SELECT m.id, m.source, m.target, m.strategy, m.status, m.base, m.result_commit, "
    "m.conflict_count, m.message, m.source_commit, m.target_commit, m.created_by, m.created_at, "
    "m.finished_at FROM "
)


def merge_create(
    *, source: str, target: str, strategy: str, message: str | None, force: bool, actor: str
) -> dict[str, Any]:
    """Merges ``source`` into the branch ``target`` (pggit.merge); returns the merge."""
    with recorded_failure("merge", actor=actor, branch=target):
        return fetch_one(
            MERGE_SELECT + "pggit.merge(%s, %s, %s, %s, %s, %s) m",
            [source, target, strategy, message, force, actor],
            actor=actor,
        )


def merge_resolve(
    *, merge_id: int, conflict_id: int, resolution: str, custom_definition: str | None, actor: str
) -> dict[str, Any]:
    """Resolves one conflict of an open merge (CUSTOM definitions are proven by the engine)."""
    with recorded_failure("merge_resolve", actor=actor):
        return fetch_one(
            "SELECT conflict_id, object_key, resolution, resolved, remaining "
            "FROM pggit.merge_resolve(%s, %s, %s, %s)",
            [merge_id, conflict_id, resolution, custom_definition],
            actor=actor,
        )


def merge_complete(*, merge_id: int, force: bool, actor: str) -> dict[str, Any]:
    with recorded_failure("merge_complete", actor=actor):
        return fetch_one(
            MERGE_SELECT + "pggit.merge_complete(%s, %s, %s) m",
            [merge_id, force, actor],
            actor=actor,
        )


def merge_abort(*, merge_id: int, actor: str) -> dict[str, Any]:
    with recorded_failure("merge_abort", actor=actor):
        return fetch_one(MERGE_SELECT + "pggit.merge_abort(%s) m", [merge_id], actor=actor)


def revert(*, commit: str, dry_run: bool, force: bool, actor: str) -> dict[str, Any]:
    """Reverts a commit on HEAD's branch (a dry run changes nothing)."""
    with recorded_failure("revert", actor=actor):
        return fetch_one(
            "SELECT status, commit_hash AS commit, script, findings "
            "FROM pggit.revert(%s, %s, %s, p_author => %s)",
            [commit, dry_run, force, actor],
            actor=actor,
        )


def reset(*, branch: str, to: str, dry_run: bool, force: bool, actor: str) -> dict[str, Any]:
    """Resets a branch to a commit or a time with a new commit (a dry run changes nothing)."""
    with recorded_failure("reset", actor=actor, branch=branch):
        return fetch_one(
            "SELECT status, commit_hash AS commit, script, findings "
            "FROM pggit.reset(%s, %s, %s, %s, p_author => %s)",
            [branch, to, dry_run, force, actor],
            actor=actor,
        )


def undo(*, objects: list[str], to: str, dry_run: bool, force: bool, actor: str) -> dict[str, Any]:
    """Sets objects back to their definition at a ref (a dry run changes nothing)."""
    with recorded_failure("undo", actor=actor):
        return fetch_one(
            "SELECT status, commit_hash AS commit, script, findings "
            "FROM pggit.undo(%s, %s, %s, %s, p_author => %s)",
            [objects, to, dry_run, force, actor],
            actor=actor,
        )
