"""Which particles of a set phrase speech may leave out, and which spelling of a phrase was said (#10)."""

from aivlingual_assets.analysis.offline_extractor import extract_expressions
from aivlingual_assets.analysis.schemas import TranscriptLine


def _lemmas(text):
    return {e.lemma for e in extract_expressions([TranscriptLine(start=0, end=1, text=text)])}


def test_a_case_particle_left_out_in_speech_is_still_the_phrase():
    assert "取り返しがつかない" in _lemmas("もう取り返しつかないよ")


def test_a_particle_that_carries_meaning_is_not_left_out():
    assert "少しずつ違う" not in _lemmas("味が少し違う")  # ずつ "each, bit by bit" is not said


def test_a_phrase_ending_in_a_verbs_bare_stem_is_not_the_verb_said_inflected():
    lemmas = _lemmas("気を付けたところで無駄だった")
    assert "気を付ける" in lemmas and "気を付け" not in lemmas, lemmas  # not "(Stand to) attention!"
    assert "気を付け" in _lemmas("気を付け！")
