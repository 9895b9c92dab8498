"""Finding and driving a tray icon and its menu on the rig's X display, as a user's mouse would."""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass

from PIL import Image

from tests.rig.display import wait_until, xdotool

MENU_ROW_HEIGHT = 26
"""Height of one menu row (Adwaita at 96 dpi): enough to crop the first row with its check box."""


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    def crop(self, screen: Image.Image) -> Image.Image:
        return screen.crop((self.x, self.y, self.x + self.width, self.y + self.height))

    @property
    def centre(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2


def screenshot() -> Image.Image:
    png = subprocess.run(["import", "-window", "root", "png:-"], check=True, capture_output=True).stdout
    return Image.open(io.BytesIO(png)).convert("RGB")


def window_box(window: str) -> Box:
    fields = dict(line.split("=", 1) for line in xdotool("getwindowgeometry", "--shell", window).split())
    return Box(int(fields["X"]), int(fields["Y"]), int(fields["WIDTH"]), int(fields["HEIGHT"]))


def visible_windows(*criteria: str) -> list[str]:
    """Ids of the mapped windows that match xdotool search ``criteria``."""
    found = subprocess.run(["xdotool", "search", "--onlyvisible", *criteria],
                           capture_output=True, text=True)
    return found.stdout.split()


def notification_popups() -> set[str]:
    """The notification bubbles on screen (notification-daemon names each one "Notification")."""
    return set(visible_windows("--name", "^Notification$"))


def tray_icon_box(title: str) -> Box:
    """Where the icon titled ``title`` sits once the tray host has embedded it and given it its
    size (a freshly embedded icon is 1 pixel wide for a moment)."""
    def sized_icon() -> Box | None:
        windows = visible_windows("--name", f"^{title}$")
        box = window_box(windows[0]) if windows else None
        return box if box and min(box.width, box.height) >= 16 else None

    return wait_until(sized_icon, timeout=10, what=f"the {title} icon in the tray")


def settled_pixels(box: Box, unlike: bytes = b"", what: str = "the icon") -> bytes:
    """The pixels in ``box`` once something is drawn there (more than one colour), they
    differ from ``unlike`` and they hold still between two screenshots."""
    last: list[bytes] = [b""]

    def drawn_changed_and_still() -> bytes | None:
        crop = box.crop(screenshot())
        pixels = crop.tobytes()
        settled = pixels == last[0] and pixels != unlike and crop.getcolors(1) is None
        last[0] = pixels
        return pixels if settled else None

    return wait_until(drawn_changed_and_still, timeout=10, what=f"{what} to be drawn, change and settle")


class TrayMenu:
    """The tray's real GTK menu, opened with the mouse like a user does."""

    def __init__(self, icon: Box) -> None:
        self.icon = icon

    def open(self, button: int = 3) -> Box:
        """Click the icon and return where the menu opened: the biggest new top-level window
        (GTK maps a tiny helper window off-screen beside it)."""
        before = set(visible_windows("--maxdepth", "1", "--name", ""))
        xdotool("mousemove", *map(str, self.icon.centre), "click", str(button))
        new = wait_until(lambda: set(visible_windows("--maxdepth", "1", "--name", "")) - before,
                         what="the tray menu to open")
        return max((window_box(window) for window in new), key=lambda box: box.width * box.height)

    def first_row(self, menu: Box) -> bytes:
        return settled_pixels(Box(menu.x, menu.y, menu.width, MENU_ROW_HEIGHT), what="the first menu row")

    def click_first_item(self, menu: Box) -> None:
        xdotool("mousemove", str(menu.x + menu.width // 2), str(menu.y + MENU_ROW_HEIGHT // 2), "click", "1")
        wait_until(lambda: not self.is_open(menu), what="the menu to close")

    def close(self, menu: Box) -> None:
        xdotool("key", "Escape")
        wait_until(lambda: not self.is_open(menu), what="the menu to close")

    def is_open(self, menu: Box) -> bool:
        return any(window_box(window) == menu
                   for window in visible_windows("--maxdepth", "1", "--name", ""))
