"""Rules of the code's shape that the architecture issue set (docs/architecture.md): no GUI module
over 600 lines, and the live pipeline schedules frames without reaching into other objects' signals."""

from __future__ import annotations

from pathlib import Path

import pytest

GUI = Path(__file__).resolve().parent.parent / "convlab" / "gui"
MOST_LINES = 600


@pytest.mark.parametrize("path", sorted(GUI.rglob("*.py")), ids=lambda p: str(p.relative_to(GUI)))
def test_no_gui_module_is_over_600_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MOST_LINES, f"{path.name} has {lines} lines: split it by what its parts are"


def test_the_live_pipeline_neither_blocks_signals_nor_filters_events():
    text = (GUI / "live.py").read_text(encoding="utf-8")
    assert "blockSignals" not in text and "installEventFilter" not in text
