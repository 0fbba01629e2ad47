"""Our curated language data: the streaming lexicon and the grammar/mistake patterns.

The data lives in ``data/lexicon.yaml`` and ``data/grammar_patterns.yaml`` (written for
this project) so a linguist can extend it without touching code.  This module
validates it once per process and knows how to find it in a line:

* lexicon entries match on any spelling variant (longest first), only where the
  match starts and ends on a word boundary, so 草 does not fire inside 草原;
* grammar patterns match Sudachi token sequences or regexes.
"""

from __future__ import annotations

import hashlib
import re
import re._constants as _sre_constants
import re._parser as _sre_parser
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from aivlingual_assets.analysis.disk_cache import cached
from aivlingual_assets.analysis.schemas import Category, Level
from aivlingual_assets.analysis.tokenizer import Token, is_kana, tokenize

__all__ = [
    "LexiconEntry",
    "TokenTest",
    "GrammarPattern",
    "MistakeRule",
    "Lexicon",
    "LexiconMatch",
    "lexicon",
    "grammar_patterns",
    "grammar_matchers",
    "PatternMatcher",
    "token_index",
    "mistake_rules",
    "find_lexicon_entry",
    "find_grammar_pattern",
    "find_mistake_rule",
    "fold",
]


_FREE_MATCH_LENGTH = 4


def fold(text: str) -> str:
    """The comparison key used everywhere: NFKC, lower case, no 〜 prefix, trimmed."""
    return unicodedata.normalize("NFKC", text).lower().strip().lstrip("〜~")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LexiconEntry(_Strict):
    """One curated streaming / internet expression."""

    expression: str
    variants: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    reading: str
    meaning: str
    category: Category
    explanation: str
    level: Optional[Level] = None
    source: Optional[str] = None  # where the meaning was checked (JMdict id and sense, a dictionary, usage)
    not_followed_by: Optional[str] = None
    not_preceded_by: Optional[str] = None
    # a regex on Sudachi's part of speech (levels joined by ",") of the word the match begins with:
    # そら is それは only where Sudachi reads a pronoun (代名詞), not 空 "sky"
    as_pos: Optional[str] = None

    _after: Optional[re.Pattern] = PrivateAttr(default=None)
    _before: Optional[re.Pattern] = PrivateAttr(default=None)
    _regexes: tuple[re.Pattern, ...] = PrivateAttr(default=())
    _pos: Optional[re.Pattern] = PrivateAttr(default=None)

    @field_validator("reading")
    @classmethod
    def _kana_reading(cls, v: str) -> str:
        if not is_kana(v.replace("ー", "").replace("・", "")):
            raise ValueError(f"reading must be kana: {v!r}")
        return v

    def model_post_init(self, __context) -> None:
        self._after = re.compile(self.not_followed_by) if self.not_followed_by else None
        self._before = re.compile(f"(?:{self.not_preceded_by})") if self.not_preceded_by else None
        self._regexes = tuple(re.compile(p) for p in self.patterns)
        self._pos = re.compile(self.as_pos) if self.as_pos else None

    def said_as(self, tokens: Sequence[Token], start: int) -> bool:
        """Whether the word at ``start`` has the part of speech the entry asks for (always, if none)."""
        if self._pos is None:
            return True
        tok = next((t for t in tokens if t.begin == start), None)
        return tok is not None and self._pos.match(",".join(tok.pos)) is not None

    def spellings(self) -> list[str]:
        """Every folded literal spelling (the expression itself included)."""
        seen: dict[str, None] = {}
        for s in [self.expression, *self.variants]:
            f = fold(s)
            if f:
                seen.setdefault(f, None)
        return list(seen)

    def vetoed(self, text: str, start: int, end: int) -> bool:
        """True when the context shows another sense (草 in 草むしり, 枠 in 窓枠)."""
        if self._after is not None and self._after.match(text, end):
            return True
        if self._before is not None and self._before.search(text[:start]):
            return True
        return False


_LITERAL_ALT = re.compile(r"^[^\\.^$*+?{}()|\[\]]*(?:\[[^\]\\^-]+\][^\\.^$*+?{}()|\[\]]*)?$")


def _literal_set(pattern: str | None) -> frozenset[str] | None:
    """The finite set of strings a simple regex (a|b|[てで]x) matches, else None."""
    if pattern is None:
        return None
    out: set[str] = set()
    for alt in pattern.split("|"):
        if not _LITERAL_ALT.match(alt):
            return None
        if "[" in alt:
            head, rest = alt.split("[", 1)
            chars, tail = rest.split("]", 1)
            out.update(head + c + tail for c in chars)
        else:
            out.add(alt)
    return frozenset(out)


class _CompiledTest:
    """Plain-object twin of :class:`TokenTest`: literal alternatives become set look-ups and
    pydantic attribute access stays out of the inner loop (~50 patterns x every token)."""

    __slots__ = ("surface", "lemma", "pos", "not_pos", "conj", "surface_set", "lemma_set")

    def __init__(self, test: "TokenTest"):
        for name in ("surface", "lemma", "pos", "not_pos", "conj"):
            value = getattr(test, name)
            setattr(self, name, re.compile(value) if value is not None else None)
        self.surface_set = _literal_set(test.surface)
        self.lemma_set = _literal_set(test.lemma)

    def matches(self, tok: Token) -> bool:
        if self.surface_set is not None:
            if tok.surface not in self.surface_set:
                return False
        elif self.surface is not None and not self.surface.fullmatch(tok.surface):
            return False
        if self.lemma_set is not None:
            if tok.dictionary_form not in self.lemma_set and tok.normalized_form not in self.lemma_set:
                return False
        elif self.lemma is not None and not (
            self.lemma.fullmatch(tok.dictionary_form) or self.lemma.fullmatch(tok.normalized_form)
        ):
            return False
        if self.pos is not None or self.not_pos is not None:
            pos = ",".join(tok.pos)
            if self.pos is not None and not self.pos.match(pos):
                return False
            if self.not_pos is not None and self.not_pos.match(pos):
                return False
        if self.conj is not None and not self.conj.search(tok.conjugation_form):
            return False
        return True

    def keys(self) -> list[tuple[str, str]] | None:
        """Index keys that any matching token must have (None: no cheap anchor)."""
        if self.surface_set is not None:
            return [("s", x) for x in self.surface_set]
        if self.lemma_set is not None:
            return [("l", x) for x in self.lemma_set]
        return None


def token_index(tokens: Sequence[Token]) -> dict[tuple[str, str], list[int]]:
    """Positions of each surface and lemma in a line, to anchor token patterns quickly."""
    index: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, t in enumerate(tokens):
        index[("s", t.surface)].append(i)
        index[("l", t.dictionary_form)].append(i)
        if t.normalized_form != t.dictionary_form:
            index[("l", t.normalized_form)].append(i)
    return index


def required_chars(regex: str) -> frozenset[str] | None:
    """Characters of which every match of ``regex`` contains at least one, or None when the
    pattern gives no such guarantee (read from the parsed pattern, so it is never wrong: a line
    without any of them cannot match, and the regex need not run)."""
    try:
        parsed = _sre_parser.parse(regex)
    except re.error:
        return None
    if parsed.state.flags & re.IGNORECASE:
        return None
    return _first_required(list(parsed))


def _first_required(items) -> frozenset[str] | None:
    for op, av in items:
        found = _required_of(op, av)
        if found:
            return found
    return None


def _required_of(op, av) -> frozenset[str] | None:
    c = _sre_constants
    if op is c.LITERAL:
        return frozenset(chr(av))
    if op is c.IN:
        if any(o is not c.LITERAL for o, _ in av):
            return None
        return frozenset(chr(v) for _, v in av)
    if op is c.SUBPATTERN:
        return _first_required(list(av[-1]))
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
        low, _, body = av
        return _first_required(list(body)) if low >= 1 else None
    if op is c.BRANCH:
        union: set[str] = set()
        for branch in av[1]:
            part = _first_required(list(branch))
            if not part:
                return None
            union |= part
        return frozenset(union)
    return None  # lookarounds, anchors, ., classes: no promise


class PatternMatcher:
    """Compiled form of a :class:`GrammarPattern` (kept out of pydantic for speed)."""

    __slots__ = ("pattern", "seqs", "regexes", "needs", "not_after")

    def __init__(self, pattern: "GrammarPattern"):
        self.pattern = pattern
        self.seqs = []
        for seq in pattern.tokens:
            tests = tuple(t.compiled() for t in seq)
            # a first test that says only what kind of word hosts the pattern (a verb; not 思わ of
            # 思わず) is the host: 伸び of 伸びず stays a word of its own
            host_first = len(seq) > 1 and seq[0].lemma is None and (seq[0].surface is None or seq[0].surface.startswith("(?!"))
            anchor = next((k for k, t in enumerate(tests) if t.keys() is not None), None)
            anchor_keys = tuple(tests[anchor].keys()) if anchor is not None else ()
            self.seqs.append((tests, host_first, anchor, anchor_keys))
        self.regexes = tuple((re.compile(r), required_chars(r)) for r in pattern.regex)
        self.not_after = re.compile(f"(?:{pattern.not_after})$") if pattern.not_after else None
        # what a line must hold for this pattern to have a chance: a token key of each
        # sequence's anchor, or one character of a regex's required set (None: always try)
        keys: set[tuple[str, str]] = set()
        chars: set[str] = set()
        always = False
        for _, _, anchor, anchor_keys in self.seqs:
            if anchor is None:
                always = True
            keys.update(anchor_keys)
        for _, needed in self.regexes:
            if needed is None:
                always = True
            else:
                chars |= needed
        self.needs = None if always else (frozenset(keys), frozenset(chars))

    def may_match(self, index: dict[tuple[str, str], list[int]], text: str) -> bool:
        """A cheap, never-wrong test that lets a line skip this pattern."""
        if self.needs is None:
            return True
        keys, chars = self.needs
        return any(k in index for k in keys) or any(ch in text for ch in chars)

    def find(
        self, tokens: Sequence[Token], text: str, index: dict[tuple[str, str], list[int]] | None = None
    ) -> list[tuple[int, int, int]]:
        """``(start, end, own_start)`` spans; see :meth:`GrammarPattern.find`."""
        spans: set[tuple[int, int, int]] = set()
        ntok = len(tokens)
        for tests, host_first, anchor, anchor_keys in self.seqs:
            n = len(tests)
            if anchor is not None and index is not None:
                starts = sorted({p - anchor for key in anchor_keys for p in index.get(key, ())})
            else:
                starts = range(ntok - n + 1)
            for i in starts:
                if i < 0 or i + n > ntok:
                    continue
                k = 0
                while k < n and tests[k].matches(tokens[i + k]):
                    k += 1
                if k == n:
                    own = tokens[i + 1].begin if host_first else tokens[i].begin
                    spans.add((tokens[i].begin, tokens[i + n - 1].end, own))
        for rx, _ in self.regexes:
            spans.update((m.start(), m.end(), m.start()) for m in rx.finditer(text) if m.end() > m.start())
        if self.not_after is not None:
            spans = {sp for sp in spans if not self.not_after.search(text, 0, sp[2])}
        return sorted(spans)


class TokenTest(_Strict):
    """Conditions on one token; every given field is a regex."""

    surface: Optional[str] = None
    lemma: Optional[str] = None
    pos: Optional[str] = None
    not_pos: Optional[str] = None
    conj: Optional[str] = None

    def compiled(self) -> _CompiledTest:
        return _CompiledTest(self)

    def matches(self, tok: Token) -> bool:
        return _CompiledTest(self).matches(tok)


class GrammarPattern(_Strict):
    """A grammar point worth learning and how to spot it."""

    id: str
    pattern: str  # canonical name, used as the lemma (〜てしまう)
    reading: str
    level: Level
    meaning: str
    explanation: str
    tokens: list[list[TokenTest]] = Field(default_factory=list)
    regex: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)
    counter_examples: list[str] = Field(default_factory=list)  # lines that must NOT match
    # a match right after text ending in this regex is another word's (ほど in なるほど, いかほど)
    not_after: Optional[str] = None
    source: Optional[str] = None  # where the meaning / level was checked

    def model_post_init(self, __context) -> None:
        if not self.tokens and not self.regex:
            raise ValueError(f"grammar pattern {self.id} has neither tokens nor regex")
        for r in (*self.regex, *([self.not_after] if self.not_after else [])):
            re.compile(r)

    def find(self, tokens: list[Token], text: str) -> list[tuple[int, int, int]]:
        """``(start, end, own_start)`` character spans in ``text`` (the folded line).

        ``own_start`` is where the pattern's own words begin: after a leading host
        test that only constrains the part of speech (歌い in 歌いながら), else ``start``.
        """
        return PatternMatcher(self).find(tokens, text, token_index(tokens))


class MistakeRule(_Strict):
    """A common learner/native slip; ``detector`` names code in the extractor, else ``regex``."""

    id: str
    pattern: str
    lemma: Optional[str] = None
    reading: Optional[str] = None
    level: Level
    meaning: str
    explanation: str
    detector: Optional[str] = None
    regex: list[str] = Field(default_factory=list)
    fix: list[tuple[str, str]] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)

    _regexes: tuple[re.Pattern, ...] = PrivateAttr(default=())
    _fixes: tuple[tuple[re.Pattern, str], ...] = PrivateAttr(default=())

    def model_post_init(self, __context) -> None:
        self._regexes = tuple(re.compile(r) for r in self.regex)
        self._fixes = tuple((re.compile(a), b) for a, b in self.fix)
        if not self.detector and not self.regex:
            raise ValueError(f"mistake rule {self.id} has neither detector nor regex")

    def find(self, text: str) -> list[tuple[int, int]]:
        return sorted({m.span() for rx in self._regexes for m in rx.finditer(text) if m.end() > m.start()})

    def correct(self, said: str) -> str:
        """Apply the first fix that applies (fixes are ordered most specific first)."""
        for rx, repl in self._fixes:
            if rx.search(said):
                return rx.sub(repl, said, count=1)
        return said


@dataclass(frozen=True, slots=True)
class LexiconMatch:
    entry: LexiconEntry
    start: int  # offsets in the folded text
    end: int


class Lexicon:
    """All entries plus an index from first character to spellings (longest first)."""

    def __init__(self, entries: list[LexiconEntry]):
        self.entries = tuple(entries)
        self._by_key: dict[str, LexiconEntry] = {}
        first: dict[str, list[tuple[str, LexiconEntry]]] = defaultdict(list)
        for e in self.entries:
            for s in e.spellings():
                self._by_key.setdefault(s, e)
                first[s[0]].append((s, e))
        self._first = {ch: sorted(v, key=lambda p: -len(p[0])) for ch, v in first.items()}
        self._pattern_entries = tuple((e, e._regexes) for e in self.entries if e.patterns)
        # plain (entry -> vetoes) look-ups: pydantic private attributes are slow in the inner loop
        self._vetoes = {id(e): (e._after, e._before) for e in self.entries}
        self._find_cached = lru_cache(maxsize=32768)(self._find)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, word: str) -> LexiconEntry | None:
        """The entry whose expression or variant is ``word`` (any width / case)."""
        return self._by_key.get(fold(word))

    def find(self, text: str, boundaries: set[int]) -> list[LexiconMatch]:
        """Non-overlapping matches in folded ``text``.  Longest match wins, then leftmost.

        Short spellings (< 4 characters) must start and end on a word boundary, so 草
        does not fire inside 草原; longer ones are distinctive enough to match anywhere,
        which survives tokeniser mistakes on slang (が|てえ|てえ for がてえてえ).
        Regex patterns must start on a boundary.  Repeated lines (greetings, chat spam) are
        answered from a cache."""
        return list(self._find_cached(text, frozenset(boundaries)))

    def _vetoed(self, entry: LexiconEntry, text: str, start: int, end: int) -> bool:
        after, before = self._vetoes[id(entry)]
        if after is not None and after.match(text, end):
            return True
        return before is not None and before.search(text[:start]) is not None

    def _find(self, text: str, boundaries: frozenset[int]) -> tuple[LexiconMatch, ...]:
        cands: list[LexiconMatch] = []
        for i, ch in enumerate(text):
            at_boundary = i in boundaries
            for spelling, entry in self._first.get(ch, ()):
                if not text.startswith(spelling, i):
                    continue  # the cheap test first: _glued_start tokenises
                end = i + len(spelling)
                short = len(spelling) < _FREE_MATCH_LENGTH
                if short and not (end in boundaries and (at_boundary or _glued_start(text, i, end, boundaries))):
                    continue
                if not self._vetoed(entry, text, i, end):
                    cands.append(LexiconMatch(entry, i, end))
        for entry, regexes in self._pattern_entries:
            for rx in regexes:
                for m in rx.finditer(text):
                    if m.start() in boundaries and m.end() > m.start() and not self._vetoed(entry, text, *m.span()):
                        cands.append(LexiconMatch(entry, m.start(), m.end()))
        cands.sort(key=lambda c: (-(c.end - c.start), c.start))
        taken = [False] * (len(text) + 1)
        chosen: list[LexiconMatch] = []
        for c in cands:
            if any(taken[c.start : c.end]):
                continue
            for k in range(c.start, c.end):
                taken[k] = True
            chosen.append(c)
        return tuple(sorted(chosen, key=lambda c: c.start))


_GLUE_POS = ("助詞", "助動詞")


def _glued_start(text: str, start: int, end: int, boundaries: frozenset[int]) -> bool:
    """Sudachi glued the first sound of a short word to the ending before it (聞こえたな|らす|まん
    for 聞こえたなら|すまん): a word boundary falls inside [start, end), and the text read up to
    ``start`` ends in a particle or auxiliary while the text from ``start`` begins with the word."""
    if not any(start < b < end for b in boundaries) or not is_kana(text[start:end]):
        return False
    before, after = tokenize(text[:start]), tokenize(text[start:])
    return (bool(before) and before[-1].end == start and before[-1].pos1 in _GLUE_POS
            and any(t.end == end - start for t in after))


def load_data_yaml(name: str) -> dict:
    """The parsed data file; parsed once per content (YAML of 700 entries takes ~0.3 s), then cached."""
    raw = resources.files("aivlingual_assets.analysis").joinpath("data", name).read_bytes()
    fingerprint = hashlib.sha256(raw).hexdigest()[:20]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # C loader: 10x faster
    return cached(name.replace(".", "-"), fingerprint, lambda: yaml.load(raw.decode("utf-8"), Loader=loader))


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The curated lexicon, validated once per process."""
    data = load_data_yaml("lexicon.yaml")
    return Lexicon([LexiconEntry(**e) for e in data["entries"]])


@lru_cache(maxsize=1)
def _grammar_data() -> tuple[tuple[GrammarPattern, ...], tuple[MistakeRule, ...]]:
    data = load_data_yaml("grammar_patterns.yaml")
    patterns = tuple(GrammarPattern(**p) for p in data["patterns"])
    mistakes = tuple(MistakeRule(**m) for m in data["mistakes"])
    ids = [p.id for p in patterns] + [m.id for m in mistakes]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate ids in grammar_patterns.yaml")
    return patterns, mistakes


def grammar_patterns() -> tuple[GrammarPattern, ...]:
    return _grammar_data()[0]


@lru_cache(maxsize=1)
def grammar_matchers() -> tuple[PatternMatcher, ...]:
    """Compiled grammar patterns, built once per process."""
    return tuple(PatternMatcher(p) for p in grammar_patterns())


def mistake_rules() -> tuple[MistakeRule, ...]:
    return _grammar_data()[1]


def find_lexicon_entry(word: str) -> LexiconEntry | None:
    return lexicon().get(word)


@lru_cache(maxsize=1)
def _pattern_index() -> dict[str, GrammarPattern]:
    index: dict[str, GrammarPattern] = {}
    for p in grammar_patterns():
        for key in (p.pattern, p.id, p.reading):
            index.setdefault(fold(key), p)
        for part in p.pattern.split("/"):
            index.setdefault(fold(part), p)
    return index


def find_grammar_pattern(name: str) -> GrammarPattern | None:
    """Pattern by its name (〜てしまう, てしまう), id (te_shimau) or reading."""
    return _pattern_index().get(fold(name))


def find_mistake_rule(name: str) -> MistakeRule | None:
    """Mistake rule by id, pattern name (ら抜き言葉) or fixed lemma (〜てる)."""
    key = fold(name)
    for m in mistake_rules():
        if key in {fold(m.id), fold(m.pattern), fold(m.lemma or "")}:
            return m
    return None
