"""ConvLab's data files (sample photos, icons, preset models), found with importlib.resources.

The files live in ``resources/`` at the top of the repository; pyproject.toml ships that folder
inside the package as ``convlab.resources``, so the same call finds them in a wheel, a
``pip install .``, a ``pip install -e .`` and a zipped install. Only a checkout run without any
install (``python main.py`` straight after ``git clone``) has no ``convlab.resources``: then the
``resources/`` folder beside the package is used.

Imports no Qt and no NumPy: the GUI, the engine and the desktop-entry installer all use it.
"""

from __future__ import annotations

import importlib.resources
from importlib.abc import Traversable
from pathlib import Path

__all__ = ["resource", "resource_bytes", "resource_names", "ResourceMissing"]

PACKAGE = "convlab.resources"


class ResourceMissing(FileNotFoundError):
    """A data file that should ship with ConvLab is not there (a broken install)."""


def _root() -> Traversable:
    try:
        return importlib.resources.files(PACKAGE)
    except ModuleNotFoundError:
        checkout = Path(__file__).resolve().parent.parent / "resources"
        if checkout.is_dir():
            return checkout
        raise ResourceMissing(
            f"ConvLab's data files are missing: neither the package {PACKAGE} nor {checkout} exists "
            "(reinstall ConvLab: pip install convlab, or pip install -e . in a checkout)"
        ) from None


def resource(*parts: str) -> Traversable:
    """The data file or folder ``resources/<parts>`` (``resource()`` is the folder itself).

    The result is a :class:`pathlib.Path` for every ordinary install; code that needs only the
    contents should use :func:`resource_bytes`, which also works inside a zip.
    """
    node = _root()
    for part in parts:
        node = node.joinpath(part)
    return node


def resource_bytes(*parts: str) -> bytes:
    """The contents of ``resources/<parts>``; :class:`ResourceMissing` names the file if absent."""
    node = resource(*parts)
    try:
        return node.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as e:
        raise ResourceMissing(f"ConvLab's data file resources/{'/'.join(parts)} is missing (reinstall ConvLab)") from e


def resource_names(folder: str, suffix: str) -> list[str]:
    """Sorted names of the files in ``resources/<folder>`` ending with ``suffix``."""
    node = resource(folder)
    if not node.is_dir():
        raise ResourceMissing(f"ConvLab's data folder resources/{folder} is missing (reinstall ConvLab)")
    return sorted(p.name for p in node.iterdir() if p.is_file() and p.name.endswith(suffix))
