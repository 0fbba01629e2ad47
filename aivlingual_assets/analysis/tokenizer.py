"""Japanese tokenisation with Sudachi (core dictionary), built once per process.

Why SplitMode C: it yields the longest lexical units (切り抜き, 推し活, お疲れ様),
which is how JMdict and our lexicon list words, so a learner gets "推し活"
rather than "推し" + "活".  Compounds that JMdict does not know (国際会議場) can
still be broken into mode-B parts with :func:`split_token`.

Loading the dictionary takes a noticeable fraction of a second and a Sudachi
tokenizer object must not be used by two threads at once, so we keep one
``Dictionary`` per process and one tokenizer per thread.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from sudachipy import Dictionary, SplitMode

from aivlingual_assets.analysis.kana import katakana_to_hiragana  # Sudachi reads in katakana; cards use hiragana

from aivlingual_assets.analysis.text_pieces import bounded_pieces

__all__ = [
    "Token",
    "tokenize",
    "split_token",
    "katakana_to_hiragana",
    "hiragana_to_katakana",
    "is_kana",
    "is_katakana",
    "is_hiragana",
    "has_kanji",
    "lemma_conjugation_type",
    "fold_for_matching",
    "raw_morphemes",
]

_SPLIT_MODE = SplitMode.C
_DICT_LOCK = threading.Lock()
_DICTIONARY: Dictionary | None = None
_LOCAL = threading.local()

# Katakana block letters that have a hiragana twin 0x60 code points lower.
_KATA_START, _KATA_END = 0x30A1, 0x30F6




def hiragana_to_katakana(text: str) -> str:
    return "".join(
        chr(ord(ch) + 0x60) if _KATA_START - 0x60 <= ord(ch) <= _KATA_END - 0x60 else ch
        for ch in text
    )


_HIRAGANA_RE = re.compile(r"[\u3041-\u309fー]+")
_KATAKANA_RE = re.compile(r"[\u30a0-\u30ff\u31f0-\u31ffー]+")
_KANA_RE = re.compile(r"[\u3041-\u309f\u30a0-\u30ff\u31f0-\u31ffー]+")
_KANJI_RE = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf々〆ヶ]")


def is_hiragana(text: str) -> bool:
    return bool(_HIRAGANA_RE.fullmatch(text))


def is_katakana(text: str) -> bool:
    return bool(_KATAKANA_RE.fullmatch(text))


def is_kana(text: str) -> bool:
    return bool(_KANA_RE.fullmatch(text))


def has_kanji(text: str) -> bool:
    return _KANJI_RE.search(text) is not None


@dataclass(frozen=True, slots=True)
class Token:
    """One Sudachi morpheme, detached from the native object so it can be cached and pickled."""

    surface: str
    dictionary_form: str
    normalized_form: str
    reading: str  # hiragana reading of the surface as said
    lemma_reading: str  # hiragana reading of the dictionary form
    pos: tuple[str, ...]  # Sudachi's 6-level part of speech
    begin: int  # character offsets in the tokenised text
    end: int
    is_oov: bool
    inner: tuple[int, ...] = ()  # offsets of mode-A word boundaries inside a long noun (配信|中)

    @property
    def pos1(self) -> str:
        return self.pos[0]

    @property
    def pos2(self) -> str:
        return self.pos[1]

    @property
    def conjugation_type(self) -> str:
        return self.pos[4]

    @property
    def conjugation_form(self) -> str:
        return self.pos[5]


def _dictionary() -> Dictionary:
    global _DICTIONARY
    if _DICTIONARY is None:
        with _DICT_LOCK:
            if _DICTIONARY is None:
                _DICTIONARY = Dictionary(dict="core")
    return _DICTIONARY


def _tokenizer():
    tok = getattr(_LOCAL, "tokenizer", None)
    if tok is None:
        tok = _dictionary().tokenizer(mode=_SPLIT_MODE)
        _LOCAL.tokenizer = tok
    return tok


def _reading_of(morpheme, surface: str) -> str:
    reading = morpheme.reading_form()
    # Sudachi reads symbols as キゴウ and OOV words as themselves: neither is a reading.
    if morpheme.part_of_speech()[0] in ("補助記号", "空白", "記号"):
        return ""
    if not reading or not is_kana(reading):
        reading = surface if is_kana(surface) else ""
    return katakana_to_hiragana(reading)


def _inner_boundaries(m, offset: int) -> tuple[int, ...]:
    # Only long nouns are worth splitting: 配信中, 歌枠リレー, 推し活動 ...
    if m.end() - m.begin() < 3 or m.part_of_speech()[0] != "名詞":
        return ()
    parts = m.split(SplitMode.A)
    if len(parts) < 2:
        return ()
    return tuple(p.end() + offset for p in list(parts)[:-1])


def _convert(m, offset: int = 0) -> Token:
    surface = m.surface()
    dictionary_form = m.dictionary_form()
    reading = _reading_of(m, surface)
    lemma_reading = reading
    if dictionary_form != surface:  # conjugated: read the dictionary form's own entry
        try:
            dm = m.dictionary_form_morpheme()
            lemma_reading = _reading_of(dm, dm.surface()) or reading
        except Exception:  # pragma: no cover - defensive: older sudachipy
            pass
    return Token(
        surface=surface,
        dictionary_form=dictionary_form,
        normalized_form=m.normalized_form(),
        reading=reading,
        lemma_reading=lemma_reading,
        pos=tuple(m.part_of_speech()),
        begin=m.begin() + offset,
        end=m.end() + offset,
        is_oov=m.is_oov(),
        inner=_inner_boundaries(m, offset),
    )


@lru_cache(maxsize=65536)
def _tokenize_cached(text: str) -> tuple[Token, ...]:
    return tuple(_convert(m) for m in _tokenizer().tokenize(text))


# Sudachi refuses input over 49,149 bytes; at 4 UTF-8 bytes a character this many always fit
_MAX_PIECE_CHARS = 12_000


def tokenize(text: str) -> list[Token]:
    """Tokenise ``text`` (mode C); repeated lines (chat spam, greetings) hit an LRU cache."""
    if not text:
        return []
    if len(text) > _MAX_PIECE_CHARS:
        return _tokenize_long(text)
    return list(_tokenize_cached(text))


def _tokenize_long(text: str) -> list[Token]:
    """A text too long for Sudachi, in pieces cut at sentence/punctuation/space breaks (offsets stay the text's)."""
    tokenizer = _tokenizer()
    return [_convert(m, offset) for offset, piece in bounded_pieces(text, _MAX_PIECE_CHARS)
            for m in tokenizer.tokenize(piece)]


def raw_morphemes(text: str) -> list[tuple[str, str, str, str]]:
    """(surface, normalised form, first-level part of speech, conjugation form) per mode-C
    morpheme: the cheap view used to index dictionary phrases (no readings, no sub-word splits)."""
    if not text:
        return []
    return [(m.surface(), m.normalized_form(), (pos := m.part_of_speech())[0], pos[5])
            for m in _tokenizer().tokenize(text)]


def split_token(token: Token, text: str) -> list[Token]:
    """Parts of a mode-C token (for compounds the dictionary lacks): mode B, else mode A."""
    if not token.surface:
        return [token]
    piece = text[token.begin : token.end]
    for mode in (SplitMode.B, SplitMode.A):
        ms = _tokenizer().tokenize(piece, mode)
        if len(ms) > 1:
            return [_convert(m, token.begin) for m in ms]
    return [token]


def fold_for_matching(text: str) -> tuple[str, list[int]]:
    """NFKC + lower-case ``text`` character by character, remembering where each folded
    character came from, so matches in the folded text map back to the words as said.

    Folding makes ｗｗｗ == www, ８８８ == 888 and half-width ｶﾀｶﾅ == カタカナ.
    """
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        folded = unicodedata.normalize("NFKC", ch).lower()
        if not folded:
            continue
        out.append(folded)
        index.extend([i] * len(folded))
    return "".join(out), index


@lru_cache(maxsize=8192)
def lemma_conjugation_type(lemma: str) -> str:
    """Conjugation class (e.g. 上一段-マ行) of a verb given in dictionary form, or ''."""
    lemma = unicodedata.normalize("NFKC", lemma)
    toks = _tokenize_cached(lemma)
    if len(toks) != 1 or toks[0].pos1 != "動詞":
        return ""
    return toks[0].conjugation_type
