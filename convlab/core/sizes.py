"""Byte counts in words, for messages: ``format_bytes(943_718_400_000) == "944 GB"``.

Decimal units (1 GB = 10^9 bytes), three significant digits, the way a file manager shows sizes.
"""

from __future__ import annotations

__all__ = ["format_bytes"]

_UNITS = ("KB", "MB", "GB", "TB", "PB", "EB")


def format_bytes(n: int | float) -> str:
    """``512 bytes``, ``1.5 MB``, ``1 GB``, ``944 GB``; any non-negative count, however large."""
    n = float(n)
    if n < 1000:
        return f"{n:.0f} byte{'' if n == 1 else 's'}"
    value = n
    for unit in _UNITS[:-1]:
        value /= 1000
        if float(f"{value:.3g}") < 1000:  # 999.7 KB shows as 1 MB, not as "1e+03 KB"
            return f"{value:.3g} {unit}"
    value /= 1000
    return f"{value:.3g} {_UNITS[-1]}" if value < 1000 else f"{value:,.0f} {_UNITS[-1]}"
