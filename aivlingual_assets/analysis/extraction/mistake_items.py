"""Common-mistake items: ら抜き, い抜き, 全然 + affirmative and the regex rules of grammar_patterns.yaml."""

from __future__ import annotations

import re
from collections.abc import Callable

from aivlingual_assets.analysis import dictionary
from aivlingual_assets.analysis.extraction.line import (
    NEGATION_RE,
    Found,
    Line,
    expand,
    is_content,
    make,
    reading_of_span,
    said_text,
)
from aivlingual_assets.analysis.lexicon import mistake_rules
from aivlingual_assets.analysis.schemas import Category
from aivlingual_assets.analysis.tokenizer import is_kana, katakana_to_hiragana, lemma_conjugation_type

def _verb_gloss(base: str) -> str:
    entry = dictionary.lookup(base)
    if entry is None or not entry.glosses:
        return "do it"
    gloss = entry.glosses[0]
    return gloss[3:] if gloss.startswith("to ") else gloss


def _slip(pl: Line, rule, start: int, end: int, offset: int, *, lemma: str, reading: str, fmt: dict) -> Found | None:
    """A common-mistake item: the rule's meaning and explanation filled in with what was said."""
    expr = make(pl, start, end, lemma=lemma, reading=reading, meaning=rule.meaning.format(**fmt),
                category=Category.common_mistake, explanation=rule.explanation.format(**fmt))
    return None if expr is None else Found(offset, expr)


def _potential_without_ra(said: str, base: str) -> bool:
    """見れる for 見る, 寝れる for 寝る (also said in kana, みれる): the verb's stem + れる."""
    if said == base[:-1] + "れる":
        return True
    entry = dictionary.lookup(base) if is_kana(said) else None
    return entry is not None and katakana_to_hiragana(said) == katakana_to_hiragana(entry.reading)[:-1] + "れる"


def _ra_nuki(pl: Line, rule) -> list[Found]:
    out: list[Found] = []
    for t in pl.tokens:
        d, base = t.dictionary_form, t.normalized_form
        if t.pos1 != "動詞" or not d.endswith("れる") or base == d or not base.endswith("る"):
            continue
        if not _potential_without_ra(d, base):
            continue  # はなれる is 離れる itself, not a potential of anything
        ctype = lemma_conjugation_type(base)
        if not ctype.startswith(("上一段", "下一段", "カ行変格")):
            continue
        s, e = expand(pl.tokens, t.begin, t.end, host=False)
        said = said_text(pl, s, e)
        stem = d[:-2]
        folded_said = pl.folded[s:e]
        pos = folded_said.find(stem + "れ") if stem else -1
        if pos < 0:
            continue
        correct = folded_said[: pos + len(stem)] + "られ" + folded_said[pos + len(stem) + 1 :]
        fmt = {"said": said, "correct": correct, "base": base, "gloss": _verb_gloss(base)}
        slip = _slip(pl, rule, s, e, t.begin, lemma=d, reading=t.lemma_reading or d, fmt=fmt)
        if slip is not None:
            out.append(slip)
    return out


def _i_nuki(pl: Line, rule) -> list[Found]:
    out: list[Found] = []
    for t in pl.tokens:
        if t.pos1 != "助動詞" or t.dictionary_form not in ("てる", "でる"):
            continue
        s, e = expand(pl.tokens, t.begin, t.end)
        rel = t.begin - s
        folded_said = pl.folded[s:e]
        correct = folded_said[: rel + 1] + "い" + folded_said[rel + 1 :]
        said = said_text(pl, s, e)
        fmt = {"said": said, "correct": correct}
        reading = reading_of_span(pl, s, e) or rule.reading or "てる"
        slip = _slip(pl, rule, s, e, t.begin, lemma=rule.lemma or "〜てる", reading=reading, fmt=fmt)
        if slip is not None:
            out.append(slip)
    return out


def _zenzen_affirmative(pl: Line, rule) -> list[Found]:
    out: list[Found] = []
    toks = pl.tokens
    for k, t in enumerate(toks):
        if t.dictionary_form not in ("全然", "ぜんぜん") or t.pos1 != "副詞":
            continue
        rest = re.split(r"[、。!?,\s]", pl.folded[t.end :], maxsplit=1)[0]  # same clause only
        nxt = next((x for x in toks[k + 1 :] if is_content(x)), None)
        if nxt is None or NEGATION_RE.search(rest):
            continue
        said = said_text(pl, t.begin, nxt.end)
        fmt = {"said": said, "correct": said}
        slip = _slip(pl, rule, t.begin, nxt.end, t.begin, lemma=rule.lemma or "全然",
                     reading=rule.reading or "ぜんぜん", fmt=fmt)
        if slip is not None:
            out.append(slip)
    return out


_DETECTORS: dict[str, Callable[[Line, object], list[Found]]] = {
    "ra_nuki": _ra_nuki,
    "i_nuki": _i_nuki,
    "zenzen_affirmative": _zenzen_affirmative,
}


def mistake_items(pl: Line) -> list[Found]:
    found: list[Found] = []
    for rule in mistake_rules():
        if rule.detector:
            detector = _DETECTORS.get(rule.detector)
            if detector is None:
                raise ValueError(f"unknown mistake detector {rule.detector!r} in grammar_patterns.yaml")
            found.extend(detector(pl, rule))
            continue
        for s, e in rule.find(pl.folded):
            s2, e2 = expand(pl.tokens, s, e)
            said = said_text(pl, s2, e2)
            fmt = {"said": said, "correct": rule.correct(pl.folded[s2:e2])}
            reading = reading_of_span(pl, s2, e2) or rule.reading or ""
            slip = _slip(pl, rule, s2, e2, s, lemma=rule.lemma or rule.pattern, reading=reading, fmt=fmt)
            if slip is not None:
                found.append(slip)
    return found
