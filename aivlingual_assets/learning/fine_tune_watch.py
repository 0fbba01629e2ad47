"""After deployment: reviewers' verdicts on a fine-tune's outputs, and its automatic demotion.

Every review cycle (the ``review_queue`` asset, after verdicts are pulled from Notion) calls
:func:`watch_deployments`.  For each fine-tuned model that is a request type's default
(:func:`~aivlingual_assets.learning.fine_tune_deployments.current_defaults`) it compares the
**rejection rate** of its outputs of that request type since it was deployed with the rate of
the model it replaced (that model's outputs of the request type, all time):

* an output counts as *reviewed* when a person gave it a verdict or a 1-5 rating;
* it counts as *rejected* when its verdict is "rejected", or, without a verdict, its rating is
  at most :data:`BAD_RATING` (2);
* outputs the fine-tune gate itself asked for (option ``purpose: fine-tune gate``) do not count.

When the fine-tune has at least ``min_reviews`` reviewed outputs (``AIVLINGUAL_FINE_TUNE_DEMOTE_MIN_REVIEWS``,
default 20, so one early rejection does not demote it) and its rate exceeds the replaced
model's by more than ``margin`` (``AIVLINGUAL_FINE_TUNE_DEMOTE_MARGIN``, default 0.10 = ten
percentage points), it is demoted: it loses the request type from its ``default_for`` (and is
switched off once it is nobody's default, so auto selection does not pick it by price); the
replaced model gets the request type back when it was its default before (an earlier fine-tune),
otherwise it is again what auto selection picks first.  The demotion is recorded with both rates
in ``aiv_model_deployments`` / ``aiv_model_deployment_events``, shown in the review cycle's run
metadata and in the ``ai_usage_report`` dashboard.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..ai.ledger import Ledger, ai_memory
from .fine_tune_deployments import (
    Deployment,
    current_defaults,
    deployment_events,
    record_demotion,
)
from .fine_tune_gate import GATE_PURPOSE

__all__ = [
    "BAD_RATING",
    "DEFAULT_DEMOTE_MARGIN",
    "DEFAULT_DEMOTE_MIN_REVIEWS",
    "ReviewRate",
    "WatchOutcome",
    "dashboard_section",
    "demote",
    "resolve_demote_settings",
    "review_rate",
    "watch_deployments",
]

BAD_RATING = 2
DEFAULT_DEMOTE_MARGIN = 0.10
DEFAULT_DEMOTE_MIN_REVIEWS = 20
MARGIN_ENV = "AIVLINGUAL_FINE_TUNE_DEMOTE_MARGIN"
MIN_REVIEWS_ENV = "AIVLINGUAL_FINE_TUNE_DEMOTE_MIN_REVIEWS"


def _from_env(name: str, cast: type, default: float, what: str) -> float | int:
    from .. import settings

    raw = settings.env(name)
    try:
        return cast(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be {what}, not {raw!r}") from None


def resolve_demote_settings(margin: float | None = None, min_reviews: int | None = None) -> tuple[float, int]:
    """Explicit values, else the environment, else 0.10 and 20."""
    if margin is None:
        margin = _from_env(MARGIN_ENV, float, DEFAULT_DEMOTE_MARGIN, "a number such as 0.1")
    if min_reviews is None:
        min_reviews = _from_env(MIN_REVIEWS_ENV, int, DEFAULT_DEMOTE_MIN_REVIEWS, "a whole number")
    if not 0 <= margin < 1:
        raise ValueError(f"the demotion margin must be from 0 to below 1, not {margin}")
    if min_reviews < 1:
        raise ValueError(f"the minimum number of reviews must be at least 1, not {min_reviews}")
    return float(margin), int(min_reviews)


@dataclass(frozen=True)
class ReviewRate:
    reviewed: int
    rejected: int

    @property
    def rate(self) -> float:
        return self.rejected / self.reviewed if self.reviewed else 0.0

    def __str__(self) -> str:
        return f"{self.rate:.0%} ({self.rejected}/{self.reviewed})"


def review_rate(ledger: Ledger, provider: str | None, model: str, request_type: str, *,
                since: float | None = None) -> ReviewRate:
    """Reviewed and rejected outputs of one model for one request type (see the module docstring)."""
    m = ai_memory.c
    rated = sa.and_(m.rating.is_not(None), m.verified.is_(False), m.rejected.is_(False))
    reviewed = sa.or_(m.verified.is_(True), m.rejected.is_(True), m.rating.is_not(None))
    bad = sa.or_(m.rejected.is_(True), sa.and_(rated, m.rating <= BAD_RATING))
    query = (sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((bad, 1), else_=0)), 0))
             .where(m.kind == "text", m.model == model, m.request_type == request_type, reviewed,
                    m.options.not_like(f"%{GATE_PURPOSE}%")))
    if provider:
        query = query.where(m.provider == provider)
    if since is not None:
        query = query.where(m.created_at >= since)
    with ledger.connect() as conn:
        total, rejected = conn.execute(query).one()
    return ReviewRate(int(total), int(rejected))


@dataclass
class WatchOutcome:
    deployment: Deployment
    fine_tune: ReviewRate
    replaced: ReviewRate
    demoted: bool
    reason: str

    def metadata(self) -> dict[str, Any]:
        rt = self.deployment.request_type
        return {f"fine_tune/{rt}/model": self.deployment.model,
                f"fine_tune/{rt}/reviewed": self.fine_tune.reviewed,
                f"fine_tune/{rt}/rejection_rate": round(self.fine_tune.rate, 4),
                f"fine_tune/{rt}/replaced_rejection_rate": round(self.replaced.rate, 4),
                f"fine_tune/{rt}/status": "demoted" if self.demoted else "kept"}


def demote(ledger: Ledger, deployment: Deployment, *, reason: str, detail: dict[str, Any],
           now: float | None = None) -> None:
    """Takes the request type's default from the fine-tune and gives it back to the model it replaced."""
    rt = deployment.request_type
    models = {(row["provider"], row["model"]): row for row in ledger.models(kind="text")}
    mine = models.get((deployment.provider, deployment.model))
    if mine is not None:
        left = [t for t in mine["default_for"] if t != rt]
        ledger.update_model(deployment.provider, deployment.model, "text", default_for=left,
                            **({} if left else {"active": False}))
    previous = models.get((deployment.replaced_provider, deployment.replaced_model))
    restored = bool(deployment.replaced_was_default and previous is not None)
    if restored:
        ledger.update_model(previous["provider"], previous["model"], "text",
                            default_for=sorted(set(previous["default_for"]) | {rt}))
    record_demotion(ledger, deployment, reason=reason, detail=detail, restored=restored, now=now)


def watch_deployments(ledger: Ledger, *, margin: float | None = None, min_reviews: int | None = None,
                      now: float | None = None) -> list[WatchOutcome]:
    """Checks every deployed fine-tune once and demotes those reviewers reject too often (module docstring)."""
    margin, min_reviews = resolve_demote_settings(margin, min_reviews)
    outcomes = []
    for deployment in current_defaults(ledger):
        mine = review_rate(ledger, deployment.provider, deployment.model, deployment.request_type,
                           since=deployment.deployed_at)
        theirs = (review_rate(ledger, deployment.replaced_provider, deployment.replaced_model, deployment.request_type)
                  if deployment.replaced_model else ReviewRate(0, 0))
        replaced = f"{deployment.replaced_provider}/{deployment.replaced_model}"
        if mine.reviewed < min_reviews:
            outcomes.append(WatchOutcome(deployment, mine, theirs, False,
                                         f"{mine.reviewed} of the {min_reviews} reviewed outputs needed to judge it"))
            continue
        if mine.rate > theirs.rate + margin:
            reason = (f"rejection rate {mine} of its {deployment.request_type} outputs since deployment exceeds "
                      f"{theirs} of {replaced} by more than {margin:.0%}: {replaced} is the default again")
            demote(ledger, deployment, reason=reason, now=now, detail={
                "rejection_rate": round(mine.rate, 4), "reviewed": mine.reviewed, "rejected": mine.rejected,
                "replaced_rejection_rate": round(theirs.rate, 4), "replaced_reviewed": theirs.reviewed,
                "margin": margin, "min_reviews": min_reviews, "replaced": replaced})
            outcomes.append(WatchOutcome(deployment, mine, theirs, True, reason))
        else:
            outcomes.append(WatchOutcome(deployment, mine, theirs, False,
                                         f"rejection rate {mine} within {margin:.0%} of {theirs} for {replaced}"))
    return outcomes


def dashboard_section(ledger: Ledger, *, days: int = 30, now: float | None = None) -> tuple[str, int]:
    """Markdown for the cost dashboard: fine-tuned defaults now and gate/demotion events of the last ``days``
    days; and how many demotions those were."""
    now = time.time() if now is None else now
    lines = ["### Fine-tuned defaults"]
    defaults = current_defaults(ledger)
    if defaults:
        lines += ["| request type | model | since | replaced | held-out validity / agreement (replaced) |",
                  "|---|---|---|---|---|"]
        for d in defaults:
            since = time.strftime("%Y-%m-%d", time.gmtime(d.deployed_at or d.decided_at))
            lines.append(f"| {d.request_type} | `{d.model}` | {since} | `{d.replaced_provider}/{d.replaced_model}` | "
                         f"{_pair(d.candidate_schema_validity, d.candidate_agreement)} "
                         f"({_pair(d.baseline_schema_validity, d.baseline_agreement)}) |")
    else:
        lines.append("_No fine-tuned model is a default._")
    events = [e for e in deployment_events(ledger, since=now - days * 86400)
              if e["event"] in ("demoted", "refused", "restored")]
    demotions = sum(e["event"] == "demoted" for e in events)
    if events:
        lines += ["", f"Last {days} days:"]
        for e in events:
            when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(e["ts"]))
            what = e["detail"].get("reason") or e["detail"].get("after_demotion_of") or ""
            label = {"demoted": "**demoted**", "refused": "refused by the gate", "restored": "default again after "
                     "the demotion of"}[e["event"]]
            lines.append(f"- {when} UTC `{e['model']}` ({e['request_type']}) {label}: {what}")
    return "\n".join(lines), demotions


def _pair(validity: float | None, agreement: float | None) -> str:
    if validity is None or agreement is None:
        return "-"
    return f"{validity:.2f} / {agreement:.2f}"
