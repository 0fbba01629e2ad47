"""refresh_vocabulary: one embedding model per index, whatever the AI core falls back to; recordings analysed again
replace their rows, unchanged ones are not merged again."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from aivlingual_assets import settings
from aivlingual_assets.analysis.ngram_embedding import ngram_vectors
from aivlingual_assets.analysis.stock import stock_key, update_stock
from aivlingual_assets.analysis.stock_index import StockIndex
from aivlingual_assets.analysis.vocabulary_store import EmbeddingModelChangedError, refresh_vocabulary
from aivlingual_assets.storage.frame_store import FrameStore

from .test_stock import table


class FallingBackEmbed:
    """Answers with model A until ``fail_over()``, then with model B (as the core does when A is down)."""

    def __init__(self):
        self.model = "model-a"

    def fail_over(self):
        self.model = "model-b"

    def __call__(self, texts):
        return SimpleNamespace(vectors=ngram_vectors(texts), provider="test", model=self.model)


def test_a_fallback_embedding_model_never_enters_the_index_and_nothing_is_written():
    frames = FrameStore(settings.storage_url())
    index_dir = settings.data_dir("vocabulary_index")
    frames.write(table("file-aaaaaaaaaaaa", ("草", "草", "くさ", "lol", "internet", 1.0)), "difficulty", "file-aaaaaaaaaaaa")
    embed = FallingBackEmbed()
    first = refresh_vocabulary(frames=frames, index_dir=index_dir, partitions=["file-aaaaaaaaaaaa"], embed=embed)
    frames.write(first.stock, "vocabulary")
    saved = {p.name: p.read_bytes() for p in index_dir.iterdir()}

    frames.write(table("file-bbbbbbbbbbbb", ("推し", "推し", "おし", "fave", "vtuber_culture", 2.0)), "difficulty",
                 "file-bbbbbbbbbbbb")
    probe = embed(["語"])  # the core's probe is answered from the cache, by model A ...
    embed.fail_over()  # ... but A fails for the new texts and B answers them
    with pytest.raises(EmbeddingModelChangedError, match="model-a.*model-b"):
        refresh_vocabulary(frames=frames, index_dir=index_dir, partitions=["file-aaaaaaaaaaaa", "file-bbbbbbbbbbbb"],
                           embed=lambda texts: probe if texts == ["語"] else embed(texts))
    assert {p.name: p.read_bytes() for p in index_dir.iterdir()} == saved
    assert list(frames.read("vocabulary")["lemma"]) == ["草"]


class OfflineEmbed:
    """The offline embedding as the AI core answers it, counting the texts it embeds (the probe aside)."""

    def __init__(self):
        self.texts: list[str] = []

    def __call__(self, texts):
        if texts != ["語"]:
            self.texts += texts
        return SimpleNamespace(vectors=ngram_vectors(texts), provider="offline", model="ngram")


A, B = "file-aaaaaaaaaaaa", "file-bbbbbbbbbbbb"


def refresh(frames, partitions, embed):
    result = refresh_vocabulary(frames=frames, index_dir=settings.data_dir("vocabulary_index"), partitions=partitions,
                                embed=embed)
    frames.write(result.stock, "vocabulary")
    return result


def test_a_stock_stored_with_json_text_is_written_back_nested_even_when_nothing_changed():
    from .test_nested_columns import json_form

    frames, embed = FrameStore(settings.storage_url()), OfflineEmbed()
    frames.write(table(A, ("草", "草", "くさ", "grass", "noun", 1.0)), "difficulty", A)
    first = refresh(frames, [A], embed)
    frames.write(json_form(first.stock), "vocabulary")
    assert isinstance(frames.read("vocabulary")["occurrences"][0], str)
    embed.texts.clear()
    again = refresh(frames, [A], embed)
    assert (again.merged_recordings, again.replaced_recordings, embed.texts) == ([], [], [])
    pd.testing.assert_frame_equal(again.stock, first.stock)
    assert isinstance(frames.read("vocabulary")["occurrences"][0], np.ndarray)  # a list column again


def test_only_recordings_analysed_again_are_merged_again_and_their_old_rows_go():
    frames, embed = FrameStore(settings.storage_url()), OfflineEmbed()
    frames.write(table(A, ("草", "草", "くさ", "grass", "noun", 1.0), ("間", "間", "ま", "time; pause", "noun", 2.0)),
                 "difficulty", A)
    frames.write(table(B, ("推し", "推し", "おし", "fave", "vtuber_culture", 2.0)), "difficulty", B)
    first = refresh(frames, [A, B], embed)
    assert first.merged_recordings == [A, B] and first.removed_keys == []
    b_row = first.stock[first.stock["lemma"] == "推し"].drop(columns="theme").reset_index(drop=True)

    embed.texts.clear()
    frames.write(table(A, ("草", "草", "くさ", "grass", "noun", 1.0), ("間", "間", "ま", "time; pause", "noun", 2.0)),
                 "difficulty", A)  # the same analysis, written again
    again = refresh(frames, [A, B], embed)
    assert (again.merged_recordings, again.replaced_recordings, embed.texts) == ([], [], [])

    frames.write(table(A, ("草", "草", "くさ", "lol", "internet", 1.0),
                       ("あっという間", "あっという間", "あっというま", "in an instant", "expression", 2.0)), "difficulty", A)
    changed = refresh(frames, [A, B], embed)
    assert changed.replaced_recordings == [A] and changed.merged_recordings == []
    assert set(changed.stock["lemma"]) == {"草", "あっという間", "推し"}
    assert changed.removed_keys == [stock_key("間", "ま")]
    assert changed.stock.set_index("lemma").loc["草", "meaning"] == "lol"
    pd.testing.assert_frame_equal(
        changed.stock[changed.stock["lemma"] == "推し"].drop(columns="theme").reset_index(drop=True), b_row)
    index = StockIndex.load(settings.data_dir("vocabulary_index"))
    assert sorted(index.keys) == sorted(changed.stock["key"])


def test_a_recording_no_longer_registered_leaves_the_stock_and_its_index():
    frames, embed = FrameStore(settings.storage_url()), OfflineEmbed()
    frames.write(table(A, ("草", "草", "くさ", "lol", "internet", 1.0)), "difficulty", A)
    frames.write(table(B, ("推し", "推し", "おし", "fave", "vtuber_culture", 2.0)), "difficulty", B)
    refresh(frames, [A, B], embed)
    result = refresh(frames, [B], embed)
    assert result.removed_recordings == [A] and result.removed_keys == [stock_key("草", "くさ")]
    assert list(result.stock["lemma"]) == ["推し"]
    assert StockIndex.load(settings.data_dir("vocabulary_index")).keys == [stock_key("推し", "おし")]
    assert refresh(frames, [], embed).stock.empty
    assert StockIndex.load(settings.data_dir("vocabulary_index")).keys == []


def test_a_stock_merged_before_analyses_were_versioned_is_merged_again_once():
    frames, embed = FrameStore(settings.storage_url()), OfflineEmbed()
    frames.write(table(A, ("草", "草", "くさ", "lol", "internet", 1.0)), "difficulty", A)
    frames.write(update_stock(None, table(A, ("草", "草", "くさ", "lol", "internet", 1.0)), embed=ngram_vectors,
                              index=None).stock, "vocabulary")  # fmt: skip
    assert refresh(frames, [A], embed).replaced_recordings == [A]
    assert refresh(frames, [A], embed).replaced_recordings == []


def test_a_title_learnt_after_the_first_merge_reaches_the_stock():
    """A YouTube video registered as "YouTube video <id>"; its real title arrives with a later analysis."""
    frames, embed = FrameStore(settings.storage_url()), OfflineEmbed()
    rows = table(A, ("草", "草", "くさ", "lol", "internet", 1.0), ("推し", "推し", "おし", "fave", "vtuber_culture", 2.0))
    frames.write(rows.assign(recording_title="YouTube video aaaaaaaaaaa"), "difficulty", A)
    first = refresh(frames, [A], embed)
    frames.write(rows.assign(recording_title="【雑談】Real title"), "difficulty", A)
    retitled = refresh(frames, [A], embed)
    assert retitled.replaced_recordings == [A] and retitled.removed_keys == []
    titles = {o["recording_title"] for raw in retitled.stock["occurrences"] for o in raw}
    assert titles == {"【雑談】Real title"}
    assert list(retitled.stock["key"]) == list(first.stock["key"])
    assert list(retitled.stock["first_seen"]) == list(first.stock["first_seen"])


def test_a_rebuild_reports_the_rows_it_no_longer_has():
    """Rebuilt with a lower threshold, 配信お疲れさまでした joins 配信お疲れ様でした: its key is reported removed."""
    frames, embed = FrameStore(settings.storage_url()), OfflineEmbed()
    frames.write(table(A, ("配信お疲れ様でした", "配信お疲れ様でした", "はいしんおつかれさまでした", "thanks for the stream",
                           "greeting", 1.0)), "difficulty", A)  # fmt: skip
    frames.write(table(B, ("配信お疲れさまでした", "配信お疲れさまでした", "はいしんおつかれさまでした", "thanks",
                           "greeting", 2.0)), "difficulty", B)  # fmt: skip
    assert len(refresh(frames, [A, B], embed).stock) == 1  # cosine 0.93: merged at the default 0.92
    strict = refresh_vocabulary(frames=frames, index_dir=settings.data_dir("vocabulary_index"), partitions=[A, B],
                                embed=embed, rebuild=True, threshold=0.99)
    assert len(strict.stock) == 2 and strict.removed_keys == []
    frames.write(strict.stock, "vocabulary")
    loose = refresh_vocabulary(frames=frames, index_dir=settings.data_dir("vocabulary_index"), partitions=[A, B],
                               embed=embed, rebuild=True)
    assert len(loose.stock) == 1
    assert loose.removed_keys == [stock_key("配信お疲れさまでした", "はいしんおつかれさまでした")]


def test_the_registry_title_wins_over_the_one_an_analysis_was_made_with():
    frames, embed = FrameStore(settings.storage_url()), OfflineEmbed()
    rows = table(A, ("草", "草", "くさ", "lol", "internet", 1.0)).assign(recording_title="YouTube video aaaaaaaaaaa")
    frames.write(rows, "difficulty", A)
    frames.write(table(B, ("推し", "推し", "おし", "fave", "vtuber_culture", 2.0)), "difficulty", B)
    titles = {A: "Real title", B: ""}  # nothing known of B's title: its own stays
    first = refresh_vocabulary(frames=frames, index_dir=settings.data_dir("vocabulary_index"), partitions=[A, B],
                               embed=embed, titles=titles)
    assert first.retitled_recordings == [A]
    shown = {o["recording"]: o["recording_title"] for raw in first.stock["occurrences"] for o in raw}
    assert shown == {A: "Real title", B: f"Stream {B}"}
    frames.write(first.stock, "vocabulary")
    embed.texts.clear()
    again = refresh_vocabulary(frames=frames, index_dir=settings.data_dir("vocabulary_index"), partitions=[A, B],
                               embed=embed, titles=titles)
    assert (again.retitled_recordings, again.replaced_recordings, again.merged_recordings, embed.texts) == ([], [], [], [])
