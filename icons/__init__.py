"""Tray state images, shipped as package data (dictad.icons), drawn by draw_icons.py.

Named ``dictad-<state>.png``: a StatusNotifier host looks an icon name up in the desktop's icon
themes before the item's own folder, and most themes have an icon called "error".
"""

from importlib.resources import files
from importlib.resources.abc import Traversable

ICON_NAME_PREFIX = "dictad-"


def icon_name(state: str) -> str:
    """The icon's name for ``state`` ("dictad-recording"), its file's name without ".png"."""
    return ICON_NAME_PREFIX + state


def icon_file(state: str) -> Traversable:
    return files(__name__) / f"{icon_name(state)}.png"
