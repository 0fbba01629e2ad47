"""The fine-tune gate: a fine-tuned model becomes a request type's default only if it earns it.

When a fine-tuning job succeeds, :func:`~aivlingual_assets.learning.fine_tune.poll_fine_tune_runs`
puts the model in the catalogue switched off and marks the run's gate ``pending``.  The next
``fine_tune_run`` materialisation (the ``fine_tune_status_sensor`` requests one) calls
:func:`gate_pending_runs`: for each request type the model was trained on, it and the model it
would replace answer the run's held-out validation examples (the ``validation`` split of the
exported batches, still verified), with the same system prompt, prompt and output schema as the
pipeline's own task, through the AI core (manual selection of each model; cached and metered,
logged with endpoint ``fine_tune_gate``; their cache entries carry the option ``purpose: fine-tune
gate``, so the pipeline's own cached answers, which reviewers accepted, are not served back as
the replaced model's answers).

Scoring (per example, then the mean over the examples):

* **schema validity** - the answer parses into the task's schema (the AI core's own check,
  one repair attempt included): 1, else 0;
* **agreement** with the verified answer (0 for an invalid answer):

  - ``expressions.extract``: F1 of the expressions' keys (``Expression.key``: lemma, reading,
    category; NFKC, whitespace-trimmed): 1 when both lists are empty;
  - ``difficulty.assess``: the share of verified items whose level the answer gives to the same
    (lemma, reading): exact level match, 1 when both are empty;
  - any other request type: 1 when the answer's JSON equals the verified JSON (NFKC,
    whitespace-collapsed strings), else 0.

The model it would replace is the active model that has the request type in its ``default_for``
(an earlier fine-tune), else the first model auto selection picks for it now.  The fine-tune is
deployed (:func:`~aivlingual_assets.learning.fine_tune.deploy_model`) for the request types on
which it is at least as good on both scores, over at least one held-out example; for the others
it is refused (no held-out example is a refusal too).  Every decision lands in
:mod:`~aivlingual_assets.learning.fine_tune_deployments` and in the run's ``metrics.gate``.
"""

from __future__ import annotations

import json
import logging
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel

from ..ai.errors import InvalidOutputError
from ..ai.ledger import Ledger, ai_memory, training_data, training_runs
from .fine_tune import DEPLOY_TIER, PROVIDER, deploy_model
from .fine_tune_deployments import Deployment, deployments, record_decision

__all__ = [
    "DEFAULT_MAX_EXAMPLES",
    "GATE_ENDPOINT",
    "GATE_PURPOSE",
    "GateResult",
    "Scores",
    "TaskScoring",
    "TypeDecision",
    "at_least_as_good",
    "difficulty_agreement",
    "exact_agreement",
    "extraction_agreement",
    "gate_pending_runs",
    "gate_run",
    "newest_gate",
    "pending_gate_runs",
    "scoring_for",
]

log = logging.getLogger("aivlingual.learning")

GATE_PURPOSE = "fine-tune gate"
GATE_ENDPOINT = "fine_tune_gate"
DEFAULT_MAX_EXAMPLES = 200  # per request type: what one evaluation may cost is bounded


# ---- agreement measures ----------------------------------------------------------------------------
def _norm(text: Any) -> str:
    return " ".join(unicodedata.normalize("NFKC", str(text or "")).split())


def extraction_agreement(answer: Any, verified: Any) -> float:
    """F1 of the expression keys (lemma, reading, category) of two ``ExpressionList``."""
    got = {_norm(item.key) for item in answer.items}
    want = {_norm(item.key) for item in verified.items}
    if not got and not want:
        return 1.0
    common = len(got & want)
    if not common:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def difficulty_agreement(answer: Any, verified: Any) -> float:
    """Share of the verified items whose level the answer gives to the same (lemma, reading)."""
    levels = {(_norm(i.lemma), _norm(i.reading)): i.level for i in answer.items}
    want = [((_norm(i.lemma), _norm(i.reading)), i.level) for i in verified.items]
    if not want:
        return 1.0 if not levels else 0.0
    return sum(levels.get(key) == level for key, level in want) / len(want)


def _canonical(value: Any) -> Any:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, str):
        return _norm(value)
    return value


def exact_agreement(answer: Any, verified: Any) -> float:
    """1 when both documents are equal (strings NFKC and whitespace-collapsed), else 0."""
    return 1.0 if _canonical(answer) == _canonical(verified) else 0.0


@dataclass(frozen=True)
class TaskScoring:
    request_type: str
    schema: type[BaseModel] | None
    agreement: Callable[[Any, Any], float]
    measure: str

    def parse(self, text: str) -> Any:
        """The verified answer as the task's schema (a dict when the task has none)."""
        return self.schema.model_validate_json(text) if self.schema is not None else json.loads(text)


_MEASURES: dict[str, tuple[Callable[[Any, Any], float], str]] = {
    "expressions.extract": (extraction_agreement, "F1 of expression keys (lemma, reading, category)"),
    "difficulty.assess": (difficulty_agreement, "exact level match per verified expression"),
}


def _task_schemas() -> dict[str, type[BaseModel]]:
    """Output schema of every ``AITask`` of the pipeline, by request type."""
    from ..ai.tasks import AITask
    from ..analysis import tasks as _analysis_tasks  # noqa: F401 - registers the tasks
    from ..publishing import upload_metadata as _upload  # noqa: F401

    schemas: dict[str, type[BaseModel]] = {}
    pending = list(AITask.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if getattr(cls, "request_type", None) and getattr(cls, "output_schema", None):
            schemas[cls.request_type] = cls.output_schema
    return schemas


def scoring_for(request_type: str) -> TaskScoring:
    agreement, measure = _MEASURES.get(request_type, (exact_agreement, "exact match of the JSON answer"))
    return TaskScoring(request_type, _task_schemas().get(request_type), agreement, measure)


# ---- scores ---------------------------------------------------------------------------------------
@dataclass
class Scores:
    """One model's scores on one request type's held-out examples."""

    provider: str
    model: str
    examples: int = 0
    valid: int = 0
    agreement_sum: float = 0.0
    cache_hits: int = 0  # answers the AI core had cached (an earlier, interrupted gate run paid for them)

    @property
    def schema_validity(self) -> float:
        return round(self.valid / self.examples, 4) if self.examples else 0.0

    @property
    def agreement(self) -> float:
        return round(self.agreement_sum / self.examples, 4) if self.examples else 0.0

    @property
    def pair(self) -> tuple[float, float]:
        return self.schema_validity, self.agreement

    def as_dict(self) -> dict[str, Any]:
        return {"model": f"{self.provider}/{self.model}", "examples": self.examples,
                "schema_validity": self.schema_validity, "agreement": self.agreement,
                "cache_hits": self.cache_hits}


def at_least_as_good(candidate: Scores, baseline: Scores) -> bool:
    """Deploy rule: held-out examples were scored, and neither score is below the replaced model's."""
    return (candidate.examples > 0 and candidate.schema_validity >= baseline.schema_validity
            and candidate.agreement >= baseline.agreement)


@dataclass(frozen=True)
class Example:
    memory_id: int
    system: str | None
    prompt: str
    verified: Any  # parsed into the task's schema


def validation_examples(ledger: Ledger, run: dict[str, Any], scoring: TaskScoring, *,
                        max_examples: int = DEFAULT_MAX_EXAMPLES) -> tuple[list[Example], int]:
    """The run's held-out examples of one request type whose answer is still verified (and how many of them
    were left out because the verified answer no longer parses into the task's schema)."""
    metrics = json.loads(run["metrics"] or "{}")
    batches = metrics.get("batches") or [run["batch_id"]]
    td, m = training_data.c, ai_memory.c
    with ledger.connect() as conn:
        rows = conn.execute(
            sa.select(td.memory_id, td.messages)
            .join(ai_memory, m.id == td.memory_id)
            .where(td.split == "validation", td.batch_id.in_(list(batches)), td.request_type == scoring.request_type,
                   m.verified.is_(True), m.rejected.is_(False), m.use_for_training.is_(True))
            .order_by(td.id).limit(max_examples)).all()
    examples, unparsable = [], 0
    for row in rows:
        messages = json.loads(row.messages)
        system = next((x["content"] for x in messages if x["role"] == "system"), None)
        prompt = next((x["content"] for x in reversed(messages) if x["role"] == "user"), "")
        try:
            verified = scoring.parse(messages[-1]["content"])
        except ValueError:
            unparsable += 1
            continue
        examples.append(Example(int(row.memory_id), system, prompt, verified))
    return examples, unparsable


def evaluate(core: Any, provider: str, model: str, scoring: TaskScoring, examples: Sequence[Example]) -> Scores:
    """One model's answers to the examples through the AI core, scored against the verified answers."""
    scores = Scores(provider, model)
    for example in examples:
        scores.examples += 1
        try:
            result = core.generate_text(
                scoring.request_type, example.prompt, system=example.system, schema=scoring.schema,
                options={"purpose": GATE_PURPOSE}, provider=provider, model=model, selection_mode="manual",
                endpoint=GATE_ENDPOINT)
        except InvalidOutputError:
            continue  # not valid after the repair attempt: invalid, no agreement
        parsed = result.parsed
        if scoring.schema is None:
            try:
                parsed = json.loads(result.text)
            except ValueError:
                continue
        scores.valid += 1
        scores.cache_hits += int(result.cache_hit)
        scores.agreement_sum += scoring.agreement(parsed, example.verified)
    return scores


def replaced_model(core: Any, request_type: str, candidate: str) -> tuple[str, str, bool]:
    """(provider, model, was it the request type's default) that the fine-tune would replace."""
    for m in core.ledger.models(kind="text", active_only=True):
        if request_type in m["default_for"] and m["model"] != candidate:
            return m["provider"], m["model"], True
    core.invalidate_catalogue()
    for c in core.candidates(kind="text", request_type=request_type, tier=core.tier_for(request_type, None, None),
                             provider=None, model=None, selection_mode="auto"):
        if c.model != candidate and c.provider != "offline":
            return c.provider, c.model, False
    raise LookupError(f"no model to compare the fine-tune with for {request_type}: configure a provider")


# ---- the gate --------------------------------------------------------------------------------------
@dataclass
class TypeDecision:
    request_type: str
    measure: str
    candidate: Scores
    baseline: Scores
    replaced_was_default: bool
    deployed: bool
    reason: str
    left_out: int = 0

    def metadata(self) -> dict[str, Any]:
        rt = self.request_type
        return {
            f"gate/{rt}/decision": "deployed" if self.deployed else "refused",
            f"gate/{rt}/examples": self.candidate.examples,
            f"gate/{rt}/candidate_schema_validity": self.candidate.schema_validity,
            f"gate/{rt}/candidate_agreement": self.candidate.agreement,
            f"gate/{rt}/baseline_schema_validity": self.baseline.schema_validity,
            f"gate/{rt}/baseline_agreement": self.baseline.agreement,
            f"gate/{rt}/baseline_model": f"{self.baseline.provider}/{self.baseline.model}",
        }


@dataclass
class GateResult:
    run_id: int
    model: str
    decisions: list[TypeDecision] = field(default_factory=list)
    already_decided: bool = False  # a concurrent gate run recorded its decision first: this one changed nothing

    @property
    def deployed_for(self) -> list[str]:
        return [d.request_type for d in self.decisions if d.deployed]

    @property
    def refused_for(self) -> list[str]:
        return [d.request_type for d in self.decisions if not d.deployed]

    @property
    def status(self) -> str:
        if self.already_decided:
            return "decided by another gate run"
        if not self.decisions:
            return "not deployed"
        if not self.refused_for:
            return "deployed"
        return "partly deployed" if self.deployed_for else "refused"

    def message(self) -> str:
        if self.already_decided:
            return f"Fine-tuned model {self.model}: another gate run decided first; nothing was changed by this one."
        parts = [f"{d.request_type}: {d.reason}" for d in self.decisions] or ["it learnt no request type"]
        return f"Fine-tuned model {self.model} {self.status}. " + "; ".join(parts)

    def table(self) -> str:
        rows = ["| request type | examples | model | schema validity | agreement | decision |",
                "|---|---|---|---|---|---|"]
        for d in self.decisions:
            for label, s in (("fine-tune", d.candidate), ("replaced", d.baseline)):
                rows.append(f"| {d.request_type} | {s.examples} | {label}: `{s.provider}/{s.model}` | "
                            f"{s.schema_validity:.2f} | {s.agreement:.2f} | "
                            f"{('deployed' if d.deployed else 'refused') if label == 'fine-tune' else ''} |")
        return "\n".join(rows)


def _decide(candidate: Scores, baseline: Scores, measure: str) -> tuple[bool, str]:
    both = (f"schema validity {candidate.schema_validity:.2f} vs {baseline.schema_validity:.2f}, "
            f"agreement ({measure}) {candidate.agreement:.2f} vs {baseline.agreement:.2f} "
            f"for {baseline.provider}/{baseline.model} on {candidate.examples} held-out example(s)")
    if not candidate.examples:
        return False, "refused: no held-out example to evaluate it on"
    if at_least_as_good(candidate, baseline):
        return True, f"deployed: {both}"
    return False, f"refused, worse than the model it would replace: {both}"


def gate_run(core: Any, run: dict[str, Any], *, max_examples: int = DEFAULT_MAX_EXAMPLES,
             now: float | None = None) -> GateResult:
    """Evaluates a succeeded run's model against the models it would replace and deploys it where it earns it."""
    ledger = core.ledger
    model = run["model_version"]
    result = GateResult(int(run["id"]), model)
    for request_type in json.loads(run["request_types"] or "[]"):
        scoring = scoring_for(request_type)
        examples, left_out = validation_examples(ledger, run, scoring, max_examples=max_examples)
        provider, baseline_model, was_default = replaced_model(core, request_type, model)
        candidate = evaluate(core, PROVIDER, model, scoring, examples)
        baseline = evaluate(core, provider, baseline_model, scoring, examples)
        deployed, reason = _decide(candidate, baseline, scoring.measure)
        result.decisions.append(TypeDecision(request_type, scoring.measure, candidate, baseline, was_default,
                                             deployed, reason, left_out))
    when = time.time() if now is None else now
    metrics = json.loads(run["metrics"] or "{}")
    metrics["gate"] = {"status": result.status, "decided_at": when, "request_types": {
        d.request_type: {"decision": "deployed" if d.deployed else "refused", "reason": d.reason,
                         "measure": d.measure, "left_out": d.left_out, "candidate": d.candidate.as_dict(),
                         "baseline": d.baseline.as_dict()} for d in result.decisions}}
    # the run's gate goes from pending to decided once: a second gate run evaluating the same model meanwhile
    # (its answers come from the cache) finds it decided and changes nothing
    with ledger.begin() as conn:
        decided = conn.execute(training_runs.update().where(training_runs.c.id == result.run_id,
                                                            training_runs.c.metrics == run["metrics"])
                               .values(metrics=json.dumps(metrics, default=str))).rowcount
    if not decided:
        result.already_decided = True
        return result
    if result.deployed_for:
        deploy_model(ledger, model, run["base_model"], result.deployed_for)
    for d in result.decisions:
        record_decision(ledger, request_type=d.request_type, tier=DEPLOY_TIER, provider=PROVIDER, model=model,
                        run_id=result.run_id, deployed=d.deployed, replaced=(d.baseline.provider, d.baseline.model),
                        replaced_was_default=d.replaced_was_default, examples=d.candidate.examples,
                        candidate=d.candidate.pair, baseline=d.baseline.pair, reason=d.reason, now=when)
    core.invalidate_catalogue()
    return result


def pending_gate_runs(ledger: Ledger) -> list[dict[str, Any]]:
    """Succeeded runs whose model waits for the gate."""
    with ledger.connect() as conn:
        rows = conn.execute(sa.select(training_runs).where(training_runs.c.status == "succeeded",
                                                           training_runs.c.model_version.is_not(None))
                            .order_by(training_runs.c.id)).all()
    return [dict(r._mapping) for r in rows
            if (json.loads(r.metrics or "{}").get("gate") or {}).get("status") == "pending"]


def gate_pending_runs(core: Any, *, max_examples: int = DEFAULT_MAX_EXAMPLES) -> list[GateResult]:
    return [gate_run(core, run, max_examples=max_examples) for run in pending_gate_runs(core.ledger)]


def newest_gate(ledger: Ledger) -> list[Deployment]:
    """The decisions of the most recently gated run (empty before any gate)."""
    decided = [d for d in deployments(ledger) if d.run_id is not None]
    if not decided:
        return []
    newest = max(decided, key=lambda d: (d.decided_at, d.id)).run_id
    return [d for d in decided if d.run_id == newest]
