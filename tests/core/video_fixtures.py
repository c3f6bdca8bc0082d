"""Small test videos whose frames say their own number.

Frame ``n`` shows ``n`` in binary as eight vertical stripes (white = 1, black = 0), each stripe
12 pixels wide and the full height: big uniform blocks survive lossy codecs (MJPG, mp4v), and
gray stripes read the same in BGR and RGB.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 96, 64
BITS = 8
STRIPE = WIDTH // BITS

# MJPG in AVI is available in practically every opencv-python(-headless) build; mp4v is the fallback.
CODECS = (("MJPG", ".avi"), ("mp4v", ".mp4"))


def numbered_frame(n: int) -> np.ndarray:
    """The (HEIGHT, WIDTH, 3) uint8 picture of frame number ``n`` (0 <= n < 256)."""
    if not 0 <= n < 2 ** BITS:
        raise ValueError(f"frame numbers go from 0 to {2 ** BITS - 1}, got {n}")
    frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    for bit in range(BITS):
        if n >> (BITS - 1 - bit) & 1:
            frame[:, bit * STRIPE:(bit + 1) * STRIPE] = 255
    return frame


def frame_number(image: np.ndarray) -> int:
    """Read back the number drawn by :func:`numbered_frame` (from the centre of each stripe)."""
    n = 0
    for bit in range(BITS):
        centre = image[:, bit * STRIPE + 2:(bit + 1) * STRIPE - 2]
        n = (n << 1) | int(centre.mean() > 127)
    return n


def write_numbered_video(folder: Path, frames: int = 20, fps: float = 30.0,
                         name: str = "numbers") -> Path:
    """Write a video of ``frames`` numbered frames into ``folder``; returns its path.

    Tries each codec in :data:`CODECS` and keeps the first whose file reads back completely.
    """
    folder = Path(folder)
    problems = []
    for fourcc, suffix in CODECS:
        path = folder / f"{name}{suffix}"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (WIDTH, HEIGHT))
        if not writer.isOpened():
            writer.release()
            problems.append(f"{fourcc}: writer did not open")
            continue
        for n in range(frames):
            writer.write(numbered_frame(n))
        writer.release()
        readable = _count_readable(path)
        if readable == frames:
            return path
        problems.append(f"{fourcc}: {readable} of {frames} frames read back")
        path.unlink(missing_ok=True)
    raise RuntimeError("no codec could write a test video: " + "; ".join(problems))


def _count_readable(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    try:
        count = 0
        while True:
            ok, image = cap.read()
            if not ok:
                return count
            if frame_number(image) != count:
                return -1
            count += 1
    finally:
        cap.release()
