"""Opening a file a user named: regular files only, never blocking, size checked before reading.

    with open_regular(path, max_bytes=LIMIT) as f:   # FileRefused for a FIFO, a device, a folder,
        header = f.read(64)                           # or a file larger than LIMIT

A FIFO (named pipe) called ``photo.png`` makes a plain ``open()`` wait forever for a writer, and a
character device such as ``/dev/zero`` never ends. The file is therefore opened with
``O_NONBLOCK`` (opening a FIFO returns at once; for a regular file the flag changes nothing) and
``fstat``-ed on the open descriptor, so the check is about the very file that will be read, not
about whatever the name pointed at a moment earlier. Only regular files are kept.

Every reader in the engine (images, sessions, IDX files, the video check) goes through here and
turns :class:`FileRefused` and ``OSError`` into its own error type with its own words.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from .sizes import format_bytes

__all__ = ["FileRefused", "open_regular", "read_regular", "check_regular", "describe_kind"]

_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
          | getattr(os, "O_NOCTTY", 0))


class FileRefused(Exception):
    """A file that is not read: not a regular file, or larger than the reader allows.

    The message completes a sentence that starts with the file's name: ``"is a FIFO (named pipe),
    not a regular file"``.
    """


def describe_kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words ("a folder", "a FIFO (named pipe)", ...)."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "not a file"


def _check(st: os.stat_result, max_bytes: int | None) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused(f"is {describe_kind(st.st_mode)}, not a regular file")
    if max_bytes is not None and st.st_size > max_bytes:
        raise FileRefused(f"is {format_bytes(st.st_size)} ({st.st_size:,} bytes), more than the "
                          f"{format_bytes(max_bytes)} this kind of file may have")


def open_regular(path: str | os.PathLike, *, max_bytes: int | None = None) -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file of at most ``max_bytes`` bytes.

    Symbolic links are followed (the target is checked). Raises :class:`FileRefused` (the file is
    something else, or too large) or ``OSError`` (missing, no permission, ...). Never blocks on a
    FIFO or a device.
    """
    fd = os.open(os.fspath(path), _FLAGS)
    try:
        _check(os.fstat(fd), max_bytes)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, *, max_bytes: int) -> bytes:
    """The whole content of a regular file of at most ``max_bytes`` bytes (see :func:`open_regular`).

    Reads at most ``max_bytes + 1`` bytes even if the file grows while it is read.
    """
    with open_regular(path, max_bytes=max_bytes) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileRefused(f"grew past the {format_bytes(max_bytes)} this kind of file may have while it was read")
    return data


def check_regular(path: str | os.PathLike, *, max_bytes: int | None = None) -> int:
    """Check, without reading, that ``path`` is a regular file (of at most ``max_bytes``); its size.

    For files another library opens by name (a video handed to FFmpeg). Same errors as
    :func:`open_regular`.
    """
    with open_regular(path, max_bytes=max_bytes) as f:
        return os.fstat(f.fileno()).st_size
