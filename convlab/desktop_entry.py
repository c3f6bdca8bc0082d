"""The Linux desktop entry: ConvLab in the application menu, and .convlab files opening in it.

``convlab --install-desktop`` writes, into the user's XDG data folder ($XDG_DATA_HOME, else
~/.local/share):

    applications/convlab.desktop                         the menu entry (Exec: this Python, -m convlab %f)
    icons/hicolor/256x256/apps/convlab.png               its icon (and scalable/apps/convlab.svg)
    icons/hicolor/256x256/mimetypes/application-x-convlab.png
    mime/packages/convlab.xml                            the MIME type application/x-convlab for *.convlab

then refreshes the desktop's caches (update-mime-database, update-desktop-database,
gtk-update-icon-cache) when those tools exist. ``--uninstall-desktop`` removes exactly these files.
No Qt; nothing outside the user's own folders is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from convlab import __version__
from convlab.package_data import resource_bytes

__all__ = ["MIME_TYPE", "xdg_data_home", "desktop_files", "install_desktop", "uninstall_desktop"]

MIME_TYPE = "application/x-convlab"
APP_ID = "convlab"


def xdg_data_home() -> Path:
    value = os.environ.get("XDG_DATA_HOME")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / ".local" / "share"


def desktop_files(root: Path | None = None) -> dict[str, Path]:
    """What install_desktop writes, by role."""
    root = root or xdg_data_home()
    icons = root / "icons" / "hicolor"
    return {
        "desktop": root / "applications" / f"{APP_ID}.desktop",
        "icon": icons / "256x256" / "apps" / f"{APP_ID}.png",
        "icon_svg": icons / "scalable" / "apps" / f"{APP_ID}.svg",
        "mime_icon": icons / "256x256" / "mimetypes" / "application-x-convlab.png",
        "mime": root / "mime" / "packages" / f"{APP_ID}.xml",
    }


def _exec_line() -> str:
    """How the menu starts ConvLab: this very interpreter, so a venv or pipx install works as it is."""
    python = sys.executable
    if any(c in python for c in ' "\'\\$`'):
        python = '"' + python.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`") + '"'
    return f"{python} -m convlab %f"


def desktop_text() -> str:
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",
        "Name=ConvLab",
        "GenericName=Convolutional network lab",
        "Comment=See what convolutions, receptive fields and learned filters do; build and train small CNNs",
        f"Exec={_exec_line()}",
        f"Icon={APP_ID}",
        "Terminal=false",
        "Categories=Education;ArtificialIntelligence;",
        "Keywords=CNN;convolution;neural network;deep learning;filter;MNIST;",
        f"MimeType={MIME_TYPE};",
        "StartupNotify=true",
        f"StartupWMClass={APP_ID}",
        f"X-ConvLab-Version={__version__}",
        "",
    ])


def mime_text() -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">\n'
        f'  <mime-type type="{MIME_TYPE}">\n'
        "    <comment>ConvLab lab</comment>\n"
        '    <sub-class-of type="application/zip"/>\n'
        '    <glob pattern="*.convlab" weight="90"/>\n'
        "    <icon name=\"application-x-convlab\"/>\n"
        "  </mime-type>\n"
        "</mime-info>\n"
    )


def _refresh(root: Path, log) -> None:
    """Ask the desktop's caches to notice (each tool only if it is installed; failures only reported)."""
    for tool, args in (("update-mime-database", [str(root / "mime")]),
                       ("update-desktop-database", [str(root / "applications")]),
                       ("gtk-update-icon-cache", ["-f", "-t", str(root / "icons" / "hicolor")])):
        exe = shutil.which(tool)
        if exe is None:
            continue
        try:
            done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as e:
            log(f"  ({tool} could not run: {e})")
            continue
        if done.returncode != 0:
            log(f"  ({tool} said: {(done.stderr or done.stdout).strip()[:200]})")


def install_desktop(root: Path | None = None, log=print, refresh: bool = True) -> dict[str, Path]:
    """Write the desktop entry, icons and MIME type; returns what was written."""
    if not sys.platform.startswith("linux"):
        raise OSError(f"desktop entries are for Linux desktops (this is {sys.platform})")
    root = root or xdg_data_home()
    files = desktop_files(root)
    contents = {
        "desktop": desktop_text().encode("utf-8"),
        "icon": resource_bytes("icons", "convlab.png"),
        "icon_svg": resource_bytes("icons", "convlab.svg"),
        "mime_icon": resource_bytes("icons", "convlab.png"),
        "mime": mime_text().encode("utf-8"),
    }
    for role, path in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(contents[role])
        os.replace(tmp, path)
        log(f"wrote {path}")
    if refresh:
        _refresh(root, log)
    return files


def uninstall_desktop(root: Path | None = None, log=print, refresh: bool = True) -> list[Path]:
    """Remove what install_desktop wrote; returns what was removed (nothing else is touched)."""
    root = root or xdg_data_home()
    removed = []
    for path in desktop_files(root).values():
        if path.exists():
            path.unlink()
            removed.append(path)
            log(f"removed {path}")
    if not removed:
        log(f"no ConvLab desktop entry in {root}")
    elif refresh:
        _refresh(root, log)
    return removed
