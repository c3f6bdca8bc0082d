"""The app's own message when Qt's xcb plugin cannot load: the missing library and the exact
apt command, instead of Qt's abort (no display or library is needed: the loader is stubbed)."""

from pathlib import Path

from convlab.gui import platform_check as pc
from convlab.gui.app import main

X = {"DISPLAY": ":0"}


def test_a_missing_library_is_named_with_the_command_that_installs_it():
    text = pc.problem(X, "linux", lambda: Path("/plugins/libqxcb.so"),
                      lambda p: "libxcb-cursor.so.0: cannot open shared object file: No such file or directory")
    assert "libxcb-cursor.so.0 is missing" in text
    assert "sudo apt-get install libegl1 libgl1 libxkbcommon-x11-0 libxcb-cursor0" in text


def test_nothing_is_said_when_the_plugin_loads_or_is_not_used():
    assert pc.problem(X, "linux", lambda: Path("/p.so"), lambda p: "") == ""
    assert pc.problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") == ""
    assert pc.problem(X, "win32") == "" and pc.problem(X, "darwin") == ""
    assert pc.problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux") == ""


def test_no_display_is_said_with_the_way_out():
    assert "--screenshot" in pc.problem({}, "linux")


def test_the_app_prints_it_and_stops_before_qt(monkeypatch, capsys):
    monkeypatch.setattr(pc, "problem", lambda: "Qt's X11 platform plugin (xcb) cannot load: sudo apt-get install x")
    assert main([]) == 1
    assert "sudo apt-get install" in capsys.readouterr().err


def test_the_readme_puts_the_libraries_before_the_run_command():
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert text.index("apt-get install") < text.index("python -m pip install -e . && python main.py")
    assert all(p in text for p in pc.XCB_PACKAGES)
