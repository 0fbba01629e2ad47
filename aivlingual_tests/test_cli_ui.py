"""`aivlingual ui` hands over to `dagster dev` on an instance whose API pools already have their limits."""

from __future__ import annotations

import os

import dagster as dg
import pytest

from aivlingual_assets import cli


def test_ui_sets_the_pool_limits_before_dagster_dev_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    started = []

    def execv(path, argv):
        started.append(argv)
        raise SystemExit(0)  # the real execv never returns

    monkeypatch.setattr(os, "execv", execv)
    with pytest.raises(SystemExit):
        cli.main(["ui", "--port", "3999"])
    (argv,) = started
    assert argv[1:3] == ["dev", "-w"] and argv[-2:] == ["-p", "3999"]
    assert (tmp_path / "dagster" / "dagster.yaml").exists()
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster")) as instance:
        limits = {pool: instance.event_log_storage.get_concurrency_info(pool).slot_count for pool in cli.POOL_LIMITS}
    assert limits == cli.POOL_LIMITS
