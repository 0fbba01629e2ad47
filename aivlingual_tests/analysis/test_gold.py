from aivlingual_assets.analysis.gold import GoldItem, precision_recall
from aivlingual_assets.analysis.schemas import Expression


def _e(lemma, expression=None, category="vocabulary"):
    return Expression(expression=expression or lemma, lemma=lemma, reading="よみ", meaning="m", category=category,
                      explanation="x", example="x", start=0, end=1)


def test_precision_recall_counts_one_to_one():
    gold = [GoldItem(lemma="てぇてぇ", variants=["てえてえ"]), GoldItem(lemma="〜てしまう"), GoldItem(lemma="推し")]
    predicted = [_e("てえてえ", category="vtuber_culture"), _e("てしまう", "忘れてしまった", "grammar"),
                 _e("てしまう", "食べてしまう", "grammar"), _e("猫")]
    r = precision_recall(predicted, gold)
    assert (r["tp"], r["fp"], r["fn"]) == (2, 2, 1)
    assert r["precision"] == 0.5 and abs(r["recall"] - 2 / 3) < 1e-9
    assert r["missed"] == ["推し"]
    assert sorted(r["extra"]) == ["てしまう", "猫"]


def test_width_and_prefix_are_ignored_and_empty_inputs_are_safe():
    r = precision_recall([_e("ｗｗｗ")], [GoldItem(lemma="www")])
    assert r["recall"] == 1.0 and r["precision"] == 1.0
    r = precision_recall([], [GoldItem(lemma="x")])
    assert r["precision"] == 0.0 and r["recall"] == 0.0 and r["f1"] == 0.0
    assert precision_recall([_e("x")], [])["recall"] == 0.0
