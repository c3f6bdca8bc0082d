"""The datasets from the command line: ``python -m convlab.data list`` and ``... download mnist``.

    python -m convlab.data list                      # what can be downloaded, and what is here
    python -m convlab.data download mnist cifar10    # fetch (or check) into the data folder
    python -m convlab.data download mnist --folder DIR

Exit status: 0 done, 1 a download failed, 2 a usage error, 130 interrupted (Ctrl+C; a partial
file is kept and the next download resumes it). No Qt is imported.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time

from convlab.core.data.download import (
    DownloadCancelled,
    DownloadError,
    DownloadProgress,
    dataset_folder,
    datasets_root,
    download_dataset,
    missing_files,
)
from convlab.core.data.remote import CATALOG
from convlab.core.sizes import format_bytes


def progress_text(p: DownloadProgress) -> str:
    """'MNIST 2/4 train-labels-idx1-ubyte.gz: 4.1 MB of 11.6 MB (35%), 2.3 MB/s'."""
    speed = f", {format_bytes(p.speed)}/s" if p.speed > 0 else ""
    return (f"{p.dataset} {p.file_index}/{p.file_count} {p.file}: {format_bytes(p.done)} of "
            f"{format_bytes(p.total)} ({100 * p.fraction:.0f}%){speed}")


def _list(out) -> int:
    print(f"Datasets folder: {datasets_root()}", file=out)
    for key, ds in CATALOG.items():
        folder = dataset_folder(key)
        missing = missing_files(ds, folder) if folder.exists() else list(ds.files)
        state = "downloaded" if not missing else (
            "not downloaded" if len(missing) == len(ds.files) else f"{len(missing)} of {len(ds.files)} files missing")
        print(f"\n{key:<8} {ds.title} - {format_bytes(ds.total_bytes)} in {len(ds.files)} file(s), {state}", file=out)
        print(f"         {ds.description}", file=out)
        print(f"         {ds.homepage} ({ds.licence})", file=out)
        for mirror in ds.mirrors:
            print(f"         mirror: {mirror}", file=out)
    return 0


class _Printer:
    """Progress on one rewritten line on a terminal; a line every few seconds otherwise."""

    def __init__(self, stream):
        self.stream = stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.last = 0.0
        self.width = 0

    def __call__(self, p: DownloadProgress) -> None:
        now = time.monotonic()
        if now - self.last < (0.2 if self.tty else 5.0) and p.done < p.total:
            return
        self.last = now
        text = progress_text(p)
        if self.tty:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.tty and self.width:
            self.stream.write("\n")
            self.width = 0


def _download(keys: list[str], folder: str | None, out, err) -> int:
    if folder and len(keys) > 1:
        print("--folder takes one dataset at a time", file=err)
        return 2
    cancel = threading.Event()
    for key in keys:
        printer = _Printer(err)
        try:
            where = download_dataset(key, folder, progress=printer, cancel=cancel)
        except KeyboardInterrupt:
            printer.end()
            print(f"{CATALOG[key].title}: interrupted; the partial file is kept and the next download resumes it",
                  file=err)
            return 130
        except DownloadCancelled as e:
            printer.end()
            print(f"{CATALOG[key].title}: {e}", file=err)
            return 130
        except DownloadError as e:
            printer.end()
            print(f"{CATALOG[key].title}: {e}", file=err)
            return 1
        except OSError as e:
            printer.end()
            print(f"{CATALOG[key].title}: cannot write the files ({e.strerror or e}: {e.filename or ''})", file=err)
            return 1
        printer.end()
        print(f"{CATALOG[key].title}: ready in {where}", file=out)
    return 0


def main(argv=None, out=None, err=None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    ap = argparse.ArgumentParser(
        prog="python -m convlab.data",
        description="Download the datasets ConvLab trains on (checked against their known SHA-256).",
        epilog=f"Files go to {datasets_root()} (set CONVLAB_DATA_DIR to use another folder).",
    )
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="list the datasets, their size, mirrors and whether they are here")
    down = sub.add_parser("download", help="download datasets (a partial download is resumed)")
    down.add_argument("datasets", nargs="+", choices=list(CATALOG), metavar="DATASET",
                      help=f"one or more of: {', '.join(CATALOG)}")
    down.add_argument("--folder", help="put the files here instead of the data folder (one dataset)")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # usage and errors
            args = ap.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if args.command == "list":
        return _list(out)
    return _download(args.datasets, args.folder, out, err)


if __name__ == "__main__":
    sys.exit(main())
