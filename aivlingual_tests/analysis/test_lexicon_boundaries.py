"""A curated lexicon spelling fires only as a whole word (#10): not starting inside a kanji noun."""

from aivlingual_assets.analysis.offline_extractor import extract_expressions
from aivlingual_assets.analysis.schemas import TranscriptLine


def _lemmas(text):
    return [e.lemma for e in extract_expressions([TranscriptLine(start=0, end=1, text=text)])]


def test_a_lexicon_phrase_starting_inside_a_kanji_noun_does_not_fire():
    lemmas = _lemmas("部屋の空気が重いね")  # 空|気が重い: the 気 is 空気's
    assert "気が重い" not in lemmas and "空気が重い" in lemmas, lemmas


def test_the_same_phrase_said_on_its_own_still_fires():
    assert "気が重い" in _lemmas("明日の会議、気が重いなあ")


def test_a_word_sudachi_glued_to_a_verb_before_it_is_still_found():
    assert "すまん" in _lemmas("言い訳に聞こえたならすまん")  # なら|すまん read as ならす|まん
