"""Draw the tray icons: one 64x64 RGBA PNG per dictad state, written beside this script.

Run `python icons/draw_icons.py` after changing a drawing and commit the PNGs.

Each state differs in shape as well as colour, so the icon reads at 16-24 px and
without colour vision: idle is a plain microphone, recording a microphone on a red
disc, working three dots on an amber square, disabled a microphone struck through,
error an exclamation mark on a red triangle. Dark outlines keep the light shapes
visible on light panels. Shapes are drawn at 4x and scaled down for smooth edges.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

from dictad.icons import icon_name

SIZE = 64
SCALE = 4
CANVAS = SIZE * SCALE

OUTLINE = (32, 33, 36, 255)
LIGHT_GREY = (218, 220, 224, 255)
MID_GREY = (154, 160, 166, 255)
WHITE = (255, 255, 255, 255)
RED = (217, 48, 37, 255)
AMBER = (242, 153, 0, 255)

Box = tuple[float, float, float, float]
Colour = tuple[int, int, int, int]


def _scaled(box: Box, frame: Box) -> Box:
    """Map a box given in 0..1 units onto ``frame``."""
    left, top, right, bottom = frame
    width, height = right - left, bottom - top
    return (left + box[0] * width, top + box[1] * height,
            left + box[2] * width, top + box[3] * height)


def draw_microphone(draw: ImageDraw.ImageDraw, frame: Box, fill: Colour, outline: Colour) -> None:
    """A microphone (capsule, holder, stem, foot) filling ``frame``, outlined for contrast.

    Every part is drawn twice, grown by the outline width in the outline colour and then
    in the fill colour, so the parts join without outlines crossing where they meet.
    """
    width = frame[2] - frame[0]
    line = round(width * 0.05)
    stroke = round(width * 0.10)
    capsule = _scaled((0.30, 0.0, 0.70, 0.62), frame)
    holder = _scaled((0.12, 0.20, 0.88, 0.80), frame)
    stem = _scaled((0.45, 0.78, 0.55, 0.94), frame)
    foot = _scaled((0.24, 0.90, 0.76, 1.0), frame)
    for grow, colour in ((line, outline), (0, fill)):
        draw.arc(_inset(holder, -grow), 0, 180, fill=colour, width=stroke + 2 * grow)
        draw.rectangle(_inset(stem, -grow), fill=colour)
        draw.rounded_rectangle(_inset(foot, -grow), radius=stroke / 2 + grow, fill=colour)
        draw.rounded_rectangle(_inset(capsule, -grow), radius=(capsule[2] - capsule[0]) / 2 + grow,
                               fill=colour)


def _inset(box: Box, by: float) -> Box:
    return (box[0] + by, box[1] + by, box[2] - by, box[3] - by)


def draw_idle(draw: ImageDraw.ImageDraw) -> None:
    draw_microphone(draw, _inset((0, 0, CANVAS, CANVAS), CANVAS * 0.06), LIGHT_GREY, OUTLINE)


def draw_recording(draw: ImageDraw.ImageDraw) -> None:
    draw.ellipse((0, 0, CANVAS - 1, CANVAS - 1), fill=OUTLINE)
    draw.ellipse(_inset((0, 0, CANVAS - 1, CANVAS - 1), CANVAS * 0.035), fill=RED)
    draw_microphone(draw, _inset((0, 0, CANVAS, CANVAS), CANVAS * 0.22), WHITE, RED)


def draw_working(draw: ImageDraw.ImageDraw) -> None:
    square = _inset((0, 0, CANVAS - 1, CANVAS - 1), CANVAS * 0.04)
    draw.rounded_rectangle(square, radius=CANVAS * 0.18, fill=AMBER, outline=OUTLINE,
                           width=round(CANVAS * 0.035))
    radius = CANVAS * 0.085
    for centre_x in (0.25, 0.5, 0.75):
        x, y = centre_x * CANVAS, CANVAS / 2
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=OUTLINE)


def draw_disabled(draw: ImageDraw.ImageDraw) -> None:
    draw_microphone(draw, _inset((0, 0, CANVAS, CANVAS), CANVAS * 0.10), MID_GREY, OUTLINE)
    start, end = (CANVAS * 0.10, CANVAS * 0.10), (CANVAS * 0.90, CANVAS * 0.90)
    draw.line((start, end), fill=WHITE, width=round(CANVAS * 0.17))
    draw.line((start, end), fill=OUTLINE, width=round(CANVAS * 0.10))


def draw_error(draw: ImageDraw.ImageDraw) -> None:
    triangle = [(CANVAS / 2, CANVAS * 0.03), (CANVAS * 0.99, CANVAS * 0.93), (CANVAS * 0.01, CANVAS * 0.93)]
    draw.polygon(triangle, fill=RED, outline=OUTLINE, width=round(CANVAS * 0.035))
    bar_half = CANVAS * 0.055
    centre = CANVAS / 2
    draw.rounded_rectangle((centre - bar_half, CANVAS * 0.30, centre + bar_half, CANVAS * 0.64),
                           radius=bar_half, fill=WHITE)
    draw.ellipse((centre - bar_half, CANVAS * 0.71, centre + bar_half, CANVAS * 0.71 + 2 * bar_half),
                 fill=WHITE)


DRAWINGS: dict[str, Callable[[ImageDraw.ImageDraw], None]] = {
    "idle": draw_idle,
    "recording": draw_recording,
    "working": draw_working,
    "disabled": draw_disabled,
    "error": draw_error,
}


def render(state: str) -> Image.Image:
    """The icon for ``state``, drawn large and scaled down to SIZE x SIZE."""
    image = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
    DRAWINGS[state](ImageDraw.Draw(image))
    return image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def main() -> None:
    folder = Path(__file__).resolve().parent
    for state in DRAWINGS:
        path = folder / f"{icon_name(state)}.png"
        render(state).save(path, optimize=True)
        print(path)


if __name__ == "__main__":
    main()
