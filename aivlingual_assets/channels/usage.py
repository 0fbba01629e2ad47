"""What each channel spent and saved: the per-channel breakdown of ``aivlingual usage`` and the dashboard."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..ai.ledger import usage_log

NO_CHANNEL = "(no channel)"


def channel_usage(conn: Connection, since: float) -> list[dict[str, Any]]:
    """One row per channel (and one for calls of no channel) since ``since``, the most expensive first."""
    u = usage_log.c
    name = sa.func.coalesce(u.channel, NO_CHANNEL).label("channel")
    hit = sa.case((u.cache_hit.is_(True), 1), else_=0)
    call = sa.case((sa.and_(u.cache_hit.is_(False), u.success.is_(True)), 1), else_=0)
    rows = conn.execute(
        sa.select(name, sa.func.count().label("requests"), sa.func.sum(call).label("provider_calls"),
                  sa.func.sum(hit).label("cache_hits"), sa.func.sum(u.cost_usd).label("cost_usd"),
                  sa.func.sum(u.saved_usd).label("saved_usd"))
        .where(u.ts >= since)
        .group_by(sa.func.coalesce(u.channel, NO_CHANNEL))
        .order_by(sa.func.sum(u.cost_usd).desc(), sa.func.count().desc())
    ).all()
    return [{"channel": r.channel, "requests": int(r.requests), "provider_calls": int(r.provider_calls or 0),
             "cache_hits": int(r.cache_hits or 0), "cost_usd": round(float(r.cost_usd or 0.0), 6),
             "saved_usd": round(float(r.saved_usd or 0.0), 6)} for r in rows]
