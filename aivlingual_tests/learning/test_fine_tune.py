"""From a human verdict to a deployed fine-tuned model, against the fake OpenAI server and the real SDK."""

from __future__ import annotations

import json
import time

import dagster as dg
import pytest
import sqlalchemy as sa

from aivlingual_assets import cli
from aivlingual_assets.ai import AICore, AISettings, BudgetExceededError
from aivlingual_assets.ai.core import month_start
from aivlingual_assets.ai.ledger import budget_reservations, training_runs, usage_log
from aivlingual_assets.ai.usage_report import usage_report
from aivlingual_assets.analysis.schemas import ExpressionList
from aivlingual_assets.analysis.tasks import EXTRACT_SYSTEM
from aivlingual_assets.assets.learning import (
    ai_usage_report,
    fine_tune_run,
    fine_tune_status_sensor,
    training_exports,
)
from aivlingual_assets.learning.fine_tune import (
    FINE_TUNE_PRICES,
    base_family,
    deploy_model,
    estimate_training_cost,
    resolve_min_examples,
)
from aivlingual_assets.learning.review import record_verdict
from aivlingual_assets.resources import AICoreResource
from aivlingual_tests.fakes.provider_server import Fault
from aivlingual_tests.learning.conftest import seed_outputs

REQUEST_TYPE = "expressions.extract"
def runs(ledger) -> list[dict]:
    with ledger.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(training_runs).order_by(training_runs.c.id))]


def fine_tune_usage(ledger) -> list[dict]:
    with ledger.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            sa.select(usage_log).where(usage_log.c.request_type == "fine_tune.train").order_by(usage_log.c.id))]


def reservations(ledger) -> list[dict]:
    with ledger.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(budget_reservations))]


def materialize(*assets, run_config=None):
    result = dg.materialize(list(assets), resources={"ai": AICoreResource()}, run_config=run_config or {},
                            raise_on_error=False)
    return result


def metadata(result, node: str) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node(node)[0].metadata.items()}


def tick(instance):
    context = dg.build_sensor_context(instance=instance, resources={"ai": AICoreResource()})
    return fine_tune_status_sensor(context)


FT_CONFIG = {"ops": {"fine_tune_run": {"config": {"min_type_examples": 10}}}}


def test_end_to_end_from_verdicts_to_a_deployed_default_model(ledger, aiv_home, approved, provider_server,
                                                            monkeypatch):
    monkeypatch.setenv("AIVLINGUAL_FINE_TUNE_MIN_EXAMPLES", "25")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-aivlingual-SECRET-0123456789")
    catalogue_before = {(m["provider"], m["model"]): m["default_for"] for m in ledger.models(kind="text")}

    result = materialize(training_exports, fine_tune_run, run_config=FT_CONFIG)
    assert result.success
    export = metadata(result, "training_exports")
    assert export["examples"] == 30 and export["train_examples"] + export["validation_examples"] == 30
    assert export["validation_examples"] >= 1 and export["estimated_cost_usd"] > 0
    started = metadata(result, "fine_tune_run")
    assert started["status"] == "started" and started["min_examples"] == 25 and started["new_examples"] == 30
    assert provider_server.requests[-1].api_key == "sk-aivlingual-SECRET-0123456789"
    assert all("SECRET" not in str(v) for v in {**export, **started}.values())

    # what reached OpenAI: two fine-tune files (the exported, scrubbed JSONL) and one job
    files = {f["id"]: f for f in provider_server.files()}
    (job,) = provider_server.jobs()
    assert job["model"] == "gpt-4o-mini-2024-07-18" and job["status"] == "validating_files"
    assert files[job["training_file"]]["purpose"] == files[job["validation_file"]]["purpose"] == "fine-tune"
    uploaded = provider_server.file_content(job["training_file"]).decode().splitlines()
    assert len(uploaded) == export["train_examples"]
    assert [m["role"] for m in json.loads(uploaded[0])["messages"]] == ["system", "user", "assistant"]
    assert job["hyperparameters"]["n_epochs"] == 3
    (run,) = runs(ledger)
    assert (run["job_id"], run["status"], run["provider"], run["examples"]) == (job["id"], "validating_files",
                                                                                "openai", 30)
    assert run["batch_id"] == export["batch_id"] and json.loads(run["request_types"]) == [REQUEST_TYPE]
    assert run["started_at"] is not None and run["finished_at"] is None

    instance = dg.DagsterInstance.ephemeral()
    waiting = tick(instance)
    assert waiting.skip_reason is not None and "still in progress" in waiting.skip_reason.skip_message
    # nothing new to train and a job is running: the weekly run skips without failing
    again = materialize(training_exports, fine_tune_run, run_config=FT_CONFIG)
    assert again.success and metadata(again, "fine_tune_run")["status"] == "skipped"
    assert len(provider_server.jobs()) == 1

    provider_server.set_job_status(job["id"], "running")
    assert tick(instance).skip_reason is not None
    assert runs(ledger)[0]["status"] == "running"

    finished = provider_server.finish_job(job["id"], trained_tokens=123_456)
    model = finished["fine_tuned_model"]
    outcome = tick(instance)
    assert outcome.skip_reason is None
    (event,) = outcome.asset_events
    assert event.asset_key == fine_tune_run.key and event.metadata["model"].value == model
    # not deployed yet: the sensor asks for the gate's run, which evaluates it first
    (gate_request,) = outcome.run_requests
    assert gate_request.run_key == f"fine-tune-gate-{runs(ledger)[0]['id']}"
    staged = {m["model"]: m for m in ledger.models(kind="text")}[model]
    assert not staged["active"] and staged["default_for"] == []

    (run,) = runs(ledger)
    assert (run["status"], run["model_version"], run["trained_tokens"]) == ("succeeded", model, 123_456)
    assert run["cost_usd"] == pytest.approx(123_456 * FINE_TUNE_PRICES["gpt-4o-mini-2024-07-18"].training_per_1m / 1e6)
    assert run["finished_at"] is not None and run["error"] is None
    metrics = json.loads(run["metrics"])
    assert metrics["final"]["train_loss"] == pytest.approx(0.25) and "valid_loss" in metrics["final"]
    assert metrics["duration_seconds"] >= 0 and metrics["hyperparameters"]["n_epochs"] == 3
    assert metrics["gate"]["status"] == "pending"

    # the gate's run (the fake answers every model alike: as good as the model it replaces) deploys it
    gate = materialize(fine_tune_run, run_config={"ops": {"fine_tune_run": {"config": {"start_new_job": False}}}})
    assert gate.success and metadata(gate, "fine_tune_run")["gate/status"] == "deployed"

    # deployed: in the catalogue, default for the request type it learnt, nobody else's default for it
    text_models = {(m["provider"], m["model"]): m for m in ledger.models(kind="text")}
    deployed = text_models[("openai", model)]
    assert deployed["active"] and deployed["default_for"] == [REQUEST_TYPE] and deployed["tier"] == "cheap"
    assert (deployed["input_per_1m"], deployed["output_per_1m"]) == (0.30, 1.20)
    assert sum(REQUEST_TYPE in m["default_for"] for m in text_models.values()) == 1
    assert set(text_models) == set(catalogue_before) | {("openai", model)}

    # the AI core now picks it first for that request type (and only that one) ...
    core = AICore(AISettings.from_env(max_attempts=1, retry_base_seconds=0.01))
    first = core.candidates(kind="text", request_type=REQUEST_TYPE, tier=core.tier_for(REQUEST_TYPE, None, None),
                            provider=None, model=None, selection_mode="auto")[0]
    assert (first.provider, first.model) == ("openai", model)
    other = core.candidates(kind="text", request_type="shorts.copy", tier="cheap", provider=None, model=None,
                            selection_mode="auto")[0]
    assert other.model != model
    answer = core.generate_text(REQUEST_TYPE, "Transcript lines ([start-end] text):\n[0.00-2.00] 新しい配信",
                                system=EXTRACT_SYSTEM, schema=ExpressionList)
    assert answer.model == model and provider_server.last("openai.chat").model == model
    # ... and still falls back automatically when the fine-tuned model fails
    provider_server.set_responder("openai.chat", lambda req: Fault.status(500) if req.model == model else None)
    fallback = core.generate_text(REQUEST_TYPE, "Transcript lines ([start-end] text):\n[0.00-2.00] 別の配信",
                                  system=EXTRACT_SYSTEM, schema=ExpressionList)
    assert fallback.model != model and fallback.provider == "openai"

    assert tick(instance).skip_reason.skip_message == "No fine-tuning job in progress."

    # next week: new verified examples continue training from the deployed model
    monkeypatch.setenv("AIVLINGUAL_FINE_TUNE_MIN_EXAMPLES", "12")
    new_ids = seed_outputs(aiv_home, ledger.url, 12, start=100)
    for memory_id in new_ids:
        record_verdict(ledger, memory_id, "verified", "carol")
    week2 = materialize(training_exports, fine_tune_run, run_config=FT_CONFIG)
    assert week2.success and metadata(week2, "fine_tune_run")["status"] == "started"
    second_job = [j for j in provider_server.jobs() if j["id"] != job["id"]][0]
    assert second_job["model"] == model
    assert runs(ledger)[-1]["examples"] == 12 and json.loads(runs(ledger)[-1]["request_types"]) == [REQUEST_TYPE]


def test_a_failed_job_is_marked_failed_and_changes_nothing_else(ledger, aiv_home, approved, provider_server):
    result = materialize(training_exports, fine_tune_run,
                         run_config={"ops": {"fine_tune_run": {"config": {"min_examples": 20,
                                                                          "min_type_examples": 10}}}})
    assert result.success
    (job,) = provider_server.jobs()
    catalogue = ledger.models()
    provider_server.fail_job(job["id"], "The training file has 3 lines that are not valid chat examples.",
                             code="invalid_training_file")

    outcome = tick(dg.DagsterInstance.ephemeral())
    (event,) = outcome.asset_events
    assert event.metadata["status"].value == "failed"
    (run,) = runs(ledger)
    assert run["status"] == "failed" and run["finished_at"] is not None
    assert run["error"] == "invalid_training_file: The training file has 3 lines that are not valid chat examples."
    assert run["model_version"] is None and run["trained_tokens"] is None and run["cost_usd"] is None
    assert ledger.models() == catalogue
    (usage,) = fine_tune_usage(ledger)  # visible in the usage ledger as a failure that cost nothing
    assert (usage["success"], usage["cost_usd"], usage["provider"]) == (False, 0.0, "openai")
    assert "invalid_training_file" in usage["error"]
    core = AICore()
    first = core.candidates(kind="text", request_type=REQUEST_TYPE, tier="cheap", provider=None, model=None,
                            selection_mode="auto")[0]
    assert not first.model.startswith("ft:")
    assert tick(dg.DagsterInstance.ephemeral()).skip_reason.skip_message == "No fine-tuning job in progress."


def test_too_few_examples_skip_with_a_message_and_record_nothing(ledger, aiv_home, approved, provider_server):
    result = materialize(training_exports, fine_tune_run)  # default: 1,000 examples needed
    assert result.success
    md = metadata(result, "fine_tune_run")
    assert md["status"] == "skipped" and md["min_examples"] == 1000
    assert "30 new verified example(s)" in md["message"] and "at least 1000" in md["message"]
    assert runs(ledger) == [] and provider_server.jobs() == [] and provider_server.files() == []


def test_no_openai_key_skips_with_a_message_and_records_nothing(ledger, aiv_home, approved):
    result = materialize(training_exports, fine_tune_run,
                         run_config={"ops": {"fine_tune_run": {"config": {"min_examples": 1}}}})
    assert result.success
    md = metadata(result, "fine_tune_run")
    assert md["status"] == "skipped" and "OPENAI_API_KEY" in md["message"] and md["new_examples"] == 30
    assert runs(ledger) == []
    assert tick(dg.DagsterInstance.ephemeral()).skip_reason.skip_message == "No fine-tuning job in progress."


def test_provider_refusal_fails_the_asset_and_records_a_failed_run(ledger, aiv_home, approved, provider_server):
    # the job listing (looking for an interrupted run) fails too: that alone must not stop a start
    refusal = Fault.status(400, message="Model gpt-4o-mini-2024-07-18 is not available for fine-tuning.")
    provider_server.inject("openai.fine_tuning", Fault.status(403), refusal)
    result = materialize(training_exports, fine_tune_run,
                         run_config={"ops": {"fine_tune_run": {"config": {"min_examples": 20}}}})
    assert not result.success
    (run,) = runs(ledger)
    assert run["status"] == "failed" and "not available for fine-tuning" in run["error"]
    assert provider_server.files() == []  # the uploads were cleaned up
    assert [(r.method, r.path, r.status) for r in provider_server.find("openai.fine_tuning")] == [
        ("GET", "/v1/fine_tuning/jobs", 403), ("POST", "/v1/fine_tuning/jobs", 400)]


def test_min_examples_setting_and_prices():
    assert resolve_min_examples(5) == 5
    assert resolve_min_examples() == 1000
    assert base_family("ft:gpt-4o-mini-2024-07-18:org:aivlingual:abc123") == "gpt-4o-mini-2024-07-18"
    assert base_family("gpt-4o-mini") == "gpt-4o-mini-2024-07-18"
    assert base_family("gpt-4o") == "gpt-4o-2024-08-06"
    assert estimate_training_cost(1_000_000, "gpt-4o-mini", 3) == pytest.approx(9.0)
    assert estimate_training_cost(1_000, "some-unknown-model", 3) is None


def test_min_examples_from_the_environment(monkeypatch):
    monkeypatch.setenv("AIVLINGUAL_FINE_TUNE_MIN_EXAMPLES", "250")
    assert resolve_min_examples() == 250
    monkeypatch.setenv("AIVLINGUAL_FINE_TUNE_MIN_EXAMPLES", "many")
    with pytest.raises(ValueError, match="whole number"):
        resolve_min_examples()


MIN_20 = {"ops": {"fine_tune_run": {"config": {"min_examples": 20, "min_type_examples": 10}}}}


def test_a_finished_job_is_in_the_usage_ledger_the_dashboard_and_the_cli(ledger, aiv_home, approved,
                                                                       provider_server, capsys):
    assert materialize(training_exports, fine_tune_run, run_config=MIN_20).success
    (job,) = provider_server.jobs()
    assert fine_tune_usage(ledger) == []  # nothing is spent before the job has trained
    provider_server.finish_job(job["id"], trained_tokens=200_000)
    instance = dg.DagsterInstance.ephemeral()
    tick(instance)
    tick(instance)  # a second poll does not count the job twice

    cost = 200_000 * FINE_TUNE_PRICES["gpt-4o-mini-2024-07-18"].training_per_1m / 1e6
    (usage,) = fine_tune_usage(ledger)
    assert (usage["provider"], usage["model"], usage["success"], usage["cache_hit"]) == (
        "openai", "gpt-4o-mini-2024-07-18", True, False)
    assert usage["cost_usd"] == pytest.approx(cost) == runs(ledger)[0]["cost_usd"]
    assert usage["input_tokens"] == 200_000

    report = usage_report(ledger, days=30)
    assert report.cost_usd == pytest.approx(cost)
    assert {"request_type": "fine_tune.train", "requests": 1, "cache_hits": 0,
            "cost_usd": pytest.approx(cost)} in report.top_request_types
    assert ledger.month_spend(month_start()) == pytest.approx(cost)  # what the monthly budget counts

    capsys.readouterr()
    assert cli.main(["usage", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["cost_usd"] == pytest.approx(cost)
    assert "fine_tune.train" in [row["request_type"] for row in printed["top_request_types"]]

    dashboard = materialize(ai_usage_report)
    assert dashboard.success
    md = metadata(dashboard, "ai_usage_report")
    assert md["cost_usd_30d"] == pytest.approx(cost) and md["cost_usd_30d/openai"] == pytest.approx(cost)


def test_a_job_that_would_pass_the_monthly_budget_is_refused_before_anything_is_sent(ledger, aiv_home, approved,
                                                                                    provider_server, monkeypatch):
    export = materialize(training_exports)
    estimate = metadata(export, "training_exports")["estimated_cost_usd"]
    assert estimate > 0
    provider_server.clear_requests()
    monkeypatch.setenv("AIVLINGUAL_MONTHLY_BUDGET_USD", str(estimate / 2))

    refused = materialize(fine_tune_run, run_config=MIN_20)
    assert not refused.success
    (failure,) = refused.get_step_failure_events()
    description = failure.step_failure_data.user_failure_data.description
    assert "monthly AI budget" in description and "Nothing was uploaded" in description
    assert provider_server.files() == [] and provider_server.jobs() == []
    assert provider_server.count("openai.files") == 0  # only the look for an interrupted job was sent
    assert [(r.method, r.path) for r in provider_server.find("openai.fine_tuning")] == [("GET", "/v1/fine_tuning/jobs")]
    assert runs(ledger) == [] and reservations(ledger) == []  # a refusal does not use up one of the batch's tries


def test_a_running_job_holds_its_estimate_against_the_budget_until_it_finishes(ledger, aiv_home, approved,
                                                                              provider_server, monkeypatch):
    export = materialize(training_exports)
    estimate = metadata(export, "training_exports")["estimated_cost_usd"]
    budget = estimate * 1.5
    monkeypatch.setenv("AIVLINGUAL_MONTHLY_BUDGET_USD", str(budget))
    assert materialize(fine_tune_run, run_config=MIN_20).success
    (held,) = reservations(ledger)
    assert held["amount"] == pytest.approx(estimate)
    assert held["expires_at"] > time.time() + 86400  # held for the days a job may take, not a call's minutes
    # meanwhile, other AI spending cannot take the money the job will cost
    with pytest.raises(BudgetExceededError):
        ledger.reserve_budget(estimate=estimate, channel=None, limits=[("all channels", None, budget)],
                              month_start=month_start(), owner="test", lease_seconds=60)

    (job,) = provider_server.jobs()
    trained = 100_000
    provider_server.finish_job(job["id"], trained_tokens=trained)
    tick(dg.DagsterInstance.ephemeral())
    assert reservations(ledger) == []
    assert ledger.month_spend(month_start()) == pytest.approx(
        trained * FINE_TUNE_PRICES["gpt-4o-mini-2024-07-18"].training_per_1m / 1e6)


def test_a_deployed_fine_tune_is_in_the_cheap_tier_whatever_the_tier_of_its_base(aiv_home):
    core = AICore(AISettings.from_env(openai_api_key="sk-test"))
    tiers = {m["model"]: m["tier"] for m in core.ledger.models(kind="text")}
    assert tiers["gpt-4.1"] == "premium"
    model = "ft:gpt-4.1-2025-04-14:org:aivlingual:abc123"
    spec = deploy_model(core.ledger, model, "gpt-4.1-2025-04-14", [REQUEST_TYPE])
    row = {m["model"]: m for m in core.ledger.models(kind="text")}[model]
    assert spec.tier == row["tier"] == "cheap"
    assert (row["input_per_1m"], row["output_per_1m"]) == (3.00, 12.00)  # fine-tuned gpt-4.1 prices
    core.invalidate_catalogue()
    cheap = core.candidates(kind="text", request_type=REQUEST_TYPE, tier="cheap", provider=None, model=None,
                            selection_mode="auto")
    assert cheap[0].model == model and cheap[0].config["tier"] == "cheap"


def test_a_job_that_fails_to_start_frees_its_budget_hold(ledger, aiv_home, approved, provider_server, monkeypatch):
    """Issue 15 #24: with a budget set, a refused start must release the estimate it reserved (a leak would
    hold it for the days a job may take, blocking other AI spending)."""
    export = materialize(training_exports)
    estimate = metadata(export, "training_exports")["estimated_cost_usd"]
    budget = estimate * 1.5
    monkeypatch.setenv("AIVLINGUAL_MONTHLY_BUDGET_USD", str(budget))
    refusal = Fault.status(400, message="Model gpt-4o-mini-2024-07-18 is not available for fine-tuning.")
    provider_server.inject("openai.fine_tuning", Fault.status(403), refusal)

    refused = materialize(fine_tune_run, run_config=MIN_20)

    assert not refused.success
    (run,) = runs(ledger)
    assert run["status"] == "failed" and json.loads(run["metrics"])["budget_reservation"]  # a hold was taken
    assert reservations(ledger) == []
    # the whole estimate is available again to the rest of the month's AI calls
    ledger.reserve_budget(estimate=estimate, channel=None, limits=[("all channels", None, budget)],
                          month_start=month_start(), owner="test", lease_seconds=60)
