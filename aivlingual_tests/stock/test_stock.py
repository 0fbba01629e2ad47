"""The vocabulary stock: exact and near-duplicate merging, idempotence, incrementality."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from aivlingual_assets.analysis.kana import match_key
from aivlingual_assets.analysis.ngram_embedding import ngram_vectors
from aivlingual_assets.analysis.stock import (
    STOCK_COLUMNS,
    aggregate_expressions,
    empty_stock,
    meanings_compatible,
    merge_near_duplicates,
    native_stock,
    near_duplicate_compatible,
    stock_key,
    update_stock,
)

from .synthetic import synthetic_expressions

DAY1, DAY2, DAY3 = "2024-05-01T12:00:00+00:00", "2024-05-02T12:00:00+00:00", "2024-05-03T12:00:00+00:00"


class CountingEmbed:
    """The offline embedding, recording every text it is asked to embed."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return ngram_vectors(texts)

    @property
    def texts(self) -> list[str]:
        return [t for call in self.calls for t in call]


def table(recording: str, *rows: tuple) -> pd.DataFrame:
    """Expression rows: (expression, lemma, reading, meaning, category, start)."""
    return pd.DataFrame(
        [
            {
                "recording": recording,
                "recording_title": f"Stream {recording}",
                "expression": expression,
                "lemma": lemma,
                "reading": reading,
                "meaning": meaning,
                "category": category,
                "explanation": f"about {lemma}",
                "example": f"{expression}！",
                "start": start,
                "end": start + 2.0,
                "url": None if start != start else f"https://youtu.be/{recording}?t={int(start)}",
                "level": "slang",
                "level_score": 3.5,
            }
            for expression, lemma, reading, meaning, category, start in rows
        ]
    )


def rows_by_lemma(stock: pd.DataFrame) -> dict[str, pd.Series]:
    return {row.lemma: row for row in stock.itertuples(index=False)}


def occurrences(row) -> list[dict]:
    return list(row.occurrences)


def test_exact_merge_across_two_recordings():
    embed = CountingEmbed()
    first = update_stock(
        None,
        table("recA", ("推し", "推し", "オシ", "favourite member", "vtuber_culture", 10.0)),
        embed=embed, index=None, seen_at=DAY1,
    )  # fmt: skip
    second = update_stock(
        first.stock,
        table("recB", ("推し", "推し", "おし", "favourite member", "vtuber_culture", 42.5)),
        embed=embed, index=first.index, seen_at=DAY2,
    )  # fmt: skip
    assert (second.added, second.merged_exact, second.merged_near, second.unchanged) == (0, 1, 0, 0)
    assert list(second.stock.columns) == list(STOCK_COLUMNS)
    (row,) = second.stock.itertuples(index=False)
    assert row.count == 2
    assert row.key == stock_key("推し", "おし") == first.stock.key[0]
    assert occurrences(row) == [
        {"recording": "recA", "recording_title": "Stream recA", "start": 10.0, "end": 12.0,
         "url": "https://youtu.be/recA?t=10"},
        {"recording": "recB", "recording_title": "Stream recB", "start": 42.5, "end": 44.5,
         "url": "https://youtu.be/recB?t=42"},
    ]  # fmt: skip
    assert row.first_seen == {"recording": "recA", "at": DAY1}
    assert row.last_seen == {"recording": "recB", "at": DAY2}
    assert list(row.variants) == ["推し"]
    assert embed.texts == ["推し オシ"]  # the second recording needed no embedding


def test_kana_spelling_variants_become_one_row():
    update = update_stock(
        None,
        table(
            "recA",
            ("てぇてぇ", "てぇてぇ", "テェテェ", "precious", "slang", 1.0),
            ("てえてえ", "てえてえ", "テエテエ", "precious", "slang", 2.0),
            ("てーてー", "てーてー", "テーテー", "", "slang", 3.0),
            ("ﾃｪﾃｪ", "ﾃｪﾃｪ", "", "precious", "slang", 4.0),
        ),
        embed=ngram_vectors, index=None, seen_at=DAY1,
    )  # fmt: skip
    (row,) = update.stock.itertuples(index=False)
    assert row.count == 4 and update.added == 1
    assert list(row.variants) == ["てぇてぇ", "てえてえ", "てーてー", "ﾃｪﾃｪ"]


def test_near_duplicate_merges_into_existing_row_and_is_remembered():
    embed = CountingEmbed()
    base = update_stock(
        None,
        table("recA", ("よろしくお願いします", "よろしくお願いします", "よろしくおねがいします", "nice to meet you", "greeting", 5.0)),
        embed=embed, index=None, seen_at=DAY1,
    )  # fmt: skip
    variant = ("よろしくお願いしまーす", "よろしくお願いしまーす", "よろしくおねがいします", "nice to meet you (cheerful)", "greeting", 9.0)
    assert match_key(variant[1], variant[2]) != match_key("よろしくお願いします", "よろしくおねがいします")
    near = update_stock(base.stock, table("recB", variant), embed=embed, index=base.index, seen_at=DAY2)
    assert (near.added, near.merged_exact, near.merged_near) == (0, 0, 1)
    (row,) = near.stock.itertuples(index=False)
    assert row.count == 2 and row.key == base.stock.key[0]
    assert list(row.variants) == ["よろしくお願いします", "よろしくお願いしまーす"]
    assert list(row.alias_keys) == [stock_key(variant[1], variant[2])]
    assert len(near.index) == 1  # the absorbed spelling is an alias, not a new vector

    # the next recording with that spelling resolves through the alias: no embedding
    embed.calls.clear()
    again = update_stock(near.stock, table("recC", variant[:5] + (1.0,)), embed=embed, index=near.index, seen_at=DAY3)
    assert (again.merged_exact, again.merged_near, again.added) == (1, 0, 0)
    assert embed.calls == [] and again.stock["count"].tolist() == [3]


def test_near_duplicates_within_one_recording_merge():
    update = update_stock(
        None,
        table(
            "recA",
            ("配信お疲れ様でした", "配信お疲れ様でした", "はいしんおつかれさまでした", "thanks for the stream", "greeting", 1.0),
            ("配信お疲れさまでした", "配信お疲れさまでした", "はいしんおつかれさまでした", "", "greeting", 2.0),
        ),
        embed=ngram_vectors, index=None, seen_at=DAY1,
    )  # fmt: skip
    assert (update.added, update.merged_near) == (1, 1)
    (row,) = update.stock.itertuples(index=False)
    assert row.lemma == "配信お疲れ様でした" and row.count == 2
    assert row.meaning == "thanks for the stream"


@pytest.mark.parametrize("threshold", [0.92, 0.0])
def test_homophones_with_different_meanings_never_merge(threshold):
    """橋/箸 share the reading はし; even when cosine passes (threshold 0) the rule holds."""
    first = update_stock(
        None, table("recA", ("橋", "橋", "はし", "bridge", "noun", 1.0)),
        embed=ngram_vectors, index=None, threshold=threshold, seen_at=DAY1,
    )  # fmt: skip
    second = update_stock(
        first.stock,
        table("recB", ("箸", "箸", "ハシ", "chopsticks", "noun", 2.0), ("生", "生", "せい", "life", "noun", 3.0)),
        embed=ngram_vectors, index=first.index, threshold=threshold, seen_at=DAY2,
    )  # fmt: skip
    third = update_stock(
        second.stock, table("recC", ("生", "生", "なま", "raw; live (broadcast)", "noun", 4.0)),
        embed=ngram_vectors, index=second.index, threshold=threshold, seen_at=DAY3,
    )  # fmt: skip
    assert sorted(third.stock["lemma"] + "/" + third.stock["reading"]) == ["橋/はし", "生/せい", "生/なま", "箸/ハシ"]
    assert third.merged_near == 0 and third.added == 1


def test_a_word_and_its_kana_spelling_merge_with_the_default_settings():
    """可愛い/かわいい: cosine ~0.85 with the n-gram embedding (below the 0.92 threshold), yet
    the same word: same reading, one lemma is that reading, meanings agree."""
    first = update_stock(None, table("recA", ("可愛い", "可愛い", "かわいい", "cute", "adjective", 1.0)),
                         embed=ngram_vectors, index=None, seen_at=DAY1)  # fmt: skip
    second = update_stock(first.stock, table("recB", ("かわいい", "かわいい", "かわいい", "cute; adorable", "adjective", 2.0),
                                             ("がんばる", "がんばる", "がんばる", "to do one's best", "verb", 3.0)),
                          embed=ngram_vectors, index=first.index, seen_at=DAY2)  # fmt: skip
    assert second.merged_near == 1 and len(second.stock) == 2
    third = update_stock(second.stock, table("recC", ("頑張る", "頑張る", "がんばる", "to do one's best; to persist", "verb", 4.0)),
                         embed=ngram_vectors, index=second.index, seen_at=DAY3)  # fmt: skip
    assert third.merged_near == 1 and len(third.stock) == 2
    counts = dict(zip(third.stock["lemma"], third.stock["count"]))
    assert counts == {"可愛い": 2, "がんばる": 2}


def test_kana_spellings_merge_inside_one_table_too():
    merged = merge_near_duplicates(
        table("recA", ("面白い", "面白い", "おもしろい", "interesting; funny", "adjective", 1.0),
              ("おもしろい", "おもしろい", "おもしろい", "funny", "adjective", 2.0),
              ("推し", "推し", "おし", "one's favourite", "vtuber_culture", 3.0),
              ("おし", "おし", "おし", "favourite", "vtuber_culture", 4.0)),
        ngram_vectors,
    )  # fmt: skip
    assert sorted(merged["lemma"]) == ["推し", "面白い"]


def test_a_kana_spelling_never_joins_a_homophone_with_another_meaning():
    """はし written in kana meaning chopsticks joins 箸, not 橋 (bridge)."""
    first = update_stock(None, table("recA", ("橋", "橋", "はし", "bridge", "noun", 1.0), ("箸", "箸", "はし", "chopsticks", "noun", 2.0)),
                         embed=ngram_vectors, index=None, seen_at=DAY1)  # fmt: skip
    second = update_stock(first.stock, table("recB", ("はし", "はし", "はし", "chopsticks", "noun", 3.0)),
                          embed=ngram_vectors, index=first.index, seen_at=DAY2)  # fmt: skip
    counts = dict(zip(second.stock["lemma"], second.stock["count"]))
    assert counts == {"橋": 1, "箸": 2}


def test_rule_helpers():
    assert not meanings_compatible("bridge", "chopsticks")
    assert meanings_compatible("cute", "Cute, adorable")
    assert meanings_compatible("chopstick", "chopsticks")
    assert meanings_compatible("", "anything")
    assert meanings_compatible("かわいい", "とてもかわいい")
    assert not near_duplicate_compatible(
        {"lemma": "推し", "reading": "おし", "meaning": ""}, {"lemma": "押し", "reading": "おじ", "meaning": ""}
    )  # neither lemma nor reading shared


def test_rerunning_a_recording_is_a_no_op():
    embed = CountingEmbed()
    rec_a = table("recA", ("草", "草", "くさ", "lol", "slang", 1.0), ("推し", "推し", "おし", "fave", "vtuber_culture", 2.0))
    rec_b = table("recB", ("草", "草", "くさ", "lol", "slang", 7.0), ("初見", "初見", "しょけん", "first-time viewer", "vtuber_culture", 8.0))
    one = update_stock(None, rec_a, embed=embed, index=None, seen_at=DAY1)
    two = update_stock(one.stock, rec_b, embed=embed, index=one.index, seen_at=DAY2)
    calls_before = len(embed.calls)
    again = update_stock(two.stock, rec_b, embed=embed, index=two.index, seen_at=DAY3)
    assert (again.added, again.merged_exact, again.merged_near, again.unchanged) == (0, 0, 0, 2)
    pd.testing.assert_frame_equal(again.stock, two.stock)  # last_seen not bumped either
    assert len(embed.calls) == calls_before and len(again.index) == 3
    # a duplicated row inside one recording is one occurrence, not two
    doubled = update_stock(two.stock, pd.concat([rec_b, rec_b]), embed=embed, index=two.index, seen_at=DAY3)
    pd.testing.assert_frame_equal(doubled.stock, two.stock)


def test_only_new_texts_are_embedded():
    embed = CountingEmbed()
    one = update_stock(
        None,
        table("recA", ("草", "草", "くさ", "lol", "slang", 1.0), ("推し", "推し", "おし", "fave", "vtuber_culture", 2.0),
              ("草", "草", "くさ", "lol", "slang", 3.0)),
        embed=embed, index=None, seen_at=DAY1,
    )  # fmt: skip
    assert embed.calls == [["草 くさ", "推し おし"]] and one.embedded == 2
    embed.calls.clear()
    two = update_stock(
        one.stock,
        table("recB", ("推し", "推し", "オシ", "fave", "vtuber_culture", 5.0), ("スパチャ", "スパチャ", "すぱちゃ", "super chat", "vtuber_culture", 6.0)),
        embed=embed, index=one.index, seen_at=DAY2,
    )  # fmt: skip
    assert embed.calls == [["スパチャ すぱちゃ"]] and two.embedded == 1

    # a lost index is rebuilt once from the stock; the rebuilt index is then reused
    embed.calls.clear()
    rebuilt = update_stock(two.stock, table("recC", ("初見", "初見", "しょけん", "newcomer", "vtuber_culture", 1.0)),
                           embed=embed, index=None, seen_at=DAY3)  # fmt: skip
    assert embed.calls == [["草 くさ", "推し おし", "スパチャ すぱちゃ"], ["初見 しょけん"]]
    assert rebuilt.index.keys == rebuilt.stock["key"].tolist()
    embed.calls.clear()
    update_stock(rebuilt.stock, table("recD", ("草", "草", "くさ", "lol", "slang", 9.0)), embed=embed, index=rebuilt.index)
    assert embed.calls == []


def test_blank_fields_are_filled_by_later_recordings():
    one = update_stock(None, table("recA", ("ぺこ", "ぺこ", "ぺこ", "", "", 1.0)), embed=ngram_vectors, index=None)
    two = update_stock(one.stock, table("recB", ("ぺこ", "ぺこ", "ぺこ", "Pekora's verbal tic", "vtuber_culture", 2.0)),
                       embed=ngram_vectors, index=one.index)  # fmt: skip
    row = two.stock.iloc[0]
    assert row["meaning"] == "Pekora's verbal tic" and row["category"] == "vtuber_culture"


def test_stock_round_trips_through_parquet_and_keeps_working(tmp_path):
    rec = table("recA", ("草", "草", "くさ", "lol", "slang", 1.0), ("推し", "推し", "おし", None, "vtuber_culture", np.nan))
    one = update_stock(empty_stock(), rec, embed=ngram_vectors, index=None, seen_at=DAY1)
    path = tmp_path / "stock.parquet"
    one.stock.to_parquet(path)
    loaded = pd.read_parquet(path)
    pd.testing.assert_frame_equal(native_stock(loaded), one.stock)
    assert loaded.set_index("lemma").loc["推し", "occurrences"][0]["start"] is None
    again = update_stock(loaded, rec, embed=ngram_vectors, index=one.index, seen_at=DAY2)
    assert again.unchanged == 2
    pd.testing.assert_frame_equal(again.stock, one.stock)


def test_empty_inputs():
    update = update_stock(None, table("recA"), embed=ngram_vectors, index=None)
    assert update.stock.empty and list(update.stock.columns) == list(STOCK_COLUMNS)
    assert len(update.index) == 0 and update.embedded == 0
    assert merge_near_duplicates(empty_stock(), ngram_vectors).empty


def occurrence_groups(stock: pd.DataFrame) -> set[frozenset]:
    return {frozenset((o["recording"], o["start"]) for o in occ) for occ in stock["occurrences"]}


def _truth_partition(frame: pd.DataFrame, truth: list[int]) -> set[frozenset]:
    groups: dict[int, set] = {}
    for rec, start, item in zip(frame["recording"], frame["start"], truth):
        groups.setdefault(item, set()).add((rec, start))
    return {frozenset(g) for g in groups.values()}


def test_merge_near_duplicates_on_5000_synthetic_rows_is_correct():
    frame, truth = synthetic_expressions(5_000, seed=3)
    n_items = len(set(truth))
    exact = aggregate_expressions(frame, seen_at=DAY1)
    assert len(exact) > n_items  # near variants are left for the near-duplicate stage

    merged = merge_near_duplicates(frame, ngram_vectors, threshold=0.8, seen_at=DAY1)
    assert len(merged) == n_items
    assert occurrence_groups(merged) == _truth_partition(frame, truth)  # homophone decoys kept apart
    assert merged["count"].sum() == len(frame)
    assert merged["key"].is_unique and set(merged["key"]) <= set(exact["key"])

    # the stock-table entry point gives the same result as the expression-table one
    pd.testing.assert_frame_equal(merge_near_duplicates(exact, ngram_vectors, threshold=0.8), merged)

    # the default (strict) threshold merges less but never wrongly
    strict = merge_near_duplicates(exact, ngram_vectors)
    assert n_items <= len(strict) <= len(exact)
    truth_of = {(r, s): item for r, s, item in zip(frame["recording"], frame["start"], truth)}
    assert all(len({truth_of[o] for o in group}) == 1 for group in occurrence_groups(strict))


def test_incremental_updates_agree_with_the_batch_merge():
    frame, _ = synthetic_expressions(1_200, seed=5, n_recordings=6)
    stock, index = None, None
    for recording in sorted(frame["recording"].unique()):
        update = update_stock(stock, frame[frame["recording"] == recording], embed=ngram_vectors,
                              index=index, threshold=0.8, seen_at=DAY1)  # fmt: skip
        stock, index = update.stock, update.index
    batch = merge_near_duplicates(frame, ngram_vectors, threshold=0.8, seen_at=DAY1)
    assert occurrence_groups(stock) == occurrence_groups(batch)
    assert index.keys == stock["key"].tolist()


@pytest.mark.slow
def test_merging_100k_expressions_recovers_exactly_the_true_groups():
    """At the benchmark's scale (its timing lives in bench/faiss_merge.py), nothing is over- or under-merged."""
    frame, truth = synthetic_expressions(100_000, seed=11, n_recordings=300)
    merged = merge_near_duplicates(frame, ngram_vectors, threshold=0.8, seen_at=DAY1)
    assert len(merged) == len(set(truth))


# Same reading, meanings that share a word (the rule accepts them), yet different words: only the cosine threshold
# keeps them apart.  Their n-gram cosines are 0.82, 0.75 and 0.88, under the default 0.92.
HOMOPHONES_WITH_OVERLAPPING_GLOSSES = (
    (("暑い", "暑い", "あつい", "hot (weather)", "adjective"), ("熱い", "熱い", "あつい", "hot (to the touch)", "adjective")),
    (("聞く", "聞く", "きく", "to hear; to listen", "verb"), ("聴く", "聴く", "きく", "to listen (to music)", "verb")),
    (("暖かい", "暖かい", "あたたかい", "warm (weather)", "adjective"),
     ("温かい", "温かい", "あたたかい", "warm (to the touch)", "adjective")),
)  # fmt: skip
FIRSTS = [pair[0] for pair in HOMOPHONES_WITH_OVERLAPPING_GLOSSES]
SECONDS = [pair[1] for pair in HOMOPHONES_WITH_OVERLAPPING_GLOSSES]


def test_the_overlapping_homophones_are_compatible_and_below_the_threshold():
    """The premise of the threshold tests below: only the score separates these pairs."""
    for first, second in HOMOPHONES_WITH_OVERLAPPING_GLOSSES:
        a, b = (dict(zip(("expression", "lemma", "reading", "meaning"), row, strict=False)) for row in (first, second))
        assert near_duplicate_compatible(a, b)
        vectors = ngram_vectors([f"{a['lemma']} {a['reading']}", f"{b['lemma']} {b['reading']}"])
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        assert 0.7 < float(vectors[0] @ vectors[1]) < 0.92


def with_starts(rows, first_start: float) -> list[tuple]:
    return [row + (first_start + i,) for i, row in enumerate(rows)]


@pytest.mark.parametrize(("threshold", "rows"), [(0.92, 6), (0.7, 3)])
def test_the_batch_merge_keeps_compatible_pairs_below_the_threshold_apart(threshold, rows):
    frame = table("recA", *with_starts(FIRSTS + SECONDS, 1.0))
    assert len(merge_near_duplicates(frame, ngram_vectors, threshold=threshold)) == rows
    assert len(merge_near_duplicates(aggregate_expressions(frame), ngram_vectors, threshold=threshold)) == rows


@pytest.mark.parametrize(("threshold", "merged"), [(0.92, 0), (0.7, 3)])
def test_the_incremental_update_keeps_compatible_pairs_below_the_threshold_apart(threshold, merged):
    first = update_stock(None, table("recA", *with_starts(FIRSTS, 1.0)), embed=ngram_vectors, index=None,
                         threshold=threshold)  # fmt: skip
    second = update_stock(first.stock, table("recB", *with_starts(SECONDS, 1.0)), embed=ngram_vectors,
                          index=first.index, threshold=threshold)  # fmt: skip
    assert (second.merged_near, second.added, len(second.stock)) == (merged, 3 - merged, 6 - merged)
    within = update_stock(None, table("recC", *with_starts(FIRSTS + SECONDS, 1.0)), embed=ngram_vectors, index=None,
                          threshold=threshold)  # fmt: skip
    assert (within.merged_near, len(within.stock)) == (merged, 6 - merged)


def test_small_and_large_tables_read_text_columns_alike(monkeypatch):
    """One recording's table is read with a Python loop, a large one with pandas: same strings either way."""
    from aivlingual_assets.analysis import stock_columns

    values = pd.Series([None, np.nan, pd.NA, pd.NaT, " 草 ", "", "  ", 1.5, True, "ｗ\n"], dtype=object)
    frame = pd.DataFrame({"meaning": values})
    small = stock_columns.text_column(frame, "meaning")
    monkeypatch.setattr(stock_columns, "_SMALL_TABLE", 0)
    assert stock_columns.text_column(frame, "meaning") == small == ["", "", "", "", "草", "", "", "1.5", "True", "ｗ"]
