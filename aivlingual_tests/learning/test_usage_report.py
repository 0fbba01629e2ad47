"""The AI cost dashboard asset: numbers per window, markdown tables and the PNG chart."""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path

import dagster as dg
import pytest

from aivlingual_assets.ai import AICore, AISettings
from aivlingual_assets.ai.ledger import usage_log
from aivlingual_assets.ai.usage_report import usage_report
from aivlingual_assets.assets.learning import ai_usage_report
from aivlingual_assets.learning.review import record_verdict
from aivlingual_assets.learning.usage_chart import (
    daily_series,
    dashboard_metadata,
    render_usage_chart,
    usage_chart_figure,
)
from aivlingual_assets.resources import AICoreResource

DAY = 86400.0


def log_call(ledger, ts, *, cost=0.0, saved=0.0, hit=False, request_type="expressions.extract",
             endpoint="expressions", model="gpt-4o-mini"):
    with ledger.begin() as conn:
        conn.execute(usage_log.insert().values(
            ts=ts, request_type=request_type, kind="text", endpoint=endpoint, provider="openai", model=model,
            input_tokens=0 if hit else 1000, output_tokens=0 if hit else 200, cost_usd=cost, saved_usd=saved,
            cache_hit=hit, success=True))


@pytest.fixture
def usage(ledger, aiv_home):
    now = time.time()
    log_call(ledger, now - 20 * DAY, cost=0.50)  # only in the 30-day window
    log_call(ledger, now - 20 * DAY, hit=True, saved=0.50)
    log_call(ledger, now - 2 * DAY, cost=0.25, request_type="difficulty.assess", endpoint="difficulty")
    log_call(ledger, now - 2 * DAY, hit=True, saved=0.25, request_type="difficulty.assess", endpoint="difficulty")
    log_call(ledger, now - 1 * DAY, hit=True, saved=0.25, request_type="difficulty.assess", endpoint="difficulty")
    log_call(ledger, now - 40 * DAY, cost=9.0)  # outside both windows
    # and real calls through the AI core (offline: $0, one miss then one hit)
    core = AICore(AISettings(database_url=ledger.url, home=aiv_home))
    for _ in range(2):
        core.generate_text("demo.word", "草", offline=lambda: {"word": "草"})
    record_verdict(ledger, core.generate_text("demo.word", "草", offline=lambda: {}).memory_id, "verified", "alice")
    return now


def test_usage_report_asset_materialises_numbers_tables_and_chart(ledger, aiv_home, usage):
    result = dg.materialize([ai_usage_report], resources={"ai": AICoreResource()})
    assert result.success
    md = {k: v.value for k, v in result.asset_materializations_for_node("ai_usage_report")[0].metadata.items()}
    assert md["requests_7d"] == 3 + 3 and md["requests_30d"] == 5 + 3
    assert md["provider_calls_7d"] == 2 and md["cache_hits_7d"] == 4
    assert md["hit_rate_7d"] == pytest.approx(4 / 6, abs=1e-4)
    assert md["hit_rate_30d"] == pytest.approx(5 / 8, abs=1e-4)
    assert md["cost_usd_7d"] == pytest.approx(0.25) and md["cost_usd_30d"] == pytest.approx(0.75)
    assert md["saved_usd_7d"] == pytest.approx(0.50) and md["saved_usd_30d"] == pytest.approx(1.00)
    assert md["training_examples_ready"] == 1
    assert md["cost_usd_30d/openai"] == pytest.approx(0.75)
    for name in ("requests_7d", "cost_usd_30d", "hit_rate_30d", "failures_7d", "input_tokens_30d"):
        assert isinstance(md[name], (int, float))
    report = md["report"]
    assert "| Cost (USD) | $0.2500 | $0.7500 |" in report
    assert "| difficulty.assess |" in report and "| expressions |" in report and "| openai | gpt-4o-mini |" in report
    chart = md["chart_file"]
    assert chart.startswith(str(aiv_home / "reports")) and chart.endswith(".png")
    with open(chart, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def _embedded_png(markdown: str) -> bytes:
    match = re.search(r"!\[[^\]]*\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", markdown)
    assert match, markdown[:200]
    return base64.b64decode(match.group(1))


def test_the_chart_is_in_the_metadata_itself_so_the_ui_shows_it(ledger, aiv_home, usage):
    result = dg.materialize([ai_usage_report], resources={"ai": AICoreResource()})
    metadata = result.asset_materializations_for_node("ai_usage_report")[0].metadata
    chart = metadata["chart"]
    assert isinstance(chart, dg.MarkdownMetadataValue)  # the UI renders markdown, data: images included
    png = _embedded_png(chart.value)
    assert png == (aiv_home / "reports").joinpath(Path(metadata["chart_file"].value).name).read_bytes()
    assert _embedded_png(metadata["report"].value) == png  # the report opens with the chart
    daily = metadata["daily_30d"]  # the chart's numbers as a table the UI shows as one
    assert isinstance(daily, dg.TableMetadataValue)
    assert [c.name for c in daily.schema.columns] == ["day", "requests", "cache_hits", "cost_usd", "saved_usd"]
    assert sum(r.data["requests"] for r in daily.records) == metadata["requests_30d"].value


def test_dollar_amounts_in_the_chart_title_are_text_not_math(ledger, usage):
    figure = usage_chart_figure(usage_report(ledger, days=30, now=usage), now=usage)
    title = figure.axes[0].title
    assert "total $0.7500, saved $1.0000" in title.get_text()
    # matplotlib would read "$...$" as mathtext and drop the signs ("total 0.7500,saved1.0000")
    assert title._preprocess_math(title.get_text()) == (title.get_text(), False)


def test_empty_ledger_still_gives_a_dashboard(ledger, aiv_home):
    result = dg.materialize([ai_usage_report], resources={"ai": AICoreResource()})
    md = {k: v.value for k, v in result.asset_materializations_for_node("ai_usage_report")[0].metadata.items()}
    assert md["requests_30d"] == 0 and md["hit_rate_30d"] == 0.0 and md["cost_usd_7d"] == 0.0
    assert "_none_" in md["report"]


def test_daily_series_fills_days_without_usage(ledger, usage, tmp_path):
    report = usage_report(ledger, days=7, now=usage)
    series = daily_series(report, now=usage)
    assert len(series) in (7, 8)  # the window spans 7 or 8 UTC calendar days
    assert sum(d["requests"] for d in series) == report.requests
    assert [d["day"] for d in series] == sorted(d["day"] for d in series)
    assert any(d["requests"] == 0 and d["hit_rate"] is None for d in series)
    path = render_usage_chart(report, tmp_path / "c" / "chart.png", now=usage)
    assert path.stat().st_size > 1000 and not list(path.parent.glob(".*tmp"))
    values = dashboard_metadata({7: report, 30: usage_report(ledger, days=30, now=usage)})
    assert values["requests_7d"] == report.requests


def test_top_tables_are_given_for_each_window(ledger, usage):
    from aivlingual_assets.learning.usage_chart import dashboard_markdown

    report = dashboard_markdown({7: usage_report(ledger, days=7, now=usage), 30: usage_report(ledger, days=30, now=usage)})
    month = report[report.index("### Top request types (last 30 days)"):report.index("### Top endpoints (last 30 days)")]
    week = report[report.index("### Top request types (last 7 days)"):report.index("### Top endpoints (last 7 days)")]
    assert "| expressions.extract |" in month and "| difficulty.assess |" in month
    assert "| expressions.extract |" not in week and "| difficulty.assess |" in week  # 20 days ago is not this week
    assert report.index("(last 30 days)") < report.index("(last 7 days)")
