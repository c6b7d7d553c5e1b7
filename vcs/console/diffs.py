"""Unified diffs of definitions as lines tagged for highlighting (added, removed, hunk, context)."""

from __future__ import annotations

import difflib


def unified(before: str | None, after: str | None, *, name: str, context: int = 3) -> list:
    """``[(kind, text)]``: kind is ``"file"``, ``"hunk"``, ``"add"``, ``"del"`` or ``"ctx"``."""
    old = (before or "").splitlines()
    new = (after or "").splitlines()
    lines = difflib.unified_diff(
        old,
        new,
        fromfile=f"a/{name}" if before is not None else "/dev/null",
        tofile=f"b/{name}" if after is not None else "/dev/null",
        n=context,
        lineterm="",
    )
    tagged = []
    for text in lines:
        if text.startswith(("---", "+++")):
            kind = "file"
        elif text.startswith("@@"):
            kind = "hunk"
        elif text.startswith("+"):
            kind = "add"
        elif text.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        tagged.append((kind, text))
    return tagged
