"""The commit graph drawn server-side as SVG: one row per commit (newest first), one lane per line
of history, merges and branch heads and HEAD marked, every commit a link to its page."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils.html import escape

ROW = 30
LANE = 18
TOP = 18
LEFT = 14
TEXT_GAP = 22
COLOURS = ("#205493", "#2e8540", "#cd2026", "#8b4fb3", "#e07b00", "#00838f", "#6d4c41")


@dataclass
class Node:
    hash: str
    parents: list[str]
    message: str
    author: str
    when: str
    lane: int = 0
    row: int = 0
    labels: list[str] = field(default_factory=list)
    # for text graphs: the lanes in use above the commit, those that end in it (merged lines),
    # and those it opens for its other parents
    above: int = 0
    joined: list[int] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)
    width: int = 0


def layout(commits: Iterable) -> list[Node]:
    """Lanes like ``git log --graph``: a commit takes the lane that waits for it (the leftmost if
    several do: those lines merge into it), its first parent continues its lane, other parents
    get a lane of their own."""
    nodes: list[Node] = []
    lanes: list[str | None] = []
    for row, commit in enumerate(commits):
        node = Node(
            hash=commit.hash,
            parents=list(commit.parents),
            message=(commit.message or "").splitlines()[0] if commit.message else "",
            author=commit.author,
            when=commit.committed_at.strftime("%Y-%m-%d %H:%M"),
            row=row,
        )
        node.above = len(lanes)
        waiting = [i for i, h in enumerate(lanes) if h == node.hash]
        if waiting:
            node.lane = waiting[0]
            node.joined = waiting[1:]
            for i in waiting[1:]:
                lanes[i] = None
        elif None in lanes:
            node.lane = lanes.index(None)
        else:
            node.lane = len(lanes)
            lanes.append(None)
        lanes[node.lane] = node.parents[0] if node.parents else None
        for parent in node.parents[1:]:
            if parent in lanes:
                continue
            if None in lanes:
                slot = lanes.index(None)
                lanes[slot] = parent
            else:
                slot = len(lanes)
                lanes.append(parent)
            node.opened.append(slot)
        node.width = max(node.above, len(lanes), node.lane + 1)
        while lanes and lanes[-1] is None:
            lanes.pop()
        nodes.append(node)
    return nodes


def render(
    commits: Iterable,
    *,
    heads: dict[str, list[str]],
    head_branch: str | None,
    link: Callable[[str], str],
) -> str:
    """The SVG (markup, escaped) of ``commits`` (newest first). ``heads``: commit hash -> names of
    the branches whose head it is; ``head_branch``: HEAD's branch; ``link``: a commit's URL."""
    nodes = layout(commits)
    if not nodes:
        return ""
    position = {n.hash: n for n in nodes}
    lane_count = max(n.lane for n in nodes) + 1
    text_x = LEFT + lane_count * LANE + TEXT_GAP

    def xy(node: Node) -> tuple[int, int]:
        return LEFT + node.lane * LANE, TOP + node.row * ROW

    edges, dots = [], []
    for node in nodes:
        x, y = xy(node)
        for index, parent_hash in enumerate(node.parents):
            parent = position.get(parent_hash)
            colour = COLOURS[(parent.lane if parent else node.lane) % len(COLOURS)]
            if parent is None:  # older than the drawn window: a stub downwards
                edges.append(
                    f'<path d="M{x},{y} L{x},{y + ROW // 2}" stroke="{colour}" '
                    'stroke-width="2" stroke-dasharray="3,3" fill="none"/>'
                )
                continue
            px, py = xy(parent)
            if px == x:
                d = f"M{x},{y} L{px},{py}"
            else:  # bend into the parent's lane within the next row, then straight down
                bend = y + ROW
                d = f"M{x},{y} C{x},{bend - ROW // 3} {px},{y + ROW // 3} {px},{bend} L{px},{py}"
            kind = "merge-edge" if index else "edge"
            edges.append(
                f'<path class="{kind}" d="{d}" stroke="{colour}" stroke-width="2" fill="none"/>'
            )
        colour = COLOURS[node.lane % len(COLOURS)]
        is_merge = len(node.parents) > 1
        names = heads.get(node.hash, [])
        is_head = head_branch in names
        shape = (
            f'<rect x="{x - 6}" y="{y - 6}" width="12" height="12" transform="rotate(45 {x} {y})" '
            f'fill="#fff" stroke="{colour}" stroke-width="3"/>'
            if is_merge
            else f'<circle cx="{x}" cy="{y}" r="6" fill="{colour}" stroke="#fff" stroke-width="2"/>'
        )
        if is_head:
            shape += (
                f'<circle cx="{x}" cy="{y}" r="10" fill="none" stroke="#111" stroke-width="2"/>'
            )
        label_svg, cursor = [], text_x
        for name in sorted(names, key=lambda n: (n != head_branch, n)):
            text = f"HEAD → {name}" if name == head_branch else name
            width = 7 * len(text) + 12
            css = "head-label" if name == head_branch else "branch-label"
            label_svg.append(
                f'<g class="{css}"><rect x="{cursor}" y="{y - 10}" width="{width}" height="19" '
                f'rx="4"/><text x="{cursor + 6}" y="{y + 4}">{escape(text)}</text></g>'
            )
            cursor += width + 6
        title = f"{node.hash[:12]} {node.message}"
        dots.append(
            f'<a href="{escape(link(node.hash))}" class="commit-node" data-commit="{node.hash}"'
            f"{' data-merge=' + chr(34) + 'true' + chr(34) if is_merge else ''}>"
            f"<title>{escape(title)}</title>{shape}{''.join(label_svg)}"
            f'<text x="{cursor}" y="{y + 4}" class="commit-text">'
            f'<tspan class="hash">{node.hash[:12]}</tspan> {escape(node.message)} '
            f'<tspan class="meta">— {escape(node.author)}, {node.when}</tspan></text></a>'
        )
    height = TOP * 2 + (len(nodes) - 1) * ROW
    width = text_x + 900
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="commit-graph" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="commit graph">{"".join(edges)}{"".join(dots)}</svg>'
    )


def text_rows(nodes: list[Node]) -> list[tuple[str, Node | None]]:
    """``git log --graph``-like text: ``(graph prefix, node)`` per commit, ``(connector, None)``
    for the lines between (``/`` where a line merges in, ``\\`` where a merge opens one)."""
    rows: list[tuple[str, Node | None]] = []
    for node in nodes:
        if node.joined:
            cells = ["|" if i < node.above else " " for i in range(node.width)]
            for i in node.joined:
                cells[i] = "/"
            rows.append((" ".join(cells).rstrip(), None))
        cells = ["|" if i < node.above else " " for i in range(node.width)]
        for i in node.joined:
            cells[i] = " "
        cells[node.lane] = "*"
        rows.append((" ".join(cells).rstrip(), node))
        if node.opened:
            cells = ["|" if i < node.width else " " for i in range(node.width)]
            for i in node.joined:
                cells[i] = " "
            for i in node.opened:
                cells[i] = "\\"
            rows.append((" ".join(cells).rstrip(), None))
    return rows
