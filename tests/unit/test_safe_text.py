"""Control characters from the cluster: shown in cat -v form, never sent; the line filter; headless."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.segment import Segment
from textual.color import Color

from kdash.render.details import Section
from kdash.render.text import heading, node_text, render_sections
from kdash.render.tree import Node
from kdash.safe_text import caret, visible, without_controls
from kdash.widgets.control_filter import ControlCharacterFilter

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
OSC2 = "x\x1b]2;PWNED\x07y"


def test_visible_uses_cat_v_notation() -> None:
    assert visible("plain, grüße ✓ 中文 🚀") == "plain, grüße ✓ 中文 🚀"
    assert visible(OSC2) == "x^[]2;PWNED^Gy"
    assert visible("\x9b31m\x7f\x00\r\x08") == "M-^[31m^?^@^M^H"
    assert visible("a\tb\nc") == "a b^Jc"
    assert visible("a\nb\x1b", keep_newlines=True) == "a\nb^["
    assert caret("\x9d") == "M-^]"


@given(st.text())
def test_visible_and_without_controls_leave_no_control_character(text: str) -> None:
    assert not CONTROL.search(visible(text))
    assert not CONTROL.search(without_controls(text))
    assert not CONTROL.search(visible(text, keep_newlines=True).replace("\n", ""))


def test_without_controls_drops_whole_sequences() -> None:
    assert without_controls("a\x1b[31mb\x1b]52;c;eA==\x07c\x9bd\te") == "abcd e"


def test_filter_shows_controls_keeps_styles_controls_and_line_width() -> None:
    control = Segment("\x1b[2J", None, ((1,),))  # a real terminal control segment passes as is
    line = [Segment("ab", None), Segment(OSC2, None), Segment("  ", None), control]
    width = Segment.get_line_length(line)
    out = ControlCharacterFilter().apply(line, Color(0, 0, 0))
    assert out[-1] is control or out[-1] == control
    texts = [s.text for s in out if not s.control]
    assert not any(CONTROL.search(t) for t in texts)
    assert "".join(texts).startswith("abx^[]2;PWNED")
    assert Segment.get_line_length(out) == width  # grown text is cut back to the laid-out width
    plain = [Segment("nothing to do", None)]
    assert ControlCharacterFilter().apply(plain, Color(0, 0, 0)) is plain


def test_headless_output_has_no_control_characters() -> None:
    node = Node(key="Deployment/default/x", kind="Deployment", namespace="default", name="x",
                uid="u", label="deploy " + OSC2, health="ok")
    console = Console(record=True, width=120, force_terminal=False)
    console.print(heading("ctx" + OSC2, "namespace default"))
    console.print(node_text(node))
    console.print(render_sections([Section("Annotations", (("evil", OSC2 + "\nline2\x9b"),))]))
    text = console.export_text()
    assert "x^[]2;PWNED^Gy" in text and "line2M-^[" in text
    assert not CONTROL.search(text.replace("\n", ""))
