"""Unified diffs of definitions as lines tagged for highlighting (added, removed, hunk, context)."""

from __future__ import annotations

import difflib


def unified(
    before: str | None,
    after: str | None,
    *,
    name: str,
    context: int = 3,
    sides: tuple[str, str] = ("a", "b"),
) -> list:
    """``[(kind, text)]``: kind is ``"file"``, ``"hunk"``, ``"add"``, ``"del"`` or ``"ctx"``.
    ``sides`` label the two versions in the file lines (``--- a/name``, ``+++ b/name``)."""
    old = (before or "").splitlines()
    new = (after or "").splitlines()
    lines = difflib.unified_diff(
        old,
        new,
        fromfile=f"{sides[0]}/{name}" if before is not None else "/dev/null",
        tofile=f"{sides[1]}/{name}" if after is not None else "/dev/null",
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
