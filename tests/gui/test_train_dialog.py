"""The quick-training dialog runs the engine's Trainer in a worker thread and reports back."""

from convlab.gui.panels.train_dialog import QuickTrainDialog


def test_training_reports_progress_and_finishes(qtbot):
    dlg = QuickTrainDialog(samples=400)
    qtbot.addWidget(dlg)
    dlg.epochs.setValue(1)
    dlg.start()
    assert not dlg.start_btn.isEnabled() and not dlg.epochs.isEnabled()  # settings lock while training
    qtbot.waitUntil(lambda: dlg.start_btn.isEnabled(), timeout=60000)
    assert dlg.epochs_done and 0 <= dlg.epochs_done[-1].val_accuracy <= 1
    assert dlg.progress.value() == 100 and "validation accuracy" in dlg.status.text()
    assert len(dlg.steps) >= 1 and len(dlg.curve.getData()[0]) == len(dlg.steps)


def test_stop_ends_training_early(qtbot):
    dlg = QuickTrainDialog(samples=2000)
    qtbot.addWidget(dlg)
    dlg.epochs.setValue(20)
    dlg.batch.setValue(8)
    dlg.start()
    qtbot.waitUntil(lambda: len(dlg.steps) >= 1, timeout=30000)
    dlg.pause_btn.click()
    assert dlg.trainer.paused and dlg.pause_btn.text() == "Resume"
    dlg.pause_btn.click()
    dlg.stop_btn.click()
    qtbot.waitUntil(lambda: dlg.start_btn.isEnabled(), timeout=30000)
    assert dlg.progress.value() < 100
    assert not dlg.worker.is_running()


def test_closing_the_dialog_stops_the_thread(qtbot):
    dlg = QuickTrainDialog(samples=2000)
    qtbot.addWidget(dlg)
    dlg.epochs.setValue(20)
    dlg.start()
    qtbot.waitUntil(lambda: len(dlg.steps) >= 1, timeout=30000)
    dlg.reject()
    assert not dlg.worker.is_running()
