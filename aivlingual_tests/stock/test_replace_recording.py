"""A recording analysed again replaces its rows in the stock; other recordings keep theirs."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from aivlingual_assets.analysis.ngram_embedding import ngram_vectors
from aivlingual_assets.analysis.stock import (
    StockEditor,
    recording_analyses,
    remove_recordings,
    replace_recording,
    stock_key,
    stock_texts,
    update_stock,
)
from aivlingual_assets.analysis.stock_index import similar

from .synthetic import synthetic_expressions
from .test_stock import DAY1, DAY2, DAY3, occurrence_groups, table


def two_recordings():
    """recA (草, 間, 推し) merged on DAY1, recB (推し, 初見) on DAY2."""
    one = update_stock(
        None,
        table("recA", ("草", "草", "くさ", "grass", "slang", 1.0), ("間", "間", "ま", "time; pause", "noun", 2.0),
              ("推し", "推し", "おし", "pushing", "vtuber_culture", 3.0)),
        embed=ngram_vectors, index=None, seen_at=DAY1, analyses={"recA": "v1"},
    )  # fmt: skip
    return update_stock(
        one.stock,
        table("recB", ("推し", "推し", "おし", "", "vtuber_culture", 7.0), ("初見", "初見", "しょけん", "first-time viewer",
                                                                       "vtuber_culture", 8.0)),
        embed=ngram_vectors, index=one.index, seen_at=DAY2, analyses={"recB": "w1"},
    )  # fmt: skip


def reanalysis():
    """recA analysed again: 間 was part of あっという間, 草 and 推し get the senses used."""
    return table("recA", ("草", "草", "くさ", "lol (internet slang)", "slang", 1.0),
                 ("あっという間", "あっという間", "あっというま", "in the blink of an eye", "expression", 2.0),
                 ("推し", "推し", "おし", "one's favourite member", "vtuber_culture", 3.0))  # fmt: skip


def rows(stock: pd.DataFrame) -> dict[str, dict]:
    return {row["lemma"]: row for row in stock.to_dict("records")}


def test_the_new_analysis_replaces_the_old_rows_and_other_recordings_keep_theirs():
    before = two_recordings()
    replaced = replace_recording(before.stock, "recA", reanalysis(), embed=ngram_vectors, index=before.index,
                                 analysis="v2", seen_at=DAY3)  # fmt: skip
    after = rows(replaced.stock)
    assert set(after) == {"草", "あっという間", "推し", "初見"}  # 間 "time; pause" is gone
    assert replaced.removed_keys == (stock_key("間", "ま"),)
    assert after["草"]["meaning"] == "lol (internet slang)"  # the newer analysis wins on the rows it keeps
    assert after["推し"]["meaning"] == "one's favourite member"
    assert rows(before.stock)["初見"] == after["初見"]  # recB's own row is untouched
    occurrences = {lemma: [(o["recording"], o["start"], o.get("analysis")) for o in row["occurrences"]]
                   for lemma, row in after.items()}  # fmt: skip
    assert occurrences["推し"] == [("recB", 7.0, "w1"), ("recA", 3.0, "v2")]
    assert occurrences["あっという間"] == [("recA", 2.0, "v2")]
    assert recording_analyses(replaced.stock) == {"recA": {"v2"}, "recB": {"w1"}}


def test_the_index_loses_removed_rows_and_search_never_finds_them():
    before = two_recordings()
    replaced = replace_recording(before.stock, "recA", reanalysis(), embed=ngram_vectors, index=before.index)
    assert sorted(replaced.index.keys) == sorted(replaced.stock["key"])
    assert stock_key("間", "ま") not in replaced.index
    found = similar(replaced.stock, replaced.index, "間 ま", ngram_vectors, k=len(replaced.stock))
    assert "間" not in [expression for _, expression, _ in found]
    # the remaining vectors are still the rows' own
    stored = replaced.index.vectors_for(replaced.stock["key"].tolist())
    expected = ngram_vectors(stock_texts(replaced.stock))
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(stored, expected, atol=1e-5)


def test_sightings_keep_when_the_stock_first_took_the_recording_in():
    before = two_recordings()
    replaced = replace_recording(before.stock, "recA", reanalysis(), embed=ngram_vectors, index=before.index)
    after = rows(replaced.stock)
    assert after["草"]["first_seen"] == {"recording": "recA", "at": DAY1}
    assert after["あっという間"]["first_seen"] == {"recording": "recA", "at": DAY1}
    assert after["推し"]["first_seen"] == {"recording": "recA", "at": DAY1}


def test_a_row_that_loses_its_first_recording_is_first_seen_in_the_next_one():
    before = two_recordings()
    without_oshi = table("recA", ("草", "草", "くさ", "lol", "slang", 1.0))
    replaced = replace_recording(before.stock, "recA", without_oshi, embed=ngram_vectors, index=before.index)
    oshi = rows(replaced.stock)["推し"]
    assert [o["recording"] for o in oshi["occurrences"]] == ["recB"] and oshi["count"] == 1
    assert oshi["first_seen"] == oshi["last_seen"] == {"recording": "recB", "at": DAY2}


def test_a_new_title_reaches_every_occurrence_of_the_recording():
    """A YouTube video first registered as "YouTube video <id>" then analysed with its real title."""
    before = two_recordings()
    retitled = table("recA", ("草", "草", "くさ", "grass", "slang", 1.0), ("間", "間", "ま", "time; pause", "noun", 2.0),
                     ("推し", "推し", "おし", "pushing", "vtuber_culture", 3.0))  # fmt: skip
    retitled["recording_title"] = "【歌枠】Real title"
    replaced = replace_recording(before.stock, "recA", retitled, embed=ngram_vectors, index=before.index)
    titles = {(o["recording"], o["recording_title"]) for occ in replaced.stock["occurrences"] for o in occ}
    assert titles == {("recA", "【歌枠】Real title"), ("recB", "Stream recB")}
    assert replaced.removed_keys == () and len(replaced.stock) == len(before.stock)


def test_an_empty_reanalysis_takes_the_recording_out():
    before = two_recordings()
    replaced = replace_recording(before.stock, "recA", table("recA"), embed=ngram_vectors, index=before.index)
    assert set(replaced.stock["lemma"]) == {"推し", "初見"}
    assert set(replaced.removed_keys) == {stock_key("草", "くさ"), stock_key("間", "ま")}
    assert recording_analyses(replaced.stock) == {"recB": {"w1"}}


def test_removing_a_recording_leaves_rows_that_only_mention_it_in_a_title():
    before = two_recordings()
    stock = before.stock.copy()
    mentions = stock["lemma"] == "初見"
    for pos in np.flatnonzero(mentions):
        stock.at[pos, "occurrences"] = [{**o, "recording_title": "after recA"} for o in stock.at[pos, "occurrences"]]
    removal = remove_recordings(stock, ["recA"], index=before.index)
    assert set(removal.stock["lemma"]) == {"推し", "初見"} and removal.changed == 1
    assert sorted(before.index.keys) == sorted(removal.stock["key"])


def test_one_editor_over_many_recordings_merges_as_recording_by_recording_updates():
    frame, _ = synthetic_expressions(1_200, seed=5, n_recordings=6)
    recordings = sorted(frame["recording"].unique())
    stock, index = None, None
    for recording in recordings:
        update = update_stock(stock, frame[frame["recording"] == recording], embed=ngram_vectors, index=index,
                              threshold=0.8, seen_at=DAY1)  # fmt: skip
        stock, index = update.stock, update.index
    editor = StockEditor(None, embed=ngram_vectors, index=None, threshold=0.8)
    for recording in recordings:
        editor.merge(frame[frame["recording"] == recording], seen_at=DAY1)
    pd.testing.assert_frame_equal(editor.frame(), stock)
    assert editor.index.keys == index.keys

    # each recording analysed again, the same: the stock ends as it was, nothing lost
    for recording in recordings:
        assert editor.replace(recording, frame[frame["recording"] == recording]) == []
    assert occurrence_groups(editor.frame()) == occurrence_groups(stock)
    assert sorted(editor.index.keys) == sorted(stock["key"])


def test_rows_appended_by_one_recording_are_found_by_the_next_in_the_same_editor():
    editor = StockEditor(None, embed=ngram_vectors, index=None)
    editor.merge(table("recA", ("可愛い", "可愛い", "かわいい", "cute", "adjective", 1.0)), seen_at=DAY1)
    editor.merge(table("recB", ("かわいい", "かわいい", "かわいい", "cute", "adjective", 2.0)), seen_at=DAY2)
    assert editor.remove(["recC"]) == [] and editor.counts["merged_near"] == 1
    (row,) = editor.frame().to_dict("records")
    assert row["lemma"] == "可愛い" and row["count"] == 2
    assert editor.remove(["recA", "recB"]) == [row["key"]] and editor.frame().empty and len(editor.index) == 0


def test_a_new_analysis_holding_rows_of_another_recording_is_refused_and_changes_nothing():
    before = two_recordings()
    mixed = pd.concat([reanalysis(), table("recB", ("草", "草", "くさ", "lol", "slang", 9.0))])
    keys = before.index.keys
    with pytest.raises(ValueError, match="recB"):
        replace_recording(before.stock, "recA", mixed, embed=ngram_vectors, index=before.index)
    assert before.index.keys == keys


def test_analysis_versions_are_plain_values_and_survive_parquet(tmp_path):
    stock = two_recordings().stock
    for occurrences in stock["occurrences"]:
        assert all(isinstance(o["analysis"], str) for o in occurrences)
    stock.to_parquet(tmp_path / "stock.parquet")
    assert recording_analyses(pd.read_parquet(tmp_path / "stock.parquet")) == {"recA": {"v1"}, "recB": {"w1"}}


def test_a_recording_merged_after_the_first_removal_is_found_by_the_next():
    before = two_recordings()
    editor = StockEditor(before.stock, embed=ngram_vectors, index=before.index)
    assert editor.remove(["recB"]) == [stock_key("初見", "しょけん")]  # a scan of the rows' JSON text
    assert editor.remove(["recZ"]) == []  # from now on, the recording -> rows look-up
    editor.merge(table("recC", ("草", "草", "くさ", "lol", "slang", 5.0), ("初見", "初見", "しょけん", "newcomer",
                                                                       "vtuber_culture", 6.0)), seen_at=DAY3)
    assert editor.remove(["recC"]) == [stock_key("初見", "しょけん")]
    after = rows(editor.frame())
    assert set(after) == {"草", "間", "推し"}
    assert [o["recording"] for o in after["草"]["occurrences"]] == ["recA"]
    assert sorted(editor.index.keys) == sorted(after[lemma]["key"] for lemma in after)


def test_a_row_whose_reading_was_filled_in_during_the_session_can_still_be_dropped():
    editor = StockEditor(None, embed=ngram_vectors, index=None)
    editor.merge(table("recA", ("ぺこ", "ぺこ", "", "", "", 1.0)), seen_at=DAY1)
    editor.merge(table("recB", ("可愛い", "可愛い", "かわいい", "cute", "adjective", 1.0)), seen_at=DAY1)
    editor.merge(table("recC", ("かわいい", "かわいい", "かわいい", "cute", "adjective", 2.0)),
                 seen_at=DAY2)  # a kana spelling: builds the reading look-up
    editor.merge(table("recD", ("ぺこ", "ぺこ", "ぺこ", "Pekora's verbal tic", "vtuber_culture", 3.0)), seen_at=DAY2)
    assert len(editor.remove(["recA", "recD"])) == 1
    assert list(editor.frame()["lemma"]) == ["可愛い"]
