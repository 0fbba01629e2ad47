"""Pool limits are set on the instance for the pools whose provider is configured (#14): a step in a pool
with a limit claims and frees a slot in Dagster's storage, one without a limit claims nothing; the asset
definitions (and so the job snapshot) declare the same pools whatever the environment."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

from aivlingual_assets.assets import ingestion
from aivlingual_assets.cli.instance import POOL_LIMITS, get_instance
from aivlingual_assets.definitions import build_resources, defs
from aivlingual_assets.ingestion.recording import recording_from_path
from aivlingual_assets.resources.pipeline import PipelineResource

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def limits(instance) -> dict[str, int]:
    storage = instance.event_log_storage
    return {pool: storage.get_concurrency_info(pool).slot_count for pool in storage.get_concurrency_keys()}


@pytest.fixture
def dagster_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    return tmp_path / "dagster"


def test_a_pool_gets_its_limit_once_its_provider_is_configured(dagster_home, monkeypatch):
    with get_instance() as instance:  # the offline engine alone: no pool is limited
        assert limits(instance) == {}
    monkeypatch.setenv("GEMINI_API_KEY", "g-key")  # the AI steps' pool and Gemini's
    with get_instance() as instance:
        assert limits(instance) == {"openai": POOL_LIMITS["openai"], "gemini": POOL_LIMITS["gemini"]}
        instance.event_log_storage.set_concurrency_slots("openai", 1)  # set by hand: kept
    monkeypatch.setenv("NOTION_TOKEN", "secret_x")
    with get_instance() as instance:
        assert limits(instance) == {"openai": 1, "gemini": POOL_LIMITS["gemini"], "notion": POOL_LIMITS["notion"]}


def test_a_channels_own_key_limits_its_providers_pools(dagster_home):
    with get_instance(extra_pools=("openai",)) as instance:  # what `channels set-key NAME openai` asks
        assert limits(instance) == {"openai": POOL_LIMITS["openai"]}


def test_the_assets_declare_their_pools_whatever_the_environment():
    graph = defs.resolve_asset_graph()
    pools = {key.to_user_string(): graph.get(key).pools for key in graph.get_all_asset_keys()}
    pools = {name: next(iter(found)) if found else None for name, found in pools.items()}
    assert pools["transcripts"] == pools["expressions"] == pools["shorts"] == pools["upload_metadata"] == "openai"
    assert pools["notion_entries"] == "notion" and pools["recordings"] is None


@pytest.mark.parametrize("provider_configured", [False, True])
def test_only_a_limited_pool_costs_its_steps_slot_claims(dagster_home, tmp_path, monkeypatch, provider_configured):
    claims = []
    real_claim = SqlEventLogStorage.claim_concurrency_slot
    monkeypatch.setattr(SqlEventLogStorage, "claim_concurrency_slot",
                        lambda self, pool, run_id, step_key, *a, **kw: claims.append((pool, step_key))
                        or real_claim(self, pool, run_id, step_key, *a, **kw))
    if provider_configured:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    subtitle = tmp_path / "s.ja.srt"
    subtitle.write_text((EXAMPLES / "sample_stream.ja.srt").read_text(encoding="utf-8"), encoding="utf-8")
    recording = recording_from_path(subtitle)
    PipelineResource().registry().register(recording)
    with get_instance() as instance:
        instance.add_dynamic_partitions("recordings", [recording.partition_key])
        result = dg.materialize([ingestion.recordings, ingestion.transcripts], partition_key=recording.partition_key,
                                instance=instance, resources=build_resources())
        assert result.success
        if provider_configured:
            assert claims == [("openai", "transcripts")]
            assert instance.event_log_storage.get_concurrency_info("openai").claimed_slots == []  # freed
        else:
            assert claims == []
