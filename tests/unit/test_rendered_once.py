"""RenderedOnce: the details pane's tables render once per width, and render the same."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from kdash.widgets.status import RenderedOnce


class Counting:
    """A renderable that counts how often it is rendered."""

    def __init__(self, inner) -> None:
        self.inner, self.renders = inner, 0

    def __rich_console__(self, console, options):
        self.renders += 1
        yield self.inner


def table() -> Group:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(Text("Image"), Text("registry.example.com/team/app:" + "x" * 60))
    grid.add_row(Text("Replicas"), Text("3 desired | 3 updated | 3 available"))
    return Group(Text("Deployment shop/web", style="bold"), grid)


def lines(renderable, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text().splitlines()


def test_renders_what_the_renderable_renders_at_every_width():
    for width in (20, 40, 80):
        assert lines(RenderedOnce(table()), width) == lines(table(), width)


def test_renders_once_per_width_however_often_asked():
    counting = Counting(table())
    once = RenderedOnce(counting)
    console = Console(width=40, color_system=None)
    options = console.options
    first = list(console.render(once, options))
    again = list(console.render(once, options))  # Textual: once to count lines, once to paint them
    assert counting.renders == 1 and first == again
    list(console.render(once, options.update_width(30)))  # a resized pane renders anew
    assert counting.renders == 2
