"""The JSON spec editor's text, parsed by the engine: strict JSON within a session's limits."""

import json

import pytest

from convlab.core.layers import SpecError
from convlab.core.presets import LENET5


def parse(text):
    from convlab.core.spec_json import parse_spec_json

    return parse_spec_json(text)


def test_a_valid_spec_comes_back_as_it_is():
    assert parse(json.dumps(LENET5, indent=2)) == LENET5
    # a spec that does not build is still taken: the report marks its layer
    odd = {"input": [1, 4, 4], "layers": [{"type": "conv2d", "filters": 2, "kernel": 9}, {"type": "nope"}]}
    assert parse(json.dumps(odd)) == odd


@pytest.mark.parametrize("text, words", [
    ('{"input": [1, 28, 28], "layers": [', "not valid JSON: Expecting value at line 1"),
    ('{"input": [1, NaN, 28], "layers": []}', "NaN is not a JSON number"),
    ('{"input": [1, Infinity, 28], "layers": []}', "Infinity is not a JSON number"),
    ('{"input": [1, -Infinity, 28], "layers": []}', "-Infinity is not a JSON number"),
    ('{"input": [1, 1e999, 28], "layers": []}', "inf, which is not a finite number"),
    ('{"input": [1, 28, 28], "input": [3, 28, 28], "layers": []}', "the key 'input' appears twice"),
    ('{"input": [1, 28, 28], "layers": [{"type": 5}]}', 'layer 0: the type must be a string such as "conv2d", got 5'),
    ('{"input": [1, 28, 28], "layers": [{"type": ["relu"]}]}', "layer 0: the type must be a string"),
    ('{"input": [1, 28, 28], "layers": [{"filters": 3}]}', "layer 0: the type must be a string"),
    ('{"input": [1, 28, 28], "layers": ["relu"]}', 'layer 0 must be an object with a "type"'),
    ('{"layers": []}', 'a spec is an object with an "input" shape and a "layers" list'),
    ("[]", 'a spec is an object with an "input"'),
    ('{"input": [1, 2, 3], "layers": {}}', 'a "layers" list'),
    ('{"input": [1, 28, 28], "layers": [{"type": "conv2d", "kernel": ' + "[" * 20 + "]" * 20 + "}]}",
     "nested more than 16 levels deep"),
    ('{"input": ' + "[" * 100_000 + "]" * 100_000 + ', "layers": []}', "nested far more than 16 levels deep"),
    ('{"input": [1, 28, 28], "layers": [], "x": ' + "9" * 5000 + "}", "not valid JSON"),
])
def test_text_the_editor_refuses(text, words):
    with pytest.raises(SpecError) as info:
        parse(text)
    assert words in str(info.value)


def test_the_sessions_layer_limit_applies():
    spec = {"input": [1, 8, 8], "layers": [{"type": "relu"}] * 501}
    with pytest.raises(SpecError, match="501 layers, more than the limit of 500"):
        parse(json.dumps(spec))
    with pytest.raises(SpecError, match="characters long, more than the 1,000,000"):
        parse(" " * 1_000_001)
