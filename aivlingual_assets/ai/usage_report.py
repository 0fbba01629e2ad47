"""What the AI spent and saved over a period, from the usage log (CLI and dashboard share it)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from ..channels.usage import channel_usage
from .ledger import Ledger, ai_memory, training_data, usage_log


@dataclass
class UsageReport:
    days: int
    since: float
    requests: int
    provider_calls: int
    cache_hits: int
    failures: int
    hit_rate: float
    cost_usd: float
    saved_usd: float
    input_tokens: int
    output_tokens: int
    training_examples_ready: int
    cached_input_tokens: int = 0  # input tokens the providers read from their prompt caches
    prompt_cache_saved_usd: float = 0.0  # what their discount took off the cost
    top_models: list[dict[str, Any]] = field(default_factory=list)
    top_request_types: list[dict[str, Any]] = field(default_factory=list)
    top_endpoints: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)  # every channel's share (see channels.usage)
    daily: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def usage_report(ledger: Ledger, *, days: int = 30, now: float | None = None, top: int = 5) -> UsageReport:
    now = now or time.time()
    since = now - days * 86400
    u = usage_log.c
    window = u.ts >= since
    hit_i = sa.case((u.cache_hit.is_(True), 1), else_=0)
    call_i = sa.case((sa.and_(u.cache_hit.is_(False), u.success.is_(True)), 1), else_=0)
    fail_i = sa.case((u.success.is_(False), 1), else_=0)
    with ledger.connect() as conn:
        totals = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(call_i), 0),
                sa.func.coalesce(sa.func.sum(hit_i), 0),
                sa.func.coalesce(sa.func.sum(fail_i), 0),
                sa.func.coalesce(sa.func.sum(u.cost_usd), 0.0),
                sa.func.coalesce(sa.func.sum(u.saved_usd), 0.0),
                sa.func.coalesce(sa.func.sum(u.input_tokens), 0),
                sa.func.coalesce(sa.func.sum(u.output_tokens), 0),
                sa.func.coalesce(sa.func.sum(u.cached_input_tokens), 0),
                sa.func.coalesce(sa.func.sum(u.prompt_cache_saved_usd), 0.0),
            ).where(window)
        ).one()

        def grouped(*cols) -> list[dict[str, Any]]:
            rows = conn.execute(
                sa.select(*cols, sa.func.count().label("requests"), sa.func.sum(hit_i).label("cache_hits"),
                          sa.func.sum(u.cost_usd).label("cost_usd"))
                .where(window, cols[0].is_not(None))
                .group_by(*cols)
                .order_by(sa.func.sum(u.cost_usd).desc(), sa.func.count().desc())
                .limit(top)
            ).all()
            return [
                {**{c.name: getattr(r, c.name) for c in cols}, "requests": int(r.requests),
                 "cache_hits": int(r.cache_hits or 0), "cost_usd": round(float(r.cost_usd or 0.0), 6)}
                for r in rows
            ]

        top_models = grouped(u.provider, u.model)
        top_request_types = grouped(u.request_type)
        top_endpoints = grouped(u.endpoint)
        by_channel = channel_usage(conn, since)
        day = sa.cast((u.ts / 86400), sa.Integer)
        daily_rows = conn.execute(
            sa.select(day.label("day"), sa.func.count().label("requests"), sa.func.sum(hit_i).label("hits"),
                      sa.func.sum(u.cost_usd).label("cost"), sa.func.sum(u.saved_usd).label("saved"))
            .where(window).group_by(day).order_by(day)
        ).all()
        ready = conn.execute(
            sa.select(sa.func.count()).select_from(ai_memory).where(
                ai_memory.c.verified.is_(True), ai_memory.c.use_for_training.is_(True),
                ~ai_memory.c.id.in_(sa.select(training_data.c.memory_id)),
            )
        ).scalar_one()
    requests, calls, hits, failures, cost, saved, tin, tout, cached_in, prompt_cache_saved = totals
    looked_up = int(calls) + int(hits)
    return UsageReport(
        days=days,
        since=since,
        requests=int(requests),
        provider_calls=int(calls),
        cache_hits=int(hits),
        failures=int(failures),
        hit_rate=round(int(hits) / looked_up, 4) if looked_up else 0.0,
        cost_usd=round(float(cost), 6),
        saved_usd=round(float(saved), 6),
        input_tokens=int(tin),
        output_tokens=int(tout),
        training_examples_ready=int(ready),
        cached_input_tokens=int(cached_in),
        prompt_cache_saved_usd=round(float(prompt_cache_saved), 6),
        top_models=top_models,
        top_request_types=top_request_types,
        top_endpoints=top_endpoints,
        channels=by_channel,
        daily=[
            {"day": time.strftime("%Y-%m-%d", time.gmtime(int(r.day) * 86400)), "requests": int(r.requests),
             "cache_hits": int(r.hits or 0), "cost_usd": round(float(r.cost or 0.0), 6),
             "saved_usd": round(float(r.saved or 0.0), 6)}
            for r in daily_rows
        ],
    )


def format_report(report: UsageReport) -> str:
    lines = [
        f"AI usage, last {report.days} days",
        f"  requests        {report.requests}",
        f"  provider calls  {report.provider_calls}",
        f"  cache hits      {report.cache_hits} ({report.hit_rate:.1%} hit rate)",
        f"  failures        {report.failures}",
        f"  tokens          {report.input_tokens} in / {report.output_tokens} out",
        f"  cost            ${report.cost_usd:.4f}",
        f"  saved by cache  ${report.saved_usd:.4f}",
        f"  saved by prompt caching  ${report.prompt_cache_saved_usd:.4f} "
        f"({report.cached_input_tokens} of {report.input_tokens} input tokens read from the providers' prompt caches)",
        f"  training examples ready  {report.training_examples_ready}",
    ]
    for title, rows, label in (
        ("top providers/models", report.top_models, lambda r: f"{r['provider']}/{r['model']}"),
        ("top request types", report.top_request_types, lambda r: r["request_type"]),
        ("top endpoints", report.top_endpoints, lambda r: r["endpoint"]),
        ("per channel", report.channels, lambda r: r["channel"]),
    ):
        lines.append(f"  {title}:")
        if not rows:
            lines.append("    (none)")
        for r in rows:
            lines.append(f"    {label(r):40s} {r['requests']:6d} req  {r['cache_hits']:6d} hits  ${r['cost_usd']:.4f}")
    return "\n".join(lines)
