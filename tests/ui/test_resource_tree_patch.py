"""ResourceTree.patch keeps the widget equal to the render nodes through adds, moves, removals and reuse."""

from __future__ import annotations

import random

from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import Tree

from kdash.render.tree import Node, flatten
from kdash.widgets.resource_tree import ResourceTree


def node(key: str, label: str, children: tuple[Node, ...] = ()) -> Node:
    return Node(key=key, kind="Pod", namespace="", name=key, uid="", label=label, health="ok", children=children)


class TreeApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ResourceTree(lambda n: Text(n.label), id="tree")


def widget_shape(tree: ResourceTree) -> list[tuple[int, str, str]]:
    out = []

    def walk(widget, depth):
        for child in widget.children:
            out.append((depth, child.data, child.label.plain))
            walk(child, depth + 1)

    walk(tree.root, 0)
    return out


def random_forest(rnd: random.Random, previous: list[Node]) -> list[Node]:
    """Top-level nodes, often reusing previous subtrees as the very same objects (like the cache)."""
    keep = {n.key: n for n in previous}
    pool = [f"p{i}" for i in range(12)]  # leaf keys that wander between parents (moves)
    rnd.shuffle(pool)
    tops = []
    for i in range(rnd.randint(0, 5)):
        key = f"top{rnd.randint(0, 6)}"
        if any(t.key == key for t in tops):
            continue
        if key in keep and rnd.random() < 0.5:
            tops.append(keep[key])  # unchanged subtree, same object
            continue
        mids = []
        for j in range(rnd.randint(0, 3)):
            leaves = tuple(node(pool.pop(), f"leaf {rnd.randint(0, 3)}") for _ in range(rnd.randint(0, 2)) if pool)
            mids.append(node(f"{key}/m{j}", f"mid {rnd.randint(0, 3)}", leaves))
        tops.append(node(key, f"top {rnd.randint(0, 3)}", tuple(mids)))
    used = {n.key for _, n in flatten(tops)}
    # Reused subtrees may hold leaves that were also given to new nodes: drop such trees.
    seen: set[str] = set()
    result = []
    for top in tops:
        keys = [n.key for _, n in flatten([top])]
        if seen & set(keys):
            continue
        seen |= set(keys)
        result.append(top)
    assert seen <= used
    return result


async def test_patch_matches_the_nodes_after_random_sequences():
    app = TreeApp()
    async with app.run_test() as pilot:
        tree = app.query_one(ResourceTree)
        for seed in range(5):
            rnd = random.Random(seed)
            nodes: list[Node] = []
            for step in range(60):
                nodes = random_forest(rnd, nodes)
                tree.patch(nodes)
                want = [(depth, n.key, n.label) for depth, n in flatten(nodes)]
                assert widget_shape(tree) == want, f"seed {seed} step {step}"
                assert set(tree.keys()) == {n.key for _, n in flatten(nodes)}
                await pilot.pause(0)


def lines_of(tree: ResourceTree, build) -> tuple:
    build(tree)
    lines = tree._tree_lines_cached
    return ([([id(n) for n in line.path], line.last) for line in lines],
            [line.node._line for line in lines], tree.virtual_size, tree.cursor_line)


async def test_lean_build_equals_textual_build():
    app = TreeApp()
    async with app.run_test() as pilot:
        tree = app.query_one(ResourceTree)
        rnd = random.Random(7)
        nodes: list[Node] = []
        for step in range(40):
            nodes = random_forest(rnd, nodes)
            tree.patch(nodes)
            if tree.root.children and rnd.random() < 0.3:
                tree.root.children[0].collapse()  # collapsed subtrees have no lines
            await pilot.pause(0)
            assert lines_of(tree, ResourceTree._build) == lines_of(tree, Tree._build), f"step {step}"


def current_lines(tree: ResourceTree) -> tuple:
    lines = tree._tree_lines
    return ([([id(n) for n in line.path], line.last) for line in lines], [line.node._line for line in lines],
            tree.virtual_size.height, tree.cursor_node)


async def test_spliced_lines_equal_a_full_build():
    """Patches that keep the top level re-lay only the changed subtrees; the result must be the
    line list a full build makes (paths, guides, numbering, height, cursor)."""
    app = TreeApp()
    async with app.run_test(size=(60, 12)) as pilot:
        tree = app.query_one(ResourceTree)
        rnd = random.Random(11)
        tops = [f"top{i}" for i in range(6)]
        nodes = [node(t, t) for t in tops]
        tree.patch(nodes)
        spliced = 0
        for step in range(150):
            nodes = list(nodes)
            for _ in range(rnd.randint(1, 3)):
                i = rnd.randrange(len(nodes))
                old = nodes[i]
                mids = list(old.children)
                if mids and rnd.random() < 0.4:
                    mids.pop(rnd.randrange(len(mids)))
                else:
                    j = rnd.randrange(4)
                    leaves = tuple(node(f"{old.key}/m{j}/l{k}", f"leaf {step}") for k in range(rnd.randint(0, 3)))
                    mids = [m for m in mids if m.key != f"{old.key}/m{j}"] + [node(f"{old.key}/m{j}", "mid", leaves)]
                    mids.sort(key=lambda m: m.key)
                nodes[i] = node(old.key, f"{old.key} {step}", tuple(mids))
            if rnd.random() < 0.2 and tree.cursor_line >= 0:
                tree.action_cursor_down()
            if rnd.random() < 0.1:
                tree.root.children[rnd.randrange(len(tops))].toggle()  # by hand: subtrees shut and open
            builds = tree.full_builds
            tree.patch(nodes)
            spliced += tree.full_builds == builds
            got = current_lines(tree)
            tree._build()
            assert got == current_lines(tree), f"step {step}"
            assert tree.cursor_line == (tree.cursor_node._line if tree.cursor_node else -1)
            await pilot.pause(0)
        assert spliced > 100  # most patches did not rebuild everything


async def test_what_is_painted_matches_the_lines_through_splices_on_and_off_screen():
    """Off-screen changes repaint nothing, yet no stale line shows when the user scrolls there
    (cached strips are keyed by line number, which a splice gives to another node)."""
    app = TreeApp()
    async with app.run_test(size=(60, 12)) as pilot:
        tree = app.query_one(ResourceTree)
        rnd = random.Random(5)
        nodes = [node(f"t{i:02d}", f"t{i:02d}", tuple(node(f"t{i:02d}/c{j}", f"c{j} of t{i:02d}") for j in range(3)))
                 for i in range(40)]
        tree.patch(nodes)
        await pilot.pause()
        for step in range(80):
            i = rnd.randrange(len(nodes))
            kids = list(nodes[i].children)
            if kids and rnd.random() < 0.5:
                kids.pop(rnd.randrange(len(kids)))
            else:
                kids.append(node(f"t{i:02d}/n{step}", f"new {step} of t{i:02d}"))
            nodes[i] = node(nodes[i].key, f"t{i:02d} v{step}", tuple(kids))
            tree.patch(nodes)
            if rnd.random() < 0.3:
                tree.scroll_to(y=rnd.randrange(max(1, len(tree._tree_lines) - 5)), animate=False)
            await pilot.pause()
            top = tree.scroll_offset.y
            painted = [strip.text.rstrip() for strip in tree.render_lines(Region(0, 0, *tree.size))]
            want = [line.node.label.plain for line in tree._tree_lines[top:top + tree.size.height]]
            assert all(label in line for label, line in zip(want, painted)), (step, painted, want)


async def test_lines_added_or_removed_need_no_screen_layout_until_a_scrollbar_comes_or_goes():
    """Under churn every pod added or removed changes the line count: the screen is not laid out
    again for it (only the tree's scrollbar and lines change), but a scrollbar appearing is."""
    from textual.screen import Screen

    class Host(App):
        CSS = "ResourceTree { height: 1fr; }"

        def compose(self) -> ComposeResult:
            yield ResourceTree(lambda n: Text(n.label))

    layouts = []
    real = Screen._refresh_layout

    def counting(screen, *args, **kwargs):
        layouts.append(1)
        return real(screen, *args, **kwargs)

    def pods(n: int) -> list[Node]:
        return [node("Deployment/ns/d", "d", tuple(node(f"Pod/ns/p{i}", f"p{i}") for i in range(n)))]

    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        tree = app.query_one(ResourceTree)
        tree.patch(pods(30))
        await pilot.pause()
        assert tree.show_vertical_scrollbar
        Screen._refresh_layout = counting
        try:
            for n in (31, 40, 35, 50):
                tree.patch(pods(n))
                await pilot.pause()
                assert tree.virtual_size.height == n + 1
                assert tree.vertical_scrollbar.window_virtual_size == n + 1
            assert layouts == []
            tree.scroll_end(animate=False)
            await pilot.pause()
            assert tree.visible_labels()[-1] == "p49"  # the new lines are reachable and painted
            tree.patch(pods(3))  # fits: the scrollbar goes, and the screen is laid out for it
            await pilot.pause()
            assert not tree.show_vertical_scrollbar and layouts
            assert tree.visible_labels()[:4] == ["d", "p0", "p1", "p2"]
        finally:
            Screen._refresh_layout = real
