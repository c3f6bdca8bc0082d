"""Why something happened or cannot happen, as values: a kind to decide on, the words beside it.

Panels never read the words of a message to decide what happened (is it an error? which
problem is it?). They look at the kind:

    block = net.train_block          # None when training can start
    if block is not None and block.kind is Block.CLASS_COUNT: offer "set the last layer to K classes"
    notice.severity is Severity.ERROR  # red in the panel, the text in the status bar
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["Severity", "Notice", "Block", "Blocked"]


class Severity(Enum):
    INFO = "info"
    ERROR = "error"


class Notice(str):
    """Something to tell the learner (status bar, a panel's status line): the text itself, with its
    severity beside it. A Notice is a ``str``, so anything that shows text shows it as it is."""

    severity: Severity

    def __new__(cls, text: str, severity: Severity = Severity.INFO) -> Notice:
        notice = super().__new__(cls, text)
        notice.severity = severity
        return notice

    @property
    def text(self) -> str:
        return str.__str__(self)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    @classmethod
    def error(cls, text: str) -> Notice:
        return cls(text, Severity.ERROR)


class Block(Enum):
    """The kinds of reason training (or capturing for it) cannot go ahead."""

    SPEC = "spec"  # a layer cannot work (the report says which and why)
    EMPTY = "empty"  # no model
    NOT_CLASSES = "not_classes"  # the model does not end in one score per class
    CLASS_COUNT = "class_count"  # the last layer gives another number of scores than there are classes
    INPUT_SHAPE = "input_shape"  # the samples are not the shape the model takes
    FLAT_INPUT = "flat_input"  # the model takes a flat input, samples are images
    CAPTURE_CLASSES = "capture_classes"  # fewer than 2 captured classes
    CAPTURE_SAMPLES = "capture_samples"  # a captured class with fewer than 2 samples
    TRAINING = "training"  # a run is on
    MEMORY = "memory"  # a training batch would need more memory than the budget


@dataclass(frozen=True)
class Blocked:
    """One reason, with its text (which names the numbers) and, where there is one, the number that
    would fix it (e.g. the class count for CLASS_COUNT)."""

    kind: Block
    text: str
    wanted: int | None = None

    def __str__(self) -> str:
        return self.text
