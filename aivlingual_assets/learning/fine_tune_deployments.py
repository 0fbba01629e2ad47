"""Which model is the cheap-tier default of each request type, since when, whom it replaced, and why.

Two tables of their own next to the ledger's (created on first use, on SQLite and PostgreSQL):

``aiv_model_deployments``
    One row per gate decision on a fine-tuned model for one request type: the model, the model
    it would replace (and whether that one was the request type's default, or only the first
    model auto selection picked), the held-out scores of both (schema validity, agreement with
    the verified answer, examples), the decision (``deployed`` / ``refused``) and its lifecycle
    ``status``: ``deployed`` (the default now, since ``deployed_at``), ``refused``,
    ``superseded`` (a newer fine-tune replaced it) or ``demoted`` (reviewers rejected its
    outputs more often than the replaced model's; ``ended_at``, ``reason``).

``aiv_model_deployment_events``
    Append-only audit trail: ``deployed``, ``refused``, ``superseded``, ``demoted``,
    ``restored`` (a demotion gave the default back to the model before), with time and details.

The routing itself still reads the catalogue (``default_for`` of ``aiv_provider_configs``):
these tables say how it got there.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..ai.ledger import Ledger

__all__ = [
    "Deployment",
    "current_defaults",
    "deployment_events",
    "deployment_events_table",
    "deployments",
    "deployments_table",
    "ensure_deployment_tables",
    "record_decision",
    "record_demotion",
]

_metadata = sa.MetaData()
deployments_table = sa.Table(
    "aiv_model_deployments",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_type", sa.String(100), nullable=False, index=True),
    sa.Column("tier", sa.String(10), nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("run_id", sa.Integer, nullable=True, index=True),  # aiv_training_runs.id
    sa.Column("decision", sa.String(12), nullable=False),  # deployed | refused
    sa.Column("status", sa.String(12), nullable=False),  # deployed | refused | superseded | demoted
    sa.Column("replaced_provider", sa.String(32), nullable=True),
    sa.Column("replaced_model", sa.String(200), nullable=True),
    sa.Column("replaced_was_default", sa.Boolean, nullable=False, default=False),
    sa.Column("examples", sa.Integer, nullable=False, default=0),
    sa.Column("candidate_schema_validity", sa.Float, nullable=True),
    sa.Column("candidate_agreement", sa.Float, nullable=True),
    sa.Column("baseline_schema_validity", sa.Float, nullable=True),
    sa.Column("baseline_agreement", sa.Float, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("decided_at", sa.Float, nullable=False),
    sa.Column("deployed_at", sa.Float, nullable=True),
    sa.Column("ended_at", sa.Float, nullable=True),
)
deployment_events_table = sa.Table(
    "aiv_model_deployment_events",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("deployment_id", sa.Integer, nullable=False, index=True),
    sa.Column("request_type", sa.String(100), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("event", sa.String(12), nullable=False),  # deployed | refused | superseded | demoted | restored
    sa.Column("detail", sa.Text, nullable=False, default="{}"),
    sa.Column("ts", sa.Float, nullable=False, index=True),
)
_ready: set[str] = set()
_lock = threading.Lock()


def ensure_deployment_tables(ledger: Ledger) -> None:
    if ledger.url in _ready:
        return
    with _lock:
        if ledger.url in _ready:
            return
        from ..storage.schema import create_tables

        create_tables(ledger.engine, _metadata)  # serialised across processes
        _ready.add(ledger.url)


@dataclass(frozen=True)
class Deployment:
    """One row of ``aiv_model_deployments``."""

    id: int
    request_type: str
    tier: str
    provider: str
    model: str
    run_id: int | None
    decision: str
    status: str
    replaced_provider: str | None
    replaced_model: str | None
    replaced_was_default: bool
    examples: int
    candidate_schema_validity: float | None
    candidate_agreement: float | None
    baseline_schema_validity: float | None
    baseline_agreement: float | None
    reason: str | None
    decided_at: float
    deployed_at: float | None
    ended_at: float | None

    @classmethod
    def from_row(cls, row: Any) -> Deployment:
        m = dict(row._mapping)
        m["replaced_was_default"] = bool(m["replaced_was_default"])
        return cls(**m)


def _event(conn, deployment_id: int, request_type: str, model: str, event: str, ts: float,
           detail: Mapping[str, Any] | None = None) -> None:
    conn.execute(deployment_events_table.insert().values(
        deployment_id=deployment_id, request_type=request_type, model=model, event=event, ts=ts,
        detail=json.dumps(dict(detail or {}), ensure_ascii=False, default=str)))


def record_decision(ledger: Ledger, *, request_type: str, tier: str, provider: str, model: str, run_id: int | None,
                    deployed: bool, replaced: tuple[str, str] | None, replaced_was_default: bool, examples: int,
                    candidate: tuple[float, float] | None, baseline: tuple[float, float] | None,
                    reason: str, now: float | None = None) -> Deployment:
    """Records one gate decision; a deployment supersedes the request type's deployed row (same tier)."""
    ensure_deployment_tables(ledger)
    now = time.time() if now is None else now
    d = deployments_table.c
    with ledger.begin() as conn:
        if deployed:
            for old in conn.execute(sa.select(d.id, d.model).where(
                    d.request_type == request_type, d.tier == tier, d.status == "deployed")).all():
                conn.execute(deployments_table.update().where(d.id == old.id)
                             .values(status="superseded", ended_at=now))
                _event(conn, old.id, request_type, old.model, "superseded", now, {"by": model})
        decision = "deployed" if deployed else "refused"
        new_id = conn.execute(deployments_table.insert().values(
            request_type=request_type, tier=tier, provider=provider, model=model, run_id=run_id, decision=decision,
            status=decision, replaced_provider=replaced[0] if replaced else None,
            replaced_model=replaced[1] if replaced else None, replaced_was_default=bool(replaced_was_default),
            examples=int(examples),
            candidate_schema_validity=candidate[0] if candidate else None,
            candidate_agreement=candidate[1] if candidate else None,
            baseline_schema_validity=baseline[0] if baseline else None,
            baseline_agreement=baseline[1] if baseline else None,
            reason=reason, decided_at=now, deployed_at=now if deployed else None,
        )).inserted_primary_key[0]
        _event(conn, int(new_id), request_type, model, decision, now, {
            "run_id": run_id, "replaced": "/".join(replaced) if replaced else None, "reason": reason,
            "candidate": candidate, "baseline": baseline, "examples": examples})
        row = conn.execute(sa.select(deployments_table).where(d.id == new_id)).one()
    return Deployment.from_row(row)


def record_demotion(ledger: Ledger, deployment: Deployment, *, reason: str, detail: Mapping[str, Any],
                    restored: bool, now: float | None = None) -> None:
    """Marks ``deployment`` demoted and, when the replaced model was a recorded deployment, deployed again."""
    ensure_deployment_tables(ledger)
    now = time.time() if now is None else now
    d = deployments_table.c
    with ledger.begin() as conn:
        conn.execute(deployments_table.update().where(d.id == deployment.id)
                     .values(status="demoted", ended_at=now, reason=reason))
        _event(conn, deployment.id, deployment.request_type, deployment.model, "demoted", now,
               {**detail, "reason": reason})
        if not restored or deployment.replaced_model is None:
            return
        previous = conn.execute(
            sa.select(d.id).where(d.request_type == deployment.request_type, d.tier == deployment.tier,
                                  d.model == deployment.replaced_model, d.status == "superseded")
            .order_by(d.decided_at.desc(), d.id.desc()).limit(1)).scalar()
        if previous is not None:
            conn.execute(deployments_table.update().where(d.id == previous).values(status="deployed", ended_at=None))
            _event(conn, int(previous), deployment.request_type, deployment.replaced_model, "restored", now,
                   {"after_demotion_of": deployment.model})


def deployments(ledger: Ledger, *, status: str | None = None, run_id: int | None = None) -> list[Deployment]:
    ensure_deployment_tables(ledger)
    d = deployments_table.c
    query = sa.select(deployments_table).order_by(d.decided_at, d.id)
    if status is not None:
        query = query.where(d.status == status)
    if run_id is not None:
        query = query.where(d.run_id == run_id)
    with ledger.connect() as conn:
        return [Deployment.from_row(r) for r in conn.execute(query).all()]


def current_defaults(ledger: Ledger) -> list[Deployment]:
    """The fine-tuned models that are a request type's default now (one per request type and tier)."""
    return deployments(ledger, status="deployed")


def deployment_events(ledger: Ledger, *, since: float | None = None) -> list[dict[str, Any]]:
    ensure_deployment_tables(ledger)
    e = deployment_events_table.c
    query = sa.select(deployment_events_table).order_by(e.ts, e.id)
    if since is not None:
        query = query.where(e.ts >= since)
    with ledger.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query).all()]
    for row in rows:
        row["detail"] = json.loads(row["detail"] or "{}")
    return rows
