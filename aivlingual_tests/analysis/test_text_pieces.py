"""Long text in bounded pieces: nothing lost, nothing over the bound, cuts at the strongest break."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aivlingual_assets.analysis.text_pieces import bounded_pieces


@given(st.text(alphabet="あい漢字。、 \nab", max_size=400), st.integers(2, 60))
def test_pieces_cover_the_text_in_order_within_the_bound(text: str, max_chars: int):
    pieces = list(bounded_pieces(text, max_chars))
    assert "".join(piece for _, piece in pieces) == text
    assert all(len(piece) <= max_chars for _, piece in pieces)
    assert [offset for offset, _ in pieces] == [sum(len(p) for _, p in pieces[:i]) for i in range(len(pieces))]
    assert all(piece for _, piece in pieces) or pieces == [(0, "")]


def test_a_short_text_is_one_piece():
    assert list(bounded_pieces("今日は雑談。", 100)) == [(0, "今日は雑談。")]


def test_cuts_prefer_sentence_ends_then_commas_then_spaces_then_anywhere():
    assert [p for _, p in bounded_pieces("ああ、ああ。いい、いい", 8)] == ["ああ、ああ。", "いい、いい"]
    assert [p for _, p in bounded_pieces("ああ いい、ううええ", 8)] == ["ああ いい、", "ううええ"]
    assert [p for _, p in bounded_pieces("ああああ いいううええ", 8)] == ["ああああ ", "いいううええ"]
    assert [p for _, p in bounded_pieces("あ" * 20, 8)] == ["あ" * 8, "あ" * 8, "あ" * 4]


def test_a_break_too_early_in_the_window_is_not_taken():
    # a cut after 1 character would make tiny pieces: the window's first half is never cut
    assert [p for _, p in bounded_pieces("あ。" + "い" * 10, 8)] == ["あ。" + "い" * 6, "い" * 4]


def test_the_bound_must_leave_room():
    with pytest.raises(ValueError):
        list(bounded_pieces("abc", 1))
