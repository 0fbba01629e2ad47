"""Verdicts and ratings people give AI outputs (CLI, API): the only way an output becomes verified locally."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from ..ai.ledger import Ledger, ai_memory
from .review_items import ReviewError, ReviewItem, UnknownMemoryError, get_item
from .review_log import _ensure_review_log, review_log

__all__ = ["RATING_RANGE", "VERDICTS", "record_rating", "record_verdict"]

VERDICTS = ("verified", "rejected")
RATING_RANGE = (1, 5)


def _check_rating(rating: int | None) -> int | None:
    if rating is None:
        return None
    if isinstance(rating, bool) or not isinstance(rating, int):
        try:
            as_float = float(rating)
        except (TypeError, ValueError):
            raise ReviewError(f"rating must be a whole number from 1 to 5, not {rating!r}") from None
        if not as_float.is_integer():
            raise ReviewError(f"rating must be a whole number from 1 to 5, not {rating!r}")
        rating = int(as_float)
    low, high = RATING_RANGE
    if not low <= rating <= high:
        raise ReviewError(f"rating must be from {low} to {high}, not {rating}")
    return rating


def _check_reviewer(reviewer: str | None) -> str:
    name = (reviewer or "").strip()
    if not name:
        raise ReviewError("a verdict needs the reviewer's name (nothing is verified without a person)")
    return name[:200]


def record_verdict(
    ledger: Ledger,
    memory_id: int,
    verdict: str,
    reviewer: str,
    rating: int | None = None,
    use_for_training: bool | None = None,
    *,
    reason: str | None = None,
    source: str = "cli",
    reviewed_at: float | None = None,
) -> ReviewItem:
    """Records a person's verdict on one AI output and returns the updated item.

    ``use_for_training`` defaults to True for "verified" and False for "rejected"; a
    rejected output can never be used for training. ``rating`` (1-5) is kept when not given.
    """
    verdict = (verdict or "").strip().lower()
    if verdict not in VERDICTS:
        raise ReviewError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    reviewer = _check_reviewer(reviewer)
    rating = _check_rating(rating)
    if verdict == "rejected" and use_for_training:
        raise ReviewError("a rejected output cannot be used for training")
    if use_for_training is None:
        use_for_training = verdict == "verified"
    when = reviewed_at if reviewed_at is not None else time.time()
    _ensure_review_log(ledger)
    values: dict[str, Any] = {
        "verified": verdict == "verified",
        "rejected": verdict == "rejected",
        "use_for_training": bool(use_for_training),
        "reviewed_by": reviewer,
        "reviewed_at": when,
    }
    if rating is not None:
        values["rating"] = rating
    with ledger.begin() as conn:
        changed = conn.execute(ai_memory.update().where(ai_memory.c.id == int(memory_id)).values(**values)).rowcount
        if not changed:
            raise UnknownMemoryError(int(memory_id))
        conn.execute(review_log.insert().values(
            memory_id=int(memory_id), action=verdict, reviewer=reviewer, rating=rating,
            use_for_training=bool(use_for_training), reason=(reason or None), source=source, ts=when))
    return get_item(ledger, memory_id)


def record_rating(ledger: Ledger, memory_id: int, rating: int, reviewer: str, *, source: str = "cli",
                  reviewed_at: float | None = None) -> ReviewItem:
    """A 1-5 rating without a verdict: the output stays in the review queue (as "highest rated")."""
    reviewer = _check_reviewer(reviewer)
    checked = _check_rating(rating)
    if checked is None:
        raise ReviewError("rating is required")
    when = reviewed_at if reviewed_at is not None else time.time()
    _ensure_review_log(ledger)
    with ledger.begin() as conn:
        current = conn.execute(sa.select(ai_memory.c.verified, ai_memory.c.rejected)
                               .where(ai_memory.c.id == int(memory_id))).first()
        if current is None:
            raise UnknownMemoryError(int(memory_id))
        values: dict[str, Any] = {"rating": checked}
        if not (current.verified or current.rejected):
            # who looked at it last; a verdict's reviewer is never replaced by a mere rating
            values.update(reviewed_by=reviewer, reviewed_at=when)
        conn.execute(ai_memory.update().where(ai_memory.c.id == int(memory_id)).values(**values))
        conn.execute(review_log.insert().values(memory_id=int(memory_id), action="rated", reviewer=reviewer,
                                                rating=checked, source=source, ts=when))
    return get_item(ledger, memory_id)
