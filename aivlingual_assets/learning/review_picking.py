"""What to put in front of a reviewer, and how many outputs are in each review state.

Picking (:func:`pick_for_review`) looks only at *text* outputs without a verdict
(neither verified nor rejected) and mixes three lists, round robin, without duplicates:

* **most reused** - ``usage_count >= 2``, highest first: a wrong cached answer is served
  again every time it is reused, so these matter most;
* **highest rated** - outputs someone rated (CLI ``review rate`` or Notion ``Rating``)
  but gave no verdict yet: a quick confirmation turns them into training data;
* **newest of each request type** - so every kind of output gets looked at, not only
  the popular ones.

Answers the fine-tune gate asked for while evaluating a model are never picked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ..ai.ledger import Ledger, ai_memory, training_data
from .review_items import _ITEM_COLUMNS, ReviewItem, _item, pipeline_outputs

__all__ = ["pick_for_review", "review_counts"]


def _unreviewed(request_types: Sequence[str] | None):
    cond = sa.and_(
        ai_memory.c.kind == "text",
        ai_memory.c.output_text.is_not(None),
        ai_memory.c.verified.is_(False),
        ai_memory.c.rejected.is_(False),
        pipeline_outputs(),
    )
    if request_types:
        cond = sa.and_(cond, ai_memory.c.request_type.in_(list(request_types)))
    return cond


def pick_for_review(ledger: Ledger, limit: int = 20, *, request_types: Sequence[str] | None = None) -> list[ReviewItem]:
    """AI outputs worth a human look, best first (see the module docstring for the mix)."""
    if limit <= 0:
        return []
    pending = _unreviewed(request_types)
    with ledger.connect() as conn:
        reused = conn.execute(
            sa.select(*_ITEM_COLUMNS).where(pending, ai_memory.c.usage_count >= 2)
            .order_by(ai_memory.c.usage_count.desc(), ai_memory.c.last_used_at.desc(), ai_memory.c.id)
            .limit(limit)
        ).all()
        rated = conn.execute(
            sa.select(*_ITEM_COLUMNS).where(pending, ai_memory.c.rating.is_not(None))
            .order_by(ai_memory.c.rating.desc(), ai_memory.c.usage_count.desc(), ai_memory.c.id)
            .limit(limit)
        ).all()
        newest_at = (
            sa.select(ai_memory.c.request_type, sa.func.max(ai_memory.c.created_at).label("newest"))
            .where(pending).group_by(ai_memory.c.request_type).subquery()
        )
        newest = conn.execute(
            sa.select(*_ITEM_COLUMNS)
            .join(newest_at, sa.and_(newest_at.c.request_type == ai_memory.c.request_type,
                                     newest_at.c.newest == ai_memory.c.created_at))
            .where(pending)
            .order_by(ai_memory.c.created_at.desc(), ai_memory.c.id.desc())
        ).all()
    # one row per request type even when two share the newest timestamp
    seen_types: set[str] = set()
    newest_one = []
    for row in newest:
        if row.request_type not in seen_types:
            seen_types.add(row.request_type)
            newest_one.append(row)
    lists = [
        [(r, "most_reused") for r in reused],
        [(r, "highest_rated") for r in rated],
        [(r, f"newest:{r.request_type}") for r in newest_one],
    ]
    reasons: dict[int, list[str]] = {}
    rows: dict[int, Any] = {}
    order: list[int] = []
    for position in range(max((len(x) for x in lists), default=0)):
        for strategy in lists:
            if position >= len(strategy):
                continue
            row, reason = strategy[position]
            if row.id not in rows:
                rows[row.id] = row
                order.append(row.id)
            reasons.setdefault(row.id, []).append(reason)
    return [_item(rows[i], reasons[i]) for i in order[:limit]]



def review_counts(ledger: Ledger) -> dict[str, int]:
    """Text outputs by review state, plus how many verified ones wait for a training export."""
    m = ai_memory.c
    is_text = sa.and_(m.kind == "text", m.output_text.is_not(None))

    def flag(cond) -> Any:
        return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)

    recorded = sa.select(training_data.c.memory_id)
    exported = sa.select(training_data.c.memory_id).where(training_data.c.split.in_(("train", "validation")))
    with ledger.connect() as conn:
        row = conn.execute(
            sa.select(
                sa.func.count(),
                flag(sa.and_(m.verified.is_(False), m.rejected.is_(False))),
                flag(m.verified.is_(True)),
                flag(m.rejected.is_(True)),
                flag(sa.and_(m.rating.is_not(None), m.verified.is_(False), m.rejected.is_(False))),
                flag(sa.and_(m.verified.is_(True), m.use_for_training.is_(True), m.id.not_in(recorded))),
                flag(m.id.in_(exported)),
            ).where(is_text)
        ).one()
    keys = ("outputs", "unreviewed", "verified", "rejected", "rated_without_verdict", "ready_for_training",
            "exported")
    return {k: int(v) for k, v in zip(keys, row)}

