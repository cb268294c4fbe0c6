"""A Textual Tree patched by node key, so updates keep the cursor, scroll and expanded nodes."""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from kdash.render.tree import Node

Styler = Callable[[Node], Text]


class ResourceTree(Tree[str]):
    """Holds render-layer Nodes; `patch(nodes)` reconciles the widget with them by key."""

    DEFAULT_CSS = """
    ResourceTree { scrollbar-size-vertical: 1; }
    """

    def __init__(self, styler: Styler, *, id: str | None = None) -> None:
        super().__init__("cluster", id=id)
        self.show_root = False
        self.guide_depth = 2
        self._styler = styler
        self._widget_by_key: dict[str, TreeNode[str]] = {}
        self._node_by_key: dict[str, Node] = {}
        # Keys the user collapsed by hand: new nodes of the top two levels open, these stay shut.
        self._collapsed: set[str] = set()
        self.patches = 0

    # -- queries -----------------------------------------------------------------------------

    @property
    def selected(self) -> Node | None:
        widget = self.cursor_node
        return self._node_by_key.get(widget.data) if widget is not None and widget.data else None

    def node(self, key: str) -> Node | None:
        return self._node_by_key.get(key)

    def keys(self) -> list[str]:
        return list(self._node_by_key)

    def visible_labels(self) -> list[str]:
        """Plain text of every line as a user would see it (for tests and headless checks)."""
        return [line.node.label.plain for line in self._tree_lines]

    def select_key(self, key: str) -> bool:
        widget = self._widget_by_key.get(key)
        if widget is None:
            return False
        parent = widget.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        self._tree_lines  # noqa: B018 - rebuild lines so the node's line number is current
        self.move_cursor(widget)
        return True

    def reset_nodes(self) -> None:
        """Forget every node (switching to a tree that shares no keys with this one)."""
        self.clear()
        self._widget_by_key.clear()
        self._node_by_key.clear()

    # -- patching ----------------------------------------------------------------------------

    def patch(self, nodes: Sequence[Node]) -> None:
        """Reconcile the widget with `nodes`: add, remove, relabel and reorder by key."""
        cursor_key = self.cursor_node.data if self.cursor_node is not None else None
        cursor_line = self.cursor_line
        seen: set[str] = set()
        changed = self._patch_children(self.root, nodes, seen, depth=0)
        for key in [k for k in self._widget_by_key if k not in seen]:
            widget = self._widget_by_key.pop(key)
            self._node_by_key.pop(key, None)
            if widget.parent is not None and widget in widget.parent.children:
                widget.remove()
            changed = True
        self.patches += 1
        if changed:
            self._restore_cursor(cursor_key, cursor_line)

    def restyle(self) -> None:
        """Re-render every label (after a theme change)."""
        for key, widget in self._widget_by_key.items():
            widget.set_label(self._styler(self._node_by_key[key]))

    def _patch_children(self, parent: TreeNode[str], nodes: Iterable[Node], seen: set[str], depth: int) -> bool:
        changed = False
        ordered: list[TreeNode[str]] = []
        for node in nodes:
            seen.add(node.key)
            widget = self._widget_by_key.get(node.key)
            if widget is not None and widget.parent is not parent:
                # Moved under another parent (e.g. a pod adopted by a ReplicaSet): re-create it.
                self._drop(widget)
                widget = None
            if widget is None:
                widget = parent.add(self._styler(node), data=node.key,
                                    expand=depth <= 1 and node.key not in self._collapsed,
                                    allow_expand=bool(node.children))
                self._widget_by_key[node.key] = widget
                changed = True
            else:
                old = self._node_by_key.get(node.key)
                if old != node:
                    # Label changes are cheap: only that line repaints.
                    widget.set_label(self._styler(node))
                    widget.allow_expand = bool(node.children)
            self._node_by_key[node.key] = node
            ordered.append(widget)
            if self._patch_children(widget, node.children, seen, depth + 1):
                changed = True
        current = list(parent.children)
        wanted = set(map(id, ordered))
        if [id(w) for w in current if id(w) in wanted] != [id(w) for w in ordered]:
            # Tree has no move API; reorder the children list in place and invalidate once.
            extra = [w for w in current if id(w) not in wanted]
            parent._children[:] = ordered + extra
            self._invalidate()
            changed = True
        return changed

    def _drop(self, widget: TreeNode[str]) -> None:
        stack = [widget]
        while stack:
            w = stack.pop()
            stack.extend(w.children)
            if w.data:
                self._widget_by_key.pop(w.data, None)
        widget.remove()

    def _restore_cursor(self, key: str | None, line: int) -> None:
        lines = self._tree_lines
        if key is not None and key in self._widget_by_key:
            widget = self._widget_by_key[key]
            if widget._line >= 0 and widget._line != self.cursor_line:
                self.move_cursor(widget)
            return
        if lines:
            # The selected object went away: stay on the same line, like k9s does.
            self.move_cursor(lines[min(max(line, 0), len(lines) - 1)].node)

    def _on_tree_node_collapsed(self, event: Tree.NodeCollapsed[str]) -> None:
        if event.node.data:
            self._collapsed.add(event.node.data)

    def _on_tree_node_expanded(self, event: Tree.NodeExpanded[str]) -> None:
        if event.node.data:
            self._collapsed.discard(event.node.data)
