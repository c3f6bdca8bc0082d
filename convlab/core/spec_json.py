"""A model spec from JSON text a user typed: strict JSON within the limits a session has.

    spec = parse_spec_json(text)    # a dict, or SpecError saying what is wrong with the text

The text is refused, with a message, when it is longer than MAX_SPEC_JSON_CHARS, is not strict
JSON (``NaN`` and ``Infinity`` are not JSON, and ``1e999`` is refused as not finite), repeats a
key, is nested deeper than MAX_SPEC_DEPTH, is not an object with an ``"input"`` and a ``"layers"``
list, has more than :data:`convlab.core.model.MAX_LAYERS` layers, or has a layer that is not an
object with a string ``"type"``. Everything else - an unknown layer type, a kernel larger than
its input, a model beyond the memory budget - is the spec's business: the text is taken and
:func:`convlab.core.model.analyze_spec` marks the layer that cannot work, as for any edit.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .layers import SpecError, shown
from .model import MAX_LAYERS

__all__ = ["parse_spec_json", "MAX_SPEC_JSON_CHARS", "MAX_SPEC_DEPTH"]

MAX_SPEC_JSON_CHARS = 1_000_000  # 500 layers written out with indentation take about 100,000
MAX_SPEC_DEPTH = 16  # a spec is 4 levels deep: {"layers": [{"kernel": [3, 3]}]}


def _no_constants(token: str):
    raise ValueError(f"{token} is not a JSON number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ValueError(f"the key {shown(key)} appears twice in one object")
        seen.add(key)
    return dict(pairs)


def _check_values(value: Any) -> None:
    """Depth and finiteness of every value, walked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (dict, list)):
            if depth > MAX_SPEC_DEPTH:
                raise SpecError(f"the spec is nested more than {MAX_SPEC_DEPTH} levels deep")
            stack.extend((x, depth + 1) for x in (v.values() if isinstance(v, dict) else v))
        elif isinstance(v, float) and not math.isfinite(v):
            raise SpecError(f"the spec holds {v!r}, which is not a finite number")


def parse_spec_json(text: str) -> dict:
    """The spec a JSON text holds, checked as far as text can be (see the module); SpecError if not."""
    if not isinstance(text, str):
        raise SpecError(f"a spec's JSON text must be a string, got {type(text).__name__}")
    if len(text) > MAX_SPEC_JSON_CHARS:
        raise SpecError(f"the text is {len(text):,} characters long, more than the {MAX_SPEC_JSON_CHARS:,} "
                        f"a spec may take (at most {MAX_LAYERS} layers)")
    try:
        spec = json.loads(text, parse_constant=_no_constants, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise SpecError(f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    except RecursionError:
        raise SpecError(f"not a spec: the text is nested far more than {MAX_SPEC_DEPTH} levels deep") from None
    except ValueError as e:  # NaN / Infinity, a repeated key, an integer of thousands of digits
        raise SpecError(f"not valid JSON: {e}") from None
    if not isinstance(spec, dict) or "input" not in spec or not isinstance(spec.get("layers"), list):
        raise SpecError('a spec is an object with an "input" shape and a "layers" list')
    layers = spec["layers"]
    if len(layers) > MAX_LAYERS:
        raise SpecError(f"the spec has {len(layers):,} layers, more than the limit of {MAX_LAYERS}")
    _check_values(spec)
    for i, entry in enumerate(layers):
        if not isinstance(entry, dict):
            raise SpecError(f"layer {i} must be an object with a \"type\", got {shown(entry)}")
        kind = entry.get("type")
        if not isinstance(kind, str):
            raise SpecError(f"layer {i}: the type must be a string such as \"conv2d\", got {shown(kind)}")
    return spec
