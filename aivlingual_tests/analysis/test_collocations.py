"""Curated collocations JMdict lacks join its expressions in the phrase matcher (analysis/collocations.py)."""

import pytest

from aivlingual_assets.analysis import collocations
from aivlingual_assets.analysis.collocations import Collocation, collocation_entry, find_collocation
from aivlingual_assets.analysis.levels import assess_level
from aivlingual_assets.analysis.offline_extractor import extract_expressions
from aivlingual_assets.analysis.phrases import phrase_index
from aivlingual_assets.analysis.schemas import TranscriptLine


def test_an_entry_with_a_reading_not_in_kana_is_refused_naming_the_field():
    with pytest.raises(ValueError, match="reading must be kana"):
        Collocation(phrase="話が弾む", reading="hanashi", meaning="x", kind="collocation", source="s")


def test_every_curated_entry_is_a_dictionary_entry_with_its_senses():
    entries = collocations.collocations()
    assert entries, "data/collocations.yaml has no entries"
    for i, c in enumerate(entries):
        entry = collocation_entry(-(i + 1))
        assert entry is not None and entry.written == c.phrase and entry.reading == c.reading
        assert entry.senses == c.senses and all(entry.senses)
        assert find_collocation(c.phrase) is c
    assert collocation_entry(0) is None and collocation_entry(-(len(entries) + 1)) is None


def test_every_curated_spelling_is_in_the_phrase_index():
    indexed = {ph.written for phrases in phrase_index().values() for ph in phrases if ph.idseq < 0}
    assert {s for c in collocations.collocations() for s in c.spellings} <= indexed


@pytest.mark.parametrize("said", ["昨日は友達と話が弾んだ", "話は弾まなかったね", "話弾んでるね"])
def test_a_curated_collocation_is_found_across_inflection_and_drifting_particles(said):
    found = [e for e in extract_expressions([TranscriptLine(start=0, end=1, text=said)]) if e.lemma == "話が弾む"]
    assert len(found) == 1, said
    assert "lively" in found[0].meaning and found[0].reading == "はなしがはずむ"
    level = assess_level(found[0])
    assert level.method == "offline:collocation" and level.level.value == "N2"


def test_its_words_alone_are_not_the_collocation():
    lemmas = {e.lemma for e in extract_expressions([TranscriptLine(start=0, end=1, text="ボールが弾む音がした")])}
    assert "話が弾む" not in lemmas


def test_a_curated_unit_said_in_its_own_kanji_is_found_whatever_reading_sudachi_gives():
    # Sudachi reads 値 as あたい; said in the unit's own kanji, 値が下がる is that unit
    found = [e for e in extract_expressions([TranscriptLine(start=0, end=1, text="最近は値が下がってきた")])
             if e.lemma == "値が下がる"]
    assert len(found) == 1 and found[0].reading == "ねがさがる"


@pytest.mark.parametrize(
    ("said", "unit", "word"),
    [("ガチャを引いたら爆死した", "ガチャを引く", "ガチャ"), ("またネタに走ってる", "ネタに走る", "ネタ"), ("コスパがいい店", "コスパがいい", "コスパ")],
)
def test_a_curated_unit_built_on_a_lexicon_word_is_offered_with_the_word(said, unit, word):
    lemmas = {e.lemma for e in extract_expressions([TranscriptLine(start=0, end=1, text=said)])}
    assert {unit, word} <= lemmas, lemmas


def test_a_lexicon_item_that_is_the_whole_phrase_is_offered_once():
    # the lexicon's 仕方がない (variant しゃーない) spans JMdict's phrase しゃーない exactly
    items = extract_expressions([TranscriptLine(start=0, end=1, text="まあしゃーないな")])
    assert [e.lemma for e in items if "しゃーない" in e.expression] == ["仕方がない"], items
    assert not [e for e in items if e.explanation.startswith("Set phrase")], items


@pytest.mark.parametrize(
    ("said", "unit"),
    [("あの人、目が笑っていない", "目が笑っていない"), ("お手数おかけします", "お手数おかけします"), ("どちらでもいいよ", "どちらでもいい")],
)
def test_a_curated_unit_whose_inflection_is_a_grammar_pattern_is_the_unit(said, unit):
    # 〜ている and お〜する cover half the unit's words but not its first: the teacher chose the unit
    items = extract_expressions([TranscriptLine(start=0, end=1, text=said)])
    assert unit in {e.lemma for e in items}, items
    assert not {"〜ている", "お〜する"} & {e.lemma for e in items}, items
