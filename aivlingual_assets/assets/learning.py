"""The learning loop: human review of AI outputs -> training exports -> fine-tuning -> cost dashboard.

Thin Dagster wrappers around :mod:`aivlingual_assets.learning`; every rule lives there.
The lead adds ``LEARNING_ASSETS``, ``LEARNING_CHECKS``, ``LEARNING_JOBS``,
``LEARNING_SCHEDULES`` and ``LEARNING_SENSORS`` to the Definitions.  Resources used:
``ai`` (:class:`AICoreResource`: ledger, home, OpenAI key), ``pipeline`` (stored vocabulary
stock, for Notion key aliases) and ``parquet_io_manager`` (the review queue frame).
"""

import json
import time
from pathlib import Path
from typing import Optional

import dagster as dg
import pandas as pd
import sqlalchemy as sa
from pydantic import Field

from ..ai.errors import AllProvidersFailedError, BudgetExceededError, ProviderCallError
from ..ai.ledger import training_data
from ..ai.usage_report import usage_report
from ..learning.fine_tune import (
    DEFAULT_BASE_MODEL,
    DEFAULT_EPOCHS,
    DEFAULT_MIN_TYPE_EXAMPLES,
    DEFAULT_SUFFIX,
    FineTuneBudgetError,
    FineTuneError,
    active_runs,
    make_openai_client,
    pending_examples,
    poll_fine_tune_runs,
    resolve_min_examples,
    start_fine_tune,
    training_runs_summary,
)
from ..learning.fine_tune_gate import (
    DEFAULT_MAX_EXAMPLES,
    GateResult,
    gate_pending_runs,
    newest_gate,
    pending_gate_runs,
)
from ..learning.fine_tune_watch import dashboard_section, watch_deployments
from ..learning.personal_data_detector import detect_personal_data
from ..learning.review import (
    NotionReviewSettings,
    pick_for_review,
    pull_verdicts_from_notion,
    review_counts,
)
from ..learning.scrub import find_personal_data
from ..learning.training_export import (
    DEFAULT_NEAR_DUPLICATE_THRESHOLD,
    DEFAULT_VALIDATION_FRACTION,
    export_training_batch,
    training_dir,
)
from ..learning.usage_chart import (
    WINDOWS,
    chart_markdown,
    daily_table,
    dashboard_markdown,
    dashboard_metadata,
    render_usage_chart,
)
from ..resources import AICoreResource
from ..resources.pipeline import PipelineResource

REVIEW_COLUMNS = ["id", "request_type", "provider", "model", "usage_count", "rating", "status", "reasons",
                  "created_at", "prompt_preview", "output_preview"]


def _redact(text: str, secrets) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


# ---- the usage ledger ----------------------------------------------------------------------------
AI_USAGE_LEDGER = dg.AssetKey("ai_usage_ledger")


def ai_usage_ledger(assets) -> dg.AssetSpec:
    """The ledger as an asset of the lineage: fed by every asset that calls the AI core (all that need the ``ai``
    resource outside this group), read by the review queue, the training exports and the usage report."""
    feeders = sorted({key for asset in assets if "ai" in asset.required_resource_keys
                      for key, group in asset.group_names_by_key.items() if group != "learning"},
                     key=lambda key: key.to_user_string())
    return dg.AssetSpec(
        AI_USAGE_LEDGER, deps=feeders, group_name="learning", kinds={"sql"},
        description="Every AI call the assets make through the AI core: its answer (cached, so nothing is paid "
        "twice), tokens, cost, latency, provider and model, and reviewers' verdicts. Written by the AI core while the "
        "assets upstream run (AIVLINGUAL_DATABASE_URL, SQLite in the home by default); not materialised itself.",
    )


# ---- review ------------------------------------------------------------------------------------
class ReviewQueueConfig(dg.Config):
    limit: int = Field(default=50, description="How many AI outputs the queue shows.")
    pull_notion: bool = Field(default=True, description="Copy Review/Rating set in Notion back first.")


@dg.asset(
    deps=[AI_USAGE_LEDGER],
    group_name="learning",
    kinds={"python", "notion"},
    pool="notion",
    io_manager_key="parquet_io_manager",
    description="AI outputs worth a human look (most reused, highest rated, newest per request type) after "
    "pulling the verdicts people set in Notion. Review with `aivlingual review list/show/approve/reject/rate`.",
)
def review_queue(
    context: dg.AssetExecutionContext, config: ReviewQueueConfig, ai: AICoreResource, pipeline: PipelineResource
) -> dg.Output[pd.DataFrame]:
    ledger = ai.core.ledger
    metadata: dict = {}
    notion = NotionReviewSettings.from_env()
    if not config.pull_notion:
        metadata["notion_pull"] = "switched off in the run config"
    elif not notion.configured:
        metadata["notion_pull"] = f"not configured: set {notion.missing()} to pull verdicts from Notion"
    else:
        frames = pipeline.frames()
        stock = frames.read("vocabulary") if frames.exists("vocabulary") else None
        try:
            report = pull_verdicts_from_notion(ledger, notion, stock=stock)
        except Exception as exc:  # the queue is still worth materialising; the failure is visible
            message = _redact(f"{type(exc).__name__}: {exc}", [notion.token])[:500]
            context.log.error(f"Pulling verdicts from Notion failed: {message}")
            metadata["notion_pull"] = f"failed: {message}"
        else:
            metadata["notion_pull"] = "done"
            metadata.update(report.as_metadata())
            if report.unmatched_keys:
                context.log.warning(f"{len(report.unmatched_keys)} Notion page(s) with a verdict match no AI output "
                                    f"(e.g. {', '.join(report.unmatched_keys[:5])})")
    metadata.update(_watch_fine_tunes(context, ai))
    items = pick_for_review(ledger, limit=config.limit)
    frame = pd.DataFrame([item.as_row() for item in items], columns=REVIEW_COLUMNS)
    counts = review_counts(ledger)
    reasons: dict[str, int] = {}
    for item in items:
        for reason in item.reasons:
            kind = reason.split(":", 1)[0]
            reasons[kind] = reasons.get(kind, 0) + 1
    metadata.update({
        "queue": len(frame),
        **{f"outputs/{k}": v for k, v in counts.items()},
        **{f"queue/{k}": v for k, v in sorted(reasons.items())},
        "preview": dg.MetadataValue.md(
            frame[["id", "request_type", "usage_count", "rating", "reasons", "output_preview"]].head(15)
            .to_markdown(index=False) if len(frame) else "_nothing to review_"),
    })
    return dg.Output(frame, metadata=metadata)


def _watch_fine_tunes(context: dg.AssetExecutionContext, ai: AICoreResource) -> dict:
    """Demotes deployed fine-tunes that reviewers reject too often (learning/fine_tune_watch.py)."""
    outcomes = watch_deployments(ai.core.ledger)
    if not outcomes:
        return {"fine_tune/watched": 0}
    md: dict = {"fine_tune/watched": len(outcomes), "fine_tune/demoted": sum(o.demoted for o in outcomes)}
    for outcome in outcomes:
        md.update(outcome.metadata())
        if outcome.demoted:
            context.log.warning(f"Demoted {outcome.deployment.model} for {outcome.deployment.request_type}: "
                                f"{outcome.reason}")
    if md["fine_tune/demoted"]:
        ai.core.invalidate_catalogue()
        md["fine_tune/demotions"] = dg.MetadataValue.md("\n".join(
            f"- `{o.deployment.model}` ({o.deployment.request_type}): {o.reason}" for o in outcomes if o.demoted))
    return md


# ---- training exports --------------------------------------------------------------------------
class TrainingExportConfig(dg.Config):
    validation_fraction: float = Field(default=DEFAULT_VALIDATION_FRACTION, description="Share of validation data.")
    near_duplicate_threshold: float = Field(default=DEFAULT_NEAR_DUPLICATE_THRESHOLD,
                                            description="Character 5-gram Jaccard at which two examples are one.")
    base_model: str = Field(default=DEFAULT_BASE_MODEL, description="Base model the cost estimate is for.")
    n_epochs: int = Field(default=DEFAULT_EPOCHS, description="Epochs the cost estimate is for.")


@dg.asset(
    deps=[review_queue, AI_USAGE_LEDGER],
    group_name="learning",
    kinds={"python"},
    description="Verified AI outputs not exported before, scrubbed of personal data and de-duplicated, as OpenAI "
    "chat fine-tuning JSONL under $AIVLINGUAL_HOME/training/<batch>/ (train.jsonl, validation.jsonl).",
)
def training_exports(
    context: dg.AssetExecutionContext, config: TrainingExportConfig, ai: AICoreResource
) -> dg.MaterializeResult:
    from ..channels.ai_outputs import OutputsSwitch

    core = ai.core
    switch = OutputsSwitch(core.ledger, "training_export")  # answers only switched-off channels were served wait
    result = export_training_batch(
        core.ledger, core.settings.home, validation_fraction=config.validation_fraction,
        near_duplicate_threshold=config.near_duplicate_threshold, base_model=config.base_model,
        n_epochs=config.n_epochs, exclude=switch,
    )
    if not switch.decision.run:  # every waiting output is of channels with training export off: skipped, not failed
        context.log.info(switch.decision.reason)
        return dg.MaterializeResult(metadata={"examples": 0, "left_out_switched_off": result.left_out,
                                              **switch.decision.metadata()})
    context.log.info(result.message)
    metadata: dict = {
        "left_out_switched_off": result.left_out,
        "examples": result.examples,
        "train_examples": result.train_examples,
        "validation_examples": result.validation_examples,
        "estimated_tokens": result.tokens,
        "candidates": result.candidates,
        "dropped_exact_duplicates": result.dropped_exact_duplicates,
        "dropped_near_duplicates": result.dropped_near_duplicates,
        "dropped_invalid": result.dropped_invalid,
        **result.scrubbed.as_metadata(),
        "base_model": result.base_model,
        "n_epochs": result.n_epochs,
        "message": result.message,
    }
    if result.estimated_cost_usd is not None:
        metadata["estimated_cost_usd"] = result.estimated_cost_usd
    if result.batch_id:
        metadata["batch_id"] = result.batch_id
        metadata["path"] = dg.MetadataValue.path(str(result.path))
        metadata.update({f"request_type/{k}": v for k, v in result.request_types.items()})
    return dg.MaterializeResult(metadata=metadata)


# No export yet: nothing to check, so no result at all. Dagster then records the check as skipped; a result of
# "passed" would tell the UI a check succeeded that looked at nothing (can_subset allows yielding none).
@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(
        "training_export_is_clean", asset=training_exports,
        description="The newest export's files hold exactly the examples the ledger recorded for that batch, and no "
        "personal data: an independent detector (Sudachi names and places, digit shapes, check digits) looks for "
        "phones, postal codes, addresses, full names, cards, My Numbers, messenger ids, e-mails, URLs and @handles, "
        "and the scrubber's own rules are applied again (viewer names). Skipped while nothing has been exported.")],
    can_subset=True,
)
def training_export_is_clean(context: dg.AssetCheckExecutionContext, ai: AICoreResource):
    core = ai.core
    with core.ledger.connect() as conn:
        exported = training_data.c.split.in_(("train", "validation"))
        newest = conn.execute(sa.select(training_data.c.batch_id).where(exported)
                              .order_by(training_data.c.created_at.desc(), training_data.c.id.desc()).limit(1)).scalar()
        recorded = conn.execute(sa.select(sa.func.count()).where(exported, training_data.c.batch_id == newest)
                                ).scalar_one() if newest else 0
    if newest is None:
        context.log.info("No training batch has been exported yet: nothing to check, so the check is skipped.")
        return
    folder = training_dir(core.settings.home) / newest
    findings: dict[str, int] = {}
    lines = 0
    missing = []
    for name in ("train.jsonl", "validation.jsonl"):
        path = folder / name
        if not path.exists():
            missing.append(name)
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            lines += 1
            for message in json.loads(line)["messages"]:
                # a different method than the scrubber's patterns, so it sees what they miss
                for finding in detect_personal_data(message["content"]):
                    findings[finding.kind] = findings.get(finding.kind, 0) + 1
                for kind, _ in find_personal_data(message["content"]):
                    findings[f"scrubber_rules/{kind}"] = findings.get(f"scrubber_rules/{kind}", 0) + 1
    passed = not findings and not missing and lines == recorded
    yield dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"batch": newest, "examples_in_files": lines, "examples_recorded": int(recorded),
                  "missing_files": ", ".join(missing) or "none",
                  **{f"personal_data/{k}": v for k, v in sorted(findings.items())}},
    )


# ---- fine-tuning -------------------------------------------------------------------------------
class FineTuneConfig(dg.Config):
    min_examples: Optional[int] = Field(
        default=None, description="New verified examples needed to train; default AIVLINGUAL_FINE_TUNE_MIN_EXAMPLES "
        "or 1000.")
    base_model: str = Field(default=DEFAULT_BASE_MODEL, description="OpenAI base model snapshot to fine-tune.")
    n_epochs: int = Field(default=DEFAULT_EPOCHS, description="Training epochs.")
    suffix: str = Field(default=DEFAULT_SUFFIX, description="Suffix of the fine-tuned model's name.")
    min_type_examples: int = Field(default=DEFAULT_MIN_TYPE_EXAMPLES,
                                   description="Examples a request type needs to make the new model its default.")
    continue_from_previous: bool = Field(default=True,
                                         description="Train on top of the last fine-tuned model of this base.")
    start_new_job: bool = Field(default=True, description="Start a fine-tuning job when enough examples wait (off: "
                                "only evaluate finished fine-tunes at the gate, as the runs the status sensor asks for).")
    gate_max_examples: int = Field(default=DEFAULT_MAX_EXAMPLES, description="Held-out examples per request type the "
                                   "gate evaluates a fine-tune and the model it would replace on.")


@dg.asset(
    deps=[training_exports],
    group_name="learning",
    kinds={"openai"},
    pool="openai",
    description="Evaluates finished fine-tunes on held-out examples against the models they would replace and "
    "deploys those at least as good (default for their request types, cheap tier); then starts an OpenAI "
    "fine-tuning job when enough new verified examples were exported (within the monthly AI budget). The "
    "fine_tune_status_sensor follows jobs, logs their cost in the usage ledger and asks for the gate's run.",
)
def fine_tune_run(
    context: dg.AssetExecutionContext, config: FineTuneConfig, ai: AICoreResource
) -> dg.MaterializeResult:
    core = ai.core
    min_examples = resolve_min_examples(config.min_examples)
    if not core.settings.openai_api_key:
        pending = pending_examples(core.ledger)
        message = ("Skipped: no OpenAI key (set OPENAI_API_KEY) - fine-tuning runs on OpenAI. "
                   f"{pending.count} new verified example(s) wait.")
        context.log.warning(message)
        return dg.MaterializeResult(metadata={"status": "skipped", "message": message, "new_examples": pending.count,
                                              "min_examples": min_examples})
    gate_md = _gate(context, ai, config.gate_max_examples)
    if not config.start_new_job:
        return dg.MaterializeResult(metadata={
            "status": "evaluated" if gate_md else "skipped",
            "message": gate_md.get("gate", "No finished fine-tune waits for the gate."), **gate_md,
            **{f"runs/{k}": v for k, v in training_runs_summary(core.ledger).items()}})
    client = make_openai_client(core.settings.openai_api_key, core.settings.openai_base_url,
                                timeout=core.settings.timeout_seconds * 2)
    try:
        result = start_fine_tune(
            core.ledger, client, min_examples=min_examples, base_model=config.base_model, n_epochs=config.n_epochs,
            suffix=config.suffix, min_type_examples=config.min_type_examples,
            continue_from_previous=config.continue_from_previous, secrets=core.settings.secrets(),
            monthly_budget_usd=core.settings.monthly_budget_usd,
        )
    except FineTuneBudgetError as exc:  # retrying cannot help before the budget changes
        raise dg.Failure(description=str(exc), metadata={"status": "over_budget"}, allow_retries=False) from exc
    except FineTuneError as exc:
        raise dg.Failure(description=str(exc), metadata={"status": "failed"}) from exc
    finally:
        client.close()
    context.log.info(result.message)
    return dg.MaterializeResult(metadata={**result.as_metadata(), "min_examples": min_examples, **gate_md,
                                          **{f"runs/{k}": v for k, v in training_runs_summary(core.ledger).items()}})


def _gate(context: dg.AssetExecutionContext, ai: AICoreResource, max_examples: int) -> dict:
    """Runs the fine-tune gate on every finished fine-tune waiting for it; its scores as run metadata."""
    core = ai.core
    try:
        with core.meter() as usage:
            results: list[GateResult] = gate_pending_runs(core, max_examples=max_examples)
    except BudgetExceededError as exc:
        raise dg.Failure(description=f"The fine-tune gate could not evaluate: {exc}", allow_retries=False) from exc
    except (AllProvidersFailedError, ProviderCallError, LookupError) as exc:
        raise dg.Failure(description=f"The fine-tune gate could not evaluate, so nothing was deployed; it tries "
                                     f"again on the next run: {exc}") from exc
    if not results:
        return {}
    md: dict = {"gate": " ".join(r.message() for r in results), **usage.metadata()}
    for result in results:
        (context.log.info if not result.refused_for else context.log.warning)(result.message())
        md["gate/model"] = result.model
        md["gate/status"] = result.status
        for decision in result.decisions:
            md.update(decision.metadata())
        md["gate/scores"] = dg.MetadataValue.md(result.table())
    return md


# Before any gate there is nothing to check: no result, so Dagster records the check skipped (see above).
@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(
        "fine_tune_earned_its_place", asset=fine_tune_run,
        description="The newest fine-tuned model the gate evaluated was at least as good as the model it would "
        "replace on the held-out examples (schema validity and agreement with the verified answers) for every "
        "request type it learnt; fails with both models' scores when the gate refused it. Skipped before any gate.")],
    can_subset=True,
)
def fine_tune_earned_its_place(context: dg.AssetCheckExecutionContext, ai: AICoreResource):
    decisions = newest_gate(ai.core.ledger)
    if not decisions:
        context.log.info("No fine-tuned model has been through the gate yet: nothing to check, so it is skipped.")
        return
    metadata: dict = {"model": decisions[0].model, "run_id": decisions[0].run_id}
    for d in decisions:
        rt = d.request_type
        metadata.update({
            f"{rt}/decision": d.decision, f"{rt}/examples": d.examples,
            f"{rt}/candidate_schema_validity": d.candidate_schema_validity,
            f"{rt}/candidate_agreement": d.candidate_agreement,
            f"{rt}/baseline_schema_validity": d.baseline_schema_validity,
            f"{rt}/baseline_agreement": d.baseline_agreement,
            f"{rt}/baseline_model": f"{d.replaced_provider}/{d.replaced_model}",
            f"{rt}/reason": d.reason or "",
        })
    refused = [d.request_type for d in decisions if d.decision == "refused"]
    if refused:
        metadata["refused_for"] = ", ".join(refused)
    yield dg.AssetCheckResult(check_name="fine_tune_earned_its_place", passed=not refused,
                              severity=dg.AssetCheckSeverity.WARN, metadata=metadata)


fine_tune_gate_job = dg.define_asset_job(
    name="fine_tune_gate_job", selection=dg.AssetSelection.assets(fine_tune_run),
    config={"ops": {"fine_tune_run": {"config": {"start_new_job": False}}}},
    description="Evaluates a finished fine-tune against the model it would replace and deploys it if it is at "
    "least as good (asked for by fine_tune_status_sensor; starts no new job).",
)


@dg.sensor(
    name="fine_tune_status_sensor",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Polls running OpenAI fine-tuning jobs; for a succeeded one asks for a fine_tune_gate_job run "
    "(evaluation on held-out examples, then deployment if it earns it), marks failed runs with the provider's reason.",
    job=fine_tune_gate_job,
)
def fine_tune_status_sensor(context: dg.SensorEvaluationContext, ai: AICoreResource) -> dg.SensorResult:
    core = ai.core
    running = active_runs(core.ledger)
    if not running:
        retries = _retry_gates(context, core)
        if retries:
            return dg.SensorResult(run_requests=retries)
        return dg.SensorResult(skip_reason="No fine-tuning job in progress.")
    if not core.settings.openai_api_key:
        return dg.SensorResult(skip_reason=f"{len(running)} fine-tuning job(s) in progress but no OpenAI key "
                                           "(OPENAI_API_KEY) to poll them.")
    client = make_openai_client(core.settings.openai_api_key, core.settings.openai_base_url,
                                timeout=core.settings.timeout_seconds)
    try:
        updates = poll_fine_tune_runs(core.ledger, client, secrets=core.settings.secrets())
    finally:
        client.close()
    core.invalidate_catalogue()
    events, gates = [], []
    for update in updates:
        if update.status == "succeeded":
            context.log.info(f"Fine-tuning job {update.job_id} succeeded: {update.model} goes to the gate for "
                             f"{', '.join(update.gate_for) or 'no request type'}")
            gates.append(dg.RunRequest(run_key=f"fine-tune-gate-{update.run_id}",
                                       tags={"aivlingual/fine_tune_run": str(update.run_id)}))
        elif update.finished:
            context.log.warning(f"Fine-tuning job {update.job_id} {update.status}: {update.error}")
        if update.finished:
            events.append(dg.AssetObservation(asset_key=fine_tune_run.key, metadata=update.as_metadata()))
    if not events:
        retries = _retry_gates(context, core)
        if retries:
            return dg.SensorResult(run_requests=retries)
        states = ", ".join(f"{u.job_id}: {u.status}" for u in updates) or "no change"
        return dg.SensorResult(skip_reason=f"{len(running)} fine-tuning job(s) still in progress ({states}).")
    return dg.SensorResult(asset_events=events, run_requests=gates)


_GATE_IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
                   dg.DagsterRunStatus.STARTED]


def _retry_gates(context: dg.SensorEvaluationContext, core) -> list[dg.RunRequest]:
    """A finished fine-tune whose gate run failed (a provider outage, the budget) is evaluated again: at most once
    a day, and only while no gate run is queued or running."""
    waiting = pending_gate_runs(core.ledger)
    if not waiting or not core.settings.openai_api_key:
        return []
    if context.instance.get_runs(filters=dg.RunsFilter(job_name=fine_tune_gate_job.name, statuses=_GATE_IN_FLIGHT),
                                 limit=1):
        return []
    ids = "-".join(str(run["id"]) for run in waiting)
    context.log.info(f"Fine-tuned model(s) of run(s) {ids} still wait for the gate: asking for its run again.")
    return [dg.RunRequest(run_key=f"fine-tune-gate-{ids}-retry-{time.strftime('%Y-%m-%d', time.gmtime())}",
                          tags={"aivlingual/fine_tune_run": ids})]


# ---- cost dashboard ----------------------------------------------------------------------------
@dg.asset(
    deps=[AI_USAGE_LEDGER],
    group_name="learning",
    kinds={"python"},
    description="AI cost dashboard: requests, provider calls, cache hit rate, cost and savings for the last 7 and 30 "
    "days, top models/request types/endpoints, training examples ready, and a daily cost / hit-rate chart.",
)
def ai_usage_report(context: dg.AssetExecutionContext, ai: AICoreResource) -> dg.MaterializeResult:
    core = ai.core
    now = time.time()
    reports = {days: usage_report(core.ledger, days=days, now=now) for days in WINDOWS}
    longest = reports[max(WINDOWS)]
    chart = render_usage_chart(
        longest, Path(core.settings.home) / "reports" / f"ai_usage_{time.strftime('%Y-%m-%d', time.gmtime(now))}.png",
        now=now)
    image = chart_markdown(chart)  # rendered in place by the UI, which cannot open files on the server
    fine_tunes, demotions = dashboard_section(core.ledger, days=max(WINDOWS), now=now)
    return dg.MaterializeResult(metadata={
        **dashboard_metadata(reports),
        "chart": dg.MetadataValue.md(image),
        "chart_file": dg.MetadataValue.path(str(chart)),
        "report": dg.MetadataValue.md(f"{image}\n\n{dashboard_markdown(reports)}\n\n{fine_tunes}"),
        "fine_tunes": dg.MetadataValue.md(fine_tunes),
        f"fine_tunes/demotions_{max(WINDOWS)}d": demotions,
        f"daily_{max(WINDOWS)}d": daily_table(longest, now=now),
    })


# ---- jobs, schedules ---------------------------------------------------------------------------
review_job = dg.define_asset_job(
    name="review_job", selection=dg.AssetSelection.assets(review_queue),
    description="Pulls verdicts from Notion and refreshes the review queue.",
)
fine_tune_job = dg.define_asset_job(
    name="fine_tune_job", selection=dg.AssetSelection.assets(training_exports, fine_tune_run),
    description="Exports newly verified examples and starts a fine-tuning job when there are enough.",
)
usage_report_job = dg.define_asset_job(
    name="usage_report_job", selection=dg.AssetSelection.assets(ai_usage_report),
    description="Refreshes the AI cost dashboard.",
)

review_schedule = dg.ScheduleDefinition(
    name="review_schedule", job=review_job, cron_schedule="0 6 * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily: verdicts from Notion, then a fresh review queue.",
)
fine_tune_schedule = dg.ScheduleDefinition(
    name="fine_tune_schedule", job=fine_tune_job, cron_schedule="0 3 * * 1", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Weekly (Monday 03:00 UTC): export and, with enough new verified examples, fine-tune. Stopped by "
    "default because it spends money; turn it on in the UI.",
)
usage_report_schedule = dg.ScheduleDefinition(
    name="usage_report_schedule", job=usage_report_job, cron_schedule="30 2 * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly AI cost dashboard.",
)

LEARNING_ASSETS = [review_queue, training_exports, fine_tune_run, ai_usage_report]
LEARNING_CHECKS = [training_export_is_clean, fine_tune_earned_its_place]
LEARNING_JOBS = [review_job, fine_tune_job, fine_tune_gate_job, usage_report_job]
LEARNING_SCHEDULES = [review_schedule, fine_tune_schedule, usage_report_schedule]
LEARNING_SENSORS = [fine_tune_status_sensor]
