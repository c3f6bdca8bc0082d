"""Numbers as a learner types and reads them: fractions and small expressions parsed without
``eval``, values shortened to fit a small cell, and the 1-2-5 ladder of a logarithmic spin box.

    parse_number("1/16")     # 0.0625
    parse_number("(1+2)/8")  # 0.375
    format_value(0.000012)   # "1.2e-5"
    step_125(0.01, True, 1e-4)  # 0.02
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np

__all__ = ["parse_number", "format_value", "exact_text", "step_125", "VALUE_LIMIT"]

VALUE_LIMIT = 1e6
_MAX_TEXT = 200
_MAX_DEPTH = 60
_MAX_EXPONENT = 400
_HINT = "type e.g. 0.25, -1, 1/16 or (1+2)/8"


# --------------------------------------------------------------------------------------------
# Pure helpers (no widgets): parsing, formatting, colours
# --------------------------------------------------------------------------------------------

class _ParseError(Exception):
    pass


_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<op>[-+*/()]))"
)


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _TOKEN_RE.match(stripped, pos)
        if not m or m.end() == pos:
            raise _ParseError(f"unexpected {stripped[pos:].strip()[:1]!r}")
        tokens.append(m.group("num") or m.group("op"))
        pos = m.end()
    return tokens


class _Parser:
    """expr := term (('+'|'-') term)* ; term := unary (('*'|'/') unary)* ;
    unary := ('+'|'-') unary | primary ; primary := NUMBER | '(' expr ')'"""

    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Fraction:
        value = self.expr()
        if self.peek() is not None:
            raise _ParseError(f"unexpected {self.peek()!r}")
        return value

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _ParseError("too deeply nested")

    def expr(self) -> Fraction:
        value = self.term()
        while self.peek() in ("+", "-"):
            if self.take() == "+":
                value += self.term()
            else:
                value -= self.term()
        return value

    def term(self) -> Fraction:
        value = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()
            rhs = self.unary()
            if op == "*":
                value *= rhs
            else:
                if rhs == 0:
                    raise _ParseError("division by zero")
                value /= rhs
        return value

    def unary(self) -> Fraction:
        self._enter()
        try:
            tok = self.peek()
            if tok in ("+", "-"):
                self.take()
                inner = self.unary()
                return inner if tok == "+" else -inner
            return self.primary()
        finally:
            self.depth -= 1

    def primary(self) -> Fraction:
        tok = self.peek()
        if tok is None:
            raise _ParseError("a number is missing at the end")
        if tok == "(":
            self.take()
            value = self.expr()
            if self.peek() != ")":
                raise _ParseError("a ')' is missing")
            self.take()
            return value
        if tok in (")", "*", "/"):
            raise _ParseError(f"unexpected {tok!r}")
        self.take()
        mantissa, _, exponent = tok.lower().partition("e")
        if exponent and abs(int(exponent)) > _MAX_EXPONENT:
            raise _ParseError("the exponent is too large")
        return Fraction(tok)


def parse_number(text: str) -> float:
    """Parse a number, a fraction like ``1/16`` or a small expression of numbers with
    ``+ - * /`` and parentheses, without ``eval``. A decimal comma is accepted, as are the
    signs ``−``, ``×`` and ``÷``. Raise ``ValueError`` with a readable message otherwise
    (also for results outside ±1e6)."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a number")
    shown = text.strip()
    if not shown:
        raise ValueError(f"An empty entry is not a number ({_HINT})")
    if len(shown) > _MAX_TEXT:
        raise ValueError(f"'{shown[:20]}…' is too long to be a number")
    clean = (shown.replace("\u2212", "-").replace("\u2013", "-").replace("\u00d7", "*")
             .replace("\u00f7", "/").replace(",", "."))
    try:
        value = _Parser(_tokenize(clean)).parse()
    except _ParseError as exc:
        raise ValueError(f"'{shown}' is not a number: {exc} ({_HINT})") from None
    except (ValueError, ZeroDivisionError, IndexError):
        raise ValueError(f"'{shown}' is not a number ({_HINT})") from None
    if abs(value) > VALUE_LIMIT:
        raise ValueError(f"'{shown}' is out of range: values must lie between -1e6 and 1e6")
    return float(value)


def format_value(v: float, max_len: int = 7) -> str:
    """Up to 4 significant digits, fewer when needed to stay within ``max_len`` characters
    (so a number fits a small cell), short exponents (``1.2e-5``), never ``-0``."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    text = ""
    for digits in (4, 3, 2, 1):
        text = _short_g(v, digits)
        if len(text) <= max_len:
            break
    return text


def _short_g(v: float, digits: int) -> str:
    s = f"{v:.{digits}g}"
    if "e" in s:
        mant, exp = s.split("e")
        sign = "-" if exp.startswith("-") else ""
        s = f"{mant}e{sign}{exp.lstrip('+-').lstrip('0') or '0'}"
    return "0" if s in ("-0", "0") else s


def exact_text(v) -> str:
    """The shortest text that reads back as the same value in its own dtype."""
    if isinstance(v, np.floating):
        s = str(v)
    else:
        s = repr(float(v))
    if s.endswith(".0"):
        s = s[:-2]
    return "0" if s == "-0" else s



def step_125(value: float, up: bool, smallest: float) -> float:
    """The next value on the 1-2-5 ladder (..., 0.001, 0.002, 0.005, 0.01, ...) above or below ``value``.

    Below ``smallest`` the ladder ends at 0 when going down; from 0 it starts at ``smallest`` going up.
    """
    if value <= 0:
        return smallest if up else 0.0
    e = math.floor(math.log10(value))
    m = value / 10**e
    ladder = [0.5, 1, 2, 5, 10, 20]
    eps = 1e-9
    if up:
        nxt = next(s for s in ladder if s > m + eps)
    else:
        nxt = next(s for s in reversed(ladder) if s < m - eps)
    out = float(f"{nxt * 10**e:.12g}")
    return 0.0 if (not up and out < smallest * (1 - 1e-9)) else out
