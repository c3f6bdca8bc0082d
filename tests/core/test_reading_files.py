"""Reading never blocks or swallows the disk: FIFOs, devices, folders and huge files are refused
before anything is read (images, sessions, IDX files, videos)."""

import os
import threading

import pytest

from convlab.core import images, session
from convlab.core.data import idx
from convlab.core.data.idx import IDXError, read_idx
from convlab.core.images import ImageError, read_image
from convlab.core.session import SessionError
from convlab.core.sources import SourceError, VideoFileSource

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")


def _bounded(call, fifo):
    """Run ``call()`` in a thread; if it is still blocked after 10 s, unblock it by opening the
    FIFO's other end, and fail. Returns the exception it raised (None if it returned)."""
    outcome: dict = {}

    def run():
        try:
            call()
        except Exception as exc:  # the error is what the test looks at
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # a writer that closes at once: EOF
        except OSError:
            pass
        thread.join(10)
        pytest.fail(f"{call} blocked on the FIFO {fifo}")
    return outcome.get("error")


@pytest.fixture
def fifo(tmp_path, request):
    path = tmp_path / request.param
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("fifo", ["photo.png"], indirect=True)
def test_an_image_fifo_is_refused_without_blocking(fifo):
    for call in (lambda: read_image(fifo), lambda: images.image_info(fifo)):
        error = _bounded(call, fifo)
        assert isinstance(error, ImageError) and "photo.png is a FIFO (named pipe), not a regular file" in str(error)


@pytest.mark.parametrize("fifo", ["lab.convlab"], indirect=True)
def test_a_session_fifo_is_refused_without_blocking(fifo):
    error = _bounded(lambda: session.load(fifo), fifo)
    assert isinstance(error, SessionError) and "FIFO" in str(error)


@pytest.mark.parametrize("fifo", ["train-images-idx3-ubyte"], indirect=True)
def test_an_idx_fifo_is_refused_without_blocking(fifo):
    error = _bounded(lambda: read_idx(fifo), fifo)
    assert isinstance(error, IDXError) and "FIFO" in str(error)


@pytest.mark.parametrize("fifo", ["clip.mp4"], indirect=True)
def test_a_video_fifo_is_refused_without_blocking(fifo):
    error = _bounded(lambda: VideoFileSource(fifo), fifo)
    assert isinstance(error, SourceError) and "FIFO" in str(error)


def test_a_character_device_is_refused():
    # /dev/null, not /dev/zero: code that reads devices would read /dev/zero until memory runs out
    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null")
    with pytest.raises(ImageError, match="character device"):
        read_image("/dev/null")
    with pytest.raises(IDXError, match="character device"):
        read_idx("/dev/null")


def _sparse(path, size, head=b""):
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)  # no disk space used: the file is a hole
    return path


def _bytes_read() -> int | None:
    """Bytes this process has read with read() system calls so far (Linux), else None."""
    try:
        with open("/proc/self/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("rchar"))
    except (OSError, StopIteration):
        return None


def test_an_image_file_larger_than_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_IMAGE_FILE_BYTES", 16_000_000, raising=False)
    path = _sparse(tmp_path / "junk.png", 48_000_000)
    before = _bytes_read()
    with pytest.raises(ImageError, match=r"junk.png is 48 MB .* more than the 16 MB"):
        read_image(path)
    if before is not None:
        assert _bytes_read() - before < 1_000_000


def test_junk_is_refused_after_reading_its_first_bytes_only(tmp_path):
    path = _sparse(tmp_path / "junk.png", 40_000_000, head=b"\x00JUNK" * 10)
    before = _bytes_read()
    with pytest.raises(ImageError, match="not an image ConvLab can read"):
        read_image(path)
    if before is not None:
        assert _bytes_read() - before < 1_000_000


def test_a_3_gb_session_idx_or_video_file_is_refused_without_reading_it(tmp_path):
    big = 3 * 2**30
    before = _bytes_read()
    with pytest.raises(SessionError, match=r"3.22 GB .* more than"):
        session.load(_sparse(tmp_path / "huge.convlab", big))
    with pytest.raises(IDXError, match=r"3.22 GB .* more than"):
        read_idx(_sparse(tmp_path / "huge-idx3-ubyte", big, head=b"\x00\x00\x08\x03"))
    if before is not None:
        assert _bytes_read() - before < 1_000_000


def test_an_idx_file_shorter_than_its_header_says_is_refused_before_reading_it(tmp_path, monkeypatch):
    monkeypatch.setattr(idx, "MAX_DATA_BYTES", 2**30)
    header = b"\x00\x00\x08\x03" + (1000).to_bytes(4, "big") + (1000).to_bytes(4, "big") + (1000).to_bytes(4, "big")
    path = _sparse(tmp_path / "short-idx3-ubyte", 200_000_000, head=header)
    before = _bytes_read()
    with pytest.raises(IDXError, match="1000 x 1000 x 1000 = 1000000000 bytes .*truncated"):
        read_idx(path)
    if before is not None:
        assert _bytes_read() - before < 1_000_000


def test_regular_files_module_reports_what_a_path_is(tmp_path):
    from convlab.core import regular_files

    with pytest.raises(regular_files.FileRefused, match="is a folder"):
        regular_files.read_regular(tmp_path, max_bytes=10)
    (tmp_path / "small").write_bytes(b"12345")
    assert regular_files.read_regular(tmp_path / "small", max_bytes=5) == b"12345"
    with pytest.raises(regular_files.FileRefused, match="5 bytes"):
        regular_files.read_regular(tmp_path / "small", max_bytes=4)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "small")
    assert regular_files.check_regular(link) == 5  # a link to a regular file is fine
