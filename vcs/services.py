"""Writes of the version-control domain: each calls one engine function in its own transaction.

The engine validates everything and raises stable codes; these services only pass arguments and
the acting user, and shape the results.
"""

from __future__ import annotations

from typing import Any

from vcs.engine import fetch_one, fetch_value


def commit_create(*, message: str, author: str | None, actor: str) -> str:
    """Commits the working changes on HEAD; returns the new commit's hash."""
    return fetch_value("SELECT pggit.commit(%s, %s)", [message, author or actor], actor=actor)


def branch_create(*, name: str, from_ref: str, actor: str, description: str | None = None) -> None:
    fetch_value(
        "SELECT pggit.branch_create(%s, %s, %s)",
        [name, from_ref or "HEAD", description],
        actor=actor,
    )


def branch_delete(*, name: str, actor: str) -> None:
    fetch_value("SELECT pggit.branch_delete(%s)", [name], actor=actor)


def branch_update(
    *, name: str, actor: str, new_name: str | None = None, protected: bool | None = None
) -> str:
    """Renames and/or (un)protects a branch; returns its name afterwards. The rename comes first:
    a protected branch refuses to be renamed."""
    current = name
    if new_name is not None and new_name != name:
        fetch_value("SELECT pggit.branch_rename(%s, %s)", [name, new_name], actor=actor)
        current = new_name
    if protected is not None:
        fetch_value("SELECT pggit.branch_protect(%s, %s)", [current, protected], actor=actor)
    return current


def branch_checkout(*, name: str, force: bool, actor: str) -> dict[str, Any]:
    """Checks a branch out: migrates the live schema to its tree and moves HEAD."""
    row = fetch_one(
        "SELECT branch, commit_hash, statements FROM pggit.checkout(%s, %s)",
        [name, force],
        actor=actor,
    )
    return {"branch": row["branch"], "commit": row["commit_hash"], "statements": row["statements"]}


def capture_set(*, enabled: bool, actor: str) -> str:
    """The global capture switch (audited by the engine)."""
    return fetch_value("SELECT pggit.set_capture(%s, 'global')", [enabled], actor=actor)
