"""The session file on disk: budgets checked before parsing (zip entries, history rows), and saving
that keeps what the user set (mode, symbolic links, read-only files) and cleans up after itself."""

from __future__ import annotations

import os
import stat
import struct
import time
import zipfile

import numpy as np
import pytest

from convlab.core import session as S
from convlab.core.session import Session, SessionError, load, save

posix = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and links")


def _load_error(path) -> str:
    with pytest.raises(SessionError) as info:
        load(path)
    return str(info.value)


@pytest.fixture
def no_zip_parsing(monkeypatch):
    """Fail if zipfile is asked to parse the archive (the check must come first)."""
    def forbidden(*args, **kwargs):
        raise AssertionError("zipfile.ZipFile must not be called")
    monkeypatch.setattr(S.zipfile, "ZipFile", forbidden)


# =========================================================================== the zip directory

def test_too_many_entries_are_refused_before_the_directory_is_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(S, "MAX_ENTRIES", 100)
    path = tmp_path / "many.convlab"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(150):
            zf.writestr(f"arrays/a{i}.npy", b"")
    monkeypatch.setattr(S.zipfile, "ZipFile", lambda *a, **k: pytest.fail("zipfile parsed the directory"))
    assert "holds 150 entries, more than the limit of 100" in _load_error(path)


def _zip64_tail(entries: int, directory: int) -> bytes:
    """The end of a ZIP64 archive announcing ``entries`` entries in a ``directory``-byte directory."""
    record = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, directory, 0)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, 0, 1)
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return record + locator + eocd


def test_a_zip64_directory_announcing_1_5_million_entries_is_refused_at_once(tmp_path, no_zip_parsing):
    path = tmp_path / "bomb.convlab"
    path.write_bytes(b"\0" * 100 + _zip64_tail(1_500_000, 70_000_000))
    assert "holds 1,500,000 entries, more than the limit of 4,096" in _load_error(path)


def test_a_directory_larger_than_its_entries_can_be_is_refused(tmp_path, no_zip_parsing):
    path = tmp_path / "liar.convlab"
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 3, 3, 50_000_000, 0, 5) + b"hello"  # a comment, too
    path.write_bytes(b"\0" * 100 + eocd)
    assert "50,000,000-byte zip directory" in _load_error(path)


# =========================================================================== history rows

def test_history_rows_are_capped(monkeypatch, tmp_path):
    monkeypatch.setattr(S, "MAX_HISTORY_ROWS", 100)
    rows = np.column_stack([np.arange(101.0), np.ones(101), np.ones(101)])
    with pytest.raises(SessionError, match="history_steps has 101 rows, more than the limit of 100"):
        save(tmp_path / "long.convlab", Session(history_steps=rows))
    save(tmp_path / "ok.convlab", Session(history_steps=S.thin_history(rows)))
    assert len(load(tmp_path / "ok.convlab").history_steps) == 100


def test_a_long_history_is_refused_before_its_entry_is_read(tmp_path, monkeypatch):
    rows = np.column_stack([np.arange(5000.0), np.ones(5000), np.ones(5000)])
    with monkeypatch.context() as m:
        m.setattr(S, "MAX_HISTORY_ROWS", 10_000)
        save(tmp_path / "long.convlab", Session(history_steps=rows))
    monkeypatch.setattr(S, "MAX_HISTORY_ROWS", 1000)
    monkeypatch.setattr(S, "_read_npy", lambda *a: pytest.fail("the history entry was read"))
    assert "arrays/history_steps.npy would unpack to 120,128 bytes, more than the limit of 28,096" \
        in _load_error(tmp_path / "long.convlab")


def test_thin_history_keeps_the_first_and_last_steps_in_order():
    rows = np.column_stack([np.arange(1, 1001.0), np.linspace(2.3, 0.1, 1000), np.zeros(1000)])
    thin = S.thin_history(rows, max_rows=50)
    assert len(thin) == 50 and thin[0, 0] == 1 and thin[-1, 0] == 1000
    assert np.all(np.diff(thin[:, 0]) > 0)
    assert S.thin_history(rows[:10], max_rows=50).shape == (10, 3)
    assert S.thin_history([], max_rows=5).shape == (0, 3)


def test_history_epochs_are_capped(monkeypatch, tmp_path):
    monkeypatch.setattr(S, "MAX_HISTORY_EPOCHS", 3)
    with pytest.raises(SessionError, match="history_epochs has 4 entries, more than the limit of 3"):
        save(tmp_path / "x.convlab", Session(history_epochs=[{"epoch": i} for i in range(4)]))


# =========================================================================== saving keeps what the user set

@posix
def test_a_private_session_stays_private(tmp_path):
    path = tmp_path / "lab.convlab"
    save(path, Session())
    os.chmod(path, 0o600)
    save(path, Session(image_name="again"))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and load(path).image_name == "again"
    os.chmod(path, 0o640)
    save(path, Session())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


@posix
def test_saving_through_a_symbolic_link_writes_the_file_it_points_to(tmp_path):
    real_folder = tmp_path / "real"
    real_folder.mkdir()
    target = real_folder / "lab.convlab"
    save(target, Session(image_name="first"))
    link = tmp_path / "shortcut.convlab"
    link.symlink_to(target)
    save(link, Session(image_name="second"))
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert load(target).image_name == "second"
    assert load(real_folder / "lab.convlab.bak").image_name == "first"
    assert S.backup_path(link) == str(target) + ".bak"
    assert sorted(os.listdir(tmp_path)) == ["real", "shortcut.convlab"]


@posix
def test_a_dangling_link_gets_its_target_created(tmp_path):
    link = tmp_path / "lab.convlab"
    link.symlink_to(tmp_path / "elsewhere.convlab")
    save(link, Session(image_name="new"))
    assert link.is_symlink() and load(tmp_path / "elsewhere.convlab").image_name == "new"


@posix
def test_a_read_only_session_is_not_overwritten_unless_asked(tmp_path):
    path = tmp_path / "lab.convlab"
    save(path, Session(image_name="keep me"))
    os.chmod(path, 0o444)
    before = path.read_bytes()
    with pytest.raises(S.ReadOnlySessionError, match="lab.convlab is read-only; it was not overwritten"):
        save(path, Session(image_name="changed"))
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["lab.convlab"]
    save(path, Session(image_name="changed"), overwrite_readonly=True)  # the user said yes
    assert load(path).image_name == "changed" and stat.S_IMODE(os.stat(path).st_mode) == 0o444
    assert load(S.backup_path(path)).image_name == "keep me"


def test_a_folder_is_not_saved_over(tmp_path):
    (tmp_path / "lab.convlab").mkdir()
    with pytest.raises(SessionError, match="cannot save lab.convlab: it is a folder"):
        save(tmp_path / "lab.convlab", Session())


def test_the_next_save_removes_what_an_interrupted_save_left(tmp_path):
    path = tmp_path / "lab.convlab"
    save(path, Session())
    leftovers = [".lab.convlab.0123abcd.tmp", ".lab.convlab.bak.deadbeef.tmp"]
    others = [".other.convlab.0123abcd.tmp", "notes.tmp", ".lab.convlab.tmp"]
    for name in leftovers + others:
        (tmp_path / name).write_bytes(b"PK half a zip")
    save(path, Session(image_name="after"))
    assert sorted(os.listdir(tmp_path)) == sorted(["lab.convlab", "lab.convlab.bak"] + others)


def test_the_app_can_clean_a_folder_at_start(tmp_path):
    names = [".a.convlab.0123abcd.tmp", ".b.convlab.bak.89abcdef.tmp"]
    keep = ["notes.tmp", ".c.txt.0123abcd.tmp", "a.convlab"]
    for name in names + keep:
        (tmp_path / name).write_bytes(b"x")
    assert S.remove_leftover_temp_files(tmp_path) == []  # fresh: maybe a save in progress elsewhere
    old = time.time() - 3600
    for name in names:
        os.utime(tmp_path / name, (old, old))
    assert sorted(S.remove_leftover_temp_files(tmp_path)) == sorted(names)
    assert sorted(os.listdir(tmp_path)) == sorted(keep)
    assert S.remove_leftover_temp_files(tmp_path / "missing") == []
