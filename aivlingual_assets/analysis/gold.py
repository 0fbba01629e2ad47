"""Precision / recall of extracted expressions against a teacher's gold list.

A plain function so the unit tests and the extractor benchmark (offline engine
vs LLM providers) score the same way.  A prediction matches a gold item when
its lemma or its expression equals the gold lemma, expression or any listed
variant, compared after NFKC, lower-casing and dropping a leading 〜.  Matching
is one-to-one: a gold item is credited once and a prediction counts once.

Each matched pair is then checked on two more counts: the *sense* (the
predicted ``meaning`` names one of the gold ``sense`` keywords, as a whole word
or phrase after case-folding; only gold items that list keywords take part)
and the *reading* (equal to the gold reading after NFKC, folding katakana to
hiragana, long-vowel marks to vowels and stylistic small kana; only gold items
with a reading take part).  A gold reading is the lemma's, except for grammar
patterns, whose reading is the expression's as said (聞こえてる → きこえてる);
a grammar pair is therefore read-checked only when the prediction is the same
expression as the gold one (another occurrence of the pattern has another
reading), and any other pair only when the prediction names the gold lemma or
expression (a pair credited through a variant, another word form, is not).

A gold file may also list ``acceptable`` items: what else in the text a
teacher would accept if a tool emitted it (another useful word, in the sense
used there).  They never count towards recall, but a prediction that matches
no gold item and matches an acceptable one is right for precision
(``acceptable_hits``), and its sense and reading are checked the same way.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Optional

import yaml
from pydantic import BaseModel, Field

from aivlingual_assets.analysis.kana import fold_long_vowels, fold_small_kana, katakana_to_hiragana, spellings_of_one_word
from aivlingual_assets.analysis.lexicon import fold
from aivlingual_assets.analysis.schemas import Category, Expression, TranscriptLine

__all__ = [
    "AsrError", "GoldItem", "GoldSet", "Rejection", "precision_recall", "pooled", "load_gold", "sense_matches", "fold_reading",
    "misheard_items", "rejected_items", "judging_pool", "same_word",
    "subset_of", "score_gold_files",
]


class GoldItem(BaseModel):
    """One item a teacher expects to be extracted."""

    lemma: str = Field(description="Dictionary form, or the grammar pattern (〜てしまう).")
    reading: Optional[str] = Field(
        default=None,
        description="Kana reading of the lemma; for grammar patterns, of the expression as said. Not used for "
        "matching; scored as reading accuracy.",
    )
    category: Optional[Category] = Field(default=None, description="Expected category (informative; reported, not required).")
    expression: Optional[str] = Field(default=None, description="The form as said, if it differs from the lemma.")
    variants: list[str] = Field(default_factory=list, description="Other spellings or forms that also count as a hit.")
    sense: list[str] = Field(
        default_factory=list,
        description="English keywords or short phrases any correct gloss of the sense used would contain "
        "(得意 as 'good at': [good at, strong point, skilled]); a wrong sense must contain none of them.",
    )

    def keys(self) -> set[str]:
        return {fold(k) for k in (self.lemma, self.expression, *self.variants) if k and fold(k)}


class AsrError(BaseModel):
    """A spot where speech recognition mis-heard (ASR transcripts): what the text says and what was said."""

    line: int = Field(description="Index of the line (0-based) in ``lines``.")
    heard: str = Field(description="The wrong text as it stands in the line.")
    said: Optional[str] = Field(default=None, description="What was really said, when known.")
    note: str = ""


class Rejection(BaseModel):
    """An engine item a teacher judged and turned down (pooled judging, see SOURCES.md): why it is wrong."""

    lemma: str = Field(description="The item's lemma as the engine gave it.")
    line: int = Field(description="Index of the line (0-based) in ``lines`` where it was emitted.")
    reason: str = Field(description="basic | name | fragment | wrong word | wrong reading | not worth it | ...")
    note: str = ""


class GoldSet(BaseModel):
    recording: str = ""
    title: str = ""
    lines: list[TranscriptLine]
    gold: list[GoldItem]
    acceptable: list[GoldItem] = Field(
        default_factory=list,
        description="Items a teacher would also accept if emitted (not must-picks): right for precision, "
        "never counted in recall.",
    )
    pooled: list[GoldItem] = Field(
        default_factory=list,
        description="Pooled judging: engine items no list had judged, which a teacher then accepted, with the "
        "sense used in the line in the teacher's own keywords. Right for precision like ``acceptable``; "
        "kept apart so precision before judging can still be reported.",
    )
    rejected: list[Rejection] = Field(
        default_factory=list,
        description="Pooled judging: engine items a teacher turned down, and why (informative; they count as "
        "wrong anyway). An emitted item neither listed nor rejected was never judged.",
    )
    asr_errors: list[AsrError] = Field(
        default_factory=list,
        description="Mis-heard spots of a speech-recognition transcript: an item built on one teaches a wrong word.",
    )


def load_gold(path: str | Path) -> GoldSet:
    """Read a gold YAML file (``lines`` + ``gold``)."""
    data = yaml.safe_load(Path(path).read_text("utf-8"))
    return GoldSet(**data)


def _pred_keys(e: Expression) -> set[str]:
    return {fold(k) for k in (e.lemma, e.expression) if k and fold(k)}


def fold_reading(reading: str) -> str:
    """Reading comparison key: NFKC, katakana as hiragana, ー as its vowel, small vowels full size, no 〜, no spaces."""
    text = katakana_to_hiragana(unicodedata.normalize("NFKC", reading))
    text = fold_small_kana(fold_long_vowels(text))
    return "".join(text.split()).lstrip("〜~")


def _reading_checked(g: GoldItem, p: Expression) -> bool:
    """Whether the gold reading applies to this prediction.

    A grammar reading belongs to its expression, so only the same expression is comparable; any
    other reading belongs to the gold lemma, so a prediction credited only through a variant (another
    word form, with a reading of its own) is not compared.
    """
    if not g.reading:
        return False
    if g.category == Category.grammar and g.expression:
        return fold(p.expression) == fold(g.expression)
    named = {fold(g.lemma), fold(g.expression or g.lemma)}
    return fold(p.lemma) in named or fold(p.expression) in named


def _word_forms(word: str) -> str:
    """A word and its regular English inflections: 'ignore' also matches 'ignoring' and 'ignored',
    'limit' 'limited', 'bill' 'bills' (a gloss says the same sense in another form of the word)."""
    if len(word) < 4 or not word.isalpha():
        return re.escape(word)
    stem = word[:-1] if word.endswith("e") else word
    return re.escape(stem) + ("(?:e|es|ed|ing)" if word.endswith("e") else "(?:s|es|ed|ing)?")


def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    """A keyword matches as a whole word or phrase ('hot' is not in 'shot'), in any regular
    inflection of its words (see :func:`_word_forms`)."""
    words = keyword.casefold().split()
    body = r"\s+".join(_word_forms(w) for w in words)
    head = r"\b" if words and re.match(r"\w", words[0]) else ""
    tail = r"\b" if words and re.search(r"\w$", words[-1]) else ""
    return re.compile(head + body + tail)


def sense_matches(meaning: str, keywords: Sequence[str]) -> bool:
    """True when the gloss ``meaning`` names one of the sense ``keywords``."""
    text = meaning.casefold()
    return any(_keyword_pattern(k).search(text) for k in keywords if k.strip())


@lru_cache(maxsize=65536)
def _kana(text: str) -> str:
    """The word as kana: Sudachi's reading of each part, katakana folded (捉える → とらえる)."""
    from aivlingual_assets.analysis.tokenizer import tokenize  # the scorer stays importable without Sudachi until needed

    folded = fold(text)
    return fold_reading("".join(t.reading or t.surface for t in tokenize(folded))) if folded else ""


def same_word(a: str, b: str) -> bool:
    """Two spellings of one word or pattern: read alike, and one writes in kana what the other writes
    in kanji (拘る/こだわる, 気付く/気づく, 〜とは言え/〜とはいえ, ハマる/はまる; not 感じ/漢字 or
    感心/関心, see :func:`kana.spellings_of_one_word`)."""
    if fold(a) == fold(b):
        return True
    if not spellings_of_one_word(a, b):
        return False
    return _kana(a) == _kana(b) != ""


# A grammar point named at another inflection by a teacher: a verb ending for a verb ending
# (〜にわたって / 〜にわたる, 〜による / 〜によって), or the past copula or question か added
# (〜べき / 〜べきだった, 〜んじゃない / 〜んじゃないか). Nothing else: 〜そうだ (hearsay) is not
# 〜そう, 〜んだって not 〜んだ, 〜ように not 〜ようだ.
_VERB_ENDINGS = ("って", "った", "る", "り", "て", "た")
_ADDED_ENDINGS = ("だった", "でした", "か")


def _verb_stem(name: str) -> str | None:
    return next((name[: -len(e)] for e in _VERB_ENDINGS if name.endswith(e) and len(name) - len(e) >= 2), None)


def same_grammar_point(a: str, b: str) -> bool:
    """Two names of one grammar point (see above); both must be pattern names (〜…)."""
    if not (a.startswith(("〜", "~")) and b.startswith(("〜", "~"))):
        return False
    a, b = fold(a).rstrip("?？"), fold(b).rstrip("?？")
    if a == b:
        return True
    stem_a, stem_b = _verb_stem(a), _verb_stem(b)
    if stem_a is not None and stem_a == stem_b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 2 and any(long == short + e for e in _ADDED_ENDINGS)


def precision_recall(
    predicted: Sequence[Expression], gold: Sequence[GoldItem], acceptable: Sequence[GoldItem] = ()
) -> dict:
    """Scores and the lists behind them.

    Returns ``precision``, ``recall``, ``f1``, counts ``tp``/``fp``/``fn``,
    ``category_agreement`` (share of matched pairs whose category also agrees),
    ``sense_accuracy`` (share of matched pairs, among those whose gold lists
    ``sense`` keywords, whose predicted meaning names one of them; over
    ``sense_pairs`` pairs), ``reading_accuracy`` (share of matched pairs, among
    those whose gold has a reading, whose predicted reading equals it after
    katakana/hiragana folding; over ``reading_pairs`` pairs), and ``matched``
    (gold lemma, predicted lemma), ``missed`` (gold lemmas), ``extra``
    (predicted lemmas), ``wrong_sense`` (gold lemma, predicted meaning) and
    ``wrong_reading`` (gold lemma, gold reading, predicted reading) for
    inspection.  A share over zero pairs is reported as 0.0.

    Pairs are made by lemma first, then by expression, then by another spelling of the same
    word (:func:`same_word`; see ``assign``).
    ``acceptable`` items are matched after the gold ones, to the predictions
    left over: each hit (``acceptable_hits``, listed in ``acceptable_matched``)
    counts as right for precision but not for recall, and takes part in the
    category, sense and reading shares like a gold pair.
    """
    pred_keys = [_pred_keys(p) for p in predicted]
    pred_lemmas = [fold(p.lemma) for p in predicted]
    used = [False] * len(predicted)

    def assign(items: Sequence[GoldItem]) -> dict[int, int]:
        """Item index -> prediction index, one-to-one.

        A first pass pairs items with predictions whose lemma they name; only then do the items
        left over take a prediction through its expression alone, so a pattern's row (〜てみる
        said as 漁ってみる) is not spent on the word that shares its expression (漁る).
        """
        chosen: dict[int, int] = {}
        for how in ("lemma", "expression", "spelling"):
            for n, g in enumerate(items):
                if n in chosen:
                    continue
                keys = g.keys()
                if how == "spelling":
                    candidates = [i for i, p in enumerate(predicted)
                                  if not used[i] and any(same_word(p.lemma, k) or same_grammar_point(p.lemma, k)
                                                         for k in (g.lemma, *g.variants))]
                else:
                    candidates = [
                        i for i, pk in enumerate(pred_keys)
                        if not used[i] and (pred_lemmas[i] in keys if how == "lemma" else pk & keys)
                    ]
                if not candidates:
                    continue
                # prefer the exact lemma, then the expected category, then the earliest prediction
                best = min(
                    candidates,
                    key=lambda i: (
                        pred_lemmas[i] != fold(g.lemma),
                        g.category is None or predicted[i].category != g.category,
                        i,
                    ),
                )
                used[best] = True
                chosen[n] = best
        return chosen

    matched: list[tuple[str, str]] = []
    missed: list[str] = []
    same_category = 0
    sense_pairs = sense_right = reading_pairs = reading_right = 0
    wrong_sense: list[tuple[str, str]] = []
    wrong_reading: list[tuple[str, str, str]] = []
    acceptable_matched: list[tuple[str, str]] = []
    gold_pairs = assign(gold)
    acceptable_pairs = assign(acceptable)  # only the predictions no gold item took
    for items, pairs, must in ((gold, gold_pairs, True), (acceptable, acceptable_pairs, False)):
        for n, g in enumerate(items):
            if n not in pairs:
                if must:
                    missed.append(g.lemma)
                continue
            p = predicted[pairs[n]]
            (matched if must else acceptable_matched).append((g.lemma, p.lemma))
            if g.category is not None and p.category == g.category:
                same_category += 1
            if g.sense:
                sense_pairs += 1
                if sense_matches(p.meaning, g.sense):
                    sense_right += 1
                else:
                    wrong_sense.append((g.lemma, p.meaning))
            if _reading_checked(g, p):
                reading_pairs += 1
                if fold_reading(p.reading) == fold_reading(g.reading):
                    reading_right += 1
                else:
                    wrong_reading.append((g.lemma, g.reading, p.reading))
    tp = len(matched)
    acceptable_hits = len(acceptable_matched)
    fp = len(predicted) - tp - acceptable_hits
    fn = len(missed)
    precision = (tp + acceptable_hits) / len(predicted) if predicted else 0.0
    recall = tp / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "acceptable_hits": acceptable_hits,
        "category_agreement": same_category / (tp + acceptable_hits) if tp + acceptable_hits else 0.0,
        "sense_accuracy": sense_right / sense_pairs if sense_pairs else 0.0,
        "sense_right": sense_right,
        "sense_pairs": sense_pairs,
        "reading_accuracy": reading_right / reading_pairs if reading_pairs else 0.0,
        "reading_right": reading_right,
        "reading_pairs": reading_pairs,
        "matched": matched,
        "acceptable_matched": acceptable_matched,
        "missed": missed,
        "extra": [p.lemma for p, u in zip(predicted, used) if not u],
        "wrong_sense": wrong_sense,
        "wrong_reading": wrong_reading,
    }


def pooled(scores: Sequence[dict]) -> dict:
    """Micro-average of several :func:`precision_recall` results (one per transcript of a set).

    Counts are summed, then the shares are taken over the sums, so a long
    transcript weighs more than a short one.
    """
    tp, fp, fn = (sum(s[k] for s in scores) for k in ("tp", "fp", "fn"))
    sense_right, sense_pairs, reading_right, reading_pairs = (
        sum(s[k] for s in scores) for k in ("sense_right", "sense_pairs", "reading_right", "reading_pairs")
    )
    hits = sum(s.get("acceptable_hits", 0) for s in scores)
    precision = (tp + hits) / (tp + hits + fp) if tp + hits + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "acceptable_hits": hits,
        "sense_accuracy": sense_right / sense_pairs if sense_pairs else 0.0,
        "sense_pairs": sense_pairs,
        "reading_accuracy": reading_right / reading_pairs if reading_pairs else 0.0,
        "reading_pairs": reading_pairs,
    }


def misheard_items(predicted: Sequence[Expression], gold: GoldSet) -> list[tuple[str, str]]:
    """(heard text, predicted lemma) for each prediction built on a mis-heard spot: said on that
    line and sharing two characters in a row with the text heard there (審判 on ご審判には及びませぬ,
    said ご心配). Such an item teaches a word nobody said; emitting nothing is better."""
    out: list[tuple[str, str]] = []
    for err in gold.asr_errors:
        if not 0 <= err.line < len(gold.lines):
            continue
        line, heard = gold.lines[err.line], fold(err.heard)
        for p in predicted:
            said = fold(p.expression)
            if p.start == line.start and any(said[i : i + 2] in heard for i in range(len(said) - 1)):
                out.append((err.heard, p.lemma))
    return out


def rejected_items(extra: Sequence[str], gold: GoldSet) -> list[str]:
    """The wrong predictions (lemmas, from ``precision_recall``'s ``extra``) a teacher judged and
    turned down in ``gold.rejected``; each rejection accounts for one prediction."""
    left = Counter(fold(r.lemma) for r in gold.rejected)
    out: list[str] = []
    for lemma in extra:
        if left[fold(lemma)] > 0:
            left[fold(lemma)] -= 1
            out.append(lemma)
    return out


def judging_pool(predicted: Sequence[Expression], gold: GoldSet) -> list[dict]:
    """The predictions no list has judged (neither gold, acceptable, pooled nor rejected), each with
    its line, for a teacher's pooled judging. The engine's meaning is left out on purpose: the teacher
    writes the sense used in the line in their own keywords."""
    score = precision_recall(predicted, gold.gold, gold.acceptable + gold.pooled)
    unjudged = Counter(score["extra"])
    unjudged.subtract(rejected_items(score["extra"], gold))
    out: list[dict] = []
    for p in predicted:
        if unjudged[p.lemma] <= 0:
            continue
        unjudged[p.lemma] -= 1
        line = next((i for i, ln in enumerate(gold.lines) if ln.start == p.start and fold(p.expression) in fold(ln.text)),
                    next((i for i, ln in enumerate(gold.lines) if ln.start == p.start), -1))
        out.append({"line": line, "text": gold.lines[line].text if line >= 0 else "", "lemma": p.lemma,
                    "expression": p.expression, "category": p.category.value})
    return out


def subset_of(path: str | Path) -> str:
    """``heldout`` for a ``*_heldout.yaml`` gold file (never used for tuning), else ``tuning``."""
    return "heldout" if Path(path).stem.endswith("_heldout") else "tuning"


def score_gold_files(
    paths: Sequence[Path], extract: Callable[[list[TranscriptLine]], Sequence[Expression]]
) -> dict:
    """Run ``extract`` on every gold file and score it; pool the files of each subset.

    Returns ``{"tuning": pooled, "heldout": pooled, "tuning_strict": pooled, "heldout_strict":
    pooled, "tuning_unpooled": pooled, "heldout_unpooled": pooled, "files": [...]}``: the plain
    subsets count a file's ``acceptable`` and ``pooled`` items as right for precision, the
    ``_unpooled`` ones its ``acceptable`` items only (the lists written from the text alone), the
    ``_strict`` ones the teacher's gold list alone. ``rejected_hits`` counts the wrong items a
    teacher judged and turned down; the rest of ``fp`` was never judged.  Each entry of
    ``files`` has ``file``, ``subset``, ``lines``, ``gold_items``, ``predicted``, ``seconds`` and
    the file's own ``score`` (with acceptable items, and ``misheard``: items built on the file's
    speech-recognition errors, see :func:`misheard_items`); each plain subset also counts
    ``misheard_items`` over its ``asr_error_spots``.  A subset without files pools to zeros.
    """
    per: dict[str, list[dict]] = {f"{subset}{kind}": [] for subset in ("tuning", "heldout")
                                  for kind in ("", "_strict", "_unpooled")}
    files: list[dict] = []
    for path in paths:
        gold = load_gold(path)
        t0 = time.perf_counter()
        predicted = list(extract(gold.lines))
        seconds = time.perf_counter() - t0
        subset = subset_of(path)
        score = precision_recall(predicted, gold.gold, gold.acceptable + gold.pooled)
        score["rejected_hits"] = len(rejected_items(score["extra"], gold))
        score["misheard"] = misheard_items(predicted, gold)
        score["asr_error_spots"] = len(gold.asr_errors)
        per[subset].append(score)
        per[f"{subset}_strict"].append(precision_recall(predicted, gold.gold))
        per[f"{subset}_unpooled"].append(precision_recall(predicted, gold.gold, gold.acceptable))
        files.append({"file": Path(path).name, "subset": subset, "lines": len(gold.lines),
                      "gold_items": len(gold.gold), "predicted": len(predicted), "seconds": seconds,
                      "score": score})
    result: dict = {name: pooled(scores) for name, scores in per.items()}
    for subset in ("tuning", "heldout"):
        result[subset]["misheard_items"] = sum(len(s["misheard"]) for s in per[subset])
        result[subset]["asr_error_spots"] = sum(s["asr_error_spots"] for s in per[subset])
        result[subset]["rejected_hits"] = sum(s["rejected_hits"] for s in per[subset])
    result["files"] = files
    return result


if __name__ == "__main__":  # python -m aivlingual_assets.analysis.gold pool FILE.yaml > pool.yaml
    import sys

    from aivlingual_assets.analysis.offline_extractor import extract_expressions

    if len(sys.argv) != 3 or sys.argv[1] != "pool":
        sys.exit("usage: python -m aivlingual_assets.analysis.gold pool GOLD_FILE.yaml")
    gold_set = load_gold(sys.argv[2])
    print(yaml.safe_dump(judging_pool(extract_expressions(gold_set.lines), gold_set), allow_unicode=True,
                         sort_keys=False, width=200))
