"""Kana normalisation: spelling variants must meet, different words must not."""

from __future__ import annotations

import random

import pytest

from aivlingual_assets.analysis.kana import (
    fold_long_vowels,
    fold_small_kana,
    is_kana,
    katakana_to_hiragana,
    match_key,
    match_keys,
    normalize,
    normalize_many,
)


@pytest.mark.parametrize(
    ("variants", "expected"),
    [
        (["てぇてぇ", "てえてえ", "てーてー", "テェテェ", "テーテー", "ﾃｪﾃｪ", "てぇてぇ！"], "てえてえ"),
        (["ｗｗｗ", "www", "WWW", "ｗｗｗｗｗｗ", "w w w"], "www"),
        (["８８８", "888", "8888"], "888"),
        (["すごーい", "すご〜い", "すごぉい", "スゴーイ", "すご～い"], "すごおい"),
        (["推し", " 推し ", "推し。", "「推し」"], "推し"),
        (["スーパーチャット", "すうぱあちゃっと"], "すうぱあちゃっと"),
    ],
)
def test_variants_share_one_normal_form(variants, expected):
    assert {normalize(v) for v in variants} == {expected}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("きゃく", "きやく"),  # 客 vs 規約: yōon is not stylistic
        ("かった", "かつた"),  # sokuon is kept
        ("おばあさん", "おばさん"),  # genuine long vowels are not collapsed
        ("ww", "www"),  # only runs of 4+ collapse
    ],
)
def test_different_words_stay_apart(a, b):
    assert normalize(a) != normalize(b)


def test_building_blocks():
    assert katakana_to_hiragana("カタカナヽヾ") == "かたかなゝゞ"
    assert fold_small_kana("ぁぃぅぇぉっゃ") == "あいうえおっゃ"
    assert fold_long_vowels("かー") == "かあ"
    assert fold_long_vowels("ーあ") == "あ"  # a mark with no kana before it is dropped
    assert is_kana("かな") and not is_kana("仮名") and not is_kana("")


def test_symbol_only_expression_keeps_a_non_empty_form():
    assert normalize("♡") == "♡"
    assert normalize("  ") == ""
    assert normalize("") == ""


def test_keep_spaces_collapses_whitespace_without_crossing_words():
    assert normalize("  おつ　　かれ ", keep_spaces=True) == "おつ かれ"
    assert normalize("て ー", keep_spaces=True) == "て"  # ー does not borrow across a space


def test_match_key_separates_homophones_and_homographs():
    assert match_key("橋", "はし") != match_key("箸", "はし")
    assert match_key("生", "なま") != match_key("生", "せい")
    assert match_key("てぇてぇ", "テェテェ") == match_key("てえてえ", "てえてえ")
    # an all-kana lemma stands in for a missing reading
    assert match_key("かわいい", None) == match_key("カワイイ", "かわいい")


def test_batch_normaliser_matches_single_normaliser():
    rng = random.Random(7)
    alphabet = list("あぁいぃうぅえぇおおかがきゃっつーー〜~ｶﾞｰアァイィウヴ漢字推しwWｗ８8 　!！。、♡\t_")
    texts = ["".join(rng.choices(alphabet, k=rng.randint(0, 12))) for _ in range(2_000)]
    texts += ["", " ", "\n", "a\nb", "♡", "ー", "ｰｰｰ"]
    for keep in (False, True):
        assert normalize_many(texts, keep_spaces=keep) == [
            normalize(t.replace("\n", " "), keep) for t in texts
        ]
    # long enough to take the NumPy path of the kana folding
    big = texts * 5
    assert normalize_many(big) == [normalize(t.replace("\n", " ")) for t in big]
    lemmas, readings = texts[:1000], texts[1000:2000]
    assert match_keys(lemmas, readings) == [match_key(a, b) for a, b in zip(lemmas, readings)]
