"""Rich output for `kdash tree --once`."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from render_fixtures import NOW, by_name, items
from rich.console import Console

from kdash.render.details import describe
from kdash.render.services import build_service_tree
from kdash.render.text import node_text, plain_titled, render_sections, render_titled, render_trees
from kdash.render.tree import Node, find
from kdash.render.workloads import build_workload_tree


def export(renderable) -> str:
    console = Console(record=True, width=100, color_system="truecolor", force_terminal=True)
    console.print(renderable)
    return console.export_text()


def test_render_trees_prints_both_trees_with_nesting() -> None:
    workloads = build_workload_tree(items("deployments"), items("replicasets"), items("pods"), NOW)
    services = build_service_tree(items("services"), items("pods"), items("endpoints"), NOW)
    text = export(render_trees(workloads, services))
    lines = text.splitlines()
    assert lines[0] == "Workloads"
    assert "Services" in lines
    assert any(line.startswith("├── default/api  2/2 ready") for line in lines)
    assert any("│   ├── rs api-6f7d8c9b5  rev 3" in line for line in lines)
    assert any(line.endswith("pod web-7d9c6b5f4-klmno  ContainerCreating  0/1  not in endpoints") for line in lines)


def test_empty_trees_say_so() -> None:
    assert export(render_trees([], [])).count("(nothing)") == 2


def test_health_colours() -> None:
    tree = build_workload_tree(items("deployments"), items("replicasets"), items("pods"), NOW)
    assert str(node_text(find(tree, "Deployment/default/api")).style) == "bold red"
    assert str(node_text(find(tree, "Deployment/staging/web")).style) == "green"
    assert str(node_text(find(tree, "group/pods-without-replicaset")).style) == "bold"


def test_render_sections() -> None:
    text = export(render_sections(describe(by_name("services", "web"), None, NOW, kind="Service")))
    assert "DNS name" in text and "web.default.svc.cluster.local" in text
    assert "80/TCP → target 80, node port 30080" in text


def _rich_plain(trees, width: int) -> str:
    import io

    out = io.StringIO()
    Console(file=out, width=width, force_terminal=False).print(render_titled(trees))
    return out.getvalue()


def test_plain_output_equals_rich_on_the_fixtures() -> None:
    workloads = build_workload_tree(items("deployments"), items("replicasets"), items("pods"), NOW)
    services = build_service_tree(items("services"), items("pods"), items("endpoints"), NOW)
    trees = [("Workloads", workloads), ("Services", services), ("Jobs", [])]
    for width in (200, 80, 41):
        assert plain_titled(trees, width) == _rich_plain(trees, width)


labels = st.text(alphabet=st.sampled_from("ab Z-/:.\t\x1b\u00e9\u4e2d\u6587\U0001f600\u0301"), max_size=40)


@st.composite
def forests(draw, depth: int = 0) -> list[Node]:
    count = draw(st.integers(0, 3 if depth < 3 else 0))
    return [Node(key=f"k{depth}-{i}", kind="Pod", namespace="n", name="x", uid="u", label=draw(labels),
                 health="ok", children=tuple(draw(forests(depth + 1)))) for i in range(count)]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(forest=forests(), second=forests(), width=st.integers(40, 120))
def test_plain_output_equals_rich_for_any_tree_labels_and_width(forest, second, width) -> None:
    # Wide characters, emoji, combining marks, control characters and cut labels alike.
    trees = [("Workloads", forest), ("Services", second)]
    assert plain_titled(trees, width) == _rich_plain(trees, width)
