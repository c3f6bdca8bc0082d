"""LessonRunner: opens a lesson (convlab.core.lessons) in a fresh lab and ticks its steps.

Opening a lesson keeps the learner's own lab aside (as a Session in memory, with its file and its
unsaved mark), starts a fresh lab, applies the lesson's Setup through the states' own methods and
switches to the lesson's workspace. "Back to my lab" brings the kept lab back exactly. While a
lesson is open, its steps are checked after every change of the lab (a check only reads the
states) and a step once done stays ticked.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from convlab.core.lessons import LESSONS, Lesson, Setup, lesson
from convlab.core.playground import mix_weights
from convlab.core.session import Session

from . import lab_session
from .state import preset_bank


class LessonView:
    """What a lesson's checks look at (attributes only; see convlab.core.lessons)."""

    def __init__(self, window):
        self._w = window

    @property
    def lab(self):
        return self._w.state

    @property
    def net(self):
        return self._w.net

    @property
    def learn(self):
        return self._w.learn_state

    @property
    def workspace(self) -> str:
        return self._w.workspaces.current

    @property
    def pinned(self):
        return self._w.playground.pinned_pixel


class LessonRunner(QObject):
    opened = Signal(int)  # a lesson was set up
    closed = Signal()  # back to the learner's own lab
    stepsChanged = Signal()  # a step was ticked (or the lesson changed)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.view = LessonView(window)
        self.current: Lesson | None = None
        self.done: list[bool] = []
        self._kept: tuple[Session, str | None, bool] | None = None  # the learner's lab, its file, its mark
        self._check_soon = QTimer(self)
        self._check_soon.setSingleShot(True)
        self._check_soon.setInterval(0)
        self._check_soon.timeout.connect(self.check)
        w = window
        for sig in (w.state.bankChanged, w.state.settingsChanged, w.state.postChanged, w.state.resultChanged,
                    w.state.imageChanged, w.state.displayChanged, w.state.selectionChanged, w.net.specChanged,
                    w.net.unitChanged, w.net.epochDone, w.net.trainingStateChanged, w.net.capturedChanged,
                    w.net.settingsChanged, w.learn_state.resultChanged, w.learn_state.revealedChanged,
                    w.learn_state.settingsChanged, w.workspaces.changed, w.playground.pinned):
            sig.connect(self._changed)

    # ------------------------------------------------------------------ opening and closing

    @property
    def keeps_a_lab(self) -> bool:
        return self._kept is not None

    def open(self, number: int) -> None:
        """Lesson ``number`` in a fresh lab (the learner's own lab is kept aside, once)."""
        chosen = lesson(number)
        w = self.window
        if self._kept is None:
            self._kept = (lab_session.capture(w), w.session.path, w.session.dirty)
        self.current = chosen
        self.done = [False] * len(chosen.steps)
        self._apply(chosen.setup)
        self.opened.emit(number)
        self.stepsChanged.emit()
        self.check()

    def again(self) -> None:
        """The current lesson set up afresh (its steps unticked)."""
        if self.current is not None:
            self.open(self.current.number)

    def step_to(self, delta: int) -> None:
        number = (self.current.number if self.current else 0) + delta
        if 1 <= number <= len(LESSONS):
            self.open(number)

    def back_to_my_lab(self) -> bool:
        """The learner's own lab again, as it was (file, unsaved mark and all)."""
        if self._kept is None:
            return False
        session, path, dirty = self._kept
        w = self.window
        with w.session.quiet():
            lab_session.restore(w, session)
        w.session.path = path
        w.session.mark_clean()
        if dirty:
            w.session.dirty = True
        self._kept, self.current, self.done = None, None, []
        self.closed.emit()
        self.stepsChanged.emit()
        return True

    def _apply(self, s: Setup) -> None:
        w = self.window
        st, net = w.state, w.net
        with w.session.quiet():  # a lesson's lab is not the learner's unsaved work
            lab_session.restore(w, Session())
            w.open_sample(s.sample or "astronaut")
            if s.color is not None:
                st.set_color(s.color)
            if s.bank is not None:
                st.edit("Lesson setup", bank=preset_bank(list(s.bank), st.channels), selected=0)
            if s.conv:
                st.set_settings("Lesson setup", **s.conv)
            if s.pool:
                st.set_post("Lesson setup", **s.pool)
            if s.mix is not None:
                k = st.bank.count
                st.set_post("Lesson setup", mix=mix_weights("groups", s.mix, k), mix_bias=np.zeros(s.mix, np.float32))
            if s.model is not None:
                net.load_preset(s.model)
            if s.train:
                net.set_settings(**s.train)
            if s.learn:
                w.learn_state.set(**s.learn)
            st.undo_stack.clear()
        w.session.path = None
        w.session.mark_clean()
        w.show_workspace(s.workspace)
        if s.unit is not None:
            net.select_unit(*s.unit)
            w.inside_panel.layer_list.setCurrentRow(s.unit[0])  # the unit's layer in view
        if s.pin is not None:
            self._when_result(lambda: w.playground.pin(*s.pin))

    def _when_result(self, then) -> None:
        """``then()`` once the lab's newest result is drawn (the bank computes in a thread)."""
        st = self.window.state
        if st.result is not None and st.result_job >= st.newest_job:
            then()
            return

        def shown(job: int, _ms: float) -> None:
            if job >= st.newest_job:
                st.resultShown.disconnect(shown)
                if st.result is not None:
                    then()

        st.resultShown.connect(shown)

    # ------------------------------------------------------------------ the steps

    def _changed(self, *_) -> None:
        if self.current is not None:
            self._check_soon.start()

    def check(self) -> None:
        """Tick every step whose check now holds (a ticked step stays ticked)."""
        if self.current is None:
            return
        ticked = False
        for i, step in enumerate(self.current.steps):
            if not self.done[i]:
                try:
                    ok = bool(step.check(self.view))
                except Exception:  # noqa: BLE001 - a check that cannot be made yet is not done
                    ok = False
                if ok:
                    self.done[i] = ticked = True
        if ticked:
            self.stepsChanged.emit()
