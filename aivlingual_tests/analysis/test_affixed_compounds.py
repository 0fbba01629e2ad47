"""A noun and the one-kanji prefix or suffix Sudachi cuts off are the compound said (#10)."""

import pytest

from aivlingual_assets.analysis.offline_extractor import extract_expressions
from aivlingual_assets.analysis.schemas import TranscriptLine


def _items(text):
    return extract_expressions([TranscriptLine(start=0, end=1, text=text)])


@pytest.mark.parametrize(("said", "compound", "part", "gloss"), [
    ("非寛容な人が増えた", "非寛容", "寛容", "non-"),  # the prefix's sense, not 非 "fault"
    ("反省点がある", "反省点", "反省", "reflection"),
    ("映像版を見た", "映像版", "映像", "edition"),
])
def test_a_noun_and_its_one_kanji_affix_are_one_item_glossed_by_their_parts(said, compound, part, gloss):
    items = _items(said)
    found = [e for e in items if e.lemma == compound]
    assert len(found) == 1 and gloss in found[0].meaning, items
    assert part not in {e.lemma for e in items}  # the part is not offered again


@pytest.mark.parametrize(("said", "not_compound"), [
    ("今町内会の活動をしています", "今町内会"),  # 今 "now" is said before the noun, not a prefix of it
    ("演説中に倒れた", "演説中"),  # 〜中 "during" is grammar, not part of a word
    ("救急車内で待った", "救急車内"),
    ("2015年に", "015年"),
])
def test_affixes_of_time_place_and_order_make_no_compound(said, not_compound):
    assert not_compound not in {e.lemma for e in _items(said)}


@pytest.mark.parametrize(("said", "name", "part"), [("甲子園に行きたい", "甲子園", "甲子"), ("新東名が開通した", "新東名", "東名")])
def test_a_compound_the_names_dictionary_lists_is_a_name_not_vocabulary(said, name, part):
    lemmas = {e.lemma for e in _items(said)}
    assert name not in lemmas and part not in lemmas, lemmas
