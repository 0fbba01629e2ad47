"""The learning area's Dagster objects load together with the project and schedule what they should."""

from __future__ import annotations

import dagster as dg

from aivlingual_assets.assets import learning


def test_definitions_load_with_the_project():
    from aivlingual_assets.definitions import defs

    merged = defs  # the project's Definitions hold the learning parts (their assets with owners, code versions)
    dg.Definitions.validate_loadable(merged)
    jobs = {job.name for job in merged.resolve_all_job_defs()}
    assert {"review_job", "fine_tune_job", "usage_report_job"} <= jobs
    graph = merged.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"review_queue", "training_exports", "fine_tune_run", "ai_usage_report"} <= keys
    for asset in learning.LEARNING_ASSETS:
        assert asset.group_names_by_key[asset.key] == "learning"
        assert asset.descriptions_by_key[asset.key]


def test_schedules_request_their_jobs():
    instance = dg.DagsterInstance.ephemeral()
    expected = {"review_schedule": ("review_job", "0 6 * * *"), "fine_tune_schedule": ("fine_tune_job", "0 3 * * 1"),
                "usage_report_schedule": ("usage_report_job", "30 2 * * *")}
    for schedule in learning.LEARNING_SCHEDULES:
        job_name, cron = expected[schedule.name]
        assert (schedule.job_name, schedule.cron_schedule) == (job_name, cron)
        result = schedule.evaluate_tick(dg.build_schedule_context(instance=instance))
        assert len(result.run_requests) == 1
    assert learning.fine_tune_schedule.default_status == dg.DefaultScheduleStatus.STOPPED  # spends money
    assert learning.review_schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_review_queue_waits_for_the_notion_pool():
    """It pulls verdicts from Notion: the notion pool keeps it within Notion's rate limit with notion_entries."""
    from aivlingual_assets.assets.publishing import notion_entries

    for asset in (learning.review_queue, notion_entries):
        assert asset.op.pool == "notion", asset.key
        assert "notion" in asset.specs_by_key[asset.key].kinds, asset.key
