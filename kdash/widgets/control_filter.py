"""The last gate before the terminal: no control character in any widget's text reaches the output."""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from kdash.safe_text import CONTROL_CHARACTERS, visible


class ControlCharacterFilter(LineFilter):
    """Shows control characters inside segment text in cat -v form (^[ for ESC).

    Textual runs every line of every widget (screens, modals, toasts, the footer) through the
    app's line filters, so this one place covers text from the cluster wherever a view put it.
    Segment text never legitimately holds a control character: styles and cursor moves travel
    apart from it. A widget laid its line out with the control characters at width 0, so a line
    that grew is cut back to its width; views that care about layout show `safe_text.visible`
    text in the first place and never reach that cut.
    """

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        if all(control or text.isprintable() or not CONTROL_CHARACTERS.search(text)
               for text, _, control in segments):
            return segments
        room = Segment.get_line_length(segments)
        cleaned = []
        for segment in segments:
            if segment.control:
                cleaned.append(segment)
                continue
            segment = Segment(visible(segment.text), segment.style)
            if segment.cell_length > room:
                segment = segment.split_cells(room)[0]
            room -= segment.cell_length
            if segment.text:
                cleaned.append(segment)
        return cleaned
