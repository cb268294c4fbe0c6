"""ResourceTree.patch keeps the widget equal to the render nodes through adds, moves, removals and reuse."""

from __future__ import annotations

import random

from rich.text import Text
from textual.app import App, ComposeResult

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
