"""Shorts for one recording: plans, copy through the AI core, and cut clips for local media."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from .clip_cutter import cut_clip
from .clip_planner import ClipCopy, ClipPlan, apply_clip_copy, clip_copy_prompt, clip_plans_to_frame, \
    offline_clip_copy, plan_clips

COPY_REQUEST_TYPE = "shorts.copy"
COPY_VERSION = "2"  # 2: instructions and schema first, the clip last (prompt caching)


def write_copy(plans: list[ClipPlan], generate: Callable[..., object]) -> list[ClipPlan]:
    """Title, description and hashtags per clip through the AI core (cheap tier; offline: the template)."""
    out = []
    for plan in plans:
        result = generate(
            COPY_REQUEST_TYPE, clip_copy_prompt(plan), schema=ClipCopy, tier="cheap",
            options={"task_version": COPY_VERSION}, endpoint="shorts", offline=lambda p=plan: offline_clip_copy(p),
        )
        out.append(apply_clip_copy(plan, result.parsed))
    return out


def clip_file_name(recording: str, plan: ClipPlan) -> str:
    """Named by what is in the clip, so an unchanged plan is never cut twice.

    An expression's speaker is not in the picture (the lines' speakers are), so it does not rename the clip.
    """
    digest = hashlib.sha256(plan.model_dump_json(exclude={"expressions": {"__all__": {"speaker"}}}).encode()
                            ).hexdigest()[:12]
    return f"{recording}-{plan.index:02d}-{digest}.mp4"


def build_shorts(
    *,
    recording: str,
    transcript: pd.DataFrame,
    expressions: pd.DataFrame,
    duration_seconds: float,
    generate: Callable[..., object],
    media_path: str | None,
    out_dir: Path,
    url_for: Callable[[float], str | None],
    cut: bool = True,
) -> tuple[pd.DataFrame, str | None]:
    """Plans (with copy) as a frame with a ``clip_path`` column; the reason when fewer clips fit."""
    plans = plan_clips(transcript, expressions, duration_seconds=duration_seconds, url_for=url_for)
    reason = plans.reason
    plans_with_copy = write_copy(list(plans), generate)
    paths: list[str | None] = []
    for plan in plans_with_copy:
        if cut and media_path:
            target = out_dir / clip_file_name(recording, plan)
            if not target.exists():
                out_dir.mkdir(parents=True, exist_ok=True)
                cut_clip(media_path, plan, target)
            paths.append(str(target))
        else:
            paths.append(None)
    frame = clip_plans_to_frame(plans_with_copy)
    frame["clip_path"] = pd.Series(paths, dtype="object")
    frame["recording"] = recording
    return frame, reason


def plan_summary(frame: pd.DataFrame) -> str:
    rows = [
        f"| {r.index} | {r.start:.1f}–{r.end:.1f}s | {r.title_ja} | {len(json.loads(r.expressions))} |"
        for r in frame.itertuples()
    ]
    return "| # | span | title | expressions |\n|---|---|---|---|\n" + "\n".join(rows)
