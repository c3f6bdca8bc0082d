"""Downloading the datasets of the catalogue: progress, cancel, resume, mirrors, checksums.

    folder = download_dataset("mnist", progress=print, cancel=threading.Event())

Each file is fetched into ``NAME.part`` beside its final place, from the first mirror that works.
A partial file is resumed with an HTTP ``Range`` request (on any mirror: they serve the same bytes);
a server that ignores the range sends the whole file again. A finished file must have the size and
SHA-256 of the catalogue, or it is deleted and the next mirror is tried; only then is it renamed to
its final name. Files already there and valid are reused: a small ``verified.json`` beside them
remembers which (by size and modification time), so they are hashed once.

Errors are :class:`DownloadError` (the message says what failed, with the numbers and what to do);
:class:`NoConnection` when no mirror could be reached at all, :class:`ChecksumMismatch` when every
mirror served a file with the wrong SHA-256, :class:`DownloadCancelled` when the cancel flag was
set (the partial file stays, for the next attempt to resume).

Files go to the application-data folder (:func:`datasets_root`), never into the checkout.
Standard library only (urllib); runs in any thread, reports through a plain callback.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from convlab import __version__

from .remote import RemoteDataset, RemoteFile, remote_dataset

__all__ = [
    "DownloadError",
    "NoConnection",
    "ChecksumMismatch",
    "DownloadCancelled",
    "DownloadProgress",
    "CancelFlag",
    "data_home",
    "datasets_root",
    "dataset_folder",
    "missing_files",
    "partial_bytes",
    "is_downloaded",
    "download_dataset",
    "download_file",
]

CHUNK = 64 * 1024
TIMEOUT = 30.0  # seconds for a connection or a read to answer
STAMP = "verified.json"
USER_AGENT = f"ConvLab/{__version__} (dataset download; +https://github.com/)"
ENV_DATA_DIR = "CONVLAB_DATA_DIR"  # overrides the application-data folder (tests, portable setups)


class DownloadError(Exception):
    """A download that failed; the message is meant for the user."""


class NoConnection(DownloadError):
    """No mirror could be reached (no network, no DNS, refused connections)."""


class ChecksumMismatch(DownloadError):
    """Every mirror served the file with a SHA-256 other than the catalogue's."""


class DownloadCancelled(DownloadError):
    """The cancel flag was set; partial files stay and the next download resumes them."""


@dataclass(frozen=True)
class DownloadProgress:
    """One report: the dataset's bytes on disk now, of its total, and the recent speed."""

    dataset: str  # title, "MNIST"
    file: str  # the file being fetched
    file_index: int  # 1-based
    file_count: int
    done: int  # bytes of the whole dataset present (valid files and the current partial one)
    total: int  # bytes of the whole dataset
    speed: float  # bytes per second over the last few seconds (0.0 before it is known)
    url: str = ""  # where the current file comes from ("" when reused from disk)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[DownloadProgress], None]


# --------------------------------------------------------------------------- where files go


def data_home() -> Path:
    """ConvLab's application-data folder: $CONVLAB_DATA_DIR, else the platform's usual place.

    Linux: ``$XDG_DATA_HOME/ConvLab`` (``~/.local/share/ConvLab``); macOS:
    ``~/Library/Application Support/ConvLab``; Windows: ``%LOCALAPPDATA%\\ConvLab``.
    """
    override = os.environ.get(ENV_DATA_DIR)
    if override:
        return Path(override).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.environ.get("APPDATA") or str(home / "AppData" / "Local")
        return Path(base) / "ConvLab"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "ConvLab"
    xdg = os.environ.get("XDG_DATA_HOME")
    base_path = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".local" / "share"
    return base_path / "ConvLab"


def datasets_root() -> Path:
    return data_home() / "datasets"


def dataset_folder(dataset: str | RemoteDataset, root: str | os.PathLike | None = None) -> Path:
    """Where a dataset's files are kept: ``<root>/<key>`` (root: :func:`datasets_root`)."""
    ds = dataset if isinstance(dataset, RemoteDataset) else remote_dataset(dataset)
    return (Path(root) if root is not None else datasets_root()) / ds.key


# --------------------------------------------------------------------------- checking files on disk


def _sha256(path: Path, cancel=None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                return h.hexdigest()
            h.update(block)
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled("download cancelled")


def _read_stamps(folder: Path) -> dict:
    try:
        data = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_stamp(folder: Path, file: RemoteFile, path: Path) -> None:
    stamps = _read_stamps(folder)
    st = path.stat()
    stamps[file.name] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": file.sha256}
    tmp = folder / (STAMP + ".tmp")
    try:
        tmp.write_text(json.dumps(stamps, indent=1), encoding="utf-8")
        os.replace(tmp, folder / STAMP)
    except OSError:
        pass  # only a cache: the file is hashed again next time


def _is_valid(folder: Path, file: RemoteFile, cancel=None, check_sums: bool = True) -> bool:
    path = folder / file.name
    try:
        st = path.stat()
    except OSError:
        return False
    if st.st_size != file.size:
        return False
    stamp = _read_stamps(folder).get(file.name)
    if (isinstance(stamp, dict) and stamp.get("size") == st.st_size and stamp.get("mtime_ns") == st.st_mtime_ns
            and stamp.get("sha256") == file.sha256):
        return True
    if not check_sums:
        return True
    if _sha256(path, cancel) != file.sha256:
        return False
    _write_stamp(folder, file, path)
    return True


def missing_files(dataset: str | RemoteDataset, folder: str | os.PathLike | None = None,
                  check_sums: bool = True) -> list[RemoteFile]:
    """The dataset's files not yet in ``folder`` with the right size and SHA-256.

    ``check_sums=False`` only compares sizes for files not verified before (instant, for a status line).
    """
    ds = dataset if isinstance(dataset, RemoteDataset) else remote_dataset(dataset)
    where = Path(folder) if folder is not None else dataset_folder(ds)
    return [f for f in ds.files if not _is_valid(where, f, check_sums=check_sums)]


def partial_bytes(dataset: str | RemoteDataset, folder: str | os.PathLike | None = None) -> int:
    """Bytes waiting in ``.part`` files, which the next download resumes."""
    ds = dataset if isinstance(dataset, RemoteDataset) else remote_dataset(dataset)
    where = Path(folder) if folder is not None else dataset_folder(ds)
    total = 0
    for f in ds.files:
        try:
            total += (where / (f.name + ".part")).stat().st_size
        except OSError:
            pass
    return total


def is_downloaded(dataset: str | RemoteDataset, folder: str | os.PathLike | None = None) -> bool:
    return not missing_files(dataset, folder)


# --------------------------------------------------------------------------- one file


class _Speed:
    """Bytes per second over the last few seconds."""

    def __init__(self, window: float = 3.0):
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()

    def add(self, total_bytes: int) -> float:
        now = time.monotonic()
        self.samples.append((now, total_bytes))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.popleft()
        t0, b0 = self.samples[0]
        return (total_bytes - b0) / (now - t0) if now > t0 else 0.0


class _Attempt(Exception):
    """One mirror failed for one file; ``reached`` tells whether the server answered at all."""

    def __init__(self, text: str, reached: bool, mismatch: bool = False):
        super().__init__(text)
        self.reached = reached
        self.mismatch = mismatch


def _is_connection_problem(e: BaseException) -> bool:
    """True when the server was never reached (no network, no name, refused, timed out)."""
    reason = e.reason if isinstance(e, urllib.error.URLError) else e
    if isinstance(reason, ssl.SSLError):  # a server answered, its TLS did not work out
        return False
    return isinstance(reason, (socket.gaierror, ConnectionError, TimeoutError, OSError))


def _content_range_start(value: str | None) -> int | None:
    """The first byte of 'bytes 100-199/200', or None."""
    if not value or not value.startswith("bytes "):
        return None
    try:
        return int(value[6:].split("-", 1)[0])
    except ValueError:
        return None


def _fetch(url: str, part: Path, file: RemoteFile, on_bytes: Callable[[int, str], None], cancel,
           timeout: float) -> None:
    """Bring ``part`` to the file's full size from ``url``, resuming what is there. Raises _Attempt."""
    have = part.stat().st_size if part.exists() else 0
    if have > file.size:
        part.unlink()
        have = 0
    if have == file.size:
        return
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the range starts at or past the end: what we have may be all of it
            e.close()
            return
        text = f"{url}: the server answered {e.code} {e.reason}"
        e.close()
        raise _Attempt(text, reached=True) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        reason = getattr(e, "reason", e)
        raise _Attempt(f"{url}: could not connect ({reason})", reached=not _is_connection_problem(e)) from None
    with response:
        status = response.status
        if status == 206 and _content_range_start(response.headers.get("Content-Range")) == have:
            mode = "ab"
        elif status == 200:
            have, mode = 0, "wb"  # the server ignored the range (or there was none): start again
        else:
            raise _Attempt(f"{url}: unexpected answer {status} {response.reason}", reached=True)
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and have + int(length) != file.size:
            raise _Attempt(
                f"{url}: the server offers {have + int(length):,} bytes of {file.name}, the catalogue says "
                f"{file.size:,}", reached=True)
        received = 0
        with open(part, mode) as out, _closing_on_cancel(cancel, _socket_of(response)):
            on_bytes(have, url)
            try:
                while True:
                    _check_cancel(cancel, have, file)
                    block = response.read1(CHUNK)  # whatever has arrived, up to CHUNK
                    if not block:
                        _check_cancel(cancel, have, file)
                        break
                    if have + len(block) > file.size:
                        raise _Attempt(f"{url}: the server sent more than the {file.size:,} bytes of "
                                       f"{file.name}", reached=True)
                    out.write(block)
                    have += len(block)
                    received += len(block)
                    on_bytes(have, url)
            except (OSError, ValueError, http.client.HTTPException) as e:
                out.flush()
                _check_cancel(cancel, have, file)
                what = f"no data for {timeout:.0f} s" if isinstance(e, TimeoutError) else f"{type(e).__name__}: {e}"
                raise _Attempt(f"{url}: the connection was lost after {have:,} of {file.size:,} bytes ({what})",
                               reached=received > 0 or bool(have)) from None
    if have < file.size:
        raise _Attempt(f"{url}: the connection ended after {have:,} of {file.size:,} bytes", reached=True)


def _check_cancel(cancel, have: int, file: RemoteFile) -> None:
    if cancel is not None and cancel.is_set():
        raise DownloadCancelled(f"download cancelled; {have:,} of {file.size:,} bytes of {file.name} are kept, "
                                "and the next download resumes there")


def _socket_of(response):
    """The socket under an HTTP response (None if this Python hides it)."""
    raw = getattr(getattr(response, "fp", None), "raw", None)
    sock = getattr(raw, "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


@contextlib.contextmanager
def _closing_on_cancel(cancel, sock):
    """While reading, a CancelFlag that is set shuts the socket down, so a read waiting on a silent
    server returns at once (a plain threading.Event is only looked at between reads)."""
    watch = getattr(cancel, "watch", None)
    if watch is None or sock is None:
        yield
        return

    def close() -> None:
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: TLS state stays to the reader
        except OSError:
            pass

    with watch(close):
        yield


class CancelFlag:
    """A cancel flag for :func:`download_dataset`: like ``threading.Event``, and setting it also wakes a
    read that waits on a silent server (the connection is shut down; what arrived is kept)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._closers: list[Callable[[], None]] = []

    def set(self) -> None:
        self._event.set()
        with self._lock:
            closers = list(self._closers)
        for close in closers:
            close()

    def is_set(self) -> bool:
        return self._event.is_set()

    @contextlib.contextmanager
    def watch(self, close: Callable[[], None]):
        with self._lock:
            self._closers.append(close)
        try:
            if self._event.is_set():
                close()
            yield
        finally:
            with self._lock:
                self._closers.remove(close)


def download_file(urls: list[str], folder: Path, file: RemoteFile, *, on_bytes: Callable[[int, str], None],
                  cancel=None, timeout: float = TIMEOUT) -> Path:
    """Fetch one file into ``folder`` from the first of ``urls`` that serves it whole and valid.

    ``on_bytes(bytes_of_this_file_on_disk, url)`` is called as data arrives. Returns the final path.
    """
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / file.name
    part = folder / (file.name + ".part")
    failures: list[_Attempt] = []
    for url in urls:
        _check_cancel(cancel, part.stat().st_size if part.exists() else 0, file)
        try:
            _fetch(url, part, file, on_bytes, cancel, timeout)
        except _Attempt as e:
            failures.append(e)
            continue
        digest = _sha256(part, cancel)
        if digest != file.sha256:
            part.unlink(missing_ok=True)
            failures.append(_Attempt(f"{url}: {file.name} has SHA-256 {digest}, the catalogue says {file.sha256}; "
                                     "the file was deleted", reached=True, mismatch=True))
            continue
        os.replace(part, final)
        _write_stamp(folder, file, final)
        return final
    details = "\n".join(f"  - {e}" for e in failures)
    if failures and all(e.mismatch for e in failures):
        raise ChecksumMismatch(f"{file.name} was refused: its SHA-256 is not the known one on any mirror (a damaged "
                               f"or altered file); nothing was kept.\n{details}")
    kept = part.stat().st_size if part.exists() else 0
    resume = (f" {kept:,} of {file.size:,} bytes are kept in {part.name}: download again to resume." if kept else "")
    if failures and not any(e.reached for e in failures):
        raise NoConnection(f"could not reach any mirror for {file.name}.{resume}\n{details}")
    raise DownloadError(f"could not download {file.name} from any mirror.{resume}\n{details}")


# --------------------------------------------------------------------------- a whole dataset


def download_dataset(dataset: str | RemoteDataset, folder: str | os.PathLike | None = None, *,
                     progress: ProgressCallback | None = None, cancel: CancelFlag | threading.Event | None = None,
                     timeout: float = TIMEOUT) -> Path:
    """Make sure every file of ``dataset`` is in ``folder`` (default :func:`dataset_folder`), valid.

    Valid files already there are reused; the others are downloaded. Returns the folder.
    """
    ds = dataset if isinstance(dataset, RemoteDataset) else remote_dataset(dataset)
    where = Path(folder) if folder is not None else dataset_folder(ds)
    speed = _Speed()
    done_before = 0  # bytes of the files finished so far
    count = len(ds.files)

    def report(index: int, file: RemoteFile, on_disk: int, url: str) -> None:
        if progress is not None:
            done = done_before + on_disk
            progress(DownloadProgress(ds.title, file.name, index, count, done, ds.total_bytes, speed.add(done), url))

    for index, file in enumerate(ds.files, 1):
        if _is_valid(where, file, cancel):
            done_before += file.size
            report(index, file, 0, "")
            continue
        def on_bytes(on_disk: int, url: str, i: int = index, f: RemoteFile = file) -> None:
            report(i, f, on_disk, url)

        try:
            download_file(ds.urls(file), where, file, cancel=cancel, timeout=timeout, on_bytes=on_bytes)
        except NoConnection as e:
            raise NoConnection(
                f"no connection: put {ds.files_text()} in {where}, or choose a folder that holds them.\n"
                f"({str(e).splitlines()[0]})") from None
        done_before += file.size
    return where
