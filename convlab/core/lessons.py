"""The course's lessons: one idea each, in the course's order, each with a setup of the lab, a few
sentences and "try this" steps that check themselves.

Everything here is plain data and plain functions (no Qt): the GUI applies a ``Setup`` through the
states' own methods, shows ``lesson.text()`` and ticks a step when ``step.check(view)`` holds. A
``view`` is anything with the lab's states as attributes - ``lab`` (LabState), ``net``
(NetworkState), ``learn`` (LearnState), ``workspace`` (its key) and ``pinned`` (the output pixel
the learner clicked, or None) - and a check only reads them.

Every number a text quotes comes from the engine (``facts()``: the same functions the panels use),
and a test compares them with what the lab shows once the lesson is set up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import kernels
from .functional import OutputSize
from .model import analyze_spec
from .presets import model_preset
from .samples import load_sample

__all__ = ["Setup", "Step", "Lesson", "LESSONS", "lesson"]


@dataclass(frozen=True)
class Setup:
    """What a lesson puts in a fresh lab (None: leave as a fresh lab has it)."""

    workspace: str
    sample: str | None = "astronaut"
    color: str | None = "gray"
    bank: tuple[str, ...] | None = None  # preset keys, one filter each
    conv: dict[str, Any] = field(default_factory=dict)  # ConvSettings changes (stride, padding, dilation, ...)
    pool: dict[str, Any] = field(default_factory=dict)  # PoolSettings changes (pool, pool_kernel, pool_stride)
    mix: int | None = None  # a 1x1 convolution making this many maps after the bank
    pin: tuple[int, int] | None = None  # the output pixel explained
    model: str | None = None  # a model preset key
    unit: tuple[int, int, int, int] | None = None  # (layer, channel, y, x) selected
    learn: dict[str, Any] = field(default_factory=dict)  # LearnSettings changes
    train: dict[str, Any] = field(default_factory=dict)  # TrainSettings changes


@dataclass(frozen=True)
class Step:
    text: str
    check: Callable[[Any], bool]


@dataclass(frozen=True)
class Lesson:
    number: int
    title: str
    idea: str  # the one idea, in a line
    setup: Setup
    facts: Callable[[], dict[str, Any]]  # engine numbers the text quotes
    template: str  # the text, with {names} of the facts
    steps: tuple[Step, ...]

    def text(self) -> str:
        return self.template.format(**self.facts())


# --------------------------------------------------------------------------- engine facts


def _image_hw(sample: str) -> tuple[int, int]:
    img = load_sample(sample)
    return int(img.shape[0]), int(img.shape[1])


def _filter_weights(key: str, channels: int) -> int:
    return int(kernels.preset(key).filter(channels).size)


def _facts_convolution() -> dict[str, Any]:
    return {"f": kernels.preset("sobel_x").size, "n": _filter_weights("sobel_x", 1)}


def _facts_channels() -> dict[str, Any]:
    f = kernels.preset("gaussian_5").size
    return {"f": f, "rgb": _filter_weights("gaussian_5", 3), "gray": _filter_weights("gaussian_5", 1)}


def _facts_depth() -> dict[str, Any]:
    h, w = _image_hw("astronaut")
    m = OutputSize(w, 3, 1, 0, 1)
    return {"k": 4, "w": w, "h": h, "wo": m.size, "ho": OutputSize(h, 3, 1, 0, 1).size}


def _facts_stride() -> dict[str, Any]:
    h, w = _image_hw("astronaut")
    s1, s2, same = OutputSize(w, 3, 1, 0, 1), OutputSize(w, 3, 2, 0, 1), OutputSize(w, 3, 1, 1, 1)
    return {"w": w, "s1": s1.size, "s1_formula": s1.formula(), "s2_exact": s2.exact, "s2": s2.size,
            "same": same.size}


def _rf_facts() -> dict[str, Any]:
    two = analyze_spec(model_preset("two_3x3_vs_5x5")).rows
    one = analyze_spec(model_preset("one_5x5")).rows
    return {"rf_before": two[0].rf.size_hw[0], "rf_two": two[4].rf.size_hw[0], "rf_one": one[2].rf.size_hw[0],
            "w_two": two[2].weights + two[4].weights, "w_one": one[2].weights}


def _facts_dilation() -> dict[str, Any]:
    d2, d3 = OutputSize(100, 3, 1, 0, 2), OutputSize(100, 3, 1, 0, 3)
    return {"taps": 9, "span2": d2.effective_kernel, "span3": d3.effective_kernel}


def _facts_pooling() -> dict[str, Any]:
    h, w = _image_hw("astronaut")
    conv = OutputSize(w, 3, 1, 0, 1).size
    pooled = OutputSize(conv, 2, 2, 0, 1).size
    return {"conv": conv, "pooled": pooled, "pooled3": OutputSize(conv, 3, 3, 0, 1).size}


def _facts_one_by_one() -> dict[str, Any]:
    h, w = _image_hw("astronaut")
    return {"k": 4, "m": 2, "wo": OutputSize(w, 3, 1, 0, 1).size, "weights": 2 * 4, "biases": 2}


def _facts_lenet() -> dict[str, Any]:
    r = analyze_spec(model_preset("lenet_relu"))
    return {"params": r.total_params, "maps1": r.rows[0].output_shape[0], "maps2": r.rows[3].output_shape[0],
            "rf": r.rows[5].rf.size_hw[0]}


def _no_facts() -> dict[str, Any]:
    return {}


# --------------------------------------------------------------------------- checks (read-only)


def _names(v) -> list[str]:
    return list(v.lab.bank.names)


def _result_shape(v) -> tuple:
    """The bank's output shape (K, H', W'), or () while there is none."""
    r = v.lab.result
    return () if r is None else tuple(r.maps.shape)


def _math_not_whole(v) -> bool:
    if v.lab.input is None:
        return False
    _, h, w = v.lab.input.shape
    s = v.lab.settings
    return OutputSize(w, v.lab.bank.size, s.stride, s.padding, s.dilation).whole is False


def _same_size(v) -> bool:
    shape = _result_shape(v)
    return bool(shape) and v.lab.input is not None and shape[1:] == tuple(v.lab.input.shape[1:])


def _last_val_accuracy(v) -> float:
    epochs = v.net.history_epochs
    acc = epochs[-1].val_accuracy if epochs else None
    return float(acc) if acc is not None else 0.0


def _captured_enough(v) -> bool:
    counts = v.net.captured_counts()
    return len(counts) >= 2 and int(counts.min()) >= 5


# --------------------------------------------------------------------------- the lessons

LESSONS: tuple[Lesson, ...] = (
    Lesson(1, "A convolution", "a small patch of the image times a small grid of weights, summed, slid over the image",
           Setup("filters", bank=("sobel_x",), pin=(150, 150)), _facts_convolution,
           "A convolution looks at the image through a small window. At every position it multiplies the "
           "{f}x{f} pixels under the window by the {n} weights of the filter, adds the products up, and writes "
           "the sum into the output map. Then the window moves one pixel on and does it again. The panel "
           "<i>How this value is made</i> shows the products for the pixel you click; the orange box on the "
           "input is the patch it read.",
           (Step("Click another pixel of the output: a new patch, a new sum",
                 lambda v: v.pinned is not None and tuple(v.pinned[1:]) != (150, 150)),
            Step("Type a new number into one weight of the kernel",
                 lambda v: "custom" in _names(v)[0] or _names(v)[0] != "sobel_x"),
            Step("Choose the preset Identity: the output is the input again",
                 lambda v: _names(v)[v.lab.selected] == "identity"))),
    Lesson(2, "Preset filters", "blur, sharpen and edges are hand-chosen weights; deep learning learns them",
           Setup("filters", bank=("box_blur", "sharpen", "sobel_x", "sobel_y")), _no_facts,
           "Blur, sharpen and edge detectors are filters whose weights someone chose by hand: the box blur "
           "averages its neighbours, sharpen adds the difference to them, Sobel subtracts the left column "
           "from the right. A convolutional network uses exactly the same operation, but nobody chooses its "
           "weights: they are learned from examples.",
           (Step("Select filter 4 and give it the preset Laplacian", lambda v: "laplacian" in _names(v)),
            Step("Show the outputs as absolute values (View > Absolute value)",
                 lambda v: v.lab.display_mode == "abs"),
            Step("Open Learn a filter (Ctrl+3) to see weights being learned", lambda v: v.workspace == "learn"))),
    Lesson(3, "Learning a filter", "a kernel grows from noise into the filter that makes a target",
           Setup("learn", learn={"target_kind": "preset", "target_key": "sobel_x", "kernel": 3, "padding": 1,
                                 "steps": 300, "optimizer": "adam"}), _no_facts,
           "The target on the right was made by a hidden 3x3 filter. Press Start: the kernel begins as random "
           "numbers, and every step nudges each weight in the direction that makes the output more like the "
           "target (gradient descent). Watch the loss fall and the kernel take shape, then reveal which filter "
           "it was.",
           (Step("Press Start and let the run finish", lambda v: v.learn.result is not None),
            Step("Press Reveal the true kernel", lambda v: bool(v.learn.revealed)),
            Step("Learn it again with a 5x5 kernel", lambda v: v.learn.settings.kernel == 5
                 and v.learn.result is not None and v.learn.result.weight.shape[-1] == 5))),
    Lesson(4, "Channels", "a filter on an RGB image has a slice of weights for every channel",
           Setup("filters", color="rgb", bank=("gaussian_5",)), _facts_channels,
           "A colour image has three channels, red, green and blue. A filter on it is not a flat {f}x{f} grid "
           "but {f}x{f}x3: one slice per channel, so it has {f} x {f} x 3 = {rgb} weights. Each slice is "
           "slid over its own channel and the three results are added into one output map. On a gray image "
           "the same filter has {gray} weights.",
           (Step("Switch the colour to Gray (Ctrl+G): the weights become {gray}".format(**_facts_channels()),
                 lambda v: v.lab.color == "gray" and v.lab.bank.weights[0].size == _facts_channels()["gray"]),
            Step("Switch back to RGB and change a weight in the green slice only",
                 lambda v: v.lab.color == "rgb" and _names(v)[0] != "gaussian_5"))),
    Lesson(5, "Many filters, a deep output", "K filters make an output of depth K",
           Setup("filters", bank=("sobel_x", "sobel_y", "laplacian", "box_blur")), _facts_depth,
           "The bank holds K = {k} filters. Each makes one map of {wo} x {ho}, so together they make an output "
           "{wo} x {ho} x {k}: as many maps deep as there are filters. The next layer of a network sees that "
           "whole stack as its input channels.",
           (Step("Add a filter (Ctrl+Shift+N): the output becomes 5 maps deep",
                 lambda v: _result_shape(v)[:1] == (5,)),
            Step("Remove filters until 2 are left", lambda v: v.lab.bank.count == 2))),
    Lesson(6, "Stride and padding", "W' = (W - F + 2P)/S + 1 with the real numbers",
           Setup("filters", bank=("sobel_x",)), _facts_stride,
           "The output size follows from four numbers: the input width W, the filter size F, the padding P "
           "and the stride S. Here W = {w}, F = 3, P = 0, S = 1: W' = {s1_formula}. With stride 2 the window "
           "jumps two pixels at a time and the formula gives {s2_exact}: not a whole number, so the last "
           "column is never reached and the engine takes {s2}. Padding 1 adds a border so the output keeps "
           "the input's size, {same}.",
           (Step("Set the stride to 2: the filter math says not whole",
                 lambda v: v.lab.settings.stride == 2 and _math_not_whole(v)),
            Step("Set stride 1 and padding 1: the output keeps the input's size",
                 lambda v: v.lab.settings.stride == 1 and v.lab.settings.padding == 1 and _same_size(v)))),
    Lesson(7, "Receptive field", "stacking grows what a unit sees; two 3x3 layers see what one 5x5 sees",
           Setup("network", model="two_3x3_vs_5x5", unit=(4, 0, 14, 14)), _rf_facts,
           "A unit of the first 3x3 layer sees a {rf_before}x{rf_before} patch of the input. Every 3x3 layer on "
           "top adds two pixels: after layers 2 and 4 the selected unit sees {rf_two}x{rf_two}. One 5x5 layer "
           "grows it as much ({rf_one}x{rf_one} in the preset 'One 5x5'), but with {w_one:,} weights where "
           "the two 3x3 layers use {w_two:,}. The orange box on the input is the field; the nested boxes are "
           "what each earlier layer contributes.",
           (Step("Click a unit of layer 2 in the feature maps: its field is smaller",
                 lambda v: v.net.unit is not None and v.net.unit[0] == 2),
            Step("Load the preset One 5x5 (Model > Load Preset) and compare",
                 lambda v: v.net.preset_key == "one_5x5"))),
    Lesson(8, "Dilation", "a dilated 3x3 keeps its 9 weights but spreads them over a wider field",
           Setup("filters", bank=("laplacian",), conv={"dilation": 2}, pin=(150, 150)), _facts_dilation,
           "Dilation spreads a filter's taps apart. This 3x3 Laplacian still has {taps} weights, but with "
           "dilation 2 they are two pixels apart and cover {span2}x{span2} pixels: D(F - 1) + 1. The patch "
           "on the input shows the gaps. Dilation 3 makes it {span3}x{span3}, still with {taps} weights.",
           (Step("Set the dilation to 3", lambda v: v.lab.settings.dilation == 3),
            Step("Click another output pixel to see its taps and their gaps",
                 lambda v: v.pinned is not None and tuple(v.pinned[1:]) != (150, 150)))),
    Lesson(9, "Pooling", "max and average pooling shrink the map",
           Setup("filters", bank=("sobel_x", "sobel_y"), pool={"pool": "max", "pool_kernel": 2, "pool_stride": 2}),
           _facts_pooling,
           "Pooling keeps one number per window: the largest (max pooling) or the mean (average pooling). "
           "A 2x2 window with stride 2 halves each side: the {conv} x {conv} maps become {pooled} x {pooled}. "
           "It has no weights to learn; it only throws detail away, which makes the next layers cheaper and a "
           "little less sensitive to where exactly a feature is.",
           (Step("Switch to average pooling", lambda v: v.lab.post.pool == "avg"),
            Step("Use a 3x3 window with stride 3: the maps become {pooled3} x {pooled3}".format(**_facts_pooling()),
                 lambda v: v.lab.post.pool_kernel == 3 and v.lab.post.pool_stride == 3))),
    Lesson(10, "1x1 convolutions", "a 1x1 convolution changes the depth, not the size",
           Setup("filters", bank=("sobel_x", "sobel_y", "laplacian", "box_blur"), mix=2), _facts_one_by_one,
           "A 1x1 convolution looks at one pixel at a time, through all {k} maps at once: at every pixel it "
           "takes a weighted sum of the {k} values, like a tiny fully connected layer applied to each pixel. "
           "So the maps keep their size ({wo} wide) and only the depth changes, here from {k} to {m}, with "
           "{weights} weights and {biases} biases.",
           (Step("Make the 1x1 convolution give 1 map", lambda v: v.lab.post.mix is not None
                 and v.lab.post.mix.shape[0] == 1),
            Step("Add a filter to the bank: the 1x1 weights follow the new depth",
                 lambda v: v.lab.post.mix is not None and v.lab.post.mix.shape[1] == v.lab.bank.count == 5))),
    Lesson(11, "LeNet", "(convolution + non-linearity, pooling) x 2, fully connected, softmax",
           Setup("network", sample=None, model="lenet_relu", train={"samples": 6000, "epochs": 2}), _facts_lenet,
           "LeNet stacks the ideas so far: a convolution with {maps1} filters and a ReLU, max pooling, a "
           "convolution with {maps2} filters and a ReLU, max pooling again (a unit there sees {rf}x{rf} "
           "pixels), then fully connected layers and 10 scores, one per digit. It has {params:,} parameters. "
           "Train it on the built-in digits and look at what its layers learned.",
           (Step("Train it (Ctrl+T)", lambda v: len(v.net.history_epochs) >= 1),
            Step("Reach a validation accuracy above 90%", lambda v: _last_val_accuracy(v) > 0.9),
            Step("Click a unit of the second pooling layer to see its field", lambda v: v.net.unit is not None
                 and v.net.unit[0] == 5))),
    Lesson(12, "Your own classes", "teach the network your own classes with the webcam",
           Setup("live", sample=None, color=None), _no_facts,
           "Everything so far learned from a fixed dataset. Now make your own: add two or more classes in the "
           "Capture panel (thumbs up, thumbs down, nothing...), hold a class's Record button while the camera "
           "shows it, and train. The network's predictions follow the live picture. No camera? Open a video "
           "or a folder of images as the source instead.",
           (Step("Add two classes in the Capture panel", lambda v: len(v.net.captured_classes) >= 2),
            Step("Record at least 5 samples of each", _captured_enough),
            Step("Press Train on these", lambda v: v.net.settings.dataset == "captured"
                 and len(v.net.history_epochs) >= 1))),
)


def lesson(number: int) -> Lesson:
    """Lesson ``number`` (1-based)."""
    if not 1 <= number <= len(LESSONS):
        raise ValueError(f"there is no lesson {number}: the lessons are 1 to {len(LESSONS)}")
    return LESSONS[number - 1]
