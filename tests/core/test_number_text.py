"""Numbers as a learner types and reads them (convlab.core.number_text)."""

from __future__ import annotations

import pytest

from convlab.core.number_text import exact_text, format_value, parse_number, step_125


@pytest.mark.parametrize("text, value", [
    ("1", 1.0), ("-2.5", -2.5), ("1/16", 0.0625), ("-1/16", -0.0625), ("(1+2)/8", 0.375),
    ("2*-3", -6.0), ("1e-3", 0.001), (".5", 0.5), (" 1 + 2 * 3 ", 7.0), ("1/3+1/3+1/3", 1.0),
    ("0,25", 0.25), ("\u22121/4", -0.25),
])
def test_parse_number_accepts_numbers_fractions_and_expressions(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["abc", "", "1/0", "2*", "(1", "3 4", "1e999", "2e6",
                                  "__import__('os')", "1" * 300, "-" * 100 + "1"])
def test_parse_number_refuses_everything_else(text):
    with pytest.raises(ValueError):
        parse_number(text)


def test_format_value_fits_a_small_cell():
    assert format_value(0.0625) == "0.0625"
    assert format_value(1 / 3) == "0.3333"
    assert format_value(-0.0) == "0"
    assert format_value(1.5e-5) == "1.5e-5"
    assert all(len(format_value(v)) <= 7 for v in (-0.02345, -0.002345, -123456.0, 1 / 7))


def test_exact_text_reads_back_as_the_same_value():
    import numpy as np

    for v in (np.float32(1 / 3), np.float32(0.1), 0.1, -2.5):
        assert type(v)(exact_text(v)) == v


def test_the_1_2_5_ladder():
    assert step_125(0.05, True, 1e-4) == 0.1 and step_125(0.1, False, 1e-4) == 0.05
    assert step_125(0.05, False, 1e-4) == 0.02 and step_125(0.03, True, 1e-4) == 0.05
    assert step_125(0.0, True, 1e-5) == 1e-5 and step_125(1e-5, False, 1e-5) == 0.0
