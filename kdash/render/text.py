"""Rich renderables for headless output (`kdash tree --once`); the rest of render/ stays rich-free.

Cluster text goes to the terminal here without the TUI's control filter, so every string from an
object is shown in its cat -v form (kdash.safe_text.visible).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.cells import cell_len, set_cell_size
from rich.console import Group
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from kdash.render.details import Section
from kdash.render.tree import Node
from kdash.safe_text import visible

HEALTH_STYLES = {
    "ok": "green",
    "progressing": "cyan",
    "warning": "yellow",
    "error": "bold red",
    "terminating": "magenta",
    "none": "",
}


def node_text(node: Node) -> Text:
    """A node's label, coloured by its health (group nodes in bold)."""
    style = "bold" if node.kind in ("group", "Namespace") else HEALTH_STYLES.get(node.health, "")
    return Text(visible(node.label), style=style, no_wrap=True, overflow="ellipsis")


def render_tree(title: str, nodes: Sequence[Node]) -> Tree:
    """One Rich Tree with every node expanded."""
    root = Tree(Text(title, style="bold underline"))
    if not nodes:
        root.add(Text("(nothing)", style="dim"))
    for node in nodes:
        _add(root, node)
    return root


def _add(parent: Tree, node: Node) -> None:
    branch = parent.add(node_text(node))
    for child in node.children:
        _add(branch, child)


# Rich's tree guides (rich.tree.Tree.TREE_GUIDES[0]): space, continue, fork, end.
_SPACE, _CONTINUE, _FORK, _END = "    ", "│   ", "├── ", "└── "
# Below this width Rich cuts guides and wraps "(nothing)" its own way; plain_titled is not used.
PLAIN_MIN_WIDTH = 40


def plain_titled(trees: Sequence[tuple[str, Sequence[Node]]], width: int) -> str:
    """What `render_titled` prints on a console that is not a terminal (no styles), character for
    character, without Rich: Rich lays out a Tree at ~70 µs a line, most of `kdash tree -A`'s time
    at a few thousand pods; this joins strings."""
    lines: list[str] = []
    for title, nodes in trees:
        if lines:
            lines.append("")
        lines.append(_fit(title, width))
        if not nodes:
            lines.append(_fit(_END + "(nothing)", width))
        stack = [(node, "", i == len(nodes) - 1) for i, node in reversed(list(enumerate(nodes)))]
        while stack:
            node, prefix, last = stack.pop()
            lines.append(_fit(prefix + (_END if last else _FORK) + visible(node.label), width))
            inner = prefix + (_SPACE if last else _CONTINUE)
            children = node.children
            stack.extend((child, inner, i == len(children) - 1) for i, child in reversed(list(enumerate(children))))
    return "\n".join(lines) + "\n"


def _fit(line: str, width: int) -> str:
    """Cut to `width` cells with an ellipsis, as Rich's no_wrap + overflow="ellipsis" does."""
    if line.isascii() and len(line) <= width:
        return line
    return line if cell_len(line) <= width else set_cell_size(line, width - 1) + "…"


def heading(context: str, scope: str) -> Text:
    """"context · scope" above the trees (a kubeconfig's context name is data too: no markup)."""
    return Text.assemble((visible(context), "bold"), f" · {visible(scope)}")


def render_trees(workload_nodes: Sequence[Node], service_nodes: Sequence[Node]) -> Group:
    """The workload and service trees one after the other."""
    return render_titled([("Workloads", workload_nodes), ("Services", service_nodes)])


def render_titled(trees: Sequence[tuple[str, Sequence[Node]]]) -> Group:
    """Trees one after the other, a blank line between them."""
    parts: list[Tree | Text] = []
    for title, nodes in trees:
        if parts:
            parts.append(Text(""))
        parts.append(render_tree(title, nodes))
    return Group(*parts)


def render_sections(sections: Iterable[Section]) -> Group:
    """Describe sections as two-column tables."""
    tables = []
    for section in sections:
        table = Table(title=section.title, title_justify="left", show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for key, value in section.rows:
            table.add_row(Text(visible(key)), Text(visible(value, keep_newlines=True)))  # str cells are markup
        tables.append(table)
    return Group(*tables)
