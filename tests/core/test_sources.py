"""Frame sources: video files, cameras (a video file or a fake plays the camera), image folders,
still images.  No real camera, no network, no sleeps: every wait is on an event or a condition."""

from __future__ import annotations

import itertools
import threading

import cv2
import numpy as np
import pytest
from video_fixtures import frame_number, numbered_frame, write_numbered_video

from convlab.core.sources import (
    THREAD_PREFIX,
    CameraSource,
    Frame,
    ImageFolderSource,
    ImageSource,
    SourceError,
    VideoFileSource,
    describe_no_camera,
    list_cameras,
    live_source_threads,
    live_sources,
    stop_all_sources,
)

WAIT = 5.0  # generous upper bound for things that normally take milliseconds
QUIET = 0.2  # how long we watch for something that must NOT happen
FRAMES = 20


# --- helpers ---------------------------------------------------------------------------------

class FakeCapture:
    """The cv2.VideoCapture interface with a known picture; counts reads and releases.

    ``fail_after``: reads after that many return (False, None) (the camera vanished).
    ``close_after``: isOpened() turns False after that many reads.
    ``gate``: a Semaphore each read takes a permit from (to step reads or hold one in progress).
    """

    def __init__(self, frame=None, *, opened=True, fail_after=None, close_after=None,
                 raise_after=None, gate=None):
        self.frame = numbered_frame(7) if frame is None else frame
        self.opened = opened
        self.fail_after = fail_after
        self.close_after = close_after
        self.raise_after = raise_after
        self.gate = gate
        self.reads = 0
        self.release_count = 0
        self.props = {}
        self.reading = False
        self.read_entered = threading.Event()
        self.problems = []

    def isOpened(self):
        if self.release_count:
            return False
        return self.opened and (self.close_after is None or self.reads < self.close_after)

    def read(self):
        if self.release_count:
            self.problems.append("read after release")
        self.reading = True
        try:
            self.read_entered.set()
            if self.gate is not None and not self.gate.acquire(timeout=WAIT):
                return False, None
            self.reads += 1
            if self.raise_after is not None and self.reads > self.raise_after:
                raise cv2.error("the driver fell over")
            if self.fail_after is not None and self.reads > self.fail_after:
                return False, None
            return True, self.frame.copy()
        finally:
            self.reading = False

    def set(self, prop, value):
        self.props[prop] = value
        return True

    def get(self, prop):
        return float(self.props.get(prop, 0.0))

    def release(self):
        if self.reading:
            self.problems.append("released during a read")
        self.release_count += 1


def factory_of(capture):
    return lambda index: capture


class Recorder:
    """Collects on_frame calls (from the reader thread) and on_end."""

    def __init__(self, source=None):
        self.frames: list[Frame] = []
        self.cond = threading.Condition()
        self.ended = threading.Event()
        if source is not None:
            source.on_frame = self.on_frame
            source.on_end = self.on_end

    def on_frame(self, frame):
        with self.cond:
            self.frames.append(frame)
            self.cond.notify_all()

    def on_end(self, source):
        self.ended.set()

    def wait_for(self, predicate, timeout=WAIT):
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self.frames), timeout)

    def numbers(self):
        with self.cond:
            return [frame_number(f.image) for f in self.frames]


def asymmetric_bgr(h=24, w=32):
    yy, xx = np.mgrid[0:h, 0:w]
    return np.dstack([xx * 7 % 256, yy * 9 % 256, (xx * yy) % 256]).astype(np.uint8)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_numbered_video(tmp_path_factory.mktemp("video"), frames=FRAMES, fps=60.0)


@pytest.fixture(autouse=True)
def no_source_outlives_its_test():
    yield
    assert stop_all_sources(timeout=WAIT)
    assert live_source_threads() == []
    assert live_sources() == []


def write_png(path, image_rgb_or_gray):
    img = image_rgb_or_gray
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    path.write_bytes(buf.tobytes())


# --- video files -------------------------------------------------------------------------------

def test_the_video_fixture_numbers_its_frames(video):
    for n in (0, 1, 37, 200, 255):
        assert frame_number(numbered_frame(n)) == n
    cap = cv2.VideoCapture(str(video))
    try:
        ok, first = cap.read()
    finally:
        cap.release()
    assert ok and frame_number(first) == 0


def test_a_video_plays_in_order_at_its_frame_rate_and_ends(video):
    source = VideoFileSource(video, realtime=True)
    assert (source.fps, source.frame_count, source.size) == (60.0, FRAMES, (96, 64))
    rec = Recorder(source)
    seen = []
    fps_while_running = None
    with source:
        last = -1
        while (frame := source.wait_frame(last, timeout=WAIT)) is not None:
            seen.append(frame)
            last = frame.index
            if len(seen) == 10:
                fps_while_running = source.fps_measured
        assert rec.ended.wait(WAIT)
    assert len(seen) >= 2
    assert all(a.index < b.index and a.position < b.position for a, b in itertools.pairwise(seen))
    assert all(frame_number(f.image) == f.position for f in seen)
    assert seen[-1].position == FRAMES - 1
    assert all(f.image.shape == (64, 96, 3) and f.image.dtype == np.uint8 for f in seen)
    assert all(not f.image.flags.writeable for f in seen)
    # on_frame saw every frame, in order; pacing spread them over (FRAMES - 1) / 60 s
    assert rec.numbers() == list(range(FRAMES))
    span = rec.frames[-1].timestamp - rec.frames[0].timestamp
    assert span >= 0.8 * (FRAMES - 1) / 60.0
    assert fps_while_running is not None and 0 < fps_while_running < 120
    assert source.ended and not source.running
    assert source.error.startswith("the video ended")
    assert source.frames_read == FRAMES


def test_newest_frame_wins_when_nobody_takes_frames(video):
    source = VideoFileSource(video, realtime=False)
    rec = Recorder()
    source.on_end = rec.on_end
    source.start()
    assert rec.ended.wait(WAIT)
    assert source.frames_read == FRAMES
    assert source.frames_dropped == FRAMES - 1  # all but the last were overwritten untaken
    newest = source.latest()
    assert newest.position == FRAMES - 1 and frame_number(newest.image) == FRAMES - 1
    assert source.latest() is newest  # after the end the last frame stays
    assert source.wait_frame(newest.index, timeout=WAIT) is None  # ended: no waiting
    assert source.frames_dropped == FRAMES - 1


def test_only_frames_nobody_took_count_as_dropped():
    gate = threading.Semaphore(0)  # one permit = one read
    fake = FakeCapture(gate=gate)
    source = CameraSource(0, capture_factory=factory_of(fake))
    rec = Recorder(source)
    with source:
        last = -1
        for _ in range(5):  # a consumer that keeps up: nothing is dropped
            gate.release()
            frame = source.wait_frame(last, timeout=WAIT)
            assert frame.index == last + 1
            last = frame.index
        assert source.frames_dropped == 0
        gate.release(3)  # three reads while nobody looks
        assert rec.wait_for(lambda frames: len(frames) == 8)
        assert source.frames_read == 8 and source.frames_dropped == 2
        assert source.latest().index == 7
        assert source.frames_dropped == 2
        gate.release(100)  # let the reader leave its read when stopping


def test_a_looping_video_starts_again_from_the_first_frame(video):
    source = VideoFileSource(video, loop=True, realtime=False)
    rec = Recorder(source)
    with source:
        assert rec.wait_for(lambda frames: len(frames) >= FRAMES + 3)
        assert source.running and not source.ended and source.error == ""
        assert source.loops >= 1
    numbers = rec.numbers()[:FRAMES + 3]
    assert numbers == list(range(FRAMES)) + [0, 1, 2]
    assert [f.position for f in rec.frames[:FRAMES + 3]] == numbers
    assert not rec.ended.is_set()  # stopped by us, not by itself


def test_opening_a_missing_or_unreadable_video_says_which_file(tmp_path):
    missing = tmp_path / "nowhere.mp4"
    with pytest.raises(SourceError, match="not found") as info:
        VideoFileSource(missing)
    assert str(missing) in str(info.value)
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(b"this is not a video" * 100)
    with pytest.raises(SourceError, match="not a video OpenCV can read"):
        VideoFileSource(garbage)
    with pytest.raises(SourceError, match="folder"):
        VideoFileSource(tmp_path)


def test_a_video_with_a_non_ascii_path_plays_or_says_why(tmp_path):
    folder = tmp_path / "vidéos ü"
    folder.mkdir()
    path = write_numbered_video(folder, frames=3, name="клип")
    try:
        source = VideoFileSource(path, realtime=False)
    except SourceError as exc:  # some OpenCV builds cannot open such names
        assert "non-ASCII" in str(exc)
        return
    rec = Recorder(source)
    with source:
        assert rec.ended.wait(WAIT)
    assert rec.numbers() == [0, 1, 2]


# --- cameras ---------------------------------------------------------------------------------

def test_a_video_file_can_play_the_camera(video):
    source = CameraSource(0, capture_factory=lambda index: cv2.VideoCapture(str(video)),
                          retry_interval=0.0, max_failures=3)
    assert source.actual_size == (96, 64)
    rec = Recorder(source)
    with source:
        assert rec.ended.wait(WAIT)  # the "camera" runs dry at the end of the file
    assert rec.numbers() == list(range(FRAMES))
    assert all(f.position == -1 for f in rec.frames)
    assert source.ended and "camera 0 stopped answering" in source.error
    assert source.frames_read == FRAMES


def test_a_camera_that_vanishes_stops_cleanly_with_a_message():
    fake = FakeCapture(fail_after=5)
    source = CameraSource(2, capture_factory=factory_of(fake), retry_interval=0.0)
    rec = Recorder(source)
    source.start()
    assert rec.ended.wait(WAIT)
    assert source.ended and not source.running
    assert source.error == "camera 2 stopped answering after 10 failed reads in a row (unplugged?)"
    assert source.frames_read == 5 and len(rec.frames) == 5
    assert fake.release_count == 1 and fake.problems == []
    assert source.latest() is rec.frames[-1]  # the last picture stays on screen
    assert source.stop() is True
    assert fake.release_count == 1


def test_a_camera_whose_capture_closes_or_raises_stops_with_a_message():
    closing = FakeCapture(close_after=3)
    source = CameraSource(0, capture_factory=factory_of(closing))
    rec = Recorder(source)
    source.start()
    assert rec.ended.wait(WAIT)
    assert "stopped answering (the capture closed)" in source.error
    assert closing.release_count == 1

    raising = FakeCapture(raise_after=2)
    source = CameraSource(1, capture_factory=factory_of(raising))
    rec = Recorder(source)
    source.start()
    assert rec.ended.wait(WAIT)
    assert source.error.startswith("camera 1: read failed (error: ")
    assert "the driver fell over" in source.error
    assert source.frames_read == 2 and raising.release_count == 1


def test_a_camera_that_does_not_open_raises_and_is_released():
    closed = FakeCapture(opened=False)
    with pytest.raises(SourceError, match="camera 3 did not open"):
        CameraSource(3, capture_factory=factory_of(closed))
    assert closed.release_count == 1

    def broken_factory(index):
        raise RuntimeError("no such device")

    with pytest.raises(SourceError, match="camera 0 could not be opened: no such device"):
        CameraSource(0, capture_factory=broken_factory)
    with pytest.raises(SourceError, match="index"):
        CameraSource(-1, capture_factory=factory_of(FakeCapture()))
    with pytest.raises(SourceError, match="width"):
        CameraSource(0, width=0, capture_factory=factory_of(FakeCapture()))


def test_camera_resolution_and_fps_requests_and_what_the_camera_gave():
    fake = FakeCapture(frame=asymmetric_bgr(24, 32))
    source = CameraSource(0, 320, 240, 15, capture_factory=factory_of(fake))
    assert fake.props == {cv2.CAP_PROP_FRAME_WIDTH: 320, cv2.CAP_PROP_FRAME_HEIGHT: 240,
                          cv2.CAP_PROP_FPS: 15}
    assert source.requested_size == (320, 240) and source.requested_fps == 15
    assert source.actual_size == (320, 240) and source.actual_fps == 15.0  # what the driver said
    with source:
        assert source.wait_frame(timeout=WAIT) is not None
        assert source.actual_size == (32, 24)  # ... and what the frames say wins
    assert fake.release_count == 1


def test_camera_frames_are_always_rgb():
    bgr = asymmetric_bgr()
    for raw, expected in [
        (bgr, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)),
        (bgr[:, :, 0], np.dstack([bgr[:, :, 0]] * 3)),
        (np.dstack([bgr, np.full(bgr.shape[:2], 255, np.uint8)]), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)),
        (bgr.astype(np.uint16) * 257, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)),
    ]:
        fake = FakeCapture(frame=raw)
        with CameraSource(0, capture_factory=factory_of(fake)) as source:
            frame = source.wait_frame(timeout=WAIT)
        assert frame.image.shape == expected.shape and frame.image.dtype == np.uint8
        np.testing.assert_array_equal(frame.image, expected)


def test_list_cameras_reports_the_indexes_that_deliver_a_frame():
    made = []

    def factory(index):
        if index in (0, 2):
            cap = FakeCapture()
        elif index == 1:
            cap = FakeCapture(fail_after=0)  # opens but gives no frame (a metadata node)
        else:
            cap = FakeCapture(opened=False)
        made.append(cap)
        return cap

    assert list_cameras(4, capture_factory=factory) == [0, 2]
    assert len(made) == 4 and all(cap.release_count == 1 for cap in made)


def test_no_camera_gives_an_empty_list_and_a_clear_text():
    assert list_cameras(4, capture_factory=lambda index: FakeCapture(opened=False)) == []
    assert describe_no_camera(4) == (
        "No camera answered (checked indexes 0-3). Connect a camera, close other programs "
        "that use it, or open a video file instead.")
    assert "checked index 0)" in describe_no_camera(1)


def test_a_hanging_camera_probe_does_not_hold_up_the_list():
    release_probe = threading.Event()
    hung = FakeCapture()

    def factory(index):
        if index == 1:
            release_probe.wait(WAIT)  # a driver that takes forever to open
            return hung
        return FakeCapture()

    assert list_cameras(3, timeout_per_index=0.5, capture_factory=factory) == [0, 2]
    release_probe.set()
    for thread in live_source_threads():
        assert thread.name == f"{THREAD_PREFIX}probe-1"
        thread.join(WAIT)
    assert live_source_threads() == []
    assert hung.release_count == 1


# --- controls --------------------------------------------------------------------------------

def test_mirror_flips_frames_and_what_is_on_screen():
    bgr = asymmetric_bgr()
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    fake = FakeCapture(frame=bgr)
    with CameraSource(0, capture_factory=factory_of(fake)) as source:
        plain = source.wait_frame(timeout=WAIT)
        np.testing.assert_array_equal(plain.image, rgb)
        source.mirror = True
        flipped = source.wait_frame(plain.index, timeout=WAIT)
        np.testing.assert_array_equal(flipped.image, np.fliplr(rgb))
        later = source.wait_frame(flipped.index, timeout=WAIT)
        np.testing.assert_array_equal(later.image, np.fliplr(rgb))
        source.mirror = False
        back = source.wait_frame(later.index, timeout=WAIT)
        np.testing.assert_array_equal(back.image, rgb)


def test_mirror_applies_to_a_frozen_picture_and_a_still_image():
    rgb = cv2.cvtColor(asymmetric_bgr(), cv2.COLOR_BGR2RGB)
    source = ImageSource(rgb)
    rec = Recorder(source)
    with source:
        first = source.wait_frame(timeout=WAIT)
        frozen = source.freeze()
        assert frozen is first
        source.mirror = True
        shown = source.latest()
        assert shown.index > first.index
        np.testing.assert_array_equal(shown.image, np.fliplr(rgb))
        assert rec.frames[-1] is shown  # the view hears about it


def test_freeze_holds_the_frame_and_parks_the_reader(video):
    source = VideoFileSource(video, loop=True, realtime=False)
    rec = Recorder(source)
    with source:
        assert source.wait_frame(timeout=WAIT) is not None
        frozen = source.freeze()
        assert source.frozen and frozen is not None
        assert source.wait_parked(WAIT)
        read_while_frozen = source.frames_read
        assert source.wait_frame(frozen.index, timeout=QUIET) is None
        assert source.latest() is frozen and source.latest() is frozen
        assert source.frames_read == read_while_frozen
        heard = len(rec.frames)
        source.unfreeze()
        assert not source.frozen
        newer = source.wait_frame(frozen.index, timeout=WAIT)
        assert newer is not None and newer.index > frozen.index
        # the video continues from where it was frozen
        assert rec.wait_for(lambda frames: len(frames) > heard)
        assert rec.frames[heard].position == (frozen.position + 1) % FRAMES


def test_freeze_before_the_first_frame_holds_the_first_one():
    fake = FakeCapture()
    source = CameraSource(0, capture_factory=factory_of(fake))
    assert source.freeze() is None
    with source:
        first = source.wait_frame(timeout=WAIT)
        assert source.wait_parked(WAIT)
        assert source.frames_read == 1 and source.latest() is first


def test_pause_parks_the_reader_and_resume_continues():
    fake = FakeCapture()
    with CameraSource(0, capture_factory=factory_of(fake)) as source:
        last = source.wait_frame(timeout=WAIT)
        source.pause()
        assert source.paused and source.wait_parked(WAIT)
        reads = fake.reads
        read_count = source.frames_read
        shown = source.latest()
        assert source.wait_frame(shown.index, timeout=QUIET) is None
        assert fake.reads == reads and source.frames_read == read_count
        assert source.fps_measured == 0.0
        assert source.running
        source.resume()
        newer = source.wait_frame(shown.index, timeout=WAIT)
        assert newer is not None and newer.index > last.index
        assert source.frames_read > read_count


def test_a_source_started_paused_reads_nothing_until_resumed(video):
    source = VideoFileSource(video, realtime=False)
    rec = Recorder(source)
    source.pause()
    with source:
        assert source.wait_parked(WAIT)
        assert source.frames_read == 0 and source.latest() is None
        source.resume()
        assert source.wait_frame(timeout=WAIT) is not None
        assert rec.wait_for(lambda frames: len(frames) >= 1)
        assert rec.frames[0].position == 0


def test_snapshot_writes_a_png_of_the_frame_even_with_a_non_ascii_name(tmp_path):
    bgr = asymmetric_bgr()
    with CameraSource(0, capture_factory=factory_of(FakeCapture(frame=bgr))) as source:
        source.wait_frame(timeout=WAIT)
        frozen = source.freeze()
        path = source.snapshot(tmp_path / "снимок é.png")
    assert path.exists()
    decoded = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), frozen.image)


def test_snapshot_problems_are_source_errors(tmp_path):
    source = CameraSource(0, capture_factory=factory_of(FakeCapture()))
    with pytest.raises(SourceError, match="no frame yet"):
        source.snapshot(tmp_path / "early.png")
    with source:
        source.wait_frame(timeout=WAIT)
        target = tmp_path / "missing folder" / "shot.png"
        with pytest.raises(SourceError, match="could not save the snapshot") as info:
            source.snapshot(target)
        assert str(target) in str(info.value)


# --- image folders and still images ---------------------------------------------------------

COLOURS = {"img1.png": (255, 0, 0), "img2.png": (0, 255, 0), "img10.png": (0, 0, 255)}


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    for name, colour in COLOURS.items():
        write_png(folder / name, np.full((8, 10, 3), colour, np.uint8))
    write_png(folder / "img5.png", np.full((8, 10), 77, np.uint8))  # gray
    (folder / "img3.png").write_bytes(b"not a png at all")  # garbage, in the middle
    (folder / "notes.txt").write_text("ignored")
    return folder


def test_an_image_folder_plays_in_natural_order_and_skips_bad_files(image_folder):
    source = ImageFolderSource(image_folder, fps=None, loop=False)
    assert [p.name for p in source.files] == ["img1.png", "img2.png", "img3.png", "img5.png", "img10.png"]
    rec = Recorder(source)
    with source:
        assert rec.ended.wait(WAIT)
    assert source.skipped == 1 and source.skipped_files[0][0].name == "img3.png"
    assert [f.position for f in rec.frames] == [0, 1, 3, 4]
    colours = [tuple(int(v) for v in f.image[0, 0]) for f in rec.frames]
    assert colours == [(255, 0, 0), (0, 255, 0), (77, 77, 77), (0, 0, 255)]
    assert all(f.image.shape == (8, 10, 3) for f in rec.frames)
    assert source.error.startswith("the image folder ended")


def test_a_looping_image_folder_does_not_retry_bad_files(image_folder):
    source = ImageFolderSource(image_folder, fps=1000, loop=True)
    rec = Recorder(source)
    with source:
        assert rec.wait_for(lambda frames: len(frames) >= 8)
        assert source.running
    assert [f.position for f in rec.frames[:8]] == [0, 1, 3, 4] * 2
    assert source.skipped == 1


def test_image_folder_errors_name_the_folder(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        ImageFolderSource(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="has no images"):
        ImageFolderSource(empty)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"junk")
    (broken / "b.jpg").write_bytes(b"")
    with pytest.raises(SourceError, match="no readable images") as info:
        ImageFolderSource(broken)
    assert str(broken) in str(info.value)
    with pytest.raises(SourceError, match="fps"):
        ImageFolderSource(tmp_path, fps=0)


def test_a_still_image_is_a_source_too():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    source = ImageSource(gray, name="ramp")
    assert source.wait_parked(0) and live_source_threads() == []  # no thread for a still image
    with source:
        first = source.wait_frame(timeout=WAIT)
        np.testing.assert_array_equal(first.image, np.dstack([gray] * 3))
        again = source.repeat()
        assert again.index == first.index + 1
        assert source.wait_frame(first.index, timeout=WAIT) is again
        assert source.running and live_source_threads() == []
    assert not source.running
    with pytest.raises(SourceError, match="not running"):
        source.repeat()
    with pytest.raises(SourceError, match="cannot be a frame source"):
        ImageSource(np.zeros((3, 4), np.float32))


# --- lifecycle and thread hygiene ------------------------------------------------------------

def test_stop_is_idempotent_and_a_stopped_source_does_not_restart():
    fake = FakeCapture()
    source = CameraSource(0, capture_factory=factory_of(fake))
    assert source.stop() is True  # never started: the handle is released here
    assert source.stop() is True
    assert fake.release_count == 1
    with pytest.raises(SourceError, match="was stopped"):
        source.start()
    assert source.wait_frame(timeout=WAIT) is None

    fake = FakeCapture()
    source = CameraSource(0, capture_factory=factory_of(fake))
    source.start()
    source.start()  # already running: nothing happens
    assert [t.name for t in live_source_threads()] == [f"{THREAD_PREFIX}camera"]
    assert live_sources() == [source]
    assert source.stop() and source.stop()
    assert fake.release_count == 1 and fake.problems == []
    assert not source.ended and source.error == ""


def test_the_handle_is_never_released_under_a_read():
    gate = threading.Semaphore(0)
    fake = FakeCapture(gate=gate)
    source = CameraSource(0, capture_factory=factory_of(fake))
    source.start()
    assert fake.read_entered.wait(WAIT)
    assert source.stop(timeout=0.05) is False  # the read hangs in the "driver"
    assert fake.release_count == 0 and source.running
    gate.release()
    assert source.stop(timeout=WAIT) is True
    assert fake.release_count == 1 and fake.problems == []
    assert not source.ended  # stopped by us


def test_stop_from_a_callback_does_not_deadlock():
    fake = FakeCapture()
    source = CameraSource(0, capture_factory=factory_of(fake))
    answers = []
    called = threading.Event()

    def stop_from_the_reader(frame):
        answers.append(source.stop())
        called.set()

    source.on_frame = stop_from_the_reader
    source.start()
    assert called.wait(WAIT)
    assert source.stop(timeout=WAIT)  # joins the reader, which left after the callback
    assert answers == [False]  # "not finished yet": the reader cannot join itself
    assert fake.release_count == 1 and not source.ended


def test_a_failing_callback_does_not_stop_the_source(caplog):
    def broken(frame):
        raise RuntimeError("listener bug")

    with CameraSource(0, capture_factory=factory_of(FakeCapture())) as source:
        source.on_frame = broken
        first = source.wait_frame(timeout=WAIT)
        assert source.wait_frame(first.index + 1, timeout=WAIT) is not None
        assert source.running
    assert "listener bug" in caplog.text


def test_switching_sources_fifty_times_leaks_no_thread_and_no_handle(video, image_folder):
    fakes = []
    for i in range(50):
        kind = i % 4
        if kind == 0:
            fakes.append(FakeCapture())
            source = CameraSource(0, capture_factory=factory_of(fakes[-1]))
        elif kind == 1:
            source = VideoFileSource(video, loop=True, realtime=i % 3 == 0)
        elif kind == 2:
            source = ImageFolderSource(image_folder, fps=None)
        else:
            source = ImageSource(numbered_frame(i))
        source.start()
        if i % 2 == 0:  # sometimes the user switches before the first frame arrives
            assert source.wait_frame(timeout=WAIT) is not None
        if i % 5 == 0:
            source.pause()
        assert source.stop(timeout=WAIT) is True
        assert not source.running
    assert live_source_threads() == []
    assert not [t.name for t in threading.enumerate() if t.name.startswith("convlab-source")]
    assert live_sources() == []
    assert [f.release_count for f in fakes] == [1] * len(fakes)
    assert all(f.problems == [] for f in fakes)


# --- damaged sources report once -----------------------------------------------------------------

def test_a_truncated_video_with_loop_on_ends_once_instead_of_looping_for_ever(tmp_path):
    whole = write_numbered_video(tmp_path, frames=60, fps=30.0, name="whole")
    cut = tmp_path / f"cut{whole.suffix}"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.3)])
    source = VideoFileSource(cut, loop=True, realtime=False)
    if source.frame_count is None:
        source.stop()
        pytest.skip("this OpenCV build does not report the frame count")
    rec = Recorder(source)
    with source:
        assert rec.ended.wait(WAIT), "the damaged video kept looping"
    assert source.ended and source.loops == 0
    assert f"the video stopped at frame {source.frames_read} of 60" in source.error
    assert "damaged file?" in source.error and "not played again" in source.error
    assert 0 < source.frames_read < 54


class _ShrinkingVideo(FakeCapture):
    """A file whose frame count is unknown and whose second pass gives fewer frames than its first."""

    def __init__(self, passes):
        super().__init__()
        self.passes = list(passes)
        self.left = self.passes.pop(0)

    def read(self):
        if self.left == 0:
            return False, None
        self.left -= 1
        return True, self.frame.copy()

    def set(self, prop, value):
        if prop == cv2.CAP_PROP_POS_FRAMES:
            self.left = self.passes.pop(0) if self.passes else 0
        return True


def test_a_looping_video_whose_passes_shrink_ends_with_a_message(tmp_path, monkeypatch):
    from convlab.core import sources

    path = tmp_path / "odd.avi"
    path.write_bytes(b"not read: the capture is a fake")
    monkeypatch.setattr(sources.cv2, "VideoCapture", lambda *a: _ShrinkingVideo([10, 10, 3, 10]))
    source = VideoFileSource(path, loop=True, realtime=False)
    rec = Recorder(source)
    with source:
        assert rec.ended.wait(WAIT)
    assert source.loops == 2 and source.frames_read == 23
    assert "gave 3 frames this time but 10 the first time" in source.error


def test_a_camera_whose_is_opened_raises_is_the_sources_own_error():
    class Broken(FakeCapture):
        def isOpened(self):
            raise RuntimeError("driver state unknown")

    capture = Broken()
    with pytest.raises(SourceError, match=r"camera 3 could not be opened: .*RuntimeError: driver state unknown"):
        CameraSource(3, capture_factory=factory_of(capture))
    assert capture.release_count == 1
