"""The application starts, and --screenshot writes a real picture of the window."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_screenshot_writes_a_png(tmp_path):
    out = tmp_path / "shot.png"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--screenshot", str(out), "--size", "1100x700"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    import cv2
    import numpy as np

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[:2] == (700, 1100)
    assert img.std() > 5  # not a blank picture


def test_bad_size_is_refused_with_a_message():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--screenshot", "x.png", "--size", "huge"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2 and "--size must look like 1400x900" in proc.stderr


@pytest.mark.parametrize("argv", [[], ["--size", "800x600"]])
def test_parse_args(argv):
    from convlab.gui.app import parse_args

    args = parse_args(argv)
    assert args.path is None and len(args.size) == 2


def test_screenshot_opens_the_named_image(tmp_path):
    import cv2
    import numpy as np

    img = np.zeros((50, 80, 3), np.uint8)
    img[:, :40] = (0, 0, 255)
    src = tmp_path / "bild.png"
    cv2.imwrite(str(src), img)
    out = tmp_path / "shot.png"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), str(src), "--screenshot", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 10000


def test_an_unreadable_image_argument_does_not_crash(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    out = tmp_path / "shot.png"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), str(bad), "--screenshot", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0 and out.exists()
