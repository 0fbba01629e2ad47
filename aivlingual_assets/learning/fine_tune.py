"""Fine-tuning runs on OpenAI from exported training batches, and deploying the result.

Starting (:func:`start_fine_tune`, weekly)
    Examples of exported batches that no fine-tuning job has used yet (and whose AI memory
    row is still verified and meant for training - a verdict withdrawn after the export
    takes the example out again) are counted.  Fewer than ``min_examples`` (default 1,000;
    ``AIVLINGUAL_FINE_TUNE_MIN_EXAMPLES``) -> skipped, not an error.  Otherwise the training
    and validation JSONL are built from the stored (already scrubbed) messages of those
    examples, uploaded with ``files.create(purpose="fine-tune")`` and a supervised job is
    created with ``fine_tuning.jobs.create``.  The run is recorded in ``aiv_training_runs``
    (batch = newest batch included; every included batch, sizes, estimate and epochs in
    ``metrics``).  While one of our jobs is still running no second one is started.  When an
    earlier run of the same base model succeeded, the new job continues from that
    fine-tuned model (OpenAI supports fine-tuning a fine-tuned model), so each week trains
    only on the new examples.  A job is tagged ``metadata.aivlingual_run`` so a job created
    by a run that crashed before recording it is found and adopted instead of duplicated.
    A batch whose jobs failed three times is not retried automatically.  With a monthly AI
    budget (``AIVLINGUAL_MONTHLY_BUDGET_USD``) the estimated training cost is reserved against
    it before anything is uploaded - a job that would pass the budget is refused
    (:class:`FineTuneBudgetError`) - and stays reserved while the job runs.

Polling and deploying (:func:`poll_fine_tune_runs`, from a sensor)
    ``jobs.retrieve`` gives the status.  On success the fine-tuned model is put in the
    catalogue switched off (:func:`stage_model`) and the run's gate is ``pending``: the
    fine-tune gate (:mod:`~aivlingual_assets.learning.fine_tune_gate`) evaluates it on the
    held-out examples against the model it would replace and only then deploys it
    (:func:`deploy_model`) for the request types where it is at least as good.  Deployed, it
    is an active ``openai`` text model in the cheap tier (whatever the base model's tier: it
    was trained to do these request types well at a small model's price) with the fine-tuned
    inference prices below, ``default_for`` = the request types it was trained on (those with
    at least ``min_type_examples`` examples, plus the types of the model it continued from)
    that passed the gate; other models lose those request types from their ``default_for``.  Auto selection in :class:`~aivlingual_assets.ai.core.AICore` then puts
    it first for those request types and still falls back to the other models when it
    fails.  Trained tokens, cost (trained tokens x training price; ``trained_tokens``
    already counts every epoch), final metrics (from the job's ``metrics`` events and its
    result CSV) and ``finished_at`` are recorded.  On failure or cancellation only the run is
    marked, with the provider's reason; nothing else changes.  Either way the job becomes one
    ``fine_tune.train`` row of the usage log (cost = trained tokens x training price, $0 when
    nothing was trained), so the cost dashboard, ``aivlingual usage`` and the monthly budget
    see it, and its budget reservation is released.

Prices (USD, read on the OpenAI pricing page https://platform.openai.com/docs/pricing,
"Fine-tuning" table, standard tier, on 2025-08-15 - the same date as the catalogue):

==========================  ===================  ============================  =============================
base model                  training / 1M tokens  fine-tuned input / 1M tokens  fine-tuned output / 1M tokens
==========================  ===================  ============================  =============================
gpt-4o-mini-2024-07-18      3.00                  0.30                          1.20
gpt-4o-2024-08-06           25.00                 3.75                          15.00
gpt-4.1-nano-2025-04-14     1.50                  0.20                          0.80
gpt-4.1-mini-2025-04-14     5.00                  0.80                          3.20
gpt-4.1-2025-04-14          25.00                 3.00                          12.00
gpt-3.5-turbo-0125          8.00                  3.00                          6.00
==========================  ===================  ============================  =============================
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..ai.catalogue import DEFAULT_CATALOGUE, ModelSpec
from ..ai.core import month_start
from ..ai.errors import BudgetExceededError
from ..ai.ledger import Ledger, ai_memory, training_data, training_runs

__all__ = [
    "ACTIVE_STATUSES",
    "DEFAULT_BASE_MODEL",
    "DEFAULT_EPOCHS",
    "DEFAULT_MIN_EXAMPLES",
    "FINE_TUNE_PRICES",
    "FineTuneBudgetError",
    "FineTuneError",
    "FineTunePrice",
    "FineTuneStart",
    "PendingExamples",
    "RunUpdate",
    "active_runs",
    "base_family",
    "deploy_model",
    "estimate_training_cost",
    "fine_tuned_spec",
    "make_openai_client",
    "pending_examples",
    "poll_fine_tune_runs",
    "resolve_min_examples",
    "stage_model",
    "start_fine_tune",
    "training_price",
    "training_runs_summary",
]

log = logging.getLogger("aivlingual.learning")

DEFAULT_BASE_MODEL = "gpt-4o-mini-2024-07-18"
DEFAULT_EPOCHS = 3
DEFAULT_MIN_EXAMPLES = 1000
DEFAULT_MIN_TYPE_EXAMPLES = 100
DEFAULT_SUFFIX = "aivlingual"
MIN_EXAMPLES_ENV = "AIVLINGUAL_FINE_TUNE_MIN_EXAMPLES"
MAX_ATTEMPTS_PER_BATCH = 3
OPENAI_MIN_TRAINING_EXAMPLES = 10  # the fine-tuning API rejects smaller training files
PROVIDER = "openai"
PRICE_SOURCE = "https://platform.openai.com/docs/pricing (Fine-tuning, standard tier)"
PRICE_DATE = "2025-08-15"

USAGE_REQUEST_TYPE = "fine_tune.train"
DEPLOY_TIER = "cheap"
# a job can queue and train for days; an unpolled job's hold lapses after this long
RESERVATION_SECONDS = 14 * 86400

ACTIVE_STATUSES = ("validating_files", "queued", "running")
TERMINAL_STATUSES = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class FineTunePrice:
    training_per_1m: float
    input_per_1m: float
    output_per_1m: float


FINE_TUNE_PRICES: dict[str, FineTunePrice] = {
    "gpt-4o-mini-2024-07-18": FineTunePrice(3.00, 0.30, 1.20),
    "gpt-4o-2024-08-06": FineTunePrice(25.00, 3.75, 15.00),
    "gpt-4.1-nano-2025-04-14": FineTunePrice(1.50, 0.20, 0.80),
    "gpt-4.1-mini-2025-04-14": FineTunePrice(5.00, 0.80, 3.20),
    "gpt-4.1-2025-04-14": FineTunePrice(25.00, 3.00, 12.00),
    "gpt-3.5-turbo-0125": FineTunePrice(8.00, 3.00, 6.00),
}
_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")
_ALIASES = {_SNAPSHOT.sub("", name): name for name in FINE_TUNE_PRICES}


class FineTuneError(RuntimeError):
    """The provider refused an upload or a job (the run is recorded as failed)."""


class FineTuneBudgetError(FineTuneError):
    """The estimated training cost would pass the monthly AI budget: nothing was uploaded or recorded."""


def base_family(model: str) -> str:
    """The base snapshot behind a model name: ``ft:gpt-4o-mini-2024-07-18:org::abc`` -> ``gpt-4o-mini-2024-07-18``."""
    name = model.split(":")[1] if model.startswith("ft:") and model.count(":") >= 1 else model
    if name in FINE_TUNE_PRICES:
        return name
    return _ALIASES.get(name, _ALIASES.get(_SNAPSHOT.sub("", name), name))


def training_price(model: str) -> FineTunePrice | None:
    return FINE_TUNE_PRICES.get(base_family(model))


def estimate_training_cost(tokens: int, model: str, n_epochs: int) -> float | None:
    """USD for training ``tokens`` tokens for ``n_epochs`` epochs (None: price unknown)."""
    price = training_price(model)
    if price is None:
        return None
    return round(tokens * max(1, n_epochs) * price.training_per_1m / 1e6, 6)


def resolve_min_examples(value: int | None = None) -> int:
    """Explicit value, else ``AIVLINGUAL_FINE_TUNE_MIN_EXAMPLES``, else 1,000."""
    if value is not None:
        if value < 1:
            raise ValueError("min_examples must be at least 1")
        return int(value)
    from .. import settings

    raw = settings.env(MIN_EXAMPLES_ENV)
    if raw:
        try:
            parsed = int(raw)
        except ValueError:
            raise ValueError(f"{MIN_EXAMPLES_ENV} must be a whole number, not {raw!r}") from None
        if parsed < 1:
            raise ValueError(f"{MIN_EXAMPLES_ENV} must be at least 1")
        return parsed
    return DEFAULT_MIN_EXAMPLES


def make_openai_client(api_key: str, base_url: str | None = None, *, timeout: float = 120.0):
    """The real OpenAI SDK client (``base_url`` None: the SDK reads OPENAI_BASE_URL)."""
    import openai

    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=2)


# ---- ledger reads ------------------------------------------------------------------------------
def _json(text: str | None, default: Any) -> Any:
    try:
        return json.loads(text) if text else default
    except (TypeError, ValueError):
        return default


def _run_batches(run: Any) -> list[str]:
    batches = _json(run.metrics, {}).get("batches")
    return list(batches) if isinstance(batches, list) and batches else [run.batch_id]


def _all_runs(conn) -> list[Any]:
    return conn.execute(sa.select(training_runs).order_by(training_runs.c.created_at, training_runs.c.id)).all()


def active_runs(ledger: Ledger) -> list[dict[str, Any]]:
    with ledger.connect() as conn:
        rows = conn.execute(sa.select(training_runs).where(training_runs.c.status.in_(ACTIVE_STATUSES))
                            .order_by(training_runs.c.id)).all()
    return [dict(r._mapping) for r in rows]


@dataclass
class PendingExamples:
    batch_ids: list[str]
    rows: list[Any]
    revoked: int = 0
    exhausted_batches: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.rows)

    def by_type(self) -> Counter:
        return Counter(r.request_type for r in self.rows)


def pending_examples(ledger: Ledger, *, max_attempts: int = MAX_ATTEMPTS_PER_BATCH) -> PendingExamples:
    """Exported examples no fine-tuning job has used, whose output is still verified for training."""
    with ledger.connect() as conn:
        runs = _all_runs(conn)
        used: set[str] = set()
        failures: Counter = Counter()
        for run in runs:
            for batch in _run_batches(run):
                if run.status in ("failed", "cancelled"):
                    failures[batch] += 1
                else:
                    used.add(batch)
        exhausted = sorted(b for b, n in failures.items() if n >= max_attempts and b not in used)
        excluded = used | set(exhausted)
        td, m = training_data.c, ai_memory.c
        query = (
            sa.select(td.id, td.memory_id, td.request_type, td.batch_id, td.split, td.messages, td.tokens,
                      m.verified, m.rejected, m.use_for_training)
            .join(ai_memory, ai_memory.c.id == td.memory_id, isouter=True)
            .where(td.split.in_(("train", "validation")))
            .order_by(td.batch_id, td.id)
        )
        if excluded:
            query = query.where(td.batch_id.not_in(sorted(excluded)))
        rows = conn.execute(query).all()
    live = [r for r in rows if r.verified and not r.rejected and r.use_for_training]
    return PendingExamples(batch_ids=sorted({r.batch_id for r in live}), rows=live, revoked=len(rows) - len(live),
                           exhausted_batches=exhausted)


# ---- starting ----------------------------------------------------------------------------------
@dataclass
class FineTuneStart:
    status: str  # started | adopted | skipped
    message: str
    run_id: int | None = None
    job_id: str | None = None
    batch_ids: list[str] = field(default_factory=list)
    examples: int = 0
    train_examples: int = 0
    validation_examples: int = 0
    estimated_tokens: int = 0
    estimated_cost_usd: float | None = None
    base_model: str | None = None
    request_types: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict[str, Any]:
        md: dict[str, Any] = {
            "status": self.status, "message": self.message, "new_examples": self.examples,
            "train_examples": self.train_examples, "validation_examples": self.validation_examples,
            "estimated_tokens": self.estimated_tokens, "batches": len(self.batch_ids),
        }
        if self.estimated_cost_usd is not None:
            md["estimated_cost_usd"] = self.estimated_cost_usd
        if self.job_id:
            md["job_id"] = self.job_id
        if self.run_id is not None:
            md["run_id"] = self.run_id
        if self.base_model:
            md["base_model"] = self.base_model
        if self.request_types:
            md["request_types"] = ", ".join(self.request_types)
        return md


def _jsonl(rows: Sequence[Any]) -> bytes:
    lines = [json.dumps({"messages": json.loads(r.messages)}, ensure_ascii=False, separators=(",", ":")) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:2000]


def _find_job(client: Any, run_key: str) -> Any | None:
    """A job an earlier, interrupted attempt created for the same run (tagged with the run key)."""
    try:
        page = client.fine_tuning.jobs.list(limit=50)
    except Exception as exc:  # listing is an optimisation: never block a start on it
        log.warning("could not list fine-tuning jobs to look for an interrupted run: %s", type(exc).__name__)
        return None
    for job in getattr(page, "data", []) or []:
        meta = getattr(job, "metadata", None) or {}
        if meta.get("aivlingual_run") == run_key and job.status not in ("failed", "cancelled"):
            return job
    return None


def _previous_model(runs: Sequence[Any], family: str) -> Any | None:
    for run in reversed(runs):
        if run.status == "succeeded" and run.model_version and base_family(run.model_version) == family:
            return run
    return None


def _delete_files(client: Any, file_ids: Sequence[str | None]) -> None:
    for file_id in file_ids:
        if file_id:
            try:
                client.files.delete(file_id)
            except Exception:  # best effort: an orphaned upload costs storage only
                log.warning("could not delete uploaded file %s", file_id)


def _reserve_training(ledger: Ledger, estimate: float | None, monthly_budget_usd: float | None,
                      owner: str) -> str | None:
    """Holds the estimated training cost against the monthly budget while the job runs (None: nothing held)."""
    if monthly_budget_usd is None:
        return None
    if estimate is None:
        log.warning("no training price for this base model: the fine-tuning job is not checked against the budget")
        return None
    try:
        return ledger.reserve_budget(estimate=estimate, channel=None,
                                     limits=[("all channels", None, monthly_budget_usd)], month_start=month_start(),
                                     owner=owner, lease_seconds=RESERVATION_SECONDS)
    except BudgetExceededError as exc:
        raise FineTuneBudgetError(
            f"Fine-tuning not started: its estimated training cost ${estimate:.4f} would pass the monthly AI "
            f"budget of ${exc.budget:.4f} (${exc.spent:.4f} spent this month, plus calls in flight). Nothing was "
            "uploaded. Raise AIVLINGUAL_MONTHLY_BUDGET_USD, wait for next month or lower n_epochs.") from exc


def start_fine_tune(
    ledger: Ledger,
    client: Any,
    *,
    min_examples: int = DEFAULT_MIN_EXAMPLES,
    base_model: str = DEFAULT_BASE_MODEL,
    n_epochs: int = DEFAULT_EPOCHS,
    suffix: str = DEFAULT_SUFFIX,
    min_type_examples: int = DEFAULT_MIN_TYPE_EXAMPLES,
    continue_from_previous: bool = True,
    secrets: Sequence[str] = (),
    monthly_budget_usd: float | None = None,
    now: float | None = None,
) -> FineTuneStart:
    """Starts one fine-tuning job when enough new verified examples exist (see the module docstring)."""
    now = now if now is not None else time.time()
    with ledger.connect() as conn:
        runs = _all_runs(conn)
    running = [r for r in runs if r.status in ACTIVE_STATUSES]
    pending = pending_examples(ledger)
    result = FineTuneStart(status="skipped", message="", batch_ids=pending.batch_ids, examples=pending.count)
    if running:
        result.message = (f"Fine-tuning job {running[-1].job_id} (run {running[-1].id}) is still "
                          f"{running[-1].status}; {pending.count} new example(s) wait for the next run.")
        return result
    if pending.count < min_examples:
        result.message = (f"{pending.count} new verified example(s) in {len(pending.batch_ids)} exported batch(es); "
                          f"a fine-tuning run needs at least {min_examples}.")
        return result
    train = [r for r in pending.rows if r.split == "train"]
    validation = [r for r in pending.rows if r.split == "validation"]
    if len(train) < OPENAI_MIN_TRAINING_EXAMPLES:
        train, validation = train + validation, []
    if len(train) < OPENAI_MIN_TRAINING_EXAMPLES:
        result.message = (f"{len(train)} example(s): the OpenAI fine-tuning API needs at least "
                          f"{OPENAI_MIN_TRAINING_EXAMPLES} training examples.")
        return result
    family = base_family(base_model)
    previous = _previous_model(runs, family) if continue_from_previous else None
    from_model = previous.model_version if previous is not None else base_model
    counts = pending.by_type()
    request_types = sorted({t for t, n in counts.items() if n >= min_type_examples}
                           | set(_json(previous.request_types, []) if previous is not None else []))
    tokens = sum(int(r.tokens or 0) for r in pending.rows)
    result.train_examples, result.validation_examples = len(train), len(validation)
    result.estimated_tokens = tokens
    result.estimated_cost_usd = estimate_training_cost(tokens, from_model, n_epochs)
    result.base_model = from_model
    result.request_types = request_types
    run_key = hashlib.sha256(("|".join(pending.batch_ids) + "|" + from_model).encode()).hexdigest()[:24]
    batch_id = pending.batch_ids[-1]
    metrics: dict[str, Any] = {
        "batches": pending.batch_ids, "run_key": run_key, "n_epochs": n_epochs, "train_examples": len(train),
        "validation_examples": len(validation), "estimated_tokens": tokens,
        "estimated_cost_usd": result.estimated_cost_usd, "examples_by_request_type": dict(sorted(counts.items())),
        "continued_from": previous.model_version if previous is not None else None,
        "price_source": PRICE_SOURCE, "price_date": PRICE_DATE,
    }
    base_row = {
        "batch_id": batch_id, "provider": PROVIDER, "base_model": from_model,
        "request_types": json.dumps(request_types), "examples": len(train) + len(validation), "created_at": now,
    }

    existing = _find_job(client, run_key)
    if existing is not None:
        with ledger.begin() as conn:
            run_id = conn.execute(training_runs.insert().values(
                **base_row, job_id=existing.id, file_id=existing.training_file,
                validation_file_id=existing.validation_file, status=existing.status,
                started_at=float(existing.created_at or now), metrics=json.dumps({**metrics, "adopted": True}),
            )).inserted_primary_key[0]
        result.status, result.run_id, result.job_id = "adopted", int(run_id), existing.id
        result.message = f"Adopted fine-tuning job {existing.id} created by an interrupted earlier run."
        return result

    reservation = _reserve_training(ledger, result.estimated_cost_usd, monthly_budget_usd, f"fine-tune:{run_key}")
    train_bytes, validation_bytes = _jsonl(train), _jsonl(validation)
    metrics.update(train_bytes=len(train_bytes), validation_bytes=len(validation_bytes),
                   budget_reservation=reservation)
    file_id = validation_file_id = None
    try:
        uploaded = client.files.create(file=(f"aivlingual-{batch_id}-train.jsonl", train_bytes), purpose="fine-tune")
        file_id = uploaded.id
        if validation_bytes:
            uploaded_v = client.files.create(file=(f"aivlingual-{batch_id}-validation.jsonl", validation_bytes),
                                             purpose="fine-tune")
            validation_file_id = uploaded_v.id
        kwargs: dict[str, Any] = {
            "model": from_model, "training_file": file_id, "suffix": suffix[:40] or None, "seed": 42,
            "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": int(n_epochs)}}},
            "metadata": {"aivlingual_run": run_key, "aivlingual_batch": batch_id[:500]},
        }
        if validation_file_id:
            kwargs["validation_file"] = validation_file_id
        job = client.fine_tuning.jobs.create(**kwargs)
    except Exception as exc:
        reason = _redact(f"{type(exc).__name__}: {exc}", secrets)
        _delete_files(client, [file_id, validation_file_id])
        ledger.release_reservation(reservation)
        with ledger.begin() as conn:
            conn.execute(training_runs.insert().values(
                **base_row, file_id=file_id, validation_file_id=validation_file_id, status="failed", error=reason,
                metrics=json.dumps(metrics), started_at=now, finished_at=time.time(),
            ))
        raise FineTuneError(f"Could not start the fine-tuning job: {reason}") from exc
    with ledger.begin() as conn:
        run_id = conn.execute(training_runs.insert().values(
            **base_row, job_id=job.id, file_id=file_id, validation_file_id=validation_file_id,
            status=job.status or "validating_files", started_at=float(job.created_at or now),
            metrics=json.dumps(metrics),
        )).inserted_primary_key[0]
    result.status, result.run_id, result.job_id = "started", int(run_id), job.id
    result.message = (f"Started fine-tuning job {job.id} on {from_model} with {len(train)} training and "
                      f"{len(validation)} validation example(s) from {len(pending.batch_ids)} batch(es); "
                      + (f"it will become the default model for {', '.join(request_types)}." if request_types else
                         f"no request type has {min_type_examples} examples, so it will not become a default."))
    return result


# ---- polling and deploying ---------------------------------------------------------------------
@dataclass
class RunUpdate:
    run_id: int
    job_id: str
    previous_status: str
    status: str
    model: str | None = None
    trained_tokens: int | None = None
    cost_usd: float | None = None
    error: str | None = None
    gate_for: list[str] = field(default_factory=list)  # request types the fine-tune gate evaluates it on
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def as_metadata(self) -> dict[str, Any]:
        md: dict[str, Any] = {"run_id": self.run_id, "job_id": self.job_id, "status": self.status}
        if self.model:
            md["model"] = self.model
        if self.trained_tokens is not None:
            md["trained_tokens"] = self.trained_tokens
        if self.cost_usd is not None:
            md["cost_usd"] = self.cost_usd
        if self.error:
            md["error"] = self.error
        if self.status == "succeeded":
            md["gate"] = ("pending: evaluated on held-out examples against the model it would replace before it "
                          f"becomes the default for {', '.join(self.gate_for) or 'no request type'}")
        for name, value in self.metrics.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                md[f"metric/{name}"] = value
        return md


def _number(text: str) -> float | int | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return int(value) if value.is_integer() and "." not in str(text) else value


def _result_file_metrics(client: Any, file_id: str) -> dict[str, Any]:
    """Last row of the job's result CSV (the API serves it base64-encoded)."""
    response = client.files.content(file_id)
    raw = response.read() if hasattr(response, "read") else bytes(response.content)
    text = raw.decode("utf-8", errors="replace").strip()
    if text and "," not in text.splitlines()[0]:
        try:
            text = base64.b64decode(text, validate=False).decode("utf-8", errors="replace").strip()
        except (ValueError, TypeError):
            return {}
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        return {}
    return {k: v for k, v in ((k, _number(v)) for k, v in rows[-1].items() if k) if v is not None}


def _event_metrics(client: Any, job_id: str) -> dict[str, Any]:
    """Data of the newest ``metrics`` event (events come newest first)."""
    page = client.fine_tuning.jobs.list_events(job_id, limit=100)
    for event in getattr(page, "data", []) or []:
        if getattr(event, "type", None) == "metrics" and isinstance(getattr(event, "data", None), dict):
            return {k: v for k, v in event.data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return {}


def _catalogue_entry(family: str) -> ModelSpec | None:
    alias = _SNAPSHOT.sub("", family)
    for spec in DEFAULT_CATALOGUE:
        if spec.provider == PROVIDER and spec.kind == "text" and spec.model in (family, alias):
            return spec
    return None


def fine_tuned_spec(model: str, base_model: str) -> ModelSpec:
    """The catalogue entry of a fine-tuned model: cheap tier, fine-tuned inference prices of its base."""
    family = base_family(base_model)
    price = training_price(family)
    base = _catalogue_entry(family)
    return ModelSpec(
        PROVIDER, model, "text", DEPLOY_TIER,
        input_per_1m=price.input_per_1m if price else (base.input_per_1m if base else 0.0),
        output_per_1m=price.output_per_1m if price else (base.output_per_1m if base else 0.0),
        quality=min(100, (base.quality if base else 60) + 10),
        max_tokens=base.max_tokens if base else 4096,
        capabilities=base.capabilities if base else ("json_schema",),
    )


def stage_model(ledger: Ledger, model: str, base_model: str) -> ModelSpec:
    """Puts a fine-tuned model in the catalogue switched off: auto selection never picks it, but the fine-tune
    gate can call it by name at its price (see :mod:`~aivlingual_assets.learning.fine_tune_gate`)."""
    spec = fine_tuned_spec(model, base_model)
    ledger.seed_catalogue([spec])
    ledger.update_model(PROVIDER, model, "text", active=False, default_for=[], tier=spec.tier,
                        input_per_1m=spec.input_per_1m, output_per_1m=spec.output_per_1m, quality=spec.quality)
    return spec


def deploy_model(ledger: Ledger, model: str, base_model: str, request_types: Sequence[str]) -> ModelSpec:
    """Registers a fine-tuned model in the cheap tier and makes it the preferred model for ``request_types``."""
    spec = fine_tuned_spec(model, base_model)
    types = sorted(set(request_types))
    for row in ledger.models(kind="text"):
        if (row["provider"], row["model"]) == (PROVIDER, model):
            continue
        overlap = set(row["default_for"]) & set(types)
        if overlap:
            ledger.update_model(row["provider"], row["model"], "text",
                                default_for=[t for t in row["default_for"] if t not in overlap])
    ledger.register_model(spec, default_for=types)
    return spec


def poll_fine_tune_runs(ledger: Ledger, client: Any, *, secrets: Sequence[str] = (),
                        now: float | None = None) -> list[RunUpdate]:
    """Checks every running job once; stages succeeded models for the gate, marks failed runs (module docstring)."""
    import openai

    updates: list[RunUpdate] = []
    for run in active_runs(ledger):
        try:
            job = client.fine_tuning.jobs.retrieve(run["job_id"])
        except openai.NotFoundError as exc:
            error = _redact(f"job not found at the provider: {exc}", secrets)
            _finish_run(ledger, run["id"], status="failed", error=error, finished_at=now or time.time())
            _log_training_usage(ledger, run, trained_tokens=None, cost=None, error=error)
            updates.append(RunUpdate(run["id"], run["job_id"], run["status"], "failed", error=error))
            continue
        except openai.APIError as exc:  # transient: try again next tick
            log.warning("could not poll fine-tuning job %s: %s", run["job_id"], _redact(str(exc), secrets))
            continue
        status = job.status
        update = RunUpdate(run["id"], run["job_id"], run["status"], status)
        if status == "succeeded":
            metrics = dict(_json(run["metrics"], {}))
            final: dict[str, Any] = {}
            try:
                final.update(_event_metrics(client, job.id))
                for file_id in job.result_files or []:
                    final.update(_result_file_metrics(client, file_id))
            except openai.APIError as exc:
                log.warning("metrics of job %s unavailable: %s", job.id, _redact(str(exc), secrets))
            finished_at = float(job.finished_at or now or time.time())
            started_at = float(run["started_at"] or run["created_at"])
            metrics.update(final=final, duration_seconds=round(max(0.0, finished_at - started_at), 3),
                           hyperparameters=_hyperparameters(job))
            trained, cost = _training_spend(job, run["base_model"])
            types = _json(run["request_types"], [])
            # deployed only once the fine-tune gate finds it at least as good as what it would replace
            stage_model(ledger, job.fine_tuned_model, run["base_model"])
            metrics["gate"] = {"status": "pending", "request_types": types}
            _finish_run(ledger, run["id"], status="succeeded", model_version=job.fine_tuned_model,
                        trained_tokens=trained, cost_usd=cost, metrics=json.dumps(metrics, default=str),
                        finished_at=finished_at, error=None)
            _log_training_usage(ledger, run, trained_tokens=trained, cost=cost)
            update.model, update.trained_tokens, update.cost_usd = job.fine_tuned_model, trained, cost
            update.gate_for, update.metrics = list(types), final
        elif status in ("failed", "cancelled"):
            error = getattr(job, "error", None)
            message = getattr(error, "message", None) if error is not None else None
            code = getattr(error, "code", None) if error is not None else None
            reason = (f"{code}: {message}" if code and message else message or code or
                      ("cancelled" if status == "cancelled" else "failed without a reason"))
            reason = _redact(reason, secrets)
            _finish_run(ledger, run["id"], status=status, error=reason,
                        finished_at=float(job.finished_at or now or time.time()))
            trained, partial = _training_spend(job, run["base_model"])
            _log_training_usage(ledger, run, trained_tokens=trained, cost=partial, error=reason)
            update.error = reason
        elif status != run["status"]:
            _finish_run(ledger, run["id"], status=status)
        else:
            continue
        updates.append(update)
    return updates


def _training_spend(job: Any, base_model: str) -> tuple[int | None, float | None]:
    """(trained tokens, USD) as the provider reports them; ``trained_tokens`` already counts every epoch."""
    trained = getattr(job, "trained_tokens", None)
    if trained is None:
        return None, None
    return int(trained), estimate_training_cost(int(trained), base_model, 1)


def _log_training_usage(ledger: Ledger, run: dict[str, Any], *, trained_tokens: int | None, cost: float | None,
                        error: str | None = None) -> None:
    """A finished job as one usage-log row (dashboard, ``aivlingual usage``, monthly budget); frees its hold."""
    entry = {
        "request_type": USAGE_REQUEST_TYPE, "kind": "fine_tune", "endpoint": "fine_tune_run", "channel": None,
        "provider": run["provider"], "model": run["base_model"], "input_tokens": int(trained_tokens or 0),
        "output_tokens": 0, "cost_usd": float(cost or 0.0), "latency_ms": 0.0, "cache_hit": False,
        "selection_mode": "manual",
    }
    reservation = _json(run["metrics"], {}).get("budget_reservation")
    if error is None:
        ledger.store_success(memory=None, log={**entry, "success": True}, reservation_id=reservation)
    else:
        ledger.log_failure({**entry, "error": error[:2000]}, reservation_id=reservation)


def _hyperparameters(job: Any) -> dict[str, Any]:
    hyper = getattr(job, "hyperparameters", None)
    if hyper is None:
        return {}
    data = hyper.model_dump() if hasattr(hyper, "model_dump") else dict(hyper)
    return {k: v for k, v in data.items() if v is not None}


def _finish_run(ledger: Ledger, run_id: int, **values: Any) -> None:
    with ledger.begin() as conn:
        conn.execute(training_runs.update().where(training_runs.c.id == run_id).values(**values))


def training_runs_summary(ledger: Ledger) -> dict[str, int]:
    with ledger.connect() as conn:
        rows = conn.execute(sa.select(training_runs.c.status, sa.func.count()).group_by(training_runs.c.status)).all()
    return {status: int(n) for status, n in rows}
