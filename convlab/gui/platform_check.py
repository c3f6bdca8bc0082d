"""Before Qt starts on Linux: can Qt's X11 (xcb) platform plugin load?

The PySide6 wheels bring Qt itself, but its xcb plugin links against a few X11 libraries that a
minimal Linux lacks. Qt then aborts with "could not load the Qt platform plugin xcb" and a list of
plugin names, which says nothing about what to install. Here the plugin is loaded the way Qt will
load it (dlopen); when that fails, the missing library is named and the exact command that
installs every library the plugin needs is printed (Debian / Ubuntu package names).
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from pathlib import Path

# Everything Qt 6's xcb plugin (and the rest of a window) needs beyond the wheel, by package.
XCB_PACKAGES = ("libegl1", "libgl1", "libxkbcommon-x11-0", "libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1",
                "libxcb-image0", "libxcb-render-util0", "libxcb-shape0", "libxcb-xinerama0", "libfontconfig1",
                "libdbus-1-3")
_MISSING = re.compile(r"([\w.+-]+\.so[\w.]*): cannot open shared object file")


def install_command() -> str:
    return "sudo apt-get install " + " ".join(XCB_PACKAGES)


def xcb_plugin() -> Path | None:
    """The xcb platform plugin of the PySide6 in use (None when it is not there)."""
    try:
        import PySide6  # the package only: no Qt library is loaded by this
    except ImportError:
        return None
    path = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.exists() else None


def load_error(path: Path) -> str:
    """Why the dynamic loader cannot load ``path`` ("" when it can)."""
    try:
        ctypes.CDLL(str(path))
    except OSError as e:
        return str(e)
    return ""


def problem(environ=os.environ, platform: str = sys.platform, plugin=xcb_plugin, loader=load_error) -> str:
    """Why a window cannot open here, with what to do ("" when nothing is known to be wrong)."""
    if not platform.startswith("linux"):
        return ""
    wanted = environ.get("QT_QPA_PLATFORM", "")
    if wanted and not wanted.startswith("xcb"):
        return ""  # offscreen, wayland, ...: not the xcb plugin
    if not environ.get("DISPLAY") and not (environ.get("WAYLAND_DISPLAY") and not wanted):
        return ("ConvLab needs a display to open its window, and there is none (DISPLAY is not set). "
                "To render the window to a file instead: python main.py --screenshot shot.png")
    if environ.get("WAYLAND_DISPLAY") and not wanted:
        return ""  # Qt may use Wayland: it falls back to xcb only if that fails
    path = plugin()
    error = loader(path) if path is not None else ""
    if not error:
        return ""
    m = _MISSING.search(error)
    what = f"the system library {m.group(1)} is missing" if m else f"it does not load ({error})"
    return (f"Qt's X11 platform plugin (xcb) cannot load: {what}. Install the libraries it needs with:\n\n"
            f"    {install_command()}\n\nthen start ConvLab again.")
