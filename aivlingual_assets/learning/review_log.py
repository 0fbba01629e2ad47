"""The review audit trail: every verdict, rating and Notion change, appended to ``aiv_review_log``.

The table lives next to the ledger's tables (created on first use), so each verified AI output
can be traced to the person and moment that verified it.
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

from ..ai.ledger import Ledger

__all__ = ["review_history", "review_log"]

_review_metadata = sa.MetaData()
review_log = sa.Table(
    "aiv_review_log",
    _review_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("memory_id", sa.Integer, nullable=False, index=True),
    sa.Column("action", sa.String(20), nullable=False),  # verified | rejected | rated | withdrawn
    sa.Column("reviewer", sa.String(200), nullable=False),
    sa.Column("rating", sa.Integer, nullable=True),
    sa.Column("use_for_training", sa.Boolean, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("source", sa.String(20), nullable=False),  # cli | notion | api
    sa.Column("ts", sa.Float, nullable=False),
)
_log_ready: set[str] = set()
_log_lock = threading.Lock()


def _ensure_review_log(ledger: Ledger) -> None:
    if ledger.url in _log_ready:
        return
    with _log_lock:
        if ledger.url in _log_ready:
            return
        from ..storage.schema import create_tables

        create_tables(ledger.engine, _review_metadata)  # serialised across processes
        _log_ready.add(ledger.url)


def review_history(ledger: Ledger, memory_id: int) -> list[dict[str, Any]]:
    """The audit trail of one output, oldest first."""
    _ensure_review_log(ledger)
    with ledger.connect() as conn:
        rows = conn.execute(sa.select(review_log).where(review_log.c.memory_id == int(memory_id))
                            .order_by(review_log.c.ts, review_log.c.id)).all()
    return [dict(r._mapping) for r in rows]

