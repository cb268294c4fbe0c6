"""A Textual Tree patched by node key, so updates keep the cursor, scroll and expanded nodes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.widgets import Tree
from textual.widgets._tree import TOGGLE_STYLE, _TreeLine
from textual.widgets.tree import TreeNode

from kdash.render.tree import Node, label_at

Styler = Callable[[Node], Text]
Clock = Callable[[], datetime]
# How often painted ages may move (kubectl's finest age unit is a second).
AGE_TICK_SECONDS = 1.0


def _line_count(top: TreeNode[str], nodes: list[TreeNode[str]], start: int) -> int:
    """How many lines `top` (at line `start`) had in the line list `nodes`: up to the next line
    of a node that is not below it. Walks only its own lines."""
    end = start + 1
    while end < len(nodes) and _below(nodes[end], top):
        end += 1
    return end - start


def _below(node: TreeNode[str], top: TreeNode[str]) -> bool:
    parent = node._parent
    while parent is not None:
        if parent is top:
            return True
        parent = parent._parent
    return False


class ResourceTree(Tree[str]):
    """Holds render-layer Nodes; `patch(nodes)` reconciles the widget with them by key."""

    DEFAULT_CSS = """
    ResourceTree { scrollbar-size-vertical: 1; }
    """
    # While a patch runs, Textual's per-add/remove invalidations are only noted: the patch then
    # re-lays the lines of the top-level subtrees it changed, not all of them (class defaults:
    # Tree.__init__ already builds and invalidates).
    _patching = False
    _structure_changed = False
    _top_changed = False
    _visible = range(0)
    _dirty_tops: list = []
    _line_nodes: list = []
    full_builds = 0

    def __init__(self, styler: Styler, *, clock: Clock | None = None, id: str | None = None) -> None:
        super().__init__("cluster", id=id)
        self.show_root = False
        self.guide_depth = 2
        self._styler = styler
        self._clock = clock or (lambda: datetime.now(UTC))
        # Ages are painted as of this moment (see render_label), moved by the age tick.
        self._now = self._clock()
        self._widget_by_key: dict[str, TreeNode[str]] = {}
        self._node_by_key: dict[str, Node] = {}
        # Keys the user collapsed by hand: new nodes of the top two levels open, these stay shut.
        self._collapsed: set[str] = set()
        self._relabelled = False
        self.patches = 0
        # (key of the selected object that went away, key now selected), set by a patch.
        self.lost: tuple[str, str | None] | None = None

    def on_mount(self) -> None:
        self.set_interval(AGE_TICK_SECONDS, self._age_tick)

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
        return [self._painted(line.node).plain for line in self._tree_lines]

    def displayed_lines(self) -> list[str]:
        """Every line the widget paints (scrolled into view or not), indented by depth: the
        truth a fresh build is compared with (see `lines_for`)."""
        return ["  " * (len(line.path) - 1) + self._painted(line.node).plain for line in self._tree_lines]

    def lines_for(self, nodes: Sequence[Node]) -> list[str]:
        """The lines `displayed_lines` must show for `nodes`: every node, indented by depth,
        below each node that is open (as the user left it, else open on the top two levels)."""
        out: list[str] = []

        def walk(level: Sequence[Node], depth: int) -> None:
            for node in level:
                out.append("  " * depth + label_at(node, self._now))
                if node.children and self._is_open(node.key, depth):
                    walk(node.children, depth + 1)

        walk(nodes, 0)
        return out

    def _is_open(self, key: str, depth: int) -> bool:
        widget = self._widget_by_key.get(key)
        if widget is not None:
            return widget.is_expanded
        return depth <= 1 and key not in self._collapsed

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
        self.call_after_refresh(self.scroll_to_cursor)
        return True

    def select_line(self, line: int) -> Node | None:
        """Put the cursor on line `line` (clamped to the tree), in view; its node."""
        lines = self._tree_lines
        if not lines:
            return None
        self.move_cursor(lines[min(max(line, 0), len(lines) - 1)].node)
        self.call_after_refresh(self.scroll_to_cursor)
        return self.selected

    def scroll_to_cursor(self) -> None:
        """Scroll the cursor's line into view (once the layout knows the tree's new height)."""
        if self.cursor_node is not None and self.cursor_line >= 0:
            self.scroll_to_node(self.cursor_node, animate=False)

    def reset_nodes(self) -> None:
        """Forget every node (switching to a tree that shares no keys with this one)."""
        self.clear()
        self.cursor_line = -1  # a row number means another object in the next tree
        self._widget_by_key.clear()
        self._node_by_key.clear()

    # -- patching ----------------------------------------------------------------------------

    def patch(self, nodes: Sequence[Node]) -> None:
        """Reconcile the widget with `nodes`: add, remove, relabel and reorder by key."""
        cursor_key = self.cursor_node.data if self.cursor_node is not None else None
        cursor_line = self.cursor_line
        self._relabelled = False
        self._visible = range(self.scroll_offset.y, self.scroll_offset.y + self.size.height)
        self._structure_changed = False
        dirty_tops: list[TreeNode[str]] = []
        self._dirty_tops = dirty_tops
        self._top_changed = False
        self._patching = True
        try:
            changed = self._patch_children(self.root, nodes, depth=0, dirty_tops=dirty_tops)
        finally:
            self._patching = False
        self.patches += 1
        # Repaint only if a visible line changed: under churn most changes are off-screen (40
        # of 13k lines show at 10k pods), and a repaint re-renders every visible line.
        repaint = self._relabelled
        if self._structure_changed:
            repaint |= self._relayout(dirty_tops)
        if changed:
            self._restore_cursor(cursor_key, cursor_line)
        if repaint:
            # One repaint for every relabelled line (visible lines re-render; the line cache
            # knows which changed) instead of a queued refresh message per node.
            self.refresh()

    def restyle(self) -> None:
        """Re-render every label (after a theme change)."""
        for key, widget in self._widget_by_key.items():
            widget.set_label(self._styler(self._node_by_key[key]))

    def _patch_children(self, parent: TreeNode[str], nodes: Iterable[Node], depth: int,
                        dirty_tops: list[TreeNode[str]] | None = None) -> bool:
        """Make `parent`'s children match `nodes`; True if the structure changed.

        A node identical to the one shown (the render cache reuses unchanged subtrees) is
        skipped with everything under it, so a patch costs about as much as the change.
        At the top level (`dirty_tops` given), existing nodes whose subtree changed shape are
        collected there; a change of the top level itself is reported as `_top_changed`.
        """
        changed = False
        ordered: list[TreeNode[str]] = []
        for node in nodes:
            widget = self._widget_by_key.get(node.key)
            if widget is not None and widget.parent is not parent:
                # Moved under another parent (e.g. a pod adopted by a ReplicaSet): re-create it.
                # Its old parent may be patched later, or not at all, and then finds nothing to
                # remove: its lines must be re-laid all the same.
                self._moved_from(widget)
                self._drop(widget)
                widget = None
            if widget is None:
                widget = parent.add(self._styler(node), data=node.key,
                                    expand=depth <= 1 and node.key not in self._collapsed,
                                    allow_expand=bool(node.children))
                self._widget_by_key[node.key] = widget
                changed = True
                if dirty_tops is not None:
                    self._top_changed = True  # a new top-level line (appended: no reorder shows it)
            else:
                old = self._node_by_key.get(node.key)
                if old is node:
                    ordered.append(widget)
                    continue
                if old is None or old.label != node.label or old.health != node.health:
                    self._relabel(widget, node)
                if widget.allow_expand != bool(node.children):
                    widget.allow_expand = bool(node.children)
            self._node_by_key[node.key] = node
            ordered.append(widget)
            if self._patch_children(widget, node.children, depth + 1):
                changed = True
                if dirty_tops is not None:
                    dirty_tops.append(widget)
        current = list(parent.children)
        if len(current) != len(ordered) or any(a is not b for a, b in zip(current, ordered)):
            wanted = set(map(id, ordered))
            for widget in current:
                if id(widget) not in wanted:
                    self._drop(widget)  # gone from the tree (with its subtree)
            if [id(w) for w in parent.children] != [id(w) for w in ordered]:
                # Tree has no move API; reorder the children list in place and invalidate once.
                parent._children[:] = ordered
                self._invalidate()
            changed = True
            if dirty_tops is not None:
                self._top_changed = True
        return changed

    def _moved_from(self, widget: TreeNode[str]) -> None:
        """Note that `widget` leaves its place: its top-level subtree changes shape."""
        top = widget
        while top.parent is not None and top.parent is not self.root:
            top = top.parent
        if top is widget:
            self._top_changed = True
        else:
            self._dirty_tops.append(top)

    def _relabel(self, widget: TreeNode[str], node: Node) -> None:
        """What TreeNode.set_label does, minus its per-node refresh message (see patch)."""
        widget._label = self.process_label(self._styler(node))
        widget._updates += 1
        # (A line number from before this patch: a structural change above it repaints anyway.)
        self._relabelled |= widget._line in self._visible

    # -- ages at paint time --------------------------------------------------------------------

    def _age_tick(self) -> None:
        """Move the painted ages: repaint (visible lines only) if one of them shows another age.

        Time alone never re-renders a node or rebuilds the tree: a 10k-pod tree costs what
        its ~40 visible lines cost, once a second at most (older pods' ages move once a minute).
        """
        now = self._clock()
        before, self._now = self._now, now
        top = self.scroll_offset.y
        for line in self._tree_lines[top:top + self.size.height]:
            node = self._node_by_key.get(line.node.data) if line.node.data else None
            if node is not None and node.timed and label_at(node, before) != label_at(node, now):
                self._updates += 1  # part of every cached line's key: the visible lines re-render
                self.refresh()
                return

    def _painted(self, widget: TreeNode[str]) -> Text:
        """The label as painted: its ages as of the last tick."""
        node = self._node_by_key.get(widget.data) if widget.data else None
        if node is None or not node.timed:
            return widget._label
        return Text(label_at(node, self._now), style=widget._label.style, no_wrap=True)

    def render_label(self, node: TreeNode[str], base_style: Style, style: Style) -> Text:
        label = self._painted(node)
        if label is node._label:
            return super().render_label(node, base_style, style)
        label.stylize(style)
        if node._allow_expand:
            prefix = (self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE, base_style + TOGGLE_STYLE)
        else:
            prefix = ("", base_style)
        return Text.assemble(prefix, label)

    def process_label(self, label: str | Text) -> Text:
        # Our labels are single-line Text already: skip Tree's markup parsing and line split.
        if isinstance(label, Text) and "\n" not in label.plain:
            return label
        return super().process_label(label)

    def get_label_width(self, node: TreeNode[str]) -> int:
        # Tree renders every label (copy, stylize, assemble) just to measure it, for every line
        # on each structural change; the width is the icon plus the label's cells.
        # (Painted ages may differ by a few cells from the measured ones: only the horizontal
        # scroll range notices.)
        if node._allow_expand:
            icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
            return cell_len(icon) + node._label.cell_len
        return node._label.cell_len

    def _invalidate(self) -> None:
        if self._patching:
            self._structure_changed = True  # patch() re-lays what it changed (see _relayout)
            return
        super()._invalidate()

    def _relayout(self, dirty_tops: list[TreeNode[str]]) -> bool:
        """After a patch changed the structure: re-lay only the changed top-level subtrees.

        The line list is spliced in place of a full rebuild (13k lines at 10k pods: ~25 ms
        per flush under churn, the largest per-flush cost), unless the top level itself changed
        or there is no current line list to splice into. True if a visible line changed.
        """
        lines = self._tree_lines_cached
        if self._top_changed or lines is None or len(self._line_nodes) != len(lines):
            super()._invalidate()
            return False  # (that refreshes everything)
        nodes = self._line_nodes
        first = len(lines)  # the first line whose content changed
        widest = self.virtual_size.width
        shifted = len(lines)  # lines from here on moved: their nodes need new numbers
        for top in sorted(set(dirty_tops), key=lambda t: t._line, reverse=True):
            start = top._line
            end = start + _line_count(top, nodes, start)
            if not (0 <= start < end <= len(lines)) or nodes[start] is not top:
                super()._invalidate()  # stale numbering: rebuild everything (never expected)
                return False
            first = min(first, start)
            fresh: list[_TreeLine[str]] = []
            widest = max(widest, self._lay_out([top], fresh, start))
            lines[start:end] = fresh
            nodes[start:end] = [line.path[-1] for line in fresh]
            if len(fresh) != end - start:
                shifted = start + len(fresh)
        for number in range(shifted, len(nodes)):
            nodes[number]._line = number
        # Cached strips are keyed by line number (and update counts, not node identity): from
        # `first` on a number may now mean another node, so those go; the lines above stay.
        cache = self._line_cache
        # LRUCache has keys() but no __iter__; a key starts with its line number (an int).
        for stale in [k for k in cache.keys() if k[0] >= first]:  # type: ignore[operator]  # noqa: SIM118
            cache.discard(stale)
        self._set_lines(lines, widest)
        return first < self._visible.stop

    def _lay_out(self, roots: list[TreeNode[str]], lines: list[_TreeLine[str]], offset: int = 0) -> int:
        """Append the lines of `roots` (top-level nodes) and their open subtrees; the widest width.

        Tree._build's walk, leaner: it is iterative (Textual's recursive inner function is a
        reference cycle that keeps each replaced line list, 12k lines and their paths at 10k
        pods, alive until a garbage collection finds it) and measures labels without
        rendering them. tests/ui/test_resource_tree_patch.py compares the two."""
        guide_depth = self.guide_depth
        label_width = self.get_label_width
        widest = 0
        # Top-level lines all count as "last" (as in Tree._build, which draws no guides there).
        stack: list[tuple[list[TreeNode[str]], TreeNode[str], bool]] = [([], node, True) for node in reversed(roots)]
        while stack:
            path, node, last = stack.pop()
            child_path = path + [node]
            node._line = offset + len(lines)
            lines.append(_TreeLine(child_path, last))
            width = label_width(node) + (len(child_path) - 1) * guide_depth
            if width > widest:
                widest = width
            if node._expanded:
                children = node._children
                end = len(children) - 1
                for index in range(end, -1, -1):
                    stack.append((child_path, children[index], index == end))
        return widest

    def _build(self) -> None:
        """Tree._build (the whole line list), through _lay_out."""
        self.full_builds += 1
        lines: list[_TreeLine[str]] = []
        widest = self._lay_out([self.root] if self.show_root else self.root._children, lines)
        self._line_nodes = [line.path[-1] for line in lines]  # what _relayout renumbers
        self._set_lines(lines, widest)

    def _set_virtual_size(self, size: Size) -> None:
        """Textual lays out the whole screen for a new virtual size (a reactive with layout=True):
        every widget arranged again and the details pane measured, at each pod added or removed
        under churn. The tree's own region does not depend on it (its height and width are not
        auto), so once laid out it only updates its scrollbars and repaints; a scrollbar that
        appears or goes still lays the screen out (those are layout reactives themselves)."""
        if size == self.virtual_size:
            return
        styles = self.styles
        if not self.size or any(scalar is not None and scalar.is_auto for scalar in (styles.width, styles.height)):
            self.virtual_size = size
            return
        self.set_reactive(ResourceTree.virtual_size, size)
        self._scroll_update(size)
        self.refresh()

    def _set_lines(self, lines: list[_TreeLine[str]], widest: int) -> None:
        self._tree_lines_cached = lines
        self._set_virtual_size(Size(widest if lines else self.size.width, len(lines)))
        if self.cursor_line != -1:
            if self.cursor_node is not None:
                self.cursor_line = self.cursor_node._line
            if self.cursor_line >= len(lines):
                self.cursor_line = -1

    def _drop(self, widget: TreeNode[str]) -> None:
        stack = [widget]
        while stack:
            w = stack.pop()
            stack.extend(w.children)
            if w.data and self._widget_by_key.get(w.data) is w:
                del self._widget_by_key[w.data]
                self._node_by_key.pop(w.data, None)
        widget.remove()

    def _restore_cursor(self, key: str | None, line: int) -> None:
        lines = self._tree_lines
        if key is not None and key in self._widget_by_key:
            widget = self._widget_by_key[key]
            if widget._line >= 0 and widget._line != line:
                self.move_cursor(widget)
                self.call_after_refresh(self.scroll_to_cursor)  # it moved: keep it in view
            return
        if lines:
            # The selected object went away: stay on the same line, like k9s does (the nearest
            # object), in view; `lost` tells the screen to say so.
            self.select_line(line)
            if key is not None and line >= 0:
                self.lost = (key, self.selected.key if self.selected else None)

    def _on_tree_node_collapsed(self, event: Tree.NodeCollapsed[str]) -> None:
        if event.node.data:
            self._collapsed.add(event.node.data)

    def _on_tree_node_expanded(self, event: Tree.NodeExpanded[str]) -> None:
        if event.node.data:
            self._collapsed.discard(event.node.data)

