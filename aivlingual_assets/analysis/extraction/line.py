"""One transcript line prepared for extraction, and how an item is cut from it.

The line is NFKC-folded with a map back to the characters as said, tokenised, its word
boundaries collected, and viewer names (words before an honorific, unknown words in a
thank-you line) marked so they never become vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from aivlingual_assets.analysis.phrases import PhraseMatch, find_phrases
from aivlingual_assets.analysis.schemas import Category, Expression, TranscriptLine
from aivlingual_assets.analysis.tokenizer import Token, fold_for_matching, is_kana, katakana_to_hiragana, tokenize

_URL_RE = re.compile(r"(?:https?://|www\.)[^\s]+", re.IGNORECASE)
_HANDLE_RE = re.compile(r"[@＠][^\s、。,，!！?？「」()（）]+")
_TIMESTAMP_RE = re.compile(r"(?<![0-9０-９])[0-9０-９]{1,2}[:：][0-9０-９]{2}(?:[:：][0-9０-９]{2})?(?![0-9０-９])")
_EMOTE_RE = re.compile(r":[A-Za-z0-9_\-]{2,}:")
_THANKS_RE = re.compile(r"ありがと|有難|有り難|サンキュ|感謝|あざ[すっまー]|thank", re.IGNORECASE)
NEGATION_RE = re.compile(r"ない|なかっ|なく|ません|ず|ぬ|ねえ|ねー|ねぇ|無理|むり|だめ|ダメ|駄目|違|ちが|[らかわまさたなば]ん(?!で)")
JAPANESE_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff々〆ヶ]")
KANJI_RUN_RE = re.compile(r"[\u3400-\u9fff々〆ヶ]{2,}")
# What follows a verb's stem when it goes on as a verb (書い|て, 待っ|た, 読ん|だら, 見|ちゃう, Kansai
# 見|とる, いらっしゃい|ます): anything else says the stem is a noun, or not that verb at all.
AFTER_A_VERB_STEM = ("て", "で", "た", "だ", "ちゃ", "じゃ", "ちま", "とる", "と", "ど", "ま")

HONORIFICS = {"さん", "ちゃん", "くん", "君", "様", "さま", "氏", "たん", "殿", "どの", "ちゃま", "っち"}
_CONTENT_POS = {"動詞", "形容詞", "形状詞", "名詞", "代名詞", "副詞"}
SLANG_MISC = {"slang": Category.slang, "manga slang": Category.slang, "Internet slang": Category.internet, "colloquialism": Category.slang}


@dataclass(slots=True)
class Found:
    offset: int  # position in the line, for ordering
    expression: Expression
    difficulty: int = 0  # only used to rank vocabulary within a line


@dataclass(slots=True)
class Line:
    line: TranscriptLine
    folded: str
    index: list[int]
    tokens: list[Token]
    boundaries: set[int] = field(default_factory=set)
    names: list[bool] = field(default_factory=list)  # per folded char: part of a viewer/streamer name
    domains: frozenset[str] = frozenset()  # the recording's subject fields (extraction/domains.py)
    honorific_names: list[bool] = field(default_factory=list)
    name_spans: list[tuple[int, int]] = field(default_factory=list)  # words right before an honorific
    phrases: list[PhraseMatch] = field(default_factory=list)  # JMdict expressions in the line


def mask_noise(text: str) -> str:
    """Blank URLs, @handles, timestamps and :emote: codes (same length, so offsets survive)."""
    for rx in (_URL_RE, _HANDLE_RE, _EMOTE_RE, _TIMESTAMP_RE):
        text = rx.sub(lambda m: " " * len(m.group(0)), text)
    return text


def prepare(line: TranscriptLine) -> Line:
    folded, index = fold_for_matching(mask_noise(line.text))
    tokens = tokenize(folded)
    boundaries = {0, len(folded)}
    for t in tokens:
        boundaries.add(t.begin)
        boundaries.add(t.end)
        boundaries.update(t.inner)
    prepared = Line(line, folded, index, tokens, boundaries)
    _mark_names(prepared)
    prepared.phrases = find_phrases(tokens)
    return prepared


def _name_like(tok: Token) -> bool:
    if tok.pos1 in ("助詞", "助動詞", "空白", "補助記号", "記号", "感動詞", "接続詞"):
        return tok.surface in ("_", "・", "-", "ー", "＿")
    # a verb or adjective in its attributive form describes the one named (腰の重い|おじいちゃん,
    # 走る|加藤さん); a name Sudachi cut into odd pieces (ぺこ|ら) has no such form
    return not (tok.pos1 in ("動詞", "形容詞") and tok.conjugation_form.startswith("連体形"))


def _mark_names(pl: Line) -> None:
    """Words before an honorific are a name; in thank-you lines, so are unknown/alphabetic words."""
    n = len(pl.folded)
    names = [False] * n
    honorific = [False] * n
    toks = pl.tokens
    for k, tok in enumerate(toks):
        if tok.surface not in HONORIFICS or tok.pos1 not in ("接尾辞", "名詞"):
            continue
        j = k
        while j - 1 >= 0 and k - (j - 1) <= 6 and _name_like(toks[j - 1]):
            j -= 1
        if j == k:
            continue
        pl.name_spans.append((toks[j].begin, tok.begin))
        for c in range(toks[j].begin, tok.begin):
            names[c] = True
            honorific[c] = True
    if _THANKS_RE.search(pl.folded):
        for tok in toks:
            if tok.is_oov or tok.pos2 == "固有名詞" or not JAPANESE_RE.search(tok.surface):
                for c in range(tok.begin, tok.end):
                    names[c] = True
    pl.names = names
    pl.honorific_names = honorific


def said_text(pl: Line, start: int, end: int) -> str:
    """The original characters behind folded span [start, end)."""
    if start >= end or not pl.index:
        return ""
    return pl.line.text[pl.index[start] : pl.index[end - 1] + 1].strip()


def reading_of_span(pl: Line, start: int, end: int) -> str:
    """Kana reading of the words said in folded span [start, end) (grammar rows: 聞こえてる → きこえてる)."""
    parts: list[str] = []
    for t in pl.tokens:
        if t.end <= start or t.begin >= end:
            continue
        if t.reading:
            parts.append(t.reading)
        elif is_kana(t.surface):
            parts.append(katakana_to_hiragana(t.surface))
        else:
            return ""
    return "".join(parts)


def make(pl: Line, start: int, end: int, **fields) -> Expression | None:
    said = said_text(pl, start, end)
    if not said:
        return None
    return Expression(expression=said, example=pl.line.text, start=pl.line.start, end=pl.line.end, **fields)


def is_content(tok: Token) -> bool:
    return tok.pos1 in _CONTENT_POS and tok.pos2 != "数詞"


def expand(tokens: list[Token], start: int, end: int, *, host: bool = True) -> tuple[int, int]:
    """Widen a grammar match to whole tokens, its host word and trailing auxiliaries."""
    idx = [k for k, t in enumerate(tokens) if t.end > start and t.begin < end]
    if not idx:
        return start, end
    i, j = idx[0], idx[-1]
    if host and not is_content(tokens[i]):
        h, hops = i - 1, 0
        while h >= 0 and tokens[h].pos1 == "助動詞" and hops < 2:
            h, hops = h - 1, hops + 1
        if h >= 0 and is_content(tokens[h]):
            i = h
    extra = 0
    while j + 1 < len(tokens) and extra < 3:
        nxt = tokens[j + 1]
        if nxt.pos1 == "助動詞" or (nxt.pos2 == "接続助詞" and nxt.surface in ("て", "で")):
            j, extra = j + 1, extra + 1
        else:
            break
    return tokens[i].begin, tokens[j].end


def first_word_is_governed(toks: Sequence[Token], first: int) -> bool:
    """A word Sudachi split whose first word is bound to what comes before it is not that word
    but its parts: とき modified by a clause (喋る|とき|に is "when talking", not 時に
    "sometimes"), a verb taking an argument (記憶|に|残ら|ず is "without staying in memory",
    not 残らず "all")."""
    if first == 0:
        return False
    head, prev = toks[first], toks[first - 1]
    if head.pos1 == "名詞":
        return (prev.pos1 in ("動詞", "形容詞", "助動詞") and prev.conjugation_form.startswith("連体形")) or (
            prev.pos1 == "助詞" and prev.surface == "の"
        )
    if head.pos1 == "動詞":
        return prev.pos1 == "助詞" and prev.pos2 == "格助詞"
    return False
