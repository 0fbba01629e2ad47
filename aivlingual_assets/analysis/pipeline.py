"""Per-recording analysis as plain functions: transcript -> expressions -> levels.

``run_task`` is the AI core's ``run_task`` (or anything with its signature), so these
functions are testable without Dagster and every model call stays cached and metered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from .engine_workers import lookahead
from .schemas import Expression, LevelAssessment, TranscriptLine
from .tasks import AssessLevels, ExtractExpressions, anchor_to_lines, chunk_lines, merge_expressions, merge_levels

EXPRESSION_COLUMNS = [
    "recording", "recording_title", "expression", "lemma", "reading", "meaning", "category", "explanation",
    "example", "start", "end", "url", "speaker",
]
LEVEL_COLUMNS = ["level", "level_score", "level_method", "level_reason"]
LEVEL_BATCH = 40

RunTask = Callable[..., Any]


def transcript_lines(frame: pd.DataFrame) -> list[TranscriptLine]:
    return [
        TranscriptLine(start=float(s), end=max(float(s), float(e)), text=str(t))
        for s, e, t in zip(frame["start"], frame["end"], frame["text"])
        if str(t).strip()
    ]


def extract_recording_expressions(lines: Sequence[TranscriptLine], run_task: RunTask, *, max_chars: int = 2500,
                                  parallel: bool = True) -> list[Expression]:
    """Chunks the transcript, asks the task per chunk (each chunk one cached request), merges.

    When the offline engine answers, the chunks are analysed by its worker processes (``engine_workers``:
    on every core, the same answers in the same order); ``parallel=False`` analyses them here, one by one."""
    chunks = chunk_lines(lines, max_chars=max_chars)
    task = ExtractExpressions(lookahead("expressions", chunks) if parallel else None)
    groups: list[list[Expression]] = []
    for chunk in chunks:
        result = run_task(task, chunk, endpoint="expressions")
        groups.append(anchor_to_lines(result.parsed.items, chunk))
    return merge_expressions(groups)


def expressions_frame(items: Sequence[Expression], *, recording: str, recording_title: str,
                      url_for: Callable[[float], str | None],
                      speaker_at: Callable[[float], str | None] | None = None) -> pd.DataFrame:
    """One row per expression; ``speaker`` is who said its line (``speaker_at`` its start; None when unknown)."""
    rows = [
        {
            "recording": recording,
            "recording_title": recording_title,
            "expression": e.expression,
            "lemma": e.lemma,
            "reading": e.reading,
            "meaning": e.meaning,
            "category": e.category.value,
            "explanation": e.explanation,
            "example": e.example,
            "start": float(e.start),
            "end": float(e.end),
            "url": url_for(e.start),
            "speaker": speaker_at(e.start) if speaker_at is not None else None,
        }
        for e in items
    ]
    frame = pd.DataFrame(rows, columns=EXPRESSION_COLUMNS).astype({"start": "float64", "end": "float64"})
    # object keeps None as None (not NaN): "no speaker known", as in the transcript
    frame["speaker"] = pd.Series([row["speaker"] for row in rows], dtype="object", index=frame.index)
    return frame


def frame_expressions(frame: pd.DataFrame) -> list[Expression]:
    return [
        Expression(expression=r.expression, lemma=r.lemma, reading=r.reading, meaning=r.meaning,
                   category=r.category, explanation=r.explanation, example=r.example, start=r.start, end=r.end)
        for r in frame.itertuples(index=False)
    ]


def assess_levels(items: Sequence[Expression], run_task: RunTask, *, parallel: bool = True
                  ) -> list[LevelAssessment | None]:
    """Asks the task per batch of ``LEVEL_BATCH`` expressions; the offline engine's answers come from its workers
    like ``extract_recording_expressions``'s (``parallel=False``: computed here)."""
    batches = [list(items[i : i + LEVEL_BATCH]) for i in range(0, len(items), LEVEL_BATCH)]
    task = AssessLevels(lookahead("levels", batches) if parallel else None)
    out: list[LevelAssessment | None] = []
    for batch in batches:
        result = run_task(task, batch, endpoint="difficulty")
        assessed = result.parsed.items
        if result.provider != "offline":  # name the model that decided, not what it claims
            assessed = [a.model_copy(update={"method": f"llm:{result.provider}/{result.model}"}) for a in assessed]
        out.extend(merge_levels(batch, assessed))
    return out


def with_levels(frame: pd.DataFrame, levels: Sequence[LevelAssessment | None]) -> pd.DataFrame:
    """Adds level columns; an expression the model skipped is marked unassessed, not guessed."""
    out = frame.copy()
    out["level"] = [a.level.value if a else "unassessed" for a in levels]
    out["level_score"] = [float(a.score) if a else 0.0 for a in levels]
    out["level_method"] = [a.method if a else "none" for a in levels]
    out["level_reason"] = [a.reason if a else "the model returned no assessment" for a in levels]
    return out
