"""A negative JMdict lists as an adjective with a meaning of its own is that adjective (#10).

Sudachi reads つまらん as つまる "to be packed" + ん; the word said is つまらない "boring"."""

import pytest

from aivlingual_assets.analysis.offline_extractor import extract_expressions
from aivlingual_assets.analysis.schemas import TranscriptLine


def _items(text):
    return extract_expressions([TranscriptLine(start=0, end=1, text=text)])


@pytest.mark.parametrize(("said", "word", "form", "gloss"), [
    ("くだらん話やな", "くだらない", "くだらん", "trivial"),
    ("くだらねーな", "くだらない", "くだらねー", "trivial"),
    ("すまねえな", "すまない", "すまねえ", "sorry"),
])
def test_a_lexicalised_negative_said_casually_is_the_adjective(said, word, form, gloss):
    found = [e for e in _items(said) if e.lemma == word]
    assert len(found) == 1 and found[0].expression == form and gloss in found[0].meaning, _items(said)
    assert form in found[0].explanation and word in found[0].explanation


@pytest.mark.parametrize(("said", "verb"), [("つまらんな", "つまる"), ("くだらん話やな", "くだる")])
def test_its_verb_is_not_offered_with_the_verbs_own_meaning(said, verb):
    assert verb not in {e.lemma for e in _items(said)}


@pytest.mark.parametrize(("said", "not_word"), [("何も変わらない", "変わらない"), ("そんなの知らない", "知らない"),
                                                 ("時間が足りない", "足りない")])
def test_a_negative_that_only_negates_its_verb_is_no_word_of_its_own(said, not_word):
    assert not_word not in {e.lemma for e in _items(said)}
