"""Where the network overview puts things: one column per stage (the input, every layer, the class
probabilities), computed from sizes only - no Qt, no arrays - so it is quick to test and to run on
every resize.

Every column of feature maps gets tiles of one common size (the longest side ``side`` pixels, the
other by the maps' aspect), stacked downwards and wrapped into sub-columns when they do not fit
the height. The largest side that lets the whole network fit the width wins; when even readable
tiles (``GOOD_SIDE``) leave too little room, wide layers wrap into fewer sub-columns and show only
their first maps ("+K more"), and only below that do the tiles shrink further (``MIN_SIDE``). A
flat layer is a grid of small square cells filling its column downwards; the probabilities are
one row per class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MARGIN = 6  # px around the whole picture
COLUMN_GAP = 10  # px between columns, at least
MAX_COLUMN_GAP = 48  # spare width widens the gaps up to this, then the picture is centred
TILE_GAP = 3  # px between the tiles of one column
MAX_SIDE = 120  # px: the longest side of a feature-map tile, at most
GOOD_SIDE = 30  # px: tiles at least this big before wide layers show fewer maps
MIN_SIDE = 14  # px: the smallest tile
INPUT_MIN, INPUT_MAX = 56, 260  # px: the input picture's longest side
CELL_MIN, CELL_MAX = 2, 16  # px: a flat layer's cells
MAX_CELLS = 4096  # a flat layer shows at most this many of its values
BAR, BAR_MAX = 56, 120  # px: a probability bar's full length (planned, at most)
ROW_MIN, ROW_MAX = 12, 22  # px: a probability row's height


@dataclass(frozen=True)
class ColumnSpec:
    """What one column holds and the room its texts need (measured by the caller)."""

    kind: str  # "input" | "maps" | "cells" | "probs"
    count: int  # maps, values or classes in the layer
    map_hw: tuple[int, int] = (1, 1)  # height, width of one map (input and maps)
    title_width: float = 0.0  # the widest line of the column's title
    more_width: float = 0.0  # the "+K more" line
    name_width: float = 0.0  # probs: the widest class name
    percent_width: float = 0.0  # probs: "100%"


@dataclass
class ColumnPlace:
    """Where a column went: its x and width, and its content (tiles, cells or rows)."""

    x: float = 0.0
    width: float = 0.0
    shown: int = 0  # maps, cells or rows drawn (the first ``shown``)
    tiles: list[tuple[float, float, float, float]] = field(default_factory=list)  # (x, y, w, h)
    cell: float = 0.0  # cells: side; probs: row height
    grid: tuple[int, int] = (0, 0)  # cells: rows, columns (filled downwards)
    origin: tuple[float, float] = (0.0, 0.0)  # cells / probs: top left of the content
    bar: float = 0.0  # probs: the full length of a bar
    content_bottom: float = 0.0  # where the "+K more" line goes


@dataclass
class OverviewPlan:
    places: list[ColumnPlace]
    side: float  # the tile side chosen
    width_needed: float  # the width this plan takes (more than given: the picture scrolls)
    body_top: float
    body_height: float


def _tile_hw(side: float, map_hw: tuple[int, int]) -> tuple[float, float]:
    mh, mw = max(map_hw[0], 1), max(map_hw[1], 1)
    scale = side / max(mh, mw)
    return mh * scale, mw * scale


def _maps_shape(spec: ColumnSpec, side: float, body: float, cap: int, most: int) -> tuple[int, int, int]:
    """(sub-columns, rows, shown) of a maps column."""
    n = min(spec.count, most)
    th, _ = _tile_hw(side, spec.map_hw)
    rows = max(1, int((body + TILE_GAP) // (th + TILE_GAP)))
    cols = max(1, min(math.ceil(n / rows), cap))
    shown = min(n, cols * rows)
    return cols, math.ceil(shown / cols), shown  # the rows balanced: 6 maps in 2 columns are 3 + 3


def _cells_shape(n: int, cell: float, body: float) -> tuple[int, int]:
    rows = max(1, int(body // cell))
    return min(rows, n), max(1, math.ceil(n / rows))


def _input_side(side: float, body: float) -> float:
    return max(min(2.5 * side, INPUT_MAX, body), min(INPUT_MIN, body))


def _gap(side: float) -> float:
    """The gap between columns: wider with bigger tiles, so that the columns stay apart."""
    return float(max(COLUMN_GAP, round(0.25 * side)))


def _width(spec: ColumnSpec, side: float, body: float, cap: int, most: int) -> float:
    if spec.kind == "input":
        _, tw = _tile_hw(_input_side(side, body), spec.map_hw)
        return max(tw, spec.title_width)
    if spec.kind == "maps":
        cols, _, shown = _maps_shape(spec, side, body, cap, most)
        _, tw = _tile_hw(side, spec.map_hw)
        more = spec.more_width if shown < spec.count else 0.0
        return max(cols * tw + (cols - 1) * TILE_GAP, spec.title_width, more)
    if spec.kind == "cells":
        n = min(spec.count, MAX_CELLS)
        _, cols = _cells_shape(n, CELL_MIN, body)
        more = spec.more_width if n < spec.count else 0.0
        return max(cols * CELL_MIN, spec.title_width, more)
    return max(spec.title_width, spec.name_width + BAR + spec.percent_width + 8)


def plan_overview(specs: list[ColumnSpec], width: float, height: float, title_height: float,
                  more_height: float, most_maps: int = 16) -> OverviewPlan:
    """Place the columns in a ``width`` x ``height`` area: titles in a band ``title_height`` high
    at the top, a ``more_height`` line kept free below the content for "+K more"."""
    top = MARGIN + title_height
    body = max(height - top - more_height - MARGIN, 24.0)
    gaps = max(len(specs) - 1, 0)
    room = width - 2 * MARGIN

    def total(side: float, cap: int) -> float:
        return sum(_width(s, side, body, cap, most_maps) for s in specs) + gaps * _gap(side)

    side, cap = MIN_SIDE, 1
    caps = [c for c in range(1, max(most_maps, 1) + 1)]
    chosen = False
    for s in range(MAX_SIDE, GOOD_SIDE - 1, -1):  # everything shown, as big as it fits
        if total(s, 10**6) <= room:
            side, cap, chosen = s, 10**6, True
            break
    if not chosen:  # readable tiles, fewer sub-columns (and maps) in wide layers
        for s in range(GOOD_SIDE, MIN_SIDE - 1, -1):
            fits = [c for c in reversed(caps) if total(s, c) <= room]
            if fits:
                side, cap, chosen = s, fits[0], True
                break
    input_side = _input_side(side, body)
    widths = [_width(s, side, body, cap, most_maps) for s in specs]
    needed = sum(widths) + gaps * _gap(side) + 2 * MARGIN
    for i, s in enumerate(specs):  # spare width first makes the input bigger (its field is drawn there)
        if s.kind == "input" and width > needed:
            th, tw = _tile_hw(_input_side(side, body), s.map_hw)
            grown = min(body / th, INPUT_MAX / max(th, tw), 1 + 0.5 * (width - needed) / tw)
            if grown > 1:
                input_side = max(th, tw) * grown
                widths[i] = max(tw * grown, s.title_width)
                needed += widths[i] - max(tw, s.title_width)
    gap, x = _gap(side), float(MARGIN)
    spare = width - needed
    if spare > 0 and len(specs) > 1:
        gap = max(gap, min(gap + spare / (len(specs) - 1), MAX_COLUMN_GAP))
        x += max(0.0, (width - (sum(widths) + gap * (len(specs) - 1) + 2 * MARGIN)) / 2)
    places = []
    for spec, w in zip(specs, widths, strict=True):
        place = ColumnPlace(x=x, width=w)
        _fill(place, spec, input_side if spec.kind == "input" else side, top, body, cap, most_maps)
        places.append(place)
        x += w + gap
    return OverviewPlan(places, float(side), needed, top, body)


def _fill(place: ColumnPlace, spec: ColumnSpec, side: float, top: float, body: float, cap: int,
          most: int) -> None:
    """The content of one column, centred in it and in the body's height."""
    if spec.kind == "input":  # (``side`` is the input's own)
        th, tw = _tile_hw(side, spec.map_hw)
        y = top + (body - th) / 2
        place.tiles = [(place.x + (place.width - tw) / 2, y, tw, th)]
        place.shown, place.content_bottom = 1, y + th
    elif spec.kind == "maps":
        cols, rows, shown = _maps_shape(spec, side, body, cap, most)
        th, tw = _tile_hw(side, spec.map_hw)
        block_w = cols * tw + (cols - 1) * TILE_GAP
        block_h = rows * th + (rows - 1) * TILE_GAP
        x0, y0 = place.x + (place.width - block_w) / 2, top + (body - block_h) / 2
        place.tiles = [(x0 + (k // rows) * (tw + TILE_GAP), y0 + (k % rows) * (th + TILE_GAP), tw, th)
                       for k in range(shown)]
        place.shown, place.content_bottom = shown, y0 + block_h
    elif spec.kind == "cells":
        n = min(spec.count, MAX_CELLS)
        cell = float(CELL_MIN)
        for c in range(CELL_MAX, CELL_MIN - 1, -1):  # the biggest cells that fit the column
            rows, cols = _cells_shape(n, c, body)
            if cols * c <= place.width and rows * c <= body:
                cell = float(c)
                break
        rows, cols = _cells_shape(n, cell, body)
        x0, y0 = place.x + (place.width - cols * cell) / 2, top + (body - rows * cell) / 2
        place.cell, place.grid, place.origin, place.shown = cell, (rows, cols), (x0, y0), n
        place.content_bottom = y0 + rows * cell
    else:
        fit = max(1, int(body // ROW_MIN))
        shown = min(spec.count, fit)
        row = min(ROW_MAX, body / max(shown, 1))
        bar = max(8.0, min(BAR_MAX, place.width - spec.name_width - spec.percent_width - 8))
        y0 = top + (body - row * shown) / 2
        place.cell, place.origin, place.shown, place.bar = row, (place.x, y0), shown, bar
        place.content_bottom = y0 + row * shown


def cell_rect(place: ColumnPlace, index: int) -> tuple[float, float, float, float]:
    """A flat layer's cell ``index`` (filled downwards, column by column) as (x, y, w, h)."""
    rows = max(place.grid[0], 1)
    c, r = divmod(index, rows)
    return place.origin[0] + c * place.cell, place.origin[1] + r * place.cell, place.cell, place.cell


def cell_at(place: ColumnPlace, px: float, py: float) -> int | None:
    """The cell under a point, or None."""
    if place.cell <= 0:
        return None
    c = math.floor((px - place.origin[0]) / place.cell)
    r = math.floor((py - place.origin[1]) / place.cell)
    rows, cols = place.grid
    if not (0 <= r < rows and 0 <= c < cols):
        return None
    index = c * rows + r
    return index if index < place.shown else None
