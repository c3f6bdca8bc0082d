"""The application icon, from package data (works in any install, zipped ones included)."""

from __future__ import annotations

from PySide6.QtGui import QIcon, QPixmap

from convlab.package_data import ResourceMissing, resource_bytes


def app_icon() -> QIcon:
    """ConvLab's icon (the PNG; the SVG needs Qt's SVG module), or an empty icon if it is missing."""
    pixmap = QPixmap()
    try:
        pixmap.loadFromData(resource_bytes("icons", "convlab.png"), "PNG")
    except ResourceMissing:
        return QIcon()
    return QIcon(pixmap)
