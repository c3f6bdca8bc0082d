"""Edit Spec as JSON: the engine parses the text; a refused text leaves the spec as it was."""

import json

import pytest
from PySide6.QtGui import QUndoStack

from convlab.gui.network_state import NetworkState
from convlab.gui.panels.spec_json_dialog import SpecJsonDialog


@pytest.fixture
def dialog(qtbot):
    net = NetworkState(QUndoStack())
    d = SpecJsonDialog(net)
    qtbot.addWidget(d)
    d.load()
    yield d
    net.shutdown()


@pytest.mark.parametrize("text, words", [
    ('{"input": [1, Infinity, 28], "layers": []}', "Infinity is not a JSON number"),
    ('{"input": [1, 28, 28], "layers": [{"type": 7}]}', "the type must be a string"),
    (json.dumps({"input": [1, 8, 8], "layers": [{"type": "relu"}] * 200_000}), "more than the"),
    ('{"input": ' + "[" * 50_000 + "]" * 50_000 + ', "layers": []}', "nested"),
])
def test_hostile_text_is_refused_with_a_message_and_the_spec_kept(dialog, text, words):
    before = json.dumps(dialog.net.spec)
    dialog.editor.setPlainText(text)
    assert dialog.apply() is False
    assert words in dialog.error_label.text()
    assert json.dumps(dialog.net.spec) == before and dialog.net.undo_stack.count() == 0


def test_a_spec_beyond_the_memory_budget_is_taken_and_marked(dialog):
    spec = {"input": [1, 8, 8], "layers": [{"type": "conv2d", "filters": 10**9, "kernel": 3}]}
    dialog.editor.setPlainText(json.dumps(spec))
    assert dialog.apply() is True  # one undo step, marked: never an exception
    assert not dialog.net.report.ok and "more than the 1 GB budget" in dialog.net.report.error
    assert "applied, but" in dialog.error_label.text() and dialog.net.model is None
    dialog.net.undo_stack.undo()
    assert dialog.net.report.ok
