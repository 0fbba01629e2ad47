"""`make.py uicheck` in a test: the UI in headless Chromium on a home where `aivlingual process` ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from .uicheck import run_check


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_page_a_new_user_opens_renders_without_a_ui_error(processed_home, tmp_path):
    results = run_check(Path(processed_home["AIVLINGUAL_HOME"]), tmp_path / "uicheck",
                        dagster_home=Path(processed_home["DAGSTER_HOME"]))
    assert {r["name"]: r["errors"] for r in results if r["errors"]} == {}
    assert all(Path(r["screenshot"]).stat().st_size > 10_000 for r in results)
    assert "usage_report_chart" in {r["name"] for r in results}  # the chart was seen rendered, not only linked
