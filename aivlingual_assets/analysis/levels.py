"""Offline difficulty estimate (JLPT-style) for an extracted expression.

There is no official JLPT word list since 2010, so vocabulary levels are
estimated from two signals shipped with jamdict: the KANJIDIC level of the
word's hardest kanji, and JMdict's frequency markers for the word itself.

Step 1 - hardest kanji of the written form:

    ==============================  ====
    KANJIDIC (pre-2010 JLPT)        base
    ==============================  ====
    old level 4                     N5
    old level 3                     N4
    old level 2                     N3
    old level 1, jōyō (grade ≤ 8)   N2
    old level 1 name-use, or none   N1
    ==============================  ====

Step 2 - shift by the word's JMdict priority (matched spelling):

    ================================================  ======================
    JMdict priority                                   shift
    ================================================  ======================
    nf01–nf12 (≈ 6,000 most frequent newspaper words)  0
    nf13–nf48                                         +1 level
    common marker (news1/ichi1/spec1/spec2/gai1),      0
    no nf band
    other tags only (news2, ichi2, spec2 ...)          +3 levels
    no tags                                           +3 levels; ``beyond_jlpt``
                                                      if that passes N1
    ================================================  ======================

Kana-only words (ちょっと, ゲーム) have no kanji signal and use frequency alone:

    ================================  =====
    JMdict priority                   level
    ================================  =====
    nf01–nf12                         N5
    nf13–nf48                         N4
    common marker, no nf band         N3
    other tags only                   N2
    no tags                           N1
    ================================  =====

The shifts were chosen to maximise class-balanced accuracy against Jonathan
Waller's unofficial N5–N1 lists (8,284 words; the lists are not shipped): the
exact level is right for about a third of words and within one level for about
three quarters, so ``score`` stays low (0.35, kana 0.3).  Curated items bypass
the estimate: lexicon entries are ``slang`` unless the lexicon gives a level
(配信 is standard Japanese), grammar patterns and mistakes carry the level
documented in ``grammar_patterns.yaml``, and a word JMdict does not know is
``beyond_jlpt``.
"""

from __future__ import annotations

from aivlingual_assets.analysis import dictionary
from aivlingual_assets.analysis.dictionary import DictEntry
from aivlingual_assets.analysis.lexicon import (
    find_grammar_pattern,
    find_lexicon_entry,
    find_mistake_rule,
)
from aivlingual_assets.analysis.schemas import Category, Expression, Level, LevelAssessment
from aivlingual_assets.analysis.tokenizer import has_kanji, is_katakana

__all__ = ["assess_level", "vocabulary_level", "LEVELS_BY_DIFFICULTY"]

# Index = difficulty step: 0 = N5 ... 4 = N1, 5 = beyond_jlpt.
LEVELS_BY_DIFFICULTY = (Level.N5, Level.N4, Level.N3, Level.N2, Level.N1, Level.beyond_jlpt)
_STEP = {lvl: i for i, lvl in enumerate(LEVELS_BY_DIFFICULTY)}
_SLANG_MISC = {"slang", "Internet slang", "manga slang"}
_SLANG_CATEGORIES = {Category.slang, Category.internet, Category.vtuber_culture, Category.cultural_reference}


def _kanji_step(char: str) -> int:
    info = dictionary.kanji_info(char)
    if info is None:
        return 4
    if info.jlpt_old == 4:
        return 0
    if info.jlpt_old == 3:
        return 1
    if info.jlpt_old == 2:
        return 2
    if info.jlpt_old == 1 and info.grade is not None and info.grade <= 8:
        return 3
    return 4


def _priority_shift(entry: DictEntry) -> tuple[int, str]:
    band = entry.frequency_band
    if band is not None:
        return (0, f"frequency band nf{band:02d}") if band <= 12 else (1, f"frequency band nf{band:02d}")
    if entry.is_common:
        return 0, "JMdict common word"
    if entry.priority:
        return 3, "rare (" + ", ".join(entry.priority) + ")"
    return 3, "no JMdict frequency tags"


def vocabulary_level(entry: DictEntry, written: str | None = None) -> tuple[Level, float, str]:
    """(level, confidence, reason) for a dictionary word, per the tables in the module docstring."""
    written = written or entry.written
    shift, freq_note = _priority_shift(entry)
    kanji = [ch for ch in written if has_kanji(ch)]
    if kanji:
        hardest = max(kanji, key=_kanji_step)
        base = _kanji_step(hardest)
        step = base + shift
        if step > 4:
            step = 5 if not entry.priority else 4
        reason = f"hardest kanji {hardest} ≈ {LEVELS_BY_DIFFICULTY[base].value}; {freq_note}"
        return LEVELS_BY_DIFFICULTY[step], 0.35, reason
    band = entry.frequency_band
    if band is not None:
        step = 0 if band <= 12 else 1
    elif entry.is_common:
        step = 2
    elif entry.priority:
        step = 3
    else:
        step = 4
    kind = "loanword" if is_katakana(written) else "kana word"
    return LEVELS_BY_DIFFICULTY[step], 0.3, f"{kind}; {freq_note}"


def _assessment(expr: Expression, level: Level, score: float, method: str, reason: str) -> LevelAssessment:
    return LevelAssessment(
        expression=expr.expression,
        lemma=expr.lemma,
        reading=expr.reading,
        level=level,
        score=max(0.0, min(1.0, score)),
        method=method,
        reason=reason,
    )


def assess_level(expr: Expression, entry: DictEntry | None = None) -> LevelAssessment:
    """Offline level of one expression; ``entry`` is looked up when not supplied."""
    if expr.category == Category.grammar:
        pattern = find_grammar_pattern(expr.lemma)
        if pattern is not None:
            return _assessment(
                expr, pattern.level, 0.8, "offline:grammar-pattern", f"{pattern.pattern} is usually taught at {pattern.level.value}"
            )
        return _assessment(expr, Level.N3, 0.3, "offline:grammar-default", "unknown grammar pattern; intermediate by default")

    if expr.category == Category.common_mistake:
        rule = find_mistake_rule(expr.lemma)
        if rule is None and "ら抜き" in expr.explanation:
            rule = find_mistake_rule("ra_nuki")
        if rule is not None:
            return _assessment(
                expr, rule.level, 0.7, "offline:mistake-rule", f"{rule.pattern}: the standard form is taught at {rule.level.value}"
            )
        return _assessment(expr, Level.N4, 0.3, "offline:mistake-default", "common mistake; level of the standard form unknown")

    lex = find_lexicon_entry(expr.lemma) or find_lexicon_entry(expr.expression)
    if lex is not None and (expr.category in _SLANG_CATEGORIES or expr.category == lex.category):
        if lex.level is not None:
            return _assessment(
                expr, lex.level, 0.7, "offline:lexicon", f"standard word ({lex.level.value}) used in its streaming sense"
            )
        return _assessment(expr, Level.slang, 0.9, "offline:lexicon", f"curated {lex.category.value} expression")

    if entry is None:
        entry = dictionary.lookup(expr.lemma, expr.reading or None)
    if entry is None and expr.category in _SLANG_CATEGORIES:
        return _assessment(expr, Level.slang, 0.5, "offline:category", f"{expr.category.value} expression unknown to JMdict")
    if entry is None:
        return _assessment(expr, Level.beyond_jlpt, 0.3, "offline:no-dictionary-entry", "not found in JMdict")
    if _SLANG_MISC & set(entry.misc):
        return _assessment(expr, Level.slang, 0.8, "offline:jmdict-misc", "JMdict marks this sense as slang")
    level, score, reason = vocabulary_level(entry, expr.lemma if has_kanji(expr.lemma) else entry.written)
    return _assessment(expr, level, score, "offline:jmdict-priority", reason)
