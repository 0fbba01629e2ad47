"""One AI output as a reviewer sees it, and the errors of reviewing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..ai.ledger import Ledger, ai_memory
from .fine_tune_gate import GATE_PURPOSE

__all__ = ["ReviewError", "ReviewItem", "UnknownMemoryError", "get_item", "pipeline_outputs"]


class ReviewError(ValueError):
    """A verdict or rating that cannot be recorded (bad value, nobody named)."""


class UnknownMemoryError(LookupError):
    def __init__(self, memory_id: int):
        super().__init__(f"No AI output with id {memory_id} in the AI memory (see `aivlingual review list`).")
        self.memory_id = memory_id



@dataclass
class ReviewItem:
    """One AI memory row as a reviewer sees it."""

    id: int
    request_type: str
    kind: str
    provider: str
    model: str
    usage_count: int
    rating: int | None
    verified: bool
    rejected: bool
    use_for_training: bool
    reviewed_by: str | None
    reviewed_at: float | None
    created_at: float
    last_used_at: float
    prompt: str
    system: str | None
    output_text: str | None
    reasons: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        if self.verified:
            return "verified"
        if self.rejected:
            return "rejected"
        return "rated" if self.rating is not None else "unreviewed"

    def preview(self, text: str | None, width: int = 80) -> str:
        flat = " ".join((text or "").split())
        return flat if len(flat) <= width else flat[: width - 1] + "…"

    def as_row(self, width: int = 120) -> dict[str, Any]:
        return {
            "id": self.id,
            "request_type": self.request_type,
            "provider": self.provider,
            "model": self.model,
            "usage_count": self.usage_count,
            "rating": self.rating,
            "status": self.status,
            "reasons": ",".join(self.reasons),
            "created_at": self.created_at,
            "prompt_preview": self.preview(self.prompt, width),
            "output_preview": self.preview(self.output_text, width),
        }


_ITEM_COLUMNS = (
    ai_memory.c.id, ai_memory.c.request_type, ai_memory.c.kind, ai_memory.c.provider, ai_memory.c.model,
    ai_memory.c.usage_count, ai_memory.c.rating, ai_memory.c.verified, ai_memory.c.rejected,
    ai_memory.c.use_for_training, ai_memory.c.reviewed_by, ai_memory.c.reviewed_at, ai_memory.c.created_at,
    ai_memory.c.last_used_at, ai_memory.c.prompt, ai_memory.c.system, ai_memory.c.output_text,
)


def _item(row: Any, reasons: Sequence[str] = ()) -> ReviewItem:
    m = row._mapping
    return ReviewItem(
        id=int(m["id"]), request_type=m["request_type"], kind=m["kind"], provider=m["provider"], model=m["model"],
        usage_count=int(m["usage_count"] or 0), rating=m["rating"], verified=bool(m["verified"]),
        rejected=bool(m["rejected"]), use_for_training=bool(m["use_for_training"]), reviewed_by=m["reviewed_by"],
        reviewed_at=m["reviewed_at"], created_at=float(m["created_at"]), last_used_at=float(m["last_used_at"]),
        prompt=m["prompt"], system=m["system"], output_text=m["output_text"], reasons=tuple(reasons),
    )


def get_item(ledger: Ledger, memory_id: int) -> ReviewItem:
    with ledger.connect() as conn:
        row = conn.execute(sa.select(*_ITEM_COLUMNS).where(ai_memory.c.id == int(memory_id))).first()
    if row is None:
        raise UnknownMemoryError(int(memory_id))
    return _item(row)



def pipeline_outputs():
    """AI memory rows the pipeline asked for: not the fine-tune gate's evaluation answers (which are cached with
    the option ``purpose: fine-tune gate``), so reviews and Notion verdicts go to the pipeline's own outputs."""
    return ai_memory.c.options.not_like(f'%"purpose": "{GATE_PURPOSE}"%')
