"""convlab --install-desktop / --uninstall-desktop against a temporary HOME and XDG_DATA_HOME."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from convlab.desktop_entry import MIME_TYPE, desktop_files, install_desktop, uninstall_desktop

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="desktop entries are for Linux")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / "share"))
    return tmp_path / "home" / "share"


def entry(path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if line)


def test_install_writes_the_entry_icons_and_mime_type_into_the_users_folders(home):
    log = []
    files = install_desktop(log=log.append)
    assert files == desktop_files(home)
    for path in files.values():
        assert path.is_file() and home in path.parents
    e = entry(files["desktop"])
    assert e["Name"] == "ConvLab" and e["Type"] == "Application" and e["Icon"] == "convlab"
    assert e["Exec"] == f"{sys.executable} -m convlab %f" and e["MimeType"] == f"{MIME_TYPE};"
    assert files["icon"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    root = ET.parse(files["mime"]).getroot()
    ns = "{http://www.freedesktop.org/standards/shared-mime-info}"
    mime = root.find(f"{ns}mime-type")
    assert mime.get("type") == MIME_TYPE and mime.find(f"{ns}glob").get("pattern") == "*.convlab"
    if shutil.which("desktop-file-validate"):
        done = subprocess.run(["desktop-file-validate", str(files["desktop"])], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    if shutil.which("update-mime-database"):  # the desktop's database now maps *.convlab to ConvLab's type
        assert f"{MIME_TYPE}:*.convlab" in (home / "mime" / "globs2").read_text()
    if shutil.which("update-desktop-database"):
        assert f"{MIME_TYPE}=convlab.desktop;" in (home / "applications" / "mimeinfo.cache").read_text()


def test_uninstall_removes_exactly_what_was_written(home):
    install_desktop(log=lambda _: None, refresh=False)
    other = home / "applications" / "someone-else.desktop"
    other.write_text("[Desktop Entry]\n")
    removed = uninstall_desktop(log=lambda _: None, refresh=False)
    assert sorted(removed) == sorted(desktop_files(home).values())
    assert not any(p.exists() for p in desktop_files(home).values()) and other.exists()
    said = []
    assert uninstall_desktop(log=said.append) == [] and "no ConvLab desktop entry" in said[0]


def test_the_command_line_options(home, tmp_path):
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "convlab", "--install-desktop"], capture_output=True, text=True,
                          env=env, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "application menu" in done.stdout and (home / "applications" / "convlab.desktop").exists()
    done = subprocess.run([sys.executable, "-m", "convlab", "--uninstall-desktop"], capture_output=True, text=True,
                          env=env, timeout=120, cwd=tmp_path)
    assert done.returncode == 0 and not (home / "applications" / "convlab.desktop").exists()
