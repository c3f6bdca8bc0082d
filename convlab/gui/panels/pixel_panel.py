"""How one output value is made: patch x kernel per channel, the sum, the bias, the value.

The numbers come from the engine's explain_pixel (the same padded input and kernel that made the
map); the panel also shows the value the output map holds, so a learner sees they agree.
"""

from __future__ import annotations

from html import escape

import numpy as np

from ..views.rich_text import RichTextView

CHANNEL_NAMES = {1: ["gray"], 3: ["R", "G", "B"]}


def _num(v: float) -> str:
    return f"{v:.4g}"


def _matrix(a: np.ndarray, outside: np.ndarray | None = None) -> str:
    cells = []
    for i, row in enumerate(a):
        tds = []
        for j, v in enumerate(row):
            style = ' style="color:#888;background:#eee"' if outside is not None and outside[i, j] else ""
            tds.append(f"<td align=right{style}>{_num(float(v))}</td>")
        cells.append("<tr>" + "".join(tds) + "</tr>")
    return '<table cellspacing=0 cellpadding=2 border=1 style="border-collapse:collapse">' + "".join(cells) + "</table>"


def explanation_html(e, names: list[str], map_value: float | None, display_value: float | None = None) -> str:
    names = names if len(names) == e.patch.shape[0] else [str(i) for i in range(e.patch.shape[0])]
    parts = [
        f"<b>Filter {e.filter + 1}, output pixel (row {e.y}, column {e.x})</b> reads input rows "
        f"{int(e.rows[0])}..{int(e.rows[-1])}, columns {int(e.cols[0])}..{int(e.cols[-1])}"
        + (" (gray cells: padding)" if e.outside.any() else "")
    ]
    for c, name in enumerate(names):
        parts.append(
            f"<p><b>{escape(name)}</b>: sum(patch x kernel) = <b>{_num(e.channel_sums[c])}</b></p>"
            f"<table><tr><td>patch</td><td></td><td>kernel</td></tr><tr><td>{_matrix(e.patch[c], e.outside)}</td>"
            f"<td>&nbsp;x&nbsp;</td><td>{_matrix(e.kernel[c])}</td></tr></table>"
        )
    terms = " + ".join(_num(v) for v in e.channel_sums)
    parts.append(f"<p>{terms} + bias {_num(e.bias)} = <b>{_num(e.value)}</b></p>")
    if map_value is not None:
        parts.append(f"<p>The output map holds <b>{_num(map_value)}</b> at this pixel.</p>")
    return "".join(parts)


HINT = "Hover or click an output pixel to see how it is made."


class PixelPanel(RichTextView):
    def __init__(self, parent=None):
        super().__init__(HINT, "patch x kernel = value, per input channel, for the pixel under the mouse", parent)
        self.explanation = None

    def show_explanation(self, e, channels: int, map_value: float | None) -> None:
        self.explanation = e
        self.set_html(explanation_html(e, CHANNEL_NAMES.get(channels, []), map_value))

    def clear(self) -> None:
        self.explanation = None
        self.set_html(HINT)
