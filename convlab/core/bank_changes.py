"""What a filter bank becomes when its kernel size or its input's colour changes, and the
sentence that tells the learner what changed.

The rule for names: a filter keeps its name wherever its numbers survive the change. Padding a
kernel (3x3 -> 5x5) or cropping away only zeros leaves the same filter, so a Sobel x stays a
Sobel x. Cropping away weights that are not 0 makes another filter: it is called
``custom (was Sobel x)`` (see :func:`convlab.core.kernels.cropped_name`). A channel mixer
(Red minus green) has no gray form: on a gray input it becomes the Identity, and the note says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels
from .playground import FilterBank


@dataclass(frozen=True)
class BankChange:
    """The new bank and a note for the status bar ("" when nothing needs saying)."""

    bank: FilterBank
    note: str = ""


def _filter_list(items: list[tuple[int, str]]) -> str:
    """"filter 1 (Sobel x)" or "filters 1 (Sobel x), 2 (Sobel y) and 4 (Box blur)"."""
    parts = [f"{i + 1} ({label})" for i, label in items]
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"filter{'s' if len(parts) > 1 else ''} {text}"


def _fit(w: np.ndarray, size: int) -> tuple[np.ndarray, bool]:
    """``w`` resized to ``size`` and whether every weight that is not 0 survived."""
    out = kernels.resize_kernel(w, size)
    return out, int(np.count_nonzero(out)) == int(np.count_nonzero(w))


def resize_bank(bank: FilterBank, size: int) -> BankChange:
    """Every filter of the bank at kernel size ``size`` (padded with zeros or cropped around its
    centre). Names follow the rule above; the note lists the filters that lost weights."""
    weights, names, cut = [], [], []
    for i, (w, name) in enumerate(zip(bank.weights, bank.names, strict=True)):
        out, kept = _fit(w, size)
        weights.append(out)
        if kept:
            names.append(name)
        else:
            names.append(kernels.cropped_name(name))
            if names[-1] != name:
                cut.append((i, kernels.short_label(name)))
    note = ""
    if cut:
        them = "it" if len(cut) == 1 else "them"
        note = f"F = {size} cuts weights off {_filter_list(cut)}: now custom (Undo brings {them} back)"
    return BankChange(FilterBank(np.stack(weights), bank.biases.copy(), names), note)


def convert_bank(bank: FilterBank, channels: int) -> BankChange:
    """The bank for another channel count: presets are rebuilt, custom filters spread or summed.

    gray -> RGB puts w/3 on each channel (the same response to a gray image); RGB -> gray sums
    the channels. A channel mixer has no gray form and becomes the Identity (the note says which).
    The kernel size stays the bank's, unless a rebuilt preset does not fit in it.
    """
    if bank.channels == channels:
        return BankChange(bank)
    identity = kernels.preset("identity")
    weights, names, mixers = [], [], []
    for i, (w, name) in enumerate(zip(bank.weights, bank.names, strict=True)):
        p = kernels.KERNEL_PRESETS.get(name)
        if p is not None and (not p.mixes_channels or channels == 3):
            weights.append(p.filter(channels))
            names.append(name)
        elif p is not None:
            weights.append(identity.filter(channels))
            names.append(identity.key)
            mixers.append((i, p.name))
        elif channels > bank.channels:
            weights.append(np.repeat(w.sum(axis=0, keepdims=True) / channels, channels, axis=0))
            names.append(name)
        else:
            weights.append(w.sum(axis=0, keepdims=True))
            names.append(name)
    size = bank.size
    for x in weights:
        if not _fit(x, size)[1]:
            size = max(size, x.shape[-1])
    note = ""
    if mixers:
        what = "mixes" if len(mixers) == 1 else "mix"
        it = "it is" if len(mixers) == 1 else "they are"
        mode = "Gray" if channels == 1 else f"{channels} channels"
        note = (f"{mode}: {_filter_list(mixers)} {what} the R, G and B channels, which a gray image does not "
                f"have: {it} {identity.name} now (Undo brings {'it' if len(mixers) == 1 else 'them'} back)")
    stacked = np.stack([kernels.resize_kernel(x, size) for x in weights])
    return BankChange(FilterBank(stacked, bank.biases.copy(), names), note)
