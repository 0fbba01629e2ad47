"""Long text cut into bounded pieces for the native analysers.

Sudachi refuses input over 49,149 bytes ("Input is too long") and MeCab, through
fugashi, holds a lattice node per character candidate: a whole stream transcript
of a few MB as one string takes gigabytes and can crash the process.  Each piece
is cut after the last sentence end in its window, else after clause punctuation,
else at a space, so no word is split unless a piece has no break at all.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["bounded_pieces"]

# strongest break first; each break character stays at the end of its piece
_BREAK_CLASSES: tuple[str, ...] = (
    "。！？!?…\n",
    "、，,；;：:」』）)",
    " \t\u3000",
)


def bounded_pieces(text: str, max_chars: int) -> Iterator[tuple[int, str]]:
    """``(offset, piece)`` pairs covering ``text`` in order, each piece at most ``max_chars`` long.

    A text within the bound is one piece.  A break is only taken in the window's
    second half, so pieces never shrink to a few characters.
    """
    if max_chars < 2:
        raise ValueError(f"max_chars must be at least 2, got {max_chars}")
    start, length = 0, len(text)
    while length - start > max_chars:
        cut = _cut(text, start, start + max_chars)
        yield start, text[start:cut]
        start = cut
    if start < length or not text:
        yield start, text[start:]


def _cut(text: str, start: int, stop: int) -> int:
    """Where to end the piece ``text[start:stop]``: just after its last strong break in the second half."""
    earliest = start + (stop - start) // 2
    for breaks in _BREAK_CLASSES:
        last = max(text.rfind(ch, earliest, stop) for ch in breaks)
        if last >= earliest:
            return last + 1
    return stop
