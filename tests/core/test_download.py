"""Dataset downloads against a local HTTP server (127.0.0.1, started here): never the internet.

The fixture datasets are tiny but in the real formats (gzip IDX files, a CIFAR-10 binary
.tar.gz), made by the tests; their catalogue entries are the real ones with the files, sizes,
SHA-256 and mirrors swapped for the local ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
from dataset_fixtures import cifar_archive, fixture_dataset, mnist_files
from http_fixtures import FileServer, closed_port

from convlab.core.data import download as dl
from convlab.core.data.catalog import load_dataset
from convlab.core.data.cifar import CIFAR10_FOLDER, load_cifar10_folder
from convlab.core.data.idx import load_mnist_folder
from convlab.core.data.remote import CATALOG
from convlab.core.settings import TrainSettings


@pytest.fixture(autouse=True)
def no_proxies_and_own_data_dir(monkeypatch, tmp_path):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(dl.ENV_DATA_DIR, str(tmp_path / "appdata"))


@pytest.fixture
def mnist(tmp_path):
    files = mnist_files(tmp_path)
    server = FileServer({f"/a/{name}": data for name, data in files.items()}).start()
    ds = fixture_dataset(CATALOG["mnist"], files, [server.url("/a/")])
    yield ds, files, server
    server.stop()


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- the catalogue


def test_catalogue_lists_the_four_datasets_with_known_checksums():
    assert list(CATALOG) == ["mnist", "fashion", "kmnist", "cifar10"]
    for ds in CATALOG.values():
        assert ds.mirrors and all(m.startswith(("http://", "https://")) and m.endswith("/") for m in ds.mirrors)
        for f in ds.files:
            assert re.fullmatch(r"[0-9a-f]{64}", f.sha256), f
            assert f.size > 1000
        assert len(ds.classes) == 10
    assert len(CATALOG["mnist"].mirrors) >= 2 and len(CATALOG["fashion"].mirrors) >= 2
    assert [f.name for f in CATALOG["cifar10"].files] == ["cifar-10-binary.tar.gz"]
    assert CATALOG["mnist"].total_bytes == 9912422 + 28881 + 1648877 + 4542


def test_files_go_to_the_application_data_folder(tmp_path, monkeypatch):
    assert dl.dataset_folder("mnist") == tmp_path / "appdata" / "datasets" / "mnist"
    monkeypatch.delenv(dl.ENV_DATA_DIR)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if dl.sys.platform.startswith("linux"):
        assert dl.data_home() == tmp_path / "xdg" / "ConvLab"
    checkout = Path(__file__).resolve().parents[2]
    assert checkout not in dl.dataset_folder("mnist").parents  # never into the checkout


# --------------------------------------------------------------------------- downloads


def test_complete_download_reports_progress_and_reads_back(mnist, tmp_path):
    ds, files, server = mnist
    reports = []
    folder = dl.download_dataset(ds, progress=reports.append)
    assert folder == dl.dataset_folder(ds)
    for name, data in files.items():
        assert (folder / name).read_bytes() == data
        assert not (folder / (name + ".part")).exists()
    assert reports[-1].done == reports[-1].total == ds.total_bytes
    assert all(a.done <= b.done for a, b in zip(reports, reports[1:], strict=False))
    assert {r.file_index for r in reports} == {1, 2, 3, 4} and reports[0].dataset == "MNIST"
    assert all(r.speed >= 0 for r in reports)
    data = load_mnist_folder(folder)
    assert data.x.shape == (40, 1, 28, 28) and data.classes == list(ds.classes)
    assert dl.is_downloaded(ds)


def test_files_present_and_valid_are_reused_without_a_request(mnist):
    ds, files, server = mnist
    folder = dl.download_dataset(ds)
    count = len(server.requests)
    reports = []
    assert dl.download_dataset(ds, progress=reports.append) == folder
    assert len(server.requests) == count
    assert reports[-1].done == ds.total_bytes
    (folder / dl.STAMP).unlink()  # the cache of verified files is gone: hashed again, still no request
    dl.download_dataset(ds)
    assert len(server.requests) == count


def test_interrupted_download_is_resumed_with_a_range_request(mnist):
    ds, files, server = mnist
    name = "train-images-idx3-ubyte.gz"
    size = len(files[name])
    server.cut_after[f"/a/{name}"] = size // 3
    with pytest.raises(dl.DownloadError) as info:
        dl.download_dataset(ds)
    text = str(info.value)
    assert f"{size // 3:,} of {size:,} bytes" in text and "resume" in text
    part = dl.dataset_folder(ds) / (name + ".part")
    assert part.stat().st_size == size // 3
    folder = dl.download_dataset(ds)
    assert (f"/a/{name}", f"bytes={size // 3}-") in server.requests
    assert (folder / name).read_bytes() == files[name] and not part.exists()


def test_a_server_that_ignores_the_range_sends_the_whole_file_again(mnist):
    ds, files, server = mnist
    name = "train-images-idx3-ubyte.gz"
    server.cut_after[f"/a/{name}"] = 1000
    with pytest.raises(dl.DownloadError):
        dl.download_dataset(ds)
    server.ignore_range = True
    folder = dl.download_dataset(ds)
    assert (folder / name).read_bytes() == files[name]


def test_wrong_checksum_is_refused_and_deleted(mnist):
    ds, files, server = mnist
    name = "t10k-labels-idx1-ubyte.gz"
    good = files[name]
    server.files[f"/a/{name}"] = bytes([good[0] ^ 0xFF]) + good[1:]  # same size, other bytes
    with pytest.raises(dl.ChecksumMismatch) as info:
        dl.download_dataset(ds)
    text = str(info.value)
    assert name in text and hashlib.sha256(good).hexdigest() in text and "deleted" in text
    folder = dl.dataset_folder(ds)
    assert not (folder / name).exists() and not (folder / (name + ".part")).exists()
    assert not dl.is_downloaded(ds)


def test_a_file_of_the_wrong_size_is_refused_before_it_is_written(mnist):
    ds, files, server = mnist
    name = "train-labels-idx1-ubyte.gz"
    server.files[f"/a/{name}"] = files[name] + b"extra"
    with pytest.raises(dl.DownloadError) as info:
        dl.download_dataset(ds)
    assert f"{len(files[name]) + 5:,} bytes" in str(info.value)


def test_server_gone_mid_download_keeps_the_part_and_a_new_mirror_resumes_it(tmp_path):
    files = mnist_files(tmp_path)
    name = "train-images-idx3-ubyte.gz"
    size = len(files[name])
    server = FileServer({f"/a/{n}": d for n, d in files.items()}).start()
    server.hold_after[f"/a/{name}"] = size // 2
    ds = fixture_dataset(CATALOG["mnist"], files, [server.url("/a/")])
    errors = []

    def run():
        try:
            dl.download_dataset(ds)
        except dl.DownloadError as e:
            errors.append(e)

    t = threading.Thread(target=run)
    t.start()
    assert server.half_sent.wait(10)
    server.stop()  # the server goes away with the body half sent
    t.join(20)
    assert not t.is_alive() and len(errors) == 1
    assert f"{size // 2:,} of {size:,} bytes" in str(errors[0])
    part = dl.dataset_folder(ds) / (name + ".part")
    assert part.stat().st_size == size // 2

    # the first mirror stays gone; a second one serves the same bytes and the download resumes there
    other = FileServer({f"/b/{n}": d for n, d in files.items()}).start()
    try:
        ds2 = dataclasses.replace(ds, mirrors=(server.url("/a/"), other.url("/b/")))
        folder = dl.download_dataset(ds2)
        assert (f"/b/{name}", f"bytes={size // 2}-") in other.requests
        assert (folder / name).read_bytes() == files[name]
    finally:
        other.stop()


def test_404_on_the_first_mirror_then_the_second(tmp_path):
    files = mnist_files(tmp_path)
    first = FileServer({}).start()  # has nothing: 404 for every file
    second = FileServer({f"/m/{n}": d for n, d in files.items()}).start()
    try:
        ds = fixture_dataset(CATALOG["mnist"], files, [first.url("/x/"), second.url("/m/")])
        folder = dl.download_dataset(ds)
        assert first.paths() == [f"/x/{n}" for n in files]
        assert second.paths() == [f"/m/{n}" for n in files]
        assert all((folder / n).read_bytes() == d for n, d in files.items())
    finally:
        first.stop()
        second.stop()


def test_404_everywhere_names_the_file_and_the_status(tmp_path):
    files = mnist_files(tmp_path)
    server = FileServer({}).start()
    try:
        ds = fixture_dataset(CATALOG["mnist"], files, [server.url("/x/"), server.url("/y/")])
        with pytest.raises(dl.DownloadError) as info:
            dl.download_dataset(ds)
        assert not isinstance(info.value, dl.NoConnection)
        text = str(info.value)
        assert "train-images-idx3-ubyte.gz" in text and "404" in text and "/x/" in text and "/y/" in text
    finally:
        server.stop()


def test_offline_says_where_to_put_the_files(tmp_path):
    files = mnist_files(tmp_path)
    port = closed_port()
    ds = fixture_dataset(CATALOG["mnist"], files, [f"http://127.0.0.1:{port}/a/", f"http://127.0.0.1:{port}/b/"])
    with pytest.raises(dl.NoConnection) as info:
        dl.download_dataset(ds)
    text = str(info.value)
    folder = dl.dataset_folder(ds)
    assert text.startswith("no connection: put the four MNIST files (train-images-idx3-ubyte.gz, ")
    assert f" in {folder}, or choose a folder" in text
    # putting the files there by hand is all it takes
    folder.mkdir(parents=True, exist_ok=True)
    for n, d in files.items():
        (folder / n).write_bytes(d)
    assert dl.download_dataset(ds) == folder


def test_cancel_keeps_the_part_and_the_next_download_resumes(tmp_path):
    files = mnist_files(tmp_path, n_train=400)  # 313 kB of images: several chunks
    server = FileServer({f"/a/{name}": data for name, data in files.items()}).start()
    ds = fixture_dataset(CATALOG["mnist"], files, [server.url("/a/")])
    cancel = threading.Event()

    def progress(p):
        if p.done > 0 and p.url:
            cancel.set()

    with pytest.raises(dl.DownloadCancelled) as info:
        dl.download_dataset(ds, progress=progress, cancel=cancel)
    assert "cancelled" in str(info.value)
    folder = dl.dataset_folder(ds)
    parts = list(folder.glob("*.part"))
    assert len(parts) == 1 and 0 < parts[0].stat().st_size
    have = parts[0].stat().st_size
    name = parts[0].name[: -len(".part")]
    assert have < len(files[name])
    dl.download_dataset(ds)
    server.stop()
    assert (f"/a/{name}", f"bytes={have}-") in server.requests
    assert all((folder / n).read_bytes() == d for n, d in files.items())


def test_a_damaged_part_longer_than_the_file_starts_again(mnist):
    ds, files, server = mnist
    folder = dl.dataset_folder(ds)
    folder.mkdir(parents=True)
    name = "t10k-labels-idx1-ubyte.gz"
    (folder / (name + ".part")).write_bytes(b"x" * (len(files[name]) + 10))
    dl.download_dataset(ds)
    assert (folder / name).read_bytes() == files[name]


def test_a_complete_but_wrong_part_is_refused_then_fetched_again(mnist):
    ds, files, server = mnist
    folder = dl.dataset_folder(ds)
    folder.mkdir(parents=True)
    name = "t10k-labels-idx1-ubyte.gz"
    (folder / (name + ".part")).write_bytes(b"y" * len(files[name]))  # full length: the server answers 416
    ds2 = dataclasses.replace(ds, mirrors=(ds.mirrors[0], ds.mirrors[0]))
    dl.download_dataset(ds2)
    assert (folder / name).read_bytes() == files[name]


# --------------------------------------------------------------------------- CIFAR-10 end to end


def test_cifar10_download_and_read_from_the_archive(tmp_path):
    archive = cifar_archive(per_batch=6)
    server = FileServer({"/kriz/cifar-10-binary.tar.gz": archive}).start()
    try:
        ds = fixture_dataset(CATALOG["cifar10"], {"cifar-10-binary.tar.gz": archive}, [server.url("/kriz/")])
        folder = dl.download_dataset(ds)
    finally:
        server.stop()
    train = load_cifar10_folder(folder, "train")
    test = load_cifar10_folder(folder, "test")
    assert train.x.shape == (30, 3, 32, 32) and test.x.shape == (6, 3, 32, 32)
    assert train.x.dtype == np.float32 and 0 <= train.x.min() and train.x.max() <= 1
    # the first record's first red pixel, straight from the bytes
    with tarfile.open(folder / "cifar-10-binary.tar.gz") as tar:
        raw = tar.extractfile(f"{CIFAR10_FOLDER}/data_batch_1.bin").read()
    assert train.y[0] == raw[0] and train.x[0, 0, 0, 0] == np.float32(raw[1]) / np.float32(255)
    assert train.x[0, 2, 31, 31] == np.float32(raw[3072]) / np.float32(255)


def test_downloaded_kinds_build_from_the_download_folder(mnist):
    ds, files, server = mnist
    with pytest.raises(ValueError) as info:
        load_dataset(TrainSettings(dataset="mnist"), (1, 28, 28))
    assert "not downloaded yet" in str(info.value) and "python -m convlab.data download mnist" in str(info.value)
    # the real catalogue entry checks the real checksums: put the fixture where they are not needed
    folder = dl.download_dataset(ds)
    data = load_dataset(TrainSettings(dataset="mnist", path=str(folder)), (1, 28, 28)).dataset
    assert len(data) == 40 and data.name == "MNIST (train)"


def test_cancel_is_seen_while_the_server_sends_nothing(tmp_path):
    files = mnist_files(tmp_path, n_train=200)
    name = "train-images-idx3-ubyte.gz"
    server = FileServer({f"/a/{n}": d for n, d in files.items()}).start()
    server.hold_after[f"/a/{name}"] = len(files[name]) // 2  # half, then silence (until released)
    ds = fixture_dataset(CATALOG["mnist"], files, [server.url("/a/")])
    cancel = dl.CancelFlag()
    errors = []

    def run():
        try:
            dl.download_dataset(ds, cancel=cancel)
        except dl.DownloadError as e:
            errors.append(e)

    t = threading.Thread(target=run)
    t.start()
    try:
        assert server.half_sent.wait(10)
        cancel.set()  # the server still holds the connection open and silent
        t.join(10)
        assert not t.is_alive() and isinstance(errors[0], dl.DownloadCancelled)
    finally:
        server.stop()
    assert (dl.dataset_folder(ds) / (name + ".part")).stat().st_size <= len(files[name]) // 2  # what arrived
