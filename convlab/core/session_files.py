"""The session file on disk: opened without surprises, written atomically, keeping what the user set.

Reading (:mod:`convlab.core.session` does the format):

* :func:`open_session_file` opens regular files only (a FIFO named ``lab.convlab`` does not
  block), refuses a file larger than a session can be before reading it, and
* :func:`check_zip_directory` reads the zip's end-of-central-directory record - the entry count
  and the directory's size - before ``zipfile`` parses the directory, so an archive announcing
  1.5 million entries is refused in microseconds instead of after 865 MB and 8 s of parsing.

Writing (:func:`write_atomically`): a temporary file in the target's folder, flushed and
fsynced, the previous file kept as ``.bak``, then ``os.replace`` - a crash at any moment leaves
the previous file whole. Besides:

* **the mode is kept**: a 0600 session stays 0600 (new files get the umask's default);
* **symbolic links are written through**: the file the link points to is replaced (its
  backup sits next to it), the link stays a link;
* **a read-only file is not overwritten** unless the caller says so (``overwrite_readonly``,
  after asking the user): :class:`ReadOnlyFile`; the file keeps its read-only mode afterwards;
* **leftover temporary files** of an interrupted save (a killed process cannot clean up) are
  removed by the next save of the same file, and :func:`remove_leftover_temp_files` cleans a
  folder when the app starts.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import struct
import time
from collections.abc import Callable
from typing import BinaryIO

from .regular_files import FileRefused, describe_kind, open_regular

__all__ = ["ReadOnlyFile", "FileRefused", "open_session_file", "check_zip_directory", "write_atomically",
           "remove_leftover_temp_files", "backup_path", "session_target", "TEMP_SUFFIX"]

TEMP_SUFFIX = ".tmp"
_TEMP_NAME = r"\.{base}(\.bak)?\.[0-9a-f]{{8}}\.tmp\Z"  # .lab.convlab.1f2e3d4c.tmp, .lab.convlab.bak.<hex>.tmp
_SESSION_TEMP = re.compile(_TEMP_NAME.format(base=r".+\.convlab"))
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_EOCD_SIZE, _LOCATOR_SIZE, _EOCD64_SIZE = 22, 20, 56
_MAX_COMMENT = 65535


class ReadOnlyFile(FileRefused):
    """Saving would replace a read-only file, and the caller did not say to (``overwrite_readonly``)."""


# =========================================================================== reading

def open_session_file(path: str | os.PathLike, max_bytes: int) -> BinaryIO:
    """``path`` opened for reading: a regular file of at most ``max_bytes`` (FileRefused, OSError)."""
    return open_regular(path, max_bytes=max_bytes)


def check_zip_directory(f: BinaryIO, *, max_entries: int, max_directory_bytes: int) -> None:
    """Refuse, before ``zipfile`` parses it, a central directory with too many entries or bytes.

    Reads the end-of-central-directory record the way ``zipfile`` finds it (the last 22 bytes, else
    the last one within the 64 KB a comment may take; its ZIP64 record when it has one). A file
    without such a record is left for ``zipfile`` to report. Raises :class:`FileRefused` with the
    numbers.
    """
    size = os.fstat(f.fileno()).st_size
    if size < _EOCD_SIZE:
        return
    f.seek(size - _EOCD_SIZE)
    tail = f.read(_EOCD_SIZE)
    if tail[:4] == _EOCD and tail[-2:] == b"\x00\x00":
        where = size - _EOCD_SIZE
    else:
        start = max(size - _EOCD_SIZE - _MAX_COMMENT, 0)
        f.seek(start)
        data = f.read(size - start)
        found = data.rfind(_EOCD)
        if found < 0 or len(data) - found < _EOCD_SIZE:
            return
        tail, where = data[found:found + _EOCD_SIZE], start + found
    entries, directory = struct.unpack_from("<HI", tail, 10)
    if where >= _LOCATOR_SIZE:  # ZIP64: the real counts are in the record before the locator
        f.seek(where - _LOCATOR_SIZE)
        locator = f.read(_LOCATOR_SIZE)
        if locator[:4] == _EOCD64_LOCATOR and where >= _LOCATOR_SIZE + _EOCD64_SIZE:
            f.seek(where - _LOCATOR_SIZE - _EOCD64_SIZE)
            record = f.read(_EOCD64_SIZE)
            if record[:4] == _EOCD64:
                entries, directory = struct.unpack_from("<QQ", record, 32)
    if entries > max_entries:
        raise FileRefused(f"holds {entries:,} entries, more than the limit of {max_entries:,}")
    if directory > max_directory_bytes:
        raise FileRefused(f"has a {directory:,}-byte zip directory, more than the {max_directory_bytes:,} "
                          f"bytes {max_entries:,} entries may take")


# =========================================================================== writing

def session_target(path: str | os.PathLike) -> str:
    """The file a save of ``path`` replaces: ``path`` itself, or where its symbolic link(s) lead."""
    path = os.fspath(path)
    return os.path.realpath(path) if os.path.islink(path) else path


def backup_path(path: str | os.PathLike) -> str:
    """Where a save keeps the previous version of ``path``: ``name.convlab.bak`` next to it (next to
    the file a symbolic link points to, for a link)."""
    return session_target(path) + ".bak"


def _temp_name(folder: str, base: str) -> str:
    return os.path.join(folder, f".{base}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def _create_temp(folder: str, base: str) -> tuple[str, int]:
    for _ in range(100):
        tmp = _temp_name(folder, base)
        try:
            # 0o666 through the umask: a new session gets the permissions of any new file
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file in {folder}")


def _keep_backup(path: str) -> None:
    """Make ``path.bak`` the current file (a hard link when possible, else a copy); path stays in place."""
    if not os.path.isfile(path):
        return
    folder, base = os.path.split(os.path.abspath(path))
    tmp = _temp_name(folder, base + ".bak")
    try:
        try:
            os.link(path, tmp)
        except OSError:  # no hard links here (FAT, some network shares): copy
            shutil.copy2(path, tmp)
        os.replace(tmp, path + ".bak")
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except OSError:
        return False


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder; its os.replace is durable enough
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_only(path: str, st: os.stat_result) -> bool:
    """No write permission bit at all, or none for us (root may write anything: the bits decide)."""
    return not st.st_mode & 0o222 or not os.access(path, os.W_OK)


def _remove_leftovers(folder: str, base: str) -> list[str]:
    """Temporary files an interrupted save of ``base`` left in ``folder`` (removed; their names)."""
    pattern = re.compile(_TEMP_NAME.format(base=re.escape(base)))
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [n for n in names if pattern.match(n) and _remove(os.path.join(folder, n))]


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], None], *,
                     overwrite_readonly: bool = False) -> None:
    """Replace the file ``path`` leads to with what ``write(file)`` writes, atomically (see the module).

    Raises :class:`ReadOnlyFile` for a read-only target unless ``overwrite_readonly``,
    :class:`FileRefused` when the target is a folder or another non-regular file, ``OSError`` for
    disk errors (the previous file is then unchanged and no temporary file is left); whatever
    ``write`` raises passes through after the same clean-up.
    """
    target = session_target(path)
    folder, base = os.path.split(os.path.abspath(target))
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    read_only = False
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused(f"is {describe_kind(st.st_mode)}, not a file a session can be saved over")
        read_only = _read_only(target, st)
        if read_only and not overwrite_readonly:
            raise ReadOnlyFile("is read-only; it was not overwritten (save it under another name, or confirm "
                               "that it may be replaced)")
    _remove_leftovers(folder, base)
    tmp, fd = _create_temp(folder, base)
    try:
        if st is not None and hasattr(os, "fchmod"):
            os.fchmod(fd, stat.S_IMODE(st.st_mode) & 0o777)  # the file keeps its permissions
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        _keep_backup(target)
        if read_only and os.name == "nt":  # Windows cannot replace a read-only file
            os.chmod(target, stat.S_IWRITE | stat.S_IREAD)
        os.replace(tmp, target)
        if st is not None and not hasattr(os, "fchmod"):
            os.chmod(target, stat.S_IMODE(st.st_mode))
    except BaseException:
        _remove(tmp)
        raise
    _fsync_folder(folder)


def remove_leftover_temp_files(folder: str | os.PathLike, *, min_age: float = 60.0) -> list[str]:
    """Remove the temporary files interrupted saves left in ``folder``; the names removed.

    Only names a session save makes (``.NAME.convlab.<8 hex>.tmp``, ``.NAME.convlab.bak.<8 hex>.tmp``)
    last modified more than ``min_age`` seconds ago (a save in progress in another window is left
    alone). For the app to call at start for the folders it knows; a save cleans up after its own
    file anyway.
    """
    folder = os.fspath(folder)
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        if not _SESSION_TEMP.match(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and now - st.st_mtime >= min_age and _remove(entry.path):
            removed.append(entry.name)
    return removed
