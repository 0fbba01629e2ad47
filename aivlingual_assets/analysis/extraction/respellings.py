"""Words said in a respelt shape: drawn out, clipped or written in katakana (#10).

Speech and chat stretch a word for emphasis (たまあに, すっごーい) or write an ordinary word in
katakana for effect (イコウゼ, マジデ); Sudachi then cuts the word into scraps (たま|あ|に) or reads
it as one unknown noun. The normalisation below finds such a spot and the word in its ordinary
spelling, so that the word can be offered as said with its standard form explained. The line's
own text and tokens are left as said: grammar patterns of casual speech need the casual shape.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aivlingual_assets.analysis import dictionary
from aivlingual_assets.analysis.extraction.line import AFTER_A_VERB_STEM, Line
from aivlingual_assets.analysis.kana import _VOWEL_OF
from aivlingual_assets.analysis.tokenizer import Token, has_kanji, is_kana, katakana_to_hiragana, tokenize

__all__ = ["Respelling", "respellings", "kanji_spelling"]


_LONG_MARKS = "ー~〜"
_SMALL_VOWELS = "ぁぃぅぇぉ"
_FULL_VOWELS = "あいうえお"
_WORD_POS = ("名詞", "動詞", "形容詞", "形状詞", "副詞", "代名詞", "感動詞")
_KATAKANA_RUN_RE = re.compile(r"[ァ-ヺー]{3,}")


@dataclass(frozen=True, slots=True)
class Respelling:
    """A word said in another shape: folded span [start, end) as said, and the ordinary text."""

    start: int
    end: int
    standard: str  # the words in ordinary spelling (たまに, いこうぜ)
    tokens: tuple[Token, ...]  # ``standard`` tokenised
    kind: str  # "stretched" (a vowel drawn out), "clipped" (うまっ) or "katakana" (an ordinary word in katakana)


def _vowel(ch: str) -> str:
    return _VOWEL_OF.get(katakana_to_hiragana(ch), "")


def _stretch_runs(text: str) -> list[tuple[int, int]]:
    """[a, b) runs that draw out the vowel before them: ー/〜, a small vowel or the same vowel
    written again (ま|あ, ご|ー, す|ぅ)."""
    runs: list[tuple[int, int]] = []
    i = 1
    while i < len(text):
        base = _vowel(text[i - 1])
        if not base:
            i += 1
            continue
        j = i
        while j < len(text):
            ch = katakana_to_hiragana(text[j])
            if ch in _LONG_MARKS or (ch in _SMALL_VOWELS + _FULL_VOWELS and _vowel(ch) == base):
                j += 1
            else:
                break
        if j > i:
            runs.append((i, j))
        i = j + 1
    return runs


def _known_word(tok: Token) -> bool:
    return (
        tok.pos1 in _WORD_POS
        and not tok.is_oov
        and (dictionary.lookup(tok.dictionary_form) is not None or dictionary.lookup(tok.normalized_form) is not None)
    )


# what a long mark after a syllable of each vowel stands for in ordinary spelling (ちょー 超, せんせー 先生)
_LONG_VOWEL = {"あ": "あ", "い": "い", "う": "う", "え": "い", "お": "う"}


def _unstretched(text: str, a: int, b: int) -> list[tuple[str, int]]:
    """Ordinary spellings to try for ``text`` without its drawn-out run [a, b), each with the first
    position the word must reach past: the run's last vowel kept (おいしーい → おいしい), the mark
    read as its vowel (ふつーに → ふつうに; the word must go on after that vowel: りゅー is りゅう
    written casually, not a word drawn out), the run dropped (たまあに → たまに)."""
    base = _vowel(text[a - 1])
    tries = []
    if katakana_to_hiragana(text[b - 1]) in _FULL_VOWELS and b - 1 > a:
        tries.append((text[:a] + text[b - 1 :], a))
    if katakana_to_hiragana(text[a]) in _LONG_MARKS:
        tries.append((text[:a] + _LONG_VOWEL[base] + text[b:], a + 1))
    tries.append((text[:a] + text[b:], a))
    return tries


def _loose_run(tokens: Sequence[Token], a: int, b: int) -> bool:
    """Sudachi read the run [a, b) as a scrap (あ as an interjection in たま|あ|に, ー as a symbol in
    すっ|ご|ー|い, しー as a particle in おい|しー|い) or inside an unknown word: not as part of a word
    (か|ある, い|いか), nor the first sound of the next word (か|あるいは), nor a filler's own long vowel (あー|また)."""
    for t in tokens:
        if not t.is_oov and ((a <= t.begin < b < t.end) or (t.pos1 == "感動詞" and t.begin < a and t.end >= b)):
            return False
    return not any(
        t.end > a and t.begin < b and not t.is_oov and t.pos1 in _WORD_POS and t.pos1 != "感動詞"
        and not (any(m in t.surface for m in _LONG_MARKS) and is_kana(t.surface))  # や|ばー|い: a scrap
        for t in tokens
    )


def _stretched(pl: Line) -> list[Respelling]:
    out: list[Respelling] = []
    text = pl.folded
    for a, b in _stretch_runs(text):
        if any(pl.names[max(a - 1, 0) : b]) or not _loose_run(pl.tokens, a, b):
            continue
        best: tuple[int, Token, str, str] | None = None
        for plain, past in _unstretched(text, a, b):
            # the word the drawn-out vowel sits inside (たま|に): a word merely said with a long
            # ending (もっとお, 作るう) is that word, not a respelling worth a card
            words = tokenize(plain)
            word = next((t for t in words if t.begin < a and past < t.end and t.pos1 in _WORD_POS), None)
            if word is None or not _known_word(word):
                continue
            standard = word.surface
            if word.pos1 == "副詞" and plain.startswith("と", word.end) and dictionary.lookup(standard + "と"):
                standard += "と"  # a mimetic adverb and its と (パーーーッと is ぱっと, Sudachi's パッ|と)
            if len(standard) < 3:
                continue  # two kana (すう, まあ) are too short to tell a drawn-out word from two words
            if best is None or len(words) < best[0]:  # the reading that makes fewest words of the line
                best = (len(words), word, plain, standard)
        if best is None:
            continue
        _, word, plain, standard = best
        start, end = word.begin, word.begin + len(standard) + len(text) - len(plain)
        said = [t for t in pl.tokens if t.end > start and t.begin < end]
        if len(said) >= 2 or any(t.is_oov for t in said):  # else Sudachi read it whole (すごーい, たまーに)
            out.append(Respelling(start, end, standard, (word,), "stretched"))
    return out


def _katakana(pl: Line) -> list[Respelling]:
    out: list[Respelling] = []
    for tok in pl.tokens:
        if not (tok.is_oov and _KATAKANA_RUN_RE.fullmatch(tok.surface)) or any(pl.names[tok.begin : tok.end]):
            continue
        plain = katakana_to_hiragana(tok.surface)
        words = tuple(tokenize(plain))
        if not words or any(w.is_oov for w in words) or not _known_word(words[0]) or len(words[0].surface) < 2:
            continue
        # a verb or adjective and its endings (いこう|ぜ, わかっ|た): katakana nouns and adverbs are
        # ordinary spelling (スラスラ) or names and loanwords Sudachi does not know (ワイジム)
        if words[0].pos1 not in ("動詞", "形容詞") or not all(_plain_ending(w) for w in words[1:]):
            continue
        if len(words) == 1 and not words[0].conjugation_form.startswith(("終止形", "命令形", "意志推量形")):
            continue  # a bare stem (バラケ) is a noun, not a verb said
        if "音便" in words[0].conjugation_form and not words[1].surface.startswith(AFTER_A_VERB_STEM[:4]):
            continue  # きっ|しょ is no verb (キッショ "gross"): a sound-changed stem goes on with て or た
        if any(w.conjugation_form.startswith("命令形") for w in words[:-1]):
            continue  # a command goes last: あきろ|ぜ is a name (アキロゼ), not 飽きろ
        out.append(Respelling(tok.begin, tok.end, plain, words, "katakana"))
    return out


_ENDINGS = frozenset({"た", "だ", "て", "で", "ない", "ぬ", "ん", "ます", "です", "う", "よう", "たい", "れる", "られる", "せる", "させる"})
_FINAL_PARTICLES = frozenset({"ぜ", "ぞ", "よ", "ね", "な", "か", "わ", "さ", "の", "って", "て", "で", "けど", "から", "じゃん"})


def _plain_ending(tok: Token) -> bool:
    """An ending of modern speech after a verb or adjective (た, ない, ぜ), not a classical one (じ, む)."""
    if tok.pos1 == "助動詞":
        return tok.dictionary_form in _ENDINGS
    return tok.pos1 == "助詞" and tok.surface in _FINAL_PARTICLES


# An adjective clipped for an exclamation: its い cut off with a glottal stop (うまっ, でかっ, きもっ) or a
# consonant doubled (うっま, あっつ, でっか). Sudachi reads these as verbs (うまっ as 埋まる) or scraps.
_CLIPPED_RES = (
    re.compile(r"([ぁ-ゖァ-ヺ]{2,3})[っッ](?![ぁ-ゖァ-ヺー])"),
    re.compile(r"([ぁ-ゖァ-ヺ])[っッ]([ぁ-ゖァ-ヺ])[っッ]?(?![ぁ-ゖァ-ヺー])"),
)
_GREETINGS = frozenset({"うっす", "ウッス"})  # "hey" (おっす), not 薄い clipped
_NOT_BEFORE_CLIPPED = ("助詞", "助動詞", "動詞", "形容詞", "副詞", "接頭辞")


def _clipped(pl: Line) -> list[Respelling]:
    out: list[Respelling] = []
    for rx in _CLIPPED_RES:
        for m in rx.finditer(pl.folded):
            start, end = m.span()
            if start not in pl.boundaries or any(pl.names[start:end]):
                continue
            before = next((t for t in reversed(pl.tokens) if t.end <= start and t.pos1 != "空白"), None)
            if before is not None and before.end == start and before.pos1 in _NOT_BEFORE_CLIPPED:
                continue  # と|おもっ is 思っ cut off, not 重い
            if m.group(0) in _GREETINGS:
                continue
            said = [t for t in pl.tokens if t.end > start and t.begin < end]
            if len(said) == 1 and not said[0].is_oov and said[0].pos1 not in ("動詞", "助動詞") and said[0].end == end:
                continue  # a word of its own: あっち, もっと, うっす
            adjective = katakana_to_hiragana("".join(m.groups(""))) + "い"
            entry = dictionary.lookup(adjective, pos="形容詞")
            if (entry is None or not entry.is_common or not any("keiyoushi" in p for p in entry.pos)
                    or adjective not in map(katakana_to_hiragana, entry.kana_forms)):
                continue  # あちい (あっち) is a casual shape itself, not the common word clipped
            words = tokenize(adjective)
            out.append(Respelling(start, end, adjective, tuple(words), "clipped"))
    return out


def respellings(pl: Line) -> list[Respelling]:
    """Words of the line said stretched, clipped or written in katakana, with their ordinary spelling."""
    found = sorted(_stretched(pl) + _katakana(pl) + _clipped(pl), key=lambda r: (r.start, -r.end))
    out: list[Respelling] = []
    for r in found:
        if not out or r.start >= out[-1].end:
            out.append(r)
    return out


def kanji_spelling(tok: Token) -> str:
    """The token as said, with its kana stem written as Sudachi's normalised form writes it
    (いこ of 行く → 行こ, たまに stays たまに): how a learner's dictionary spells the word."""
    said, plain, standard = tok.surface, katakana_to_hiragana(tok.dictionary_form), tok.normalized_form
    if not has_kanji(standard) or not is_kana(said):
        return said
    k = 0
    while k < min(len(plain), len(standard)) and plain[-1 - k] == standard[-1 - k]:
        k += 1
    stem_kana, stem_kanji = plain[: len(plain) - k], standard[: len(standard) - k]
    if not stem_kana or not stem_kanji or not said.startswith(stem_kana):
        return said
    return stem_kanji + said[len(stem_kana) :]
