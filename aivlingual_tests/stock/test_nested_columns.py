"""The stock's nested columns are native lists and dicts that Parquet stores as nested
types (list<struct>, list<string>, struct); a stock stored before, with them as JSON
text, still loads and merges as the native one does."""

from __future__ import annotations

import json
from datetime import datetime

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aivlingual_assets.analysis.ngram_embedding import ngram_vectors
from aivlingual_assets.analysis.stock import native_stock, recordings_held, remove_recordings, update_stock
from aivlingual_assets.analysis.stock_columns import NESTED_FIELDS, nested
from aivlingual_assets.analysis.stock_removal import seen_times
from aivlingual_assets.assets.analysis import vocabulary_rows_complete
from aivlingual_assets.channels.switches import recordings_of_row
from aivlingual_assets.learning.review_notion import aliases_from_stock
from aivlingual_assets.publishing.anki_deck import parse_occurrences
from aivlingual_assets.publishing.lesson_video import _json, new_in_week
from aivlingual_assets.resources.parquet_io_manager import ParquetIOManager

from .test_stock import DAY1, DAY2, DAY3, table

GREETING = ("よろしくお願いします", "よろしくお願いします", "よろしくおねがいします", "nice to meet you", "greeting", 5.0)
CHEERFUL = ("よろしくお願いしまーす", "よろしくお願いしまーす", "よろしくおねがいします", "nice to meet you (cheerful)",
            "greeting", 9.0)  # fmt: skip
GRASS = ("草", "草", "くさ", "lol", "slang", 1.0)
OSHI = ("推し", "推し", "おし", None, "vtuber_culture", np.nan)  # no start: a null in the struct


def a_stock():
    """Two recordings (one with an analysis version), a near-duplicate absorbed (an alias key)."""
    one = update_stock(None, table("recA", GREETING, GRASS, OSHI), embed=ngram_vectors, index=None, seen_at=DAY1,
                       analyses={"recA": "v1"})  # fmt: skip
    two = update_stock(one.stock, table("recB", CHEERFUL, GRASS), embed=ngram_vectors, index=one.index, seen_at=DAY2)
    return two


def json_form(stock: pd.DataFrame) -> pd.DataFrame:
    """The stock as the code before native columns wrote it: compact JSON text, "{}" for no sighting."""
    out = stock.copy()
    for name in NESTED_FIELDS:
        out[name] = [json.dumps({} if v is None else v, ensure_ascii=False, separators=(",", ":")) for v in out[name]]
        out[name] = out[name].astype("str")
    return out


def incomplete(stock: pd.DataFrame) -> tuple[int, str]:
    metadata = vocabulary_rows_complete(vocabulary=stock).metadata
    return metadata["incomplete_rows"].value, metadata["examples"].value


def test_the_nested_columns_are_native_in_memory():
    stock = a_stock().stock
    row = stock.set_index("lemma").loc["よろしくお願いします"]
    assert row["occurrences"] == [
        {"recording": "recA", "recording_title": "Stream recA", "start": 5.0, "end": 7.0,
         "url": "https://youtu.be/recA?t=5", "analysis": "v1"},
        {"recording": "recB", "recording_title": "Stream recB", "start": 9.0, "end": 11.0,
         "url": "https://youtu.be/recB?t=9"},
    ]  # fmt: skip
    assert row["variants"] == ["よろしくお願いします", "よろしくお願いしまーす"]
    assert len(row["alias_keys"]) == 1 and isinstance(row["alias_keys"][0], str)
    assert row["first_seen"] == {"recording": "recA", "at": DAY1}
    assert row["last_seen"] == {"recording": "recB", "at": DAY2}


def test_the_stock_round_trips_through_the_io_manager_as_nested_parquet_types(tmp_path):
    update = a_stock()
    received: dict[str, pd.DataFrame] = {}

    @dg.asset(io_manager_key="parquet_io_manager")
    def vocabulary() -> pd.DataFrame:
        return update.stock

    @dg.asset
    def reader(vocabulary: pd.DataFrame) -> None:
        received["stock"] = vocabulary

    result = dg.materialize([vocabulary, reader],
                            resources={"parquet_io_manager": ParquetIOManager(base_url=str(tmp_path))})  # fmt: skip
    assert result.success
    schema = pq.read_schema(tmp_path / "vocabulary.parquet")
    occurrence = schema.field("occurrences").type
    assert pa.types.is_list(occurrence) and pa.types.is_struct(occurrence.value_type)
    fields = {f.name: f.type for f in occurrence.value_type}
    assert fields["recording"] == pa.string() and fields["start"] == pa.float64() and fields["analysis"] == pa.string()
    assert schema.field("variants").type == pa.list_(pa.string()) == schema.field("alias_keys").type
    assert schema.field("first_seen").type == pa.struct([("recording", pa.string()), ("at", pa.string())])

    loaded = received["stock"]
    pd.testing.assert_frame_equal(native_stock(loaded), update.stock, check_dtype=False)
    assert loaded.set_index("lemma").loc["推し", "occurrences"][0]["start"] is None
    again = update_stock(loaded, table("recB", CHEERFUL, GRASS), embed=ngram_vectors, index=update.index, seen_at=DAY3)
    assert again.unchanged == 2 and again.embedded == 0
    pd.testing.assert_frame_equal(again.stock, update.stock)


def test_readers_take_the_arrays_parquet_gives_back(tmp_path):
    stock = a_stock().stock
    stock.to_parquet(tmp_path / "stock.parquet")
    loaded = pd.read_parquet(tmp_path / "stock.parquet")
    assert isinstance(loaded["occurrences"][0], np.ndarray)  # what pyarrow gives for a list column
    assert incomplete(loaded) == incomplete(stock) == (1, "推し")  # no meaning; every row has occurrences
    assert [recordings_of_row(occ) for occ in loaded["occurrences"]] == [
        recordings_of_row(occ) for occ in stock["occurrences"]]
    assert [len(parse_occurrences(occ)) for occ in loaded["occurrences"]] == stock["count"].tolist()
    assert aliases_from_stock(loaded) == aliases_from_stock(stock) != {}
    week = new_in_week(loaded, datetime.fromisoformat(DAY1), datetime.fromisoformat(DAY2))
    assert sorted(week["lemma"]) == sorted(["よろしくお願いします", "草", "推し"])  # first seen in recA
    assert recordings_held(loaded) == recordings_held(stock)
    assert seen_times(loaded) == seen_times(stock) == {"recA": DAY1, "recB": DAY2}


def test_a_stock_stored_with_json_text_loads_and_merges_as_the_native_one(tmp_path):
    update = a_stock()
    json_form(update.stock).to_parquet(tmp_path / "old.parquet")
    old = pd.read_parquet(tmp_path / "old.parquet")
    assert isinstance(old["occurrences"][0], str) and old["first_seen"][0].startswith('{"recording"')

    pd.testing.assert_frame_equal(native_stock(old), update.stock, check_dtype=False)
    assert recordings_held(old) == recordings_held(update.stock)
    assert seen_times(old) == seen_times(update.stock)
    assert incomplete(old) == incomplete(update.stock)

    new = table("recC", GRASS, ("初見", "初見", "しょけん", "first time", "vtuber_culture", 4.0))
    from_old = update_stock(old, new, embed=ngram_vectors, index=None, seen_at=DAY3)
    from_native = update_stock(update.stock, new, embed=ngram_vectors, index=None, seen_at=DAY3)
    pd.testing.assert_frame_equal(from_old.stock, from_native.stock)
    assert all(isinstance(v, list) for v in from_old.stock["occurrences"])  # written back native
    removed_old = remove_recordings(old, ["recA"])
    removed_native = remove_recordings(update.stock, ["recA"])
    pd.testing.assert_frame_equal(removed_old.stock, removed_native.stock)
    assert removed_old.removed_keys == removed_native.removed_keys


def test_the_completeness_check_sees_an_empty_native_occurrence_list():
    stock = a_stock().stock
    stock.at[stock.index[stock["lemma"] == "草"][0], "occurrences"] = []
    assert incomplete(stock) == (2, "草, 推し")


def test_the_readers_take_json_text_and_blanks_as_stock_columns_nested_does_and_the_lenient_ones_bad_text():
    """The four readers of a stock outside the merge all read its nested columns through
    stock_columns.nested: JSON text as the native value, blanks as empty; malformed text raises in
    the merge and in the channel switches, and is empty for the readers that only show a stock."""
    occurrences = [{"recording": "recA", "start": 1.0}, {"recording": "recB", "start": None}]
    text = json.dumps(occurrences)
    for value in (occurrences, np.array(occurrences, dtype=object), text, " " + text + "\n"):
        assert recordings_of_row(value) == ["recA", "recB"]
        assert parse_occurrences(value) == occurrences
        assert _json(value, []) == occurrences
    for blank in (None, np.nan, "", "  "):
        assert recordings_of_row(blank) == [] and parse_occurrences(blank) == [] and _json(blank, []) == []
    for bad in ("not json", "[{", '"a string"', "5"):
        assert parse_occurrences(bad) == [] and _json(bad, {}) == {}
    assert nested("not json", [], lenient=True) == []
    with pytest.raises(ValueError):
        nested("not json", [])
    with pytest.raises(ValueError):
        recordings_of_row("[{")
    stock = pd.DataFrame({"key": ["k1", "k2", "k3", "k4"],
                          "alias_keys": [["a1", "k1"], '["a2"]', "not json", None]})  # fmt: skip
    assert aliases_from_stock(stock) == {"a1": "k1", "a2": "k2"}
