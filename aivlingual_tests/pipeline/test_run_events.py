"""A recording run stores no Parquet IO manager debug lines per input (#14): the input is still loaded from its
partition's file, and the LOADED_INPUT event and the materialisation's path say where it came from."""

from __future__ import annotations

import dagster as dg
from dagster._core.events import DagsterEventType

from aivlingual_assets.assets import ingestion
from aivlingual_assets.definitions import build_resources
from aivlingual_tests.pipeline.test_checks_in_steps import subtitle_recording


def test_inputs_load_from_their_partition_without_a_debug_event_each(instance, tmp_path):
    keys = [subtitle_recording(instance, tmp_path / f"rec{i}", lines) for i, lines in enumerate((4, 7))]
    for key, lines in zip(keys, (4, 7)):
        result = dg.materialize([ingestion.recordings, ingestion.transcripts], partition_key=key, instance=instance,
                                resources=build_resources())
        assert result.success
        transcripts = result.asset_materializations_for_node("transcripts")[0]
        assert transcripts.partition == key and transcripts.metadata["segments"].value == lines
        logs = instance.all_logs(result.run_id)
        messages = [e.user_message for e in logs if not e.is_dagster_event]
        assert not [m for m in messages if m.startswith(("Loading 1 partitions", "Loading partition"))]
        (loaded,) = [e for e in logs if e.dagster_event_type == DagsterEventType.LOADED_INPUT]
        assert loaded.step_key == "transcripts"
