"""A fine-tuned model must earn its place: the gate before deployment and the demotion after it.

Everything goes through the real openai SDK against the fake provider server; a responder answers each held-out
prompt with its verified answer, or (for the model under test) with a worse one.
"""

from __future__ import annotations

import json

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.test_utils import create_run_for_test

from aivlingual_assets.ai import AICore, AISettings
from aivlingual_assets.ai.ledger import training_data, usage_log
from aivlingual_assets.analysis.schemas import (
    Category,
    Expression,
    ExpressionList,
    Level,
    LevelAssessment,
    LevelList,
)
from aivlingual_assets.assets.learning import (
    ai_usage_report,
    fine_tune_earned_its_place,
    fine_tune_run,
    review_queue,
    training_exports,
)
from aivlingual_assets.learning.fine_tune_deployments import (
    current_defaults,
    deployment_events,
    deployments,
)
from aivlingual_assets.learning.fine_tune_gate import (
    Scores,
    at_least_as_good,
    difficulty_agreement,
    exact_agreement,
    extraction_agreement,
)
from aivlingual_assets.learning.fine_tune_watch import resolve_demote_settings
from aivlingual_assets.learning.review import (
    memory_ids_by_key,
    pick_for_review,
    record_rating,
    record_verdict,
)
from aivlingual_assets.resources import AICoreResource
from aivlingual_assets.resources.parquet_io_manager import ParquetIOManager
from aivlingual_assets.resources.pipeline import PipelineResource
from aivlingual_tests.fakes.provider_server import Fault
from aivlingual_tests.learning.conftest import add_memory, expression_output
from aivlingual_tests.learning.test_fine_tune import MIN_20, metadata, runs, tick

REQUEST_TYPE = "expressions.extract"
GATE_ONLY = {"ops": {"fine_tune_run": {"config": {"start_new_job": False}}}}
MADE_UP = ExpressionList(items=[Expression(
    expression="存在しない", lemma="存在しない", reading="そんざいしない", meaning="made up", category=Category.vocabulary,
    explanation="", example="", start=0, end=1)]).model_dump(mode="json")


# ---- the agreement measures ---------------------------------------------------------------------------
def _expr(lemma: str, reading: str = "よみ", category: Category = Category.slang, **kw) -> Expression:
    return Expression(expression=lemma, lemma=lemma, reading=reading, meaning=kw.get("meaning", "m"),
                      category=category, explanation="", example=lemma, start=0, end=1)


def test_extraction_agreement_is_the_f1_of_expression_keys():
    verified = ExpressionList(items=[_expr("草"), _expr("推し"), _expr("尊い")])
    assert extraction_agreement(verified, verified) == 1.0
    # two of three found, one made up: precision 2/3, recall 2/3; wording of the meaning does not matter
    found = ExpressionList(items=[_expr("草", meaning="lol"), _expr("推し"), _expr("存在しない")])
    assert extraction_agreement(found, verified) == pytest.approx(2 / 3)
    # a different reading or category is a different expression
    assert extraction_agreement(ExpressionList(items=[_expr("草", reading="そう")]), verified) == 0.0
    assert extraction_agreement(ExpressionList(items=[_expr("草", category=Category.internet)]),
                                ExpressionList(items=[_expr("草")])) == 0.0
    assert extraction_agreement(ExpressionList(), ExpressionList()) == 1.0
    assert extraction_agreement(ExpressionList(), verified) == 0.0


def _level(lemma: str, level: Level) -> LevelAssessment:
    return LevelAssessment(expression=lemma, lemma=lemma, reading="よみ", level=level, score=0.5, method="llm",
                           reason="r")


def test_difficulty_agreement_is_the_share_of_exact_level_matches():
    verified = LevelList(items=[_level("草", Level.slang), _level("食べる", Level.N5), _level("概念", Level.N2)])
    answer = LevelList(items=[_level("草", Level.slang), _level("食べる", Level.N4)])  # one right, one wrong, one missing
    assert difficulty_agreement(answer, verified) == pytest.approx(1 / 3)
    assert difficulty_agreement(verified, verified) == 1.0
    assert difficulty_agreement(LevelList(), LevelList()) == 1.0


def test_other_request_types_agree_only_on_the_same_json():
    assert exact_agreement({"title": "草 ｗ", "tags": ["a"]}, {"tags": ["a"], "title": "草  w"}) == 1.0  # NFKC, spaces
    assert exact_agreement({"title": "x"}, {"title": "y"}) == 0.0


def test_the_deploy_rule_wants_both_scores_at_least_as_good_on_some_examples():
    base = Scores("openai", "base", examples=4, valid=4, agreement_sum=3.0)
    assert at_least_as_good(Scores("openai", "ft", examples=4, valid=4, agreement_sum=3.0), base)
    assert not at_least_as_good(Scores("openai", "ft", examples=4, valid=4, agreement_sum=2.9), base)
    assert not at_least_as_good(Scores("openai", "ft", examples=4, valid=3, agreement_sum=3.5), base)
    assert not at_least_as_good(Scores("openai", "ft"), Scores("openai", "base"))  # nothing held out


def test_demotion_settings_have_defaults_and_are_checked(monkeypatch):
    assert resolve_demote_settings() == (0.10, 20)
    monkeypatch.setenv("AIVLINGUAL_FINE_TUNE_DEMOTE_MARGIN", "0.05")
    monkeypatch.setenv("AIVLINGUAL_FINE_TUNE_DEMOTE_MIN_REVIEWS", "50")
    assert resolve_demote_settings() == (0.05, 50)
    monkeypatch.setenv("AIVLINGUAL_FINE_TUNE_DEMOTE_MIN_REVIEWS", "some")
    with pytest.raises(ValueError, match="whole number"):
        resolve_demote_settings()
    with pytest.raises(ValueError, match="at least 1"):
        resolve_demote_settings(margin=0.1, min_reviews=0)


# ---- through the SDK -----------------------------------------------------------------------------------
def materialize(*assets, run_config=None):
    resources = {"ai": AICoreResource(), "pipeline": PipelineResource(), "parquet_io_manager": ParquetIOManager()}
    return dg.materialize(list(assets), resources=resources, run_config=run_config or {}, raise_on_error=False)


def finished_fine_tune(ledger, provider_server) -> str:
    """Export, start, finish and poll a fine-tune: its model waits for the gate."""
    assert materialize(training_exports, fine_tune_run, run_config=MIN_20).success
    (job,) = provider_server.jobs()
    model = provider_server.finish_job(job["id"], trained_tokens=50_000)["fine_tuned_model"]
    assert tick(dg.DagsterInstance.ephemeral()).run_requests
    return model


def held_out(ledger) -> dict[str, str]:
    """User prompt -> verified answer, for every held-out example."""
    with ledger.connect() as conn:
        rows = conn.execute(sa.select(training_data.c.messages).where(training_data.c.split == "validation")).all()
    pairs = [json.loads(r.messages) for r in rows]
    return {m[-2]["content"]: m[-1]["content"] for m in pairs}


def answer(provider_server, answers: dict[str, str], *, worse: str | None = None, invalid: str | None = None):
    """Every model answers held-out prompts with the verified answer, except ``worse`` (a made-up expression)
    and ``invalid`` (not JSON at all)."""
    def responder(req):
        if req.model == invalid:
            return "Sorry, I cannot answer in JSON."
        if req.model == worse:
            return MADE_UP
        return answers.get(req.user)
    provider_server.set_responder("openai.chat", responder)


def gate(*, with_check: bool = True):
    result = materialize(fine_tune_run, *([fine_tune_earned_its_place] if with_check else []), run_config=GATE_ONLY)
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    return metadata(result, "fine_tune_run"), checks.get("fine_tune_earned_its_place")


def text_model(ledger, model: str) -> dict:
    return {m["model"]: m for m in ledger.models(kind="text")}[model]


def first_choice(request_type: str = REQUEST_TYPE, core: AICore | None = None) -> str:
    core = core or AICore(AISettings.from_env())
    core.invalidate_catalogue()
    return core.candidates(kind="text", request_type=request_type, tier="cheap", provider=None, model=None,
                           selection_mode="auto")[0].model


@pytest.mark.parametrize("failure", ["worse answers", "answers that are not JSON"])
def test_the_gate_refuses_a_fine_tune_worse_than_the_model_it_would_replace(ledger, aiv_home, approved,
                                                                           provider_server, failure):
    model = finished_fine_tune(ledger, provider_server)
    replaced = first_choice()
    answers = held_out(ledger)
    answer(provider_server, answers, **({"worse": model} if failure == "worse answers" else {"invalid": model}))

    md, check = gate()

    rt = f"gate/{REQUEST_TYPE}"
    assert md["gate/status"] == "refused" and md[f"{rt}/decision"] == "refused"
    assert md[f"{rt}/examples"] == len(answers) >= 1
    assert md[f"{rt}/baseline_model"] == f"openai/{replaced}"
    assert (md[f"{rt}/baseline_schema_validity"], md[f"{rt}/baseline_agreement"]) == (1.0, 1.0)
    if failure == "worse answers":
        assert (md[f"{rt}/candidate_schema_validity"], md[f"{rt}/candidate_agreement"]) == (1.0, 0.0)
    else:
        assert (md[f"{rt}/candidate_schema_validity"], md[f"{rt}/candidate_agreement"]) == (0.0, 0.0)
    assert "refused" in md["gate"] and model in md["gate"]
    # the asset check fails and carries both models' scores
    assert check is not None and not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    scores = {k: v.value for k, v in check.metadata.items()}
    assert scores[f"{REQUEST_TYPE}/decision"] == "refused" and scores["refused_for"] == REQUEST_TYPE
    assert scores[f"{REQUEST_TYPE}/baseline_agreement"] == 1.0
    assert scores[f"{REQUEST_TYPE}/candidate_agreement"] == md[f"{rt}/candidate_agreement"]
    assert scores[f"{REQUEST_TYPE}/candidate_schema_validity"] == md[f"{rt}/candidate_schema_validity"]
    # nothing changed for the pipeline: the fine-tune stays switched off, nobody's default
    row = text_model(ledger, model)
    assert not row["active"] and row["default_for"] == []
    assert first_choice() == replaced
    (decision,) = deployments(ledger)
    assert (decision.decision, decision.status, decision.replaced_model) == ("refused", "refused", replaced)
    assert current_defaults(ledger) == []
    assert json.loads(runs(ledger)[0]["metrics"])["gate"]["status"] == "refused"
    # a second run has nothing left to evaluate and sends nothing
    sent = provider_server.count("openai.chat")
    again, _ = gate(with_check=False)
    assert again["status"] == "skipped" and provider_server.count("openai.chat") == sent


def test_the_gate_deploys_a_fine_tune_at_least_as_good_with_both_scores_metered(ledger, aiv_home, approved,
                                                                               provider_server):
    model = finished_fine_tune(ledger, provider_server)
    replaced = first_choice()
    answers = held_out(ledger)
    answer(provider_server, answers, worse=replaced)  # the fine-tune is better than the model it replaces

    md, check = gate()

    rt = f"gate/{REQUEST_TYPE}"
    assert md["gate/status"] == "deployed" and md["gate/model"] == model
    assert (md[f"{rt}/candidate_schema_validity"], md[f"{rt}/candidate_agreement"]) == (1.0, 1.0)
    assert (md[f"{rt}/baseline_schema_validity"], md[f"{rt}/baseline_agreement"]) == (1.0, 0.0)
    assert "gate/scores" in md and model in md["gate/scores"]
    assert check.passed and {k: v.value for k, v in check.metadata.items()}[f"{REQUEST_TYPE}/decision"] == "deployed"
    # the same held-out prompts went to both models, through the AI core: metered at each model's price
    assert provider_server.count("openai.chat", model=model) == provider_server.count("openai.chat",
                                                                                     model=replaced) == len(answers)
    with ledger.connect() as conn:
        logged = conn.execute(sa.select(usage_log.c.model, sa.func.count(), sa.func.sum(usage_log.c.cost_usd))
                              .where(usage_log.c.endpoint == "fine_tune_gate").group_by(usage_log.c.model)).all()
    assert {m: n for m, n, _ in logged} == {model: len(answers), replaced: len(answers)}
    assert all(cost > 0 for _, _, cost in logged)
    assert md["ai/api_calls"] == 2 * len(answers)
    # deployed: the default for its request type, first for the AI core
    row = text_model(ledger, model)
    assert row["active"] and row["default_for"] == [REQUEST_TYPE] and row["tier"] == "cheap"
    assert first_choice() == model
    (current,) = current_defaults(ledger)
    assert (current.model, current.replaced_model, current.replaced_was_default) == (model, replaced, False)
    assert (current.candidate_agreement, current.baseline_agreement, current.examples) == (1.0, 0.0, len(answers))
    assert current.deployed_at is not None
    assert [e["event"] for e in deployment_events(ledger)] == ["deployed"]
    # the gate's answers are not the pipeline's: never in the review queue, nor matched to Notion pages
    assert pick_for_review(ledger, limit=100) == []
    assert set().union(*memory_ids_by_key(ledger).values()) <= set(approved)


def deployed(ledger, provider_server) -> tuple[str, str]:
    model = finished_fine_tune(ledger, provider_server)
    replaced = first_choice()
    answer(provider_server, held_out(ledger))  # equal answers: at least as good
    md, _ = gate(with_check=False)
    assert md["gate/status"] == "deployed"
    return model, replaced


def reviewed_outputs(ledger, model: str, verdicts: list[str]) -> None:
    """One output of ``model`` per verdict: "verified", "rejected", or a rating "1".."5" without verdict."""
    for i, verdict in enumerate(verdicts):
        memory_id = add_memory(ledger, f"prompt {model} {i} {len(verdict)}", expression_output(("草", "くさ", "lol")),
                               model=model)
        if verdict in ("verified", "rejected"):
            record_verdict(ledger, memory_id, verdict, "dana")
        else:
            record_rating(ledger, memory_id, int(verdict), "dana")


def review_cycle() -> dict:
    result = materialize(review_queue, run_config={"ops": {"review_queue": {"config": {"pull_notion": False}}}})
    assert result.success
    return metadata(result, "review_queue")


def test_reviewers_rejections_demote_a_deployed_fine_tune_after_enough_reviews(ledger, aiv_home, approved,
                                                                            provider_server):
    model, replaced = deployed(ledger, provider_server)
    key = f"fine_tune/{REQUEST_TYPE}"
    reviewed_outputs(ledger, replaced, ["rejected"] * 3 + ["verified"] * 17)  # the replaced model: 15 %

    # 19 reviews, 4 of them rejections (21 %): not enough reviews to judge yet
    reviewed_outputs(ledger, model, ["rejected"] * 4 + ["verified"] * 15)
    md = review_cycle()
    assert (md[f"{key}/reviewed"], md[f"{key}/status"], md["fine_tune/demoted"]) == (19, "kept", 0)
    assert first_choice() == model

    # the 20th review: 20 %, within 10 points of the replaced model's 15 %
    reviewed_outputs(ledger, model, ["verified"])
    md = review_cycle()
    assert (md[f"{key}/reviewed"], md[f"{key}/rejection_rate"], md[f"{key}/replaced_rejection_rate"]) == (
        20, 0.2, 0.15)
    assert md[f"{key}/status"] == "kept" and first_choice() == model

    # four more rejections and a rating of 1 without verdict: 9 of 25 (36 %) > 15 % + 10 %
    reviewed_outputs(ledger, model, ["rejected"] * 4 + ["1"])
    md = review_cycle()
    assert (md[f"{key}/reviewed"], md[f"{key}/rejection_rate"], md[f"{key}/status"]) == (25, 0.36, "demoted")
    assert md["fine_tune/demoted"] == 1 and model in md["fine_tune/demotions"]

    # the previous default returns: the fine-tune is nobody's default and switched off
    row = text_model(ledger, model)
    assert row["default_for"] == [] and not row["active"]
    assert first_choice() == replaced
    (record,) = deployments(ledger)
    assert record.status == "demoted" and "36%" in record.reason and record.ended_at is not None
    demotion = next(e for e in deployment_events(ledger) if e["event"] == "demoted")
    assert demotion["detail"]["rejection_rate"] == 0.36 and demotion["detail"]["replaced_rejection_rate"] == 0.15
    assert current_defaults(ledger) == []
    # a later cycle has nothing left to watch
    assert review_cycle()["fine_tune/watched"] == 0

    # and the cost dashboard says so
    dashboard = materialize(ai_usage_report)
    assert dashboard.success
    board = metadata(dashboard, "ai_usage_report")
    assert board["fine_tunes/demotions_30d"] == 1
    assert "**demoted**" in board["fine_tunes"] and model in board["fine_tunes"]
    assert "No fine-tuned model is a default" in board["fine_tunes"] and board["fine_tunes"] in board["report"]


def test_a_demoted_fine_tune_gives_the_default_back_to_the_fine_tune_it_replaced(database_url, provider_server):
    """When the replaced model was itself the request type's default (an earlier fine-tune), it is again; the
    deployment record is the same on SQLite and PostgreSQL."""
    from aivlingual_assets.learning.fine_tune import deploy_model
    from aivlingual_assets.learning.fine_tune_deployments import record_decision
    from aivlingual_assets.learning.fine_tune_watch import watch_deployments

    core = AICore(AISettings.from_env(database_url=database_url))
    older, newer = "ft:gpt-4o-mini-2024-07-18:org:aivlingual:old", "ft:gpt-4o-mini-2024-07-18:org:aivlingual:new"
    for model, replaced, was_default in ((older, "gpt-5-nano", False), (newer, older, True)):
        deploy_model(core.ledger, model, "gpt-4o-mini-2024-07-18", [REQUEST_TYPE])
        record_decision(core.ledger, request_type=REQUEST_TYPE, tier="cheap", provider="openai", model=model,
                        run_id=None, deployed=True, replaced=("openai", replaced), replaced_was_default=was_default,
                        examples=4, candidate=(1.0, 0.9), baseline=(1.0, 0.8), reason="deployed")
    assert [d.model for d in current_defaults(core.ledger)] == [newer]
    reviewed_outputs(core.ledger, newer, ["rejected"] * 20)

    (outcome,) = watch_deployments(core.ledger)

    assert outcome.demoted
    assert text_model(core.ledger, older)["default_for"] == [REQUEST_TYPE]
    assert text_model(core.ledger, newer)["default_for"] == [] and not text_model(core.ledger, newer)["active"]
    assert [d.model for d in current_defaults(core.ledger)] == [older]
    assert [e["event"] for e in deployment_events(core.ledger)] == ["deployed", "superseded", "deployed",
                                                                     "demoted", "restored"]
    (older_record, newer_record) = deployments(core.ledger)
    assert (older_record.status, older_record.ended_at) == ("deployed", None)
    assert newer_record.status == "demoted" and "100% (20/20)" in newer_record.reason
    assert first_choice(core=core) == older


def test_a_gate_interrupted_by_a_provider_outage_deploys_nothing_and_its_rerun_pays_no_answer_twice(
        ledger, aiv_home, approved, provider_server):
    model = finished_fine_tune(ledger, provider_server)
    replaced = first_choice()
    answers = held_out(ledger)
    outage = {"on": True}

    def responder(req):
        if req.model == replaced and outage["on"]:
            return Fault.status(503)
        return answers.get(req.user)
    provider_server.set_responder("openai.chat", responder)

    failed = materialize(fine_tune_run, run_config=GATE_ONLY)
    assert not failed.success
    (failure,) = failed.get_step_failure_events()
    description = failure.step_failure_data.user_failure_data.description
    assert "could not evaluate, so nothing was deployed" in description and replaced in description
    assert not text_model(ledger, model)["active"] and deployments(ledger) == []
    assert json.loads(runs(ledger)[0]["metrics"])["gate"]["status"] == "pending"
    asked = provider_server.count_success("openai.chat", model=model)
    assert asked == len(answers)  # the fine-tune answered every example before the other model failed

    # the status sensor asks for the gate's run again (once a day), unless one is queued or running
    instance = dg.DagsterInstance.ephemeral()
    (retry,) = tick(instance).run_requests
    assert retry.run_key.startswith(f"fine-tune-gate-{runs(ledger)[0]['id']}-retry-")
    create_run_for_test(instance, job_name="fine_tune_gate_job", status=dg.DagsterRunStatus.STARTED)
    assert tick(instance).skip_reason.skip_message == "No fine-tuning job in progress."

    outage["on"] = False
    md, check = gate()
    assert md["gate/status"] == "deployed" and check.passed
    # its answers came from the cache: the fine-tune was not asked again
    assert provider_server.count_success("openai.chat", model=model) == asked
    assert md["ai/cache_hits"] == len(answers)


def test_two_gate_runs_on_the_same_fine_tune_record_one_decision(ledger, aiv_home, approved, provider_server):
    from aivlingual_assets.learning.fine_tune_gate import gate_run, pending_gate_runs

    model = finished_fine_tune(ledger, provider_server)
    answer(provider_server, held_out(ledger))
    (waiting,) = pending_gate_runs(ledger)
    core = AICore(AISettings.from_env())

    first = gate_run(core, waiting)
    second = gate_run(core, waiting)  # started before the first one decided: same snapshot of the run

    assert first.status == "deployed" and not first.already_decided
    assert second.already_decided and second.status == "decided by another gate run"
    assert [d.model for d in deployments(ledger)] == [model]
    assert [e["event"] for e in deployment_events(ledger)] == ["deployed"]
    assert pending_gate_runs(ledger) == []
