"""The curated entries of data/collocations.yaml: well formed, not JMdict's, found as said.

The engine's side (loading, indexing, matching) is tested in test_collocations.py; these tests hold
the data to its rules: a kana reading, one entry per unit, no unit JMdict already has (its
expressions would be taught twice), and a sample of units found inflected in running speech
while the same words used otherwise are not the unit.
"""

import re

import pytest

from aivlingual_assets.analysis import dictionary
from aivlingual_assets.analysis.collocations import collocations
from aivlingual_assets.analysis.lexicon import find_lexicon_entry
from aivlingual_assets.analysis.offline_extractor import extract_expressions
from aivlingual_assets.analysis.phrases import find_phrases
from aivlingual_assets.analysis.schemas import TranscriptLine
from aivlingual_assets.analysis.tokenizer import tokenize

_KANA = re.compile(r"[\u3041-\u309f\u30a0-\u30ffー]+")
_LEVELS = {"N5", "N4", "N3", "N2", "N1"}


def _lemmas(text: str) -> set[str]:
    return {e.lemma for e in extract_expressions([TranscriptLine(start=0, end=1, text=text)])}


def test_every_entry_has_a_kana_reading_a_level_a_meaning_and_a_source():
    entries = collocations()
    assert len(entries) >= 400
    for c in entries:
        assert _KANA.fullmatch(c.reading), c.phrase
        assert c.level is not None and c.level.value in _LEVELS, c.phrase
        assert all(all(g for g in sense) for sense in c.senses), c.phrase
        assert c.source.strip(), c.phrase


def test_no_two_entries_share_a_spelling():
    seen: dict[str, str] = {}
    for c in collocations():
        for spelling in c.spellings:
            assert spelling not in seen, f"{spelling} is in {seen.get(spelling)} and {c.phrase}"
            seen[spelling] = c.phrase


def test_no_entry_repeats_a_jmdict_entry_or_expression():
    for c in collocations():
        for spelling in c.spellings:
            assert dictionary.lookup(spelling) is None, f"{spelling} is a JMdict entry"
            tokens = tokenize(spelling)
            whole = [
                m.phrase.written
                for m in find_phrases(tokens)
                if m.phrase.idseq >= 0 and m.first == 0 and m.last >= len(tokens) - 1
            ]
            assert not whole, f"{spelling} is JMdict's {whole}"


def test_no_entry_is_a_lexicon_entry():
    # the curated lexicon's item takes the span first: the unit would never be offered
    for c in collocations():
        for spelling in c.spellings:
            found = find_lexicon_entry(spelling)
            assert found is None, f"{spelling} is the lexicon's {found.expression}"


@pytest.mark.parametrize(
    ("unit", "said"),
    [
        ("相性が悪い", "あの二人、相性悪かったよね"),  # particle dropped, past
        ("相性が悪い", "このキャラとは相性が悪くて勝てない"),  # te-form
        ("記憶に残る", "記憶に残らない映画だった"),  # negative
        ("夢が叶う", "夢叶わなかったけど楽しかった"),  # particle dropped, negative past
        ("心が折れる", "もう心折れそう"),
        ("誤解を招く", "その言い方は誤解を招きますよ"),  # polite
        ("手間がかかる", "この料理は手間がかからない"),
        ("雨に降られる", "昨日雨に降られてびしょびしょ"),
        ("決心がつく", "まだ決心がつかない"),
        ("予定が空く", "来週なら予定空いてるよ"),
        ("後味が悪い", "後味の悪い映画だった"),  # が said as の
        ("差が開く", "どんどん差が開いていく"),
        ("疲れが取れる", "寝ても疲れが取れない"),
        ("有終の美を飾る", "引退試合で有終の美を飾った"),
        ("足が痺れる", "正座してたら足が痺れた"),
        ("話は変わるけど", "話は変わるけど、明日暇？"),
        ("他人事じゃない", "これ他人事じゃないよね"),
        ("熱が出る", "昨日から熱が出てて"),  # te-form, casual ている
        ("サイズが合う", "この服はサイズが合わない"),
        ("財布を落とす", "財布を落としちゃった"),  # ちゃう
        ("社会に出る", "息子がようやく社会に出た"),
        ("仕事が入る", "最近仕事が入らない"),
        ("目標を立てる", "寝る前に目標を立てとこう"),  # ておく contracted
        ("体力をつける", "今のうちに体力つけとく"),  # particle dropped
        ("話題を集める", "新作が話題を集めています"),
        ("終電を逃す", "昨日は終電を逃しちゃって"),
        ("朝ご飯を抜く", "朝ご飯抜いてきた"),  # particle dropped
        ("天気に恵まれる", "天気に恵まれてよかった"),
        ("予想を超える", "予想を超えるかどうか"),
        ("熱がこもる", "夏は部屋に熱がこもっちゃう"),  # ちゃう
        ("体調が悪い", "昨日から体調悪くて"),  # particle dropped, te-form
        ("物覚えが悪い", "最近物覚えが悪くなった"),
    ],
)
def test_a_unit_is_found_as_said(unit, said):
    assert unit in _lemmas(said)


@pytest.mark.parametrize(
    ("unit", "said"),
    [
        ("相性が悪い", "相性診断の結果が悪い"),
        ("記憶に残る", "記憶にない。残るのは写真だけ"),
        ("誤解を招く", "誤解を解いて友達を招く"),
        ("話を戻す", "電話を戻す"),
        ("話を戻す", "話をして本を戻す"),
        ("勝負に出る", "勝負には勝ったが外に出る"),
        ("流れが変わる", "川の流れがきれいで、変わった魚がいる"),
        ("結果が出る", "結果が悪くて外に出る"),
        ("お金が浮く", "お金がない。水に浮く"),
        ("手を止める", "手を洗って車を止める"),
        ("雨に降られる", "雨に降った雪が溶ける"),
        ("店を出す", "店を出てすぐ右に曲がる"),
        ("費用がかかる", "お金がなくて、かかる費用を計算した"),
        ("湯気が立つ", "スープから湯気が出た。立つのが遅れた"),
        ("薬を飲む", "薬を飲み物と一緒に買う"),
        ("輪に入る", "輪になって踊る"),
        ("言葉を選ぶ", "言葉を調べる前に辞書を選ぶ"),
        ("暇ができる", "暇な時にできる遊び"),
        ("危機に陥る", "危機感に陥る前に"),
        ("自信を取り戻す", "自信がないから取り戻す"),
        ("耳がいい", "耳が痛いけど、いい話だった"),
    ],
)
def test_its_words_used_otherwise_are_not_the_unit(unit, said):
    assert unit not in _lemmas(said)
