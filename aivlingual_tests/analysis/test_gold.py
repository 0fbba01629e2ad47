import pytest

from aivlingual_assets.analysis.gold import GoldItem, load_gold, pooled, precision_recall, same_grammar_point
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


def _m(lemma, meaning, reading, expression=None):
    return Expression(expression=expression or lemma, lemma=lemma, reading=reading, meaning=meaning,
                      category="vocabulary", explanation="x", example="x", start=0, end=1)


TOKUI = GoldItem(lemma="得意", reading="とくい", sense=["good at", "strong point", "skilled"])


def test_a_wrong_sense_lowers_sense_accuracy_but_not_recall():
    right = precision_recall([_m("得意", "good at; one's forte", "とくい")], [TOKUI])
    wrong = precision_recall([_m("得意", "triumph; pride", "とくい")], [TOKUI])
    assert right["recall"] == wrong["recall"] == 1.0
    assert right["sense_accuracy"] == 1.0 and right["sense_pairs"] == 1
    assert wrong["sense_accuracy"] == 0.0 and wrong["wrong_sense"] == [("得意", "triumph; pride")]


def test_sense_keywords_match_whole_words_case_folded():
    hot = GoldItem(lemma="熱い", sense=["hot"])
    assert precision_recall([_m("熱い", "HOT (to the touch)", "あつい")], [hot])["sense_accuracy"] == 1.0
    assert precision_recall([_m("熱い", "a shot", "あつい")], [hot])["sense_accuracy"] == 0.0
    assert precision_recall([_m("熱い", "hotter", "あつい")], [hot])["sense_accuracy"] == 0.0
    phrase = GoldItem(lemma="盛り上がる", sense=["get lively"])
    assert precision_recall([_m("盛り上がる", "to get  lively (party)", "もりあがる")], [phrase])["sense_accuracy"] == 1.0


def test_only_pairs_with_sense_keywords_count_towards_sense_accuracy():
    gold = [TOKUI, GoldItem(lemma="推し", reading="おし")]
    r = precision_recall([_m("得意", "good at", "とくい"), _m("推し", "anything at all", "おし")], gold)
    assert r["sense_pairs"] == 1 and r["sense_accuracy"] == 1.0
    assert r["reading_pairs"] == 2 and r["reading_accuracy"] == 1.0


def test_reading_accuracy_folds_katakana_and_catches_a_pattern_reading():
    gold = [GoldItem(lemma="スレ", reading="すれ"), GoldItem(lemma="〜てる", expression="聞こえてる", reading="きこえてる")]
    r = precision_recall([_m("スレ", "thread", "スレ"), _m("〜てる", "-ing", "てる", expression="聞こえてる")], gold)
    assert r["tp"] == 2
    assert r["reading_accuracy"] == 0.5
    assert r["wrong_reading"] == [("〜てる", "きこえてる", "てる")]


def test_unmatched_items_and_empty_inputs_leave_the_accuracies_at_zero():
    r = precision_recall([_m("猫", "cat", "ねこ")], [TOKUI])
    assert r["tp"] == 0 and r["sense_pairs"] == 0 and r["sense_accuracy"] == 0.0 and r["reading_accuracy"] == 0.0
    assert precision_recall([], [])["sense_accuracy"] == 0.0


def test_a_grammar_reading_is_checked_only_on_the_same_expression():
    gold = [GoldItem(lemma="〜らしい", expression="人気らしい", reading="にんきらしい", category="grammar")]
    same = precision_recall([_m("〜らしい", "apparently", "らしい", expression="人気らしい")], gold)
    other = precision_recall([_m("〜らしい", "apparently", "いいらしい", expression="いいらしい")], gold)
    assert same["reading_pairs"] == 1 and same["reading_accuracy"] == 0.0
    assert other["tp"] == 1 and other["reading_pairs"] == 0


def test_long_vowel_marks_and_small_kana_do_not_count_as_reading_errors():
    gold = [GoldItem(lemma="しゃあない", reading="しゃあない"), GoldItem(lemma="てぇてぇ", reading="てえてえ")]
    r = precision_recall([_m("しゃあない", "can't be helped", "シャーナイ"), _m("てぇてぇ", "precious", "てぇてぇ")], gold)
    assert r["reading_accuracy"] == 1.0
    r = precision_recall([_m("しゃあない", "can't be helped", "しょうがない")], gold[:1])
    assert r["reading_accuracy"] == 0.0


def test_pooled_scores_sum_the_counts_before_taking_shares():
    a = precision_recall([_m("得意", "good at", "とくい"), _m("猫", "cat", "ねこ")], [TOKUI])
    b = precision_recall([_m("得意", "triumph", "とくゆう")], [TOKUI, GoldItem(lemma="推し", reading="おし")])
    p = pooled([a, b])
    assert (p["tp"], p["fp"], p["fn"]) == (2, 1, 1)
    assert p["precision"] == 2 / 3 and p["recall"] == 2 / 3
    assert p["sense_pairs"] == 2 and p["sense_accuracy"] == 0.5
    assert p["reading_pairs"] == 2 and p["reading_accuracy"] == 0.5
    assert pooled([])["recall"] == 0.0


AYASHII = GoldItem(lemma="怪しい", reading="あやしい", sense=["doubtful", "dubious", "questionable"])


def test_an_acceptable_item_raises_precision_but_never_recall():
    predicted = [_m("得意", "good at", "とくい"), _m("怪しい", "dubious", "あやしい")]
    without = precision_recall(predicted, [TOKUI, GoldItem(lemma="推し")])
    with_ = precision_recall(predicted, [TOKUI, GoldItem(lemma="推し")], acceptable=[AYASHII])
    assert without["precision"] == 0.5 and without["acceptable_hits"] == 0 and without["extra"] == ["怪しい"]
    assert with_["precision"] == 1.0 and with_["acceptable_hits"] == 1 and with_["extra"] == []
    assert with_["acceptable_matched"] == [("怪しい", "怪しい")]
    assert with_["recall"] == without["recall"] == 0.5 and with_["tp"] == 1 and with_["fp"] == 0
    assert with_["missed"] == ["推し"]


def test_an_unmatched_acceptable_item_is_not_missed_and_gold_takes_a_prediction_first():
    r = precision_recall([_m("得意", "good at", "とくい")], [TOKUI], acceptable=[TOKUI, AYASHII])
    assert (r["tp"], r["acceptable_hits"], r["fn"], r["missed"]) == (1, 0, 0, [])
    assert precision_recall([_e("x")], [], acceptable=[GoldItem(lemma="x")])["recall"] == 0.0


def test_a_wrong_sense_or_reading_on_an_acceptable_item_lowers_the_accuracies():
    right = precision_recall([_m("得意", "good at", "とくい")], [TOKUI])
    r = precision_recall([_m("得意", "good at", "とくい"), _m("怪しい", "suspicious-looking person", "あやしい")],
                         [TOKUI], acceptable=[AYASHII])
    assert right["sense_accuracy"] == 1.0
    assert r["precision"] == 1.0 and r["sense_pairs"] == 2 and r["sense_accuracy"] == 0.5
    assert r["wrong_sense"] == [("怪しい", "suspicious-looking person")]
    misread = precision_recall([_m("怪しい", "dubious", "かいしい")], [], acceptable=[AYASHII])
    assert misread["reading_pairs"] == 1 and misread["reading_accuracy"] == 0.0


def test_pooled_precision_counts_acceptable_hits_as_right():
    a = precision_recall([_m("得意", "good at", "とくい"), _m("怪しい", "dubious", "あやしい")], [TOKUI], [AYASHII])
    b = precision_recall([_m("猫", "cat", "ねこ")], [TOKUI], [AYASHII])
    p = pooled([a, b])
    assert (p["tp"], p["acceptable_hits"], p["fp"], p["fn"]) == (1, 1, 1, 1)
    assert p["precision"] == 2 / 3 and p["recall"] == 0.5


def test_a_pair_credited_through_a_variant_is_not_read_checked():
    gold = [GoldItem(lemma="ひょっとすると", reading="ひょっとすると", variants=["ひょっとしたら"])]
    r = precision_recall([_m("ひょっとしたら", "perhaps", "ひょっとしたら")], gold)
    assert r["tp"] == 1 and r["reading_pairs"] == 0
    r = precision_recall([_m("ひょっとすると", "perhaps", "ひょっとしたら", expression="ひょっとすると")], gold)
    assert r["reading_pairs"] == 1 and r["reading_accuracy"] == 0.0


def test_a_gold_file_may_list_acceptable_items_and_older_files_load_without(tmp_path):
    line = "{start: 0.0, end: 1.0, text: あやしい}"
    with_list = tmp_path / "a.yaml"
    with_list.write_text(f"lines:\n  - {line}\ngold: []\nacceptable:\n  - {{lemma: 怪しい, reading: あやしい, sense: [dubious]}}\n",
                         "utf-8")
    without = tmp_path / "b.yaml"
    without.write_text(f"lines:\n  - {line}\ngold: []\n", "utf-8")
    assert [a.lemma for a in load_gold(with_list).acceptable] == ["怪しい"]
    assert load_gold(without).acceptable == []


def test_a_pattern_row_is_not_spent_on_the_word_that_shares_its_expression():
    gold = [GoldItem(lemma="漁る", expression="漁ってみる", sense=["rummage"]),
            GoldItem(lemma="〜てみる", expression="漁ってみる", sense=["try"])]
    pattern = _m("〜てみる", "try doing", "てみる", expression="漁ってみる")
    r = precision_recall([pattern], gold)
    assert r["matched"] == [("〜てみる", "〜てみる")] and r["missed"] == ["漁る"]
    assert r["sense_accuracy"] == 1.0
    # with no item naming its lemma, the row still credits the item that names its expression
    assert precision_recall([pattern], gold[:1])["tp"] == 1


def test_sense_keywords_match_in_any_regular_inflection():
    ignore = GoldItem(lemma="無視", sense=["ignore"])
    assert precision_recall([_m("無視", "disregarding; ignoring", "むし")], [ignore])["sense_accuracy"] == 1.0
    limit = GoldItem(lemma="限定", sense=["limited edition", "limit"])
    assert precision_recall([_m("限定", "limits; restriction", "げんてい")], [limit])["sense_accuracy"] == 1.0
    assert precision_recall([_m("限定", "delimitation", "げんてい")], [limit])["sense_accuracy"] == 0.0


def test_items_built_on_a_misheard_word_are_counted():
    from aivlingual_assets.analysis.gold import AsrError, GoldSet, misheard_items
    from aivlingual_assets.analysis.schemas import TranscriptLine

    lines = [TranscriptLine(start=0, end=1, text="ご審判には及びませぬ"), TranscriptLine(start=2, end=3, text="審判が笛を吹いた")]
    gold = GoldSet(lines=lines, gold=[], asr_errors=[AsrError(line=0, heard="ご審判には及びませぬ", said="ご心配には及びませぬ")])
    said_wrong = _m("審判", "referee", "しんぱん")  # built on the mis-heard spot (line 0)
    said_right = _m("審判", "referee", "しんぱん").model_copy(update={"start": 2.0, "end": 3.0})
    assert misheard_items([said_wrong, said_right], gold) == [("ご審判には及びませぬ", "審判")]


def test_pooled_judging_counts_accepted_items_apart_and_leaves_only_unjudged_items_in_the_pool(tmp_path):
    from aivlingual_assets.analysis.gold import judging_pool, score_gold_files

    path = tmp_path / "judged.yaml"
    path.write_text(
        "lines:\n  - {start: 0, end: 1, text: 'きっかけは猫の感じ'}\n  - {start: 2, end: 3, text: '仕組み'}\n"
        "gold:\n  - {lemma: 猫, reading: ねこ, sense: [cat]}\n"
        "pooled:\n  - {lemma: きっかけ, reading: きっかけ, sense: [start, trigger]}\n"
        "rejected:\n  - {lemma: 感ずる, line: 0, reason: wrong word, note: the noun 感じ was said}\n",
        "utf-8",
    )
    gold = load_gold(path)
    said = [_m("猫", "cat", "ねこ"), _m("きっかけ", "chance; start", "きっかけ"), _m("感ずる", "to feel", "かんずる", "感じ"),
            _m("仕組み", "mechanism", "しくみ").model_copy(update={"start": 2, "end": 3})]
    assert [(p["lemma"], p["line"]) for p in judging_pool(said, gold)] == [("仕組み", 1)]

    scores = score_gold_files([path], lambda lines: said)
    judged, unpooled = scores["tuning"], scores["tuning_unpooled"]
    assert (judged["tp"], judged["acceptable_hits"], judged["fp"], judged["rejected_hits"]) == (1, 1, 2, 1)
    assert judged["precision"] == 0.5 and unpooled["precision"] == 0.25


def test_another_spelling_of_the_same_word_is_the_same_item_but_a_homophone_is_not():
    gold = [GoldItem(lemma="こだわる"), GoldItem(lemma="〜た途端"), GoldItem(lemma="漢字")]
    r = precision_recall([_e("拘る"), _e("〜たとたん", "入ったとたん", "grammar"), _e("感じ")], gold)
    assert set(r["matched"]) == {("こだわる", "拘る"), ("〜た途端", "〜たとたん")}
    assert r["extra"] == ["感じ"]


def test_two_kanji_spellings_of_one_reading_are_two_words():
    from aivlingual_assets.analysis.gold import same_word

    assert same_word("気付く", "気づく") and same_word("一人一人", "ひとりひとり")
    assert not same_word("感心", "関心") and not same_word("自信", "自身")


@pytest.mark.parametrize("a, b", [("〜にわたって", "〜にわたる"), ("〜による", "〜によって"), ("〜べき", "〜べきだった"),
                                  ("〜んじゃない？", "〜んじゃないか")])
def test_a_grammar_point_named_at_another_inflection_is_the_same_point(a, b):
    assert same_grammar_point(a, b) and same_grammar_point(b, a)


@pytest.mark.parametrize("a, b", [("〜そうだ", "〜そう"), ("〜んだって", "〜んだ"), ("〜ように", "〜ようだ"),
                                  ("〜ても", "〜てもいい"), ("にわたって", "にわたる")])
def test_other_grammar_points_and_plain_words_stay_apart(a, b):
    assert not same_grammar_point(a, b)
