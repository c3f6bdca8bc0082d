"""MapView: a map over an image (H, W) drawn alone, or as see-through heat over the image it explains.

Saliency and occlusion maps are drawn this way over the model input: the input dimmed, the map on
top through a colour table whose opacity rises with the value (with its size, for a signed map), so
zero is transparent. The views only draw; the maps come from the engine.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from convlab.core.display import input_picture

from .image_view import DIVERGING, ImageView

_ALPHA_LUTS: dict[bool, np.ndarray] = {}


def alpha_lut(signed: bool) -> np.ndarray:
    """An RGBA table whose alpha rises with the value (signed: with its size), so 0 is transparent
    (one object per kind, so an ImageItem given it again keeps its prepared colours)."""
    if signed in _ALPHA_LUTS:
        return _ALPHA_LUTS[signed]
    if signed:
        rgb = DIVERGING.getLookupTable(nPts=256, alpha=False)
        alpha = np.abs(np.linspace(-230, 230, 256))
    else:
        rgb = pg.colormap.get("CET-L3").getLookupTable(nPts=256, alpha=False)
        alpha = np.linspace(0, 230, 256)
    table = np.ascontiguousarray(np.column_stack([rgb, alpha.astype(np.uint8)]), dtype=np.uint8)
    return _ALPHA_LUTS.setdefault(signed, table)


class MapView(ImageView):
    """A map (H, W) drawn alone, or as a see-through heat map over the model input."""

    def __init__(self, title: str, parent=None):
        super().__init__(title, parent=parent)
        self.heat = pg.ImageItem(axisOrder="row-major")
        self.heat.setZValue(5)
        self.heat.setVisible(False)
        self.vb.addItem(self.heat)
        self.map: np.ndarray | None = None  # the map last drawn
        self.setMinimumSize(140, 140)

    def show_map(self, heat: np.ndarray, levels: tuple[float, float], signed: bool, under: np.ndarray | None) -> None:
        """Draw ``heat`` through ``levels`` (gray, or blue-white-red when ``signed``) alone, or over
        ``under`` (the model input, C x H x W in 0..1) as see-through heat."""
        self.map = heat
        if under is None:
            self.heat.setVisible(False)
            self.set_image(heat.astype(np.float32), levels=levels, signed=signed)
            return
        picture, _ = input_picture(under)  # dimmed, so the heat stands out
        if picture.ndim == 2:
            self.set_image(picture, levels=(0.0, 1.8))
        else:
            self.set_image((picture * 0.55).astype(np.uint8))
        self.heat.setLookupTable(alpha_lut(signed))
        self.heat.setImage(heat.astype(np.float32), autoLevels=False, levels=levels)
        self.heat.setVisible(True)

    def clear_map(self, title: str) -> None:
        self.map = None
        self.heat.setVisible(False)
        self.clear_image()
        self.set_title(title)
