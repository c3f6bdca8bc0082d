"""The Lessons panel: the course's ideas one by one, each set up in a fresh lab, with steps that
tick themselves as the learner does them (see convlab.core.lessons and gui.lesson_runner)."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from convlab.core.lessons import LESSONS

DONE = "#15803d"
TODO = "#374151"


class LessonsPanel(QWidget):
    def __init__(self, runner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.choice = QComboBox()
        self.choice.addItem("Choose a lesson...", 0)
        for les in LESSONS:
            self.choice.addItem(f"{les.number}. {les.title}", les.number)
            self.choice.setItemData(self.choice.count() - 1, les.idea, Qt.ToolTipRole)
        self.choice.setToolTip("The course's ideas in order: choosing one sets up a fresh lab for it "
                               "(your own lab is kept: Back to my lab)")
        self.choice.activated.connect(self._chosen)
        self.prev_btn = self._button("< Previous", "The lesson before (set up afresh)", lambda: runner.step_to(-1))
        self.next_btn = self._button("Next >", "The next lesson (set up afresh)", lambda: runner.step_to(+1))
        self.again_btn = self._button("Set up again", "This lesson's lab as it was at its start", runner.again)
        self.back_btn = self._button("Back to my lab", "Leave the lessons: your own lab comes back exactly as "
                                     "you left it", runner.back_to_my_lab)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setToolTip("The idea of this lesson")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.RichText)
        self.text.setToolTip("Every number here comes from the engine")
        self.steps_title = QLabel("<b>Try this</b>")
        self.steps = QLabel()
        self.steps.setWordWrap(True)
        self.steps.setTextFormat(Qt.RichText)
        self.steps.setToolTip("Each step ticks itself when the lab shows you did it")
        self.progress = QLabel()
        self.progress.setToolTip("Steps done in this lesson")

        body = QWidget()
        v = QVBoxLayout(body)
        v.setContentsMargins(6, 6, 6, 6)
        v.addWidget(self.title)
        v.addWidget(self.text)
        v.addSpacing(6)
        v.addWidget(self.steps_title)
        v.addWidget(self.steps)
        v.addWidget(self.progress)
        v.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setWidget(body)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.choice)
        row = QHBoxLayout()
        row.addWidget(self.prev_btn)
        row.addWidget(self.next_btn)
        lay.addLayout(row)
        lay.addWidget(scroll, 1)
        row = QHBoxLayout()
        row.addWidget(self.again_btn)
        row.addWidget(self.back_btn)
        lay.addLayout(row)

        runner.opened.connect(self.show_lesson)
        runner.closed.connect(self.show_lesson)
        runner.stepsChanged.connect(self._show_steps)
        self.show_lesson()

    @staticmethod
    def _button(text, tip, slot) -> QPushButton:
        b = QPushButton(text)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    def _chosen(self, index: int) -> None:
        number = self.choice.itemData(index)
        if number:
            self.runner.open(number)

    def show_lesson(self, *_) -> None:
        les = self.runner.current
        with QSignalBlocker(self.choice):
            self.choice.setCurrentIndex(les.number if les is not None else 0)
        self.prev_btn.setEnabled(les is not None and les.number > 1)
        self.next_btn.setEnabled(les is None or les.number < len(LESSONS))
        self.again_btn.setEnabled(les is not None)
        self.back_btn.setEnabled(self.runner.keeps_a_lab)
        if les is None:
            self.title.setText("<b>Lessons</b>")
            self.text.setText("Twelve short lessons follow the course, one idea each: a convolution, presets and "
                              "learned filters, channels, depth, stride and padding, receptive fields, dilation, "
                              "pooling, 1x1 convolutions, LeNet, and your own classes. Each opens in a fresh lab "
                              "set up for it; your own lab waits until you come back.")
        else:
            self.title.setText(f"<b>{les.number}. {escape(les.title)}</b><br><i>{escape(les.idea)}</i>")
            self.text.setText(les.text())
        self._show_steps()

    def _show_steps(self) -> None:
        les = self.runner.current
        self.steps_title.setVisible(les is not None)
        if les is None:
            self.steps.setText("")
            self.progress.setText("")
            return
        rows = []
        for step, done in zip(les.steps, self.runner.done, strict=True):
            mark, colour = ("&#10004;", DONE) if done else ("&#9675;", TODO)
            rows.append(f'<p style="color:{colour}; margin:2px 0">{mark} {escape(step.text)}</p>')
        self.steps.setText("".join(rows))
        n = sum(self.runner.done)
        self.progress.setText(f"{n} of {len(les.steps)} done" + (" - well done!" if n == len(les.steps) else ""))
