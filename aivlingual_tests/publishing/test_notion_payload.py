"""Building Notion property payloads: text splitting, limits, hashing (no server needed)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aivlingual_assets.publishing.notion_schema import PROPERTY_SCHEMA, SYNCED_PROPERTIES
from aivlingual_assets.publishing.notion_sync import (
    TEXT_OBJECT_LIMIT,
    build_properties,
    clean_option_name,
    content_hash,
    grapheme_clusters,
    page_matches,
    split_rich_text,
    split_text,
    truncate_text,
    utf16_len,
)


def row(**overrides):
    base = {
        "key": "k-1",
        "expression": "てぇてぇ",
        "reading": "てぇてぇ",
        "meaning": "precious",
        "category": "slang",
        "level": "N2",
        "example": "てぇてぇなぁ",
        "occurrences": json.dumps(
            [
                {"recording": "r1", "recording_title": "配信A", "start": 1.0, "url": "https://youtu.be/a?t=1"},
                {"recording": "r2", "recording_title": "配信B", "start": 2.0, "url": "https://youtu.be/b?t=2"},
                {"recording": "r3", "recording_title": "配信A", "start": 3.0, "url": "https://youtu.be/a?t=3"},
            ],
            ensure_ascii=False,
        ),
        "count": 3,
        "theme": "vtuber",
    }
    base.update(overrides)
    return base


def test_utf16_length_counts_astral_characters_twice():
    assert utf16_len("あいう") == 3
    assert utf16_len("👍") == 2
    assert utf16_len("👍🏽") == 4
    assert utf16_len("🇯🇵") == 4


@pytest.mark.parametrize(
    "text, expected",
    [
        ("かな", ["か", "な"]),
        ("か\u309aな", ["か\u309a", "な"]),  # combining semi-voiced mark stays on its base
        ("ｶﾞｷ", ["ｶﾞ", "ｷ"]),  # half-width voiced mark
        ("👍🏽!", ["👍🏽", "!"]),  # skin-tone modifier
        ("👨\u200d👩\u200d👧x", ["👨\u200d👩\u200d👧", "x"]),  # ZWJ family
        ("🇯🇵🇺🇸🇫", ["🇯🇵", "🇺🇸", "🇫"]),  # flags pair up
        ("❤\ufe0f1\ufe0f\u20e3", ["❤\ufe0f", "1\ufe0f\u20e3"]),  # variation selector, keycap
        ("葛\U000e0100城", ["葛\U000e0100", "城"]),  # ideographic variation selector
        ("a\r\nb", ["a", "\r\n", "b"]),
    ],
)
def test_grapheme_clusters(text, expected):
    assert grapheme_clusters(text) == expected


_PIECES = st.sampled_from(
    ["あ", "字", "a", "\n", "\r\n", "か\u309a", "👍", "👍🏽", "👨\u200d👩\u200d👧", "🇯🇵", "🇺", "❤\ufe0f", "1\ufe0f\u20e3", "ｶﾞ", "\u0301"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_PIECES, max_size=60), st.integers(min_value=4, max_value=12))
def test_split_cuts_only_at_cluster_boundaries(pieces, limit):
    text = "".join(pieces)
    chunks = split_text(text, limit)
    assert "".join(chunks) == text
    assert all(0 < utf16_len(c) <= limit for c in chunks)
    boundaries, position = {0}, 0
    for cluster in grapheme_clusters(text):
        position += len(cluster)
        boundaries.add(position)
    cut, oversized = 0, any(utf16_len(c) > limit for c in grapheme_clusters(text))
    for chunk in chunks[:-1]:
        cut += len(chunk)
        assert cut in boundaries or oversized


def test_split_never_cuts_an_emoji_sequence_at_the_boundary():
    text = "あ" * 1999 + "👍🏽" + "い" * 10
    chunks = split_text(text)
    assert chunks == ["あ" * 1999, "👍🏽" + "い" * 10]
    family = "👨\u200d👩\u200d👧\u200d👦"
    chunks = split_text("x" * 1995 + family + "y")
    assert chunks[0] == "x" * 1995 and chunks[1].startswith(family)
    assert all(utf16_len(c) <= TEXT_OBJECT_LIMIT for c in chunks)


def test_split_fills_chunks_exactly_to_the_limit():
    text = "日本語" * 2000  # 6000 BMP characters
    chunks = split_text(text)
    assert [len(c) for c in chunks] == [2000, 2000, 2000]
    assert "".join(chunks) == text


def test_split_of_astral_only_text_counts_utf16_units():
    text = "😀" * 1500  # 3000 UTF-16 units
    chunks = split_text(text)
    assert [utf16_len(c) for c in chunks] == [2000, 1000]
    assert "".join(chunks) == text


def test_pathological_cluster_is_cut_between_code_points():
    text = "a" + "\u0301" * 2500
    chunks = split_text(text)
    assert "".join(chunks) == text
    assert all(utf16_len(c) <= TEXT_OBJECT_LIMIT for c in chunks)


def test_rich_text_array_never_exceeds_100_objects():
    objects = split_rich_text("字" * 250_000)
    assert len(objects) == 100
    assert all(utf16_len(o["text"]["content"]) <= TEXT_OBJECT_LIMIT for o in objects)
    assert objects[-1]["text"]["content"].endswith("…")
    assert split_rich_text("") == []


def test_truncate_keeps_whole_clusters_and_marks_the_cut():
    assert truncate_text("abc", 10) == "abc"
    cut = truncate_text("ab👍🏽cd", 5)
    assert cut == "ab…"  # the 4-unit emoji does not fit before the marker
    assert utf16_len(truncate_text("字" * 100, 10)) == 10


def test_option_names_have_no_commas_and_fit_100_units():
    assert clean_option_name("a, b,c") == "a b c"
    assert utf16_len(clean_option_name("😀" * 80)) <= 100
    assert clean_option_name(None) == ""
    assert clean_option_name(float("nan")) == ""


def test_build_properties_shapes_every_synced_property():
    props = build_properties(row())
    assert set(props) == set(SYNCED_PROPERTIES)
    for name, value in props.items():
        assert list(value) == [PROPERTY_SCHEMA[name].type]
    assert props["Japanese"]["title"] == [{"type": "text", "text": {"content": "てぇてぇ"}}]
    assert props["Source"]["rich_text"][0]["text"]["content"] == "配信A\n配信B"  # unique, in order
    assert props["Timestamp"]["url"] == "https://youtu.be/a?t=1"
    assert props["Tags"]["multi_select"] == [{"name": "vtuber"}, {"name": "slang"}]
    assert props["Occurrences"]["number"] == 3
    assert props["Level"]["select"] == {"name": "N2"}
    assert "Review" not in props and "Rating" not in props


def test_build_properties_handles_missing_values():
    props = build_properties(
        pd.Series(row(reading=np.nan, category=None, level=np.nan, occurrences=np.nan, count=np.nan, theme=pd.NA))
    )
    assert props["Reading"]["rich_text"] == []
    assert props["Category"]["select"] is None
    assert props["Level"]["select"] is None
    assert props["Tags"]["multi_select"] == []
    assert props["Timestamp"]["url"] is None
    assert props["Occurrences"]["number"] == 0


def test_numeric_level_and_float_count_are_rendered_cleanly():
    props = build_properties(row(level=3.0, count=7.0))
    assert props["Level"]["select"] == {"name": "3"}
    assert props["Occurrences"]["number"] == 7


def test_unsafe_urls_are_not_sent():
    occ = json.dumps([{"recording_title": "t", "url": "javascript:alert(1)"}, {"recording_title": "t", "url": "x" * 3000}])
    assert build_properties(row(occurrences=occ))["Timestamp"]["url"] is None


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"key": None}, "no key"),
        ({"key": "  "}, "no key"),
        ({"key": "k" * 600}, "key must be"),
        ({"expression": ""}, "no expression"),
        ({"occurrences": "{broken"}, "not valid JSON"),
        ({"occurrences": '{"a": 1}'}, "must be a JSON list"),
    ],
)
def test_invalid_rows_raise_value_error(overrides, message):
    with pytest.raises(ValueError, match=message):
        build_properties(row(**overrides))


def test_control_characters_and_lone_surrogates_are_cleaned():
    props = build_properties(row(meaning="a\x00b\x07c\ud800d\r\ne"))
    assert props["English"]["rich_text"][0]["text"]["content"] == "abc\ufffdd\ne"
    json.dumps(props, ensure_ascii=False).encode("utf-8")  # must be encodable


def test_hash_changes_with_content_and_is_stable():
    a = build_properties(row())
    assert content_hash(a) == content_hash(build_properties(row()))
    assert content_hash(a) != content_hash(build_properties(row(meaning="other")))
    assert len(content_hash(a)) == 64


def test_page_matches_compares_what_readers_see():
    props = build_properties(row(meaning="x" * 4500))
    page = {"properties": {}}
    for name, value in props.items():
        kind = next(iter(value))
        raw = value[kind]
        if kind in ("title", "rich_text"):
            text = "".join(i["text"]["content"] for i in raw)
            raw = [{"type": "text", "plain_text": text, "text": {"content": text}}]  # one object, same text
        elif kind == "select" and raw:
            raw = {"id": "o1", "name": raw["name"], "color": "red"}
        page["properties"][name] = {"id": "p", "type": kind, kind: raw}
    page["properties"]["Review"] = {"type": "select", "select": {"name": "Verified"}}
    assert page_matches(page, props)
    page["properties"]["English"]["rich_text"][0]["plain_text"] = "changed"
    assert not page_matches(page, props)
