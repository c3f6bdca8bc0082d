"""The image views every panel uses: fit and actual size (buttons, double-click, shortcuts), the
right-click menu (save, copy, fit, actual size) and an overlay box that shows at any zoom (issue 13.12)."""

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRectF, QSettings, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from convlab.gui.file_dialogs import dialogs
from convlab.gui.views.image_view import VIEW_HINT, ImageView


def gradient(h=400, w=600):
    return (np.add.outer(np.arange(h), np.arange(w)) % 256).astype(np.uint8)


@pytest.fixture
def view(qtbot):
    v = ImageView("A test picture")
    qtbot.addWidget(v)
    v.resize(320, 260)
    v.set_image(gradient())
    v.show()
    qtbot.waitExposed(v)
    return v


def aim(view, row, col) -> QPoint:
    p = view.mapFromScene(view.scene_pos_of(row, col))
    return QPoint(int(p.x()), int(p.y()))


def hover(qtbot, view):
    with qtbot.waitSignal(view.hovered, timeout=5000):
        qtbot.mouseMove(view.viewport(), aim(view, 200, 300))


def test_fit_and_actual_size_buttons_appear_over_the_view(qtbot, view):
    fitted = view.zoom()
    assert fitted < 0.6  # 600 x 400 in about 316 px: scaled down
    hover(qtbot, view)  # the buttons show while the mouse is over the view (or it has the focus)
    qtbot.waitUntil(view.zoom_buttons.isVisible, timeout=5000)
    for button in (view.fit_button, view.actual_size_button):
        assert button.isVisible() and button.toolTip()
        assert view.rect().contains(button.geometry().translated(view.zoom_buttons.pos()))
    assert "Ctrl+Alt+0" in view.actual_size_button.toolTip() and "Ctrl+0" in view.fit_button.toolTip()
    qtbot.mouseClick(view.actual_size_button, Qt.LeftButton)
    assert view.zoom() == pytest.approx(1.0, abs=0.02)
    view.resize(360, 300)  # at actual size the view no longer refits when resized
    qtbot.waitUntil(lambda: view.width() == 360)
    assert view.zoom() == pytest.approx(1.0, abs=0.02)
    qtbot.mouseClick(view.fit_button, Qt.LeftButton)
    assert view.zoom() < 0.7
    r = view.vb.viewRect()
    assert r.left() <= 0 and r.top() <= 0 and r.right() >= 600 and r.bottom() >= 400  # the whole image


def test_the_view_tooltip_says_how_to_zoom_save_and_copy(view):
    assert view.toolTip() == VIEW_HINT and "Ctrl+0" in VIEW_HINT and "right-click" in VIEW_HINT
    view.setToolTip("The image the filters read")
    assert view.toolTip() == f"The image the filters read\n{VIEW_HINT}"


def test_closing_a_view_that_shows_an_image(qtbot, view):
    view.close()  # used to crash: the resize after close() reached a view box already deleted
    assert view.closed


def test_double_click_fits(qtbot, view):
    view.actual_size()
    assert view.zoom() == pytest.approx(1.0, abs=0.02)
    qtbot.mouseDClick(view.viewport(), Qt.LeftButton, pos=aim(view, 10, 10))
    assert view.zoom() < 0.6


def test_shortcuts_work_while_the_view_has_the_focus(qtbot, view):
    view.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is view)
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    qtbot.keyClick(view, Qt.Key_0, Qt.ControlModifier | Qt.AltModifier)
    assert view.zoom() == pytest.approx(1.0, abs=0.02)
    qtbot.keyClick(view, Qt.Key_0, Qt.ControlModifier)
    assert view.zoom() < 0.6
    for action in (view.fit_action, view.actual_size_action, view.copy_action):
        assert action.shortcutContext() == Qt.WidgetWithChildrenShortcut  # never the window's keys


def test_right_click_opens_the_menu(qtbot, view):
    qtbot.mouseClick(view.viewport(), Qt.RightButton, pos=aim(view, 100, 100))
    qtbot.waitUntil(view.menu.isVisible, timeout=5000)
    texts = [a.text() for a in view.menu.actions() if not a.isSeparator()]
    assert texts == ["Save Image...", "Copy Image", "Fit to Window", "Actual Size (1:1)"]
    assert all(a.toolTip() and a.isEnabled() for a in view.menu.actions() if not a.isSeparator())
    view.menu.close()


@pytest.fixture
def last_folder(tmp_path, monkeypatch):
    """The app's file dialogs remember their folder in a settings file of the test's own."""
    monkeypatch.setattr(dialogs(), "settings", QSettings(str(tmp_path / "dialogs.ini"), QSettings.IniFormat))
    return dialogs()


def test_save_image_writes_what_is_drawn(qtbot, view, tmp_path, monkeypatch, last_folder):
    target = tmp_path / "picture"
    asked = []

    def answer(parent, title, start, file_filter):
        asked.append(start)
        return str(target), file_filter

    monkeypatch.setattr(QFileDialog, "getSaveFileName", answer)
    view.save_action.trigger()
    assert asked[0].endswith("a-test-picture.png")  # in the folder used last (here: home)
    assert last_folder.start_folder() == str(tmp_path)  # the next dialog starts where this one saved
    saved = cv2.imread(str(tmp_path / "picture.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(saved, view.item.image)  # the colours drawn, every pixel
    assert saved.shape == (400, 600) and np.abs(saved.astype(int) - gradient()).max() <= 1
    assert view.default_file_name() == "a-test-picture.png"


def test_a_failed_save_says_why_and_raises_nothing(qtbot, view, tmp_path, monkeypatch, last_folder):
    bad = tmp_path / "no such folder" / "x.png"
    assert str(bad) in view.save_image(str(bad))
    shown = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(bad), ""))
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append((title, text)))
    view.save_action.trigger()
    assert shown and shown[0][0] == "Cannot save the image" and str(bad) in shown[0][1]


def test_copy_puts_the_colours_drawn_on_the_clipboard(qtbot, view):
    signed = np.linspace(-1, 1, 50 * 80, dtype=np.float32).reshape(50, 80)
    view.set_image(signed, (-1.0, 1.0), signed=True)
    view.copy_action.trigger()
    image = QApplication.clipboard().image()
    assert (image.width(), image.height()) == (80, 50)
    left, right = image.pixelColor(0, 0), image.pixelColor(79, 49)
    assert left.blue() > left.red() and right.red() > right.blue()  # blue for -1, red for +1


def test_nothing_to_copy_or_save_without_an_image(qtbot):
    v = ImageView()
    qtbot.addWidget(v)
    assert not v.copy_action.isEnabled() and not v.save_action.isEnabled() and not v.fit_action.isEnabled()
    assert not v.copy_image() and v.save_image("x.png") == "there is no image to save"
    v.show_menu(v.mapToGlobal(QPoint(5, 5))).close()  # opens, with every action disabled


def test_a_patch_box_shows_at_the_default_zoom(qtbot):
    """A gray 3 x 3 box (the hover colour) on a gray image scaled down to about 0.5 was a faint
    2-pixel line; now it has a contrasting border whatever the zoom."""
    v = ImageView()
    qtbot.addWidget(v)
    v.resize(220, 220)
    v.set_image(np.full((384, 384), 128, np.uint8), (0.0, 255.0))
    v.show()
    qtbot.waitExposed(v)
    assert v.zoom() < 0.6
    v.add_box(190, 190, 3, 3, color="#999")
    centre = aim(v, 191, 191)
    img = v.grab().toImage()
    around = [img.pixelColor(centre.x() + dx, centre.y() + dy).red() for dx in range(-4, 5) for dy in range(-4, 5)]
    assert sum(abs(r - 128) > 80 for r in around) >= 8


def test_in_the_window_the_view_keys_do_not_take_the_window_keys(window, qtbot):
    """Ctrl+0 / Ctrl+Alt+0 work on the focused view; Ctrl+2 still switches the workspace."""
    view = window.playground.output_view
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    qtbot.keyClick(view, Qt.Key_0, Qt.ControlModifier | Qt.AltModifier)
    assert view.zoom() == pytest.approx(1.0, abs=0.02)
    view.vb.scaleBy((0.25, 0.25))  # zoomed in four times: only a part shows
    h, w = view.image_shape
    assert not view.vb.viewRect().contains(QRectF(0, 0, w, h))
    qtbot.keyClick(view, Qt.Key_0, Qt.ControlModifier)
    assert view.vb.viewRect().contains(QRectF(0, 0, w, h))  # fitted: the whole map again
    qtbot.keyClick(view, Qt.Key_2, Qt.ControlModifier)
    assert window.workspaces.current == "network"


def test_a_long_title_never_widens_the_view_and_ends_in_an_ellipsis(qtbot):
    v = ImageView("", colorbar=True)
    qtbot.addWidget(v)
    v.set_image((np.random.default_rng(0).standard_normal((382, 382)) * 300).astype(np.float32), (-933, 934), True)
    title = "Filter 1: 382 x 382, values -933 to 834"
    v.set_title(title)
    v.resize(400, 330)
    v.show()
    qtbot.waitExposed(v)
    assert v.title.text == title
    v.resize(200, 330)
    qtbot.waitUntil(lambda: v.title.text != title, timeout=5000)
    assert v.title.text.endswith("…") and title.startswith(v.title.text[:-1])
    assert v.ci.layout.minimumWidth() <= 200  # the title no longer sets the layout's width
    bar = v.bar.mapRectToScene(v.bar.boundingRect())
    assert bar.right() <= v.width()  # the colour bar's numbers stay in the view ("500", not "5")
    v.resize(400, 330)
    qtbot.waitUntil(lambda: v.title.text == title, timeout=5000)  # whole again when there is room
    v.set_title('<span style="color:#b91c1c">the kernel is larger than the padded image</span>')
    assert v.title.text.startswith("<span")  # rich text (an error) is shown as it is
