"""Still images with a Japanese expression set large: thumbnail covers and lesson-video cards (Pillow).

Text is drawn on a transparent layer inside a *safe area* and composited over a background; the ink
box of that layer (measured from its pixels, not predicted) is returned, so callers can prove the text
stays where no player UI covers it.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from .subtitle_burn import japanese_font_file

WHITE = (255, 255, 255, 255)
YELLOW = (255, 229, 0, 255)
GREY = (215, 215, 225, 255)
PANEL = (10, 10, 24, 170)
BACKGROUND = (16, 16, 24)


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def contains(self, other: Box) -> bool:
        return (self.left <= other.left and self.top <= other.top and other.right <= self.right
                and other.bottom <= self.bottom)

    def as_list(self) -> list[int]:
        return [self.left, self.top, self.right, self.bottom]


@dataclass(frozen=True)
class TextLine:
    text: str
    size: int  # the largest size; shrunk until the line fits the safe width
    colour: tuple[int, int, int, int] = WHITE
    min_size: int = 24
    wrap: bool = False  # wrap at spaces (English) into at most two lines instead of shrinking first


@lru_cache(maxsize=1)
def _font_codepoints() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(str(japanese_font_file()), lazy=True) as font:
        return frozenset(font.getBestCmap())


def printable(text: str) -> str:
    """``text`` without the characters IPAexGothic has no glyph for (emoji, rare CJK extensions)."""
    codepoints = _font_codepoints()
    return "".join(c for c in str(text) if ord(c) in codepoints or c in "\n\r\t ")


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(japanese_font_file()), size)


def _width(text: str, size: int) -> int:
    left, _, right, _ = font(size).getbbox(text)
    return right - left


def _fit(line: TextLine, max_width: int) -> tuple[list[str], int]:
    """The line's rows and the size that makes each fit ``max_width``."""
    size = line.size
    while size > line.min_size:
        rows = _rows(line, size, max_width)
        if all(_width(r, size) <= max_width for r in rows):
            return rows, size
        size -= 2
    rows = _rows(line, line.min_size, max_width)
    return [_ellipsis(r, line.min_size, max_width) for r in rows], line.min_size


def _rows(line: TextLine, size: int, max_width: int) -> list[str]:
    if not line.wrap or _width(line.text, size) <= max_width:
        return [line.text]
    average = max(1, _width(line.text, size) // max(1, len(line.text)))
    rows = textwrap.wrap(line.text, width=max(8, max_width // average))
    return rows[:1] + [" ".join(rows[1:])] if len(rows) > 2 else rows


def _ellipsis(text: str, size: int, max_width: int) -> str:
    while text and _width(text, size) > max_width:
        text = text[:-2] + "…" if len(text) > 2 else ""
    return text


def text_layer(canvas: tuple[int, int], safe: Box, lines: list[TextLine], *, anchor: str = "bottom",
               panel: bool = True, gap: int = 18) -> tuple[Image.Image, Box]:
    """A transparent layer with ``lines`` centred in ``safe`` (stacked at its top, middle or bottom).

    Returns the layer and the ink box measured from its pixels (the panel behind the text included).
    """
    pad = 28 if panel else 0
    lines = [TextLine(printable(line.text).strip(), line.size, line.colour, line.min_size, line.wrap) for line in lines]
    fitted = [(_fit(line, safe.width - 2 * pad), line) for line in lines if line.text]
    rows = [(row, size, line.colour) for (texts, size), line in fitted for row in texts]
    heights = [font(size).getbbox(row)[3] - font(size).getbbox(row)[1] for row, size, _ in rows]
    block = sum(heights) + gap * max(0, len(rows) - 1)
    top = {"top": safe.top + pad, "middle": safe.top + (safe.height - block) // 2,
           "bottom": safe.bottom - pad - block}[anchor]
    layer = Image.new("RGBA", canvas, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    if panel and rows:
        widest = max(_width(row, size) for row, size, _ in rows)
        centre = safe.left + safe.width // 2
        draw.rounded_rectangle((centre - widest // 2 - pad, top - pad, centre + widest // 2 + pad - 1, top + block + pad - 1),
                               radius=24, fill=PANEL)
    y = top
    for (row, size, colour), height in zip(rows, heights):
        f = font(size)
        left, upper, right, _ = f.getbbox(row)
        x = safe.left + (safe.width - (right - left)) // 2 - left
        draw.text((x, y - upper), row, font=f, fill=colour, stroke_width=max(2, size // 30), stroke_fill=(0, 0, 0, 255))
        y += height + gap
    ink = layer.getbbox() or (safe.left, safe.top, safe.left, safe.top)
    return layer, Box(*ink)


def fill_background(frame: Image.Image | None, size: tuple[int, int], *, blur: bool) -> Image.Image:
    """``frame`` cropped to fill ``size`` (blurred and darkened for a backdrop), or a plain dark background."""
    if frame is None:
        return Image.new("RGB", size, BACKGROUND)
    filled = ImageOps.fit(frame.convert("RGB"), size, method=Image.Resampling.LANCZOS)
    if blur:
        filled = filled.filter(ImageFilter.GaussianBlur(radius=max(size) // 60))
        filled = Image.blend(filled, Image.new("RGB", size, BACKGROUND), 0.35)
    return filled


def paste_fitted(canvas: Image.Image, frame: Image.Image, area: Box) -> None:
    """``frame`` scaled to fit ``area`` (aspect kept), centred in it."""
    fitted = ImageOps.contain(frame.convert("RGB"), (area.width, area.height), method=Image.Resampling.LANCZOS)
    canvas.paste(fitted, (area.left + (area.width - fitted.width) // 2, area.top + (area.height - fitted.height) // 2))


def compose(background: Image.Image, layer: Image.Image) -> Image.Image:
    out = background.convert("RGBA")
    out.alpha_composite(layer)
    return out.convert("RGB")
