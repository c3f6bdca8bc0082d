"""The filter math with the real numbers: W' = (W - F + 2P)/S + 1, shapes and weight counts.

Every number comes from the engine's OutputSize and the bank itself; nothing is recomputed here.
"""

from __future__ import annotations

from html import escape

from convlab.core.playground import bank_math, weight_count

from ..views.rich_text import RichTextView

WARN = "#b45309"


def _axis_line(letter: str, m) -> str:
    eq = escape(m.formula())
    line = f"{letter}' = ({letter} - F + 2P)/S + 1 = {eq}"
    if not m.whole:
        line += (
            f' <span style="color:{WARN}"><b>not whole</b>: the engine takes the floor, {m.size}; the last '
            f"{m.numerator % m.stride} padded pixel(s) are never reached</span>"
        )
    if m.size <= 0:
        line = f'<span style="color:#b91c1c">{line} - impossible</span>'
    return line


def math_html(state) -> str:
    """The whole explanation as rich text (also used by tests)."""
    if state.input is None:
        return "Open an image to see the filter math."
    c, h, w = state.input.shape
    bank, s = state.bank, state.settings
    f, k, d = bank.size, bank.count, s.dilation
    mh, mw = bank_math((h, w), f, s)
    rows = [
        f"<b>Input</b> W x H x C = {w} x {h} x {c}",
        f"<b>Filter</b> F = {f}, stride S = {s.stride}, padding P = {s.padding} ({escape(s.padding_mode)})"
        + (f", dilation D = {d}" if d > 1 else ""),
    ]
    if d > 1:
        rows.append(
            f"Dilated kernel size D(F - 1) + 1 = {d}({f} - 1) + 1 = <b>{mw.effective_kernel}</b> "
            f"(taps {d} pixels apart: it is used as F below)"
        )
    rows += [_axis_line("W", mw), _axis_line("H", mh)]
    if mw.size > 0 and mh.size > 0:
        rows.append(f"<b>Output</b> W' x H' x K = {mw.size} x {mh.size} x {k}  (K = {k} filter{'s' * (k != 1)})")
    nw, nb = weight_count(bank)
    rows.append(
        f"<b>Weights</b> K x F x F x C = {k} x {f} x {f} x {c} = {nw} weights + {nb} biases = {nw + nb} parameters"
    )
    r = state.result
    if r is not None and r.pooled is not None:
        p = state.post
        ph, pw = r.pool_math
        rows.append(
            f"<b>{'Max' if p.pool == 'max' else 'Average'} pooling</b> {p.pool_kernel}x{p.pool_kernel}, stride "
            f"{p.pool_stride}: W = {escape(pw.formula())}, H = {escape(ph.formula())} -> "
            f"{pw.size} x {ph.size} x {k}, no weights"
        )
    if r is not None and r.mixed is not None:
        m = r.mixed.shape[0]
        kin = (r.pooled if r.pooled is not None else r.maps).shape[0]
        rows.append(
            f"<b>1x1 convolution</b> mixes {kin} maps into {m}: {r.mixed.shape[2]} x {r.mixed.shape[1]} x {m}, "
            f"{m} x 1 x 1 x {kin} = {m * kin} weights + {m} biases (the size stays, the depth changes)"
        )
    if state.error:
        rows.append(f'<span style="color:#b91c1c"><b>Cannot compute:</b> {escape(state.error)}</span>')
    return "<br>".join(rows)


def math_key(state) -> tuple:
    """Everything the text depends on: when it has not changed (a live frame of the same size),
    the text is not rebuilt."""
    r = state.result
    post = state.post
    return (None if state.input is None else state.input.shape, state.bank.size, state.bank.count,
            state.settings, post.pool, post.pool_kernel, post.pool_stride, state.error,
            None if r is None or r.pooled is None else r.pooled.shape,
            None if r is None or r.mixed is None else r.mixed.shape)


class MathPanel(RichTextView):
    def __init__(self, state, parent=None):
        super().__init__("", "The output-size arithmetic with this image's and this filter's real numbers", parent)
        self.state = state
        self._key = None
        for sig in (state.imageChanged, state.bankChanged, state.settingsChanged, state.postChanged,
                    state.resultChanged):
            sig.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        key = math_key(self.state)
        if key != self._key:
            self._key = key
            self.set_html(math_html(self.state))
