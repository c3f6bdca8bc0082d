"""CapturedSamples: classes and samples taken from the camera (Teachable-Machine style).

Samples are kept preprocessed exactly as the model sees them (the model's input shape, the
probe's preprocessing), so training on them needs no second pass. Every change bumps
``revision`` and emits ``capturedChanged``: a dataset built from older captures is not current.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from convlab.core.data.catalog import captured_problem
from convlab.core.preprocess import model_input
from convlab.core.reasons import Block, Blocked

CLASS_NAME_MAX = 32  # characters in a captured class name


def shape_text(shape) -> str:
    return "x".join(map(str, shape))


class CapturedSamples(QObject):
    capturedChanged = Signal()  # classes or samples

    def __init__(self, parent=None):
        super().__init__(parent)
        self.x: np.ndarray | None = None  # (N, C, H, W) float32
        self.y: np.ndarray = np.zeros(0, np.int64)  # (N,) indexes classes
        self.classes: list[str] = []
        self.revision = 0

    def counts(self) -> np.ndarray:
        """Samples per class."""
        return np.bincount(self.y, minlength=len(self.classes)).astype(np.int64)

    def snapshot(self) -> tuple[np.ndarray | None, np.ndarray, list[str]]:
        """Copies, for a dataset built in another thread while capturing goes on."""
        return (None if self.x is None else self.x.copy()), self.y.copy(), list(self.classes)

    def block(self, input_shape: tuple | None, output_shape: tuple | None) -> Blocked | None:
        """Why these samples cannot train a model of these shapes now (None when they can)."""
        problem = captured_problem(self.y, self.classes)
        if problem:
            kind = Block.CAPTURE_CLASSES if len(self.classes) < 2 else Block.CAPTURE_SAMPLES
            return Blocked(kind, problem)
        if input_shape is not None and self.x is not None:
            shape = tuple(self.x.shape[1:])
            if shape != tuple(input_shape):
                return Blocked(Block.INPUT_SHAPE, f"the captured samples are {shape_text(shape)} but the model takes "
                                                  f"{shape_text(input_shape)}: clear them and capture again")
        if output_shape is not None and len(output_shape) == 1 and output_shape[0] != len(self.classes):
            return Blocked(Block.CLASS_COUNT, f"the last layer gives {output_shape[0]} scores but "
                                              f"{len(self.classes)} classes were captured", len(self.classes))
        return None

    # ------------------------------------------------------------------ classes

    def _name_problem(self, name: str, ignore: int | None = None) -> str:
        if not isinstance(name, str) or not name.strip():
            return "a class needs a name"
        name = name.strip()
        if len(name) > CLASS_NAME_MAX:
            return f"a class name has at most {CLASS_NAME_MAX} characters ({len(name)} given)"
        if any(c == name for i, c in enumerate(self.classes) if i != ignore):
            return f"there is already a class {name!r}"
        return ""

    def _edited(self) -> None:
        self.revision += 1
        self.capturedChanged.emit()

    def add_class(self, name: str) -> str:
        """A new (empty) class; returns "" or the reason it was not added."""
        problem = self._name_problem(name)
        if problem:
            return problem
        self.classes.append(name.strip())
        self._edited()
        return ""

    def rename_class(self, index: int, name: str) -> str:
        if not 0 <= index < len(self.classes):
            return f"there is no class {index + 1}"
        problem = self._name_problem(name, ignore=index)
        if problem:
            return problem
        if self.classes[index] != name.strip():
            self.classes[index] = name.strip()
            self._edited()
        return ""

    def remove_class(self, index: int) -> None:
        """Remove a class and its samples; the labels of later classes move down by one."""
        if not 0 <= index < len(self.classes):
            return
        del self.classes[index]
        keep = self.y != index
        y = self.y[keep]
        y[y > index] -= 1
        self.y = y.astype(np.int64)
        self.x = self.x[keep] if self.x is not None and len(y) else None
        self._edited()

    # ------------------------------------------------------------------ samples

    def add(self, image: np.ndarray, class_index: int, input_shape: tuple | None, preprocess) -> str:
        """One frame (uint8 RGB) as a sample of a class, preprocessed for a model input.

        Returns "" or the reason it was not taken."""
        if not 0 <= class_index < len(self.classes):
            return f"there is no class {class_index + 1}: add a class first"
        if input_shape is None:
            return "there is no working model to shape the samples for: fix the layers first"
        shape = tuple(input_shape)
        if len(shape) != 3:
            return f"the model takes a flat input of {shape[0]} values, not an image: give it an image input"
        if self.x is not None and tuple(self.x.shape[1:]) != shape:
            return (f"the captured samples are {shape_text(self.x.shape[1:])} but the model now takes "
                    f"{shape_text(shape)}: clear them to capture at the new size")
        try:
            x = model_input(np.asarray(image), shape, preprocess)
        except ValueError as e:
            return str(e)
        x = x[None]
        self.x = x if self.x is None else np.concatenate([self.x, x])
        self.y = np.append(self.y, np.int64(class_index)).astype(np.int64)
        self._edited()
        return ""

    def remove(self, indices) -> None:
        """Remove samples by their index in ``x``."""
        if self.x is None:
            return
        keep = np.ones(len(self.y), bool)
        idx = np.asarray(list(indices), dtype=np.int64)
        idx = idx[(idx >= 0) & (idx < len(keep))]
        if not len(idx):
            return
        keep[idx] = False
        self.y = self.y[keep]
        self.x = self.x[keep] if keep.any() else None
        self._edited()

    def clear(self) -> None:
        """Remove every sample (the classes stay)."""
        if self.x is None and not len(self.y):
            return
        self.x, self.y = None, np.zeros(0, np.int64)
        self._edited()

    def replace(self, x, y, classes) -> None:
        """Replace classes and samples at once (a restored session)."""
        self.classes = [str(c) for c in (classes or [])]
        if x is None or y is None or len(y) == 0:
            self.x, self.y = None, np.zeros(0, np.int64)
        else:
            self.x = np.ascontiguousarray(x, dtype=np.float32).copy()
            self.y = np.asarray(y, dtype=np.int64).copy()
        self._edited()
