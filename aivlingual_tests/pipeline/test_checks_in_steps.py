"""Per-recording checks run inside their asset's step (#14): same names, descriptions, severities and
partitions as when they were steps of their own, recorded per recording in the instance, and a failing
blocking check still stops what follows."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster._core.event_api import PartitionKeyFilter

from aivlingual_assets.assets import ingestion
from aivlingual_assets.definitions import build_resources, defs
from aivlingual_assets.ingestion.recording import recording_from_path
from aivlingual_assets.jobs import PER_RECORDING
from aivlingual_assets.resources.pipeline import PipelineResource

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CHECKS = {  # asset -> its checks evaluated in its step
    "transcripts": {"transcript_not_empty", "transcript_times_valid", "transcript_mostly_japanese"},
    "shorts": {"shorts_playable"},
    "upload_metadata": {"upload_metadata_within_limits"},
    "worksheets": {"worksheet_complete"},
    "thumbnails": {"thumbnails_fit"},
}


def subtitle_recording(instance, folder: Path, lines: int) -> str:
    """A recording of the sample's first ``lines`` cues, registered with its partition."""
    folder.mkdir()
    cues = (EXAMPLES / "sample_stream.ja.srt").read_text(encoding="utf-8").strip().split("\n\n")[:lines]
    path = folder / "stream.ja.srt"
    path.write_text("\n\n".join(cues) + "\n", encoding="utf-8")
    recording = recording_from_path(path)
    PipelineResource().registry().register(recording)
    instance.add_dynamic_partitions("recordings", [recording.partition_key])
    return recording.partition_key


def test_recording_job_has_one_step_per_asset_and_every_check_on_its_asset():
    job = defs.resolve_job_def("recording_job")
    # expressions may wait for a batch and write nothing, so its check is a step of its own (a check spec's
    # output is required of the asset's step)
    assert sorted(node.name for node in job.graph.node_defs) == sorted([*PER_RECORDING, "expressions_expressions_complete"])
    graph = defs.resolve_asset_graph()
    specs = {key: graph.get_check_spec(key) for key in graph.asset_check_keys}
    found: dict[str, set[str]] = {}
    for key, spec in specs.items():
        if key.asset_key.to_user_string() in {*CHECKS, "expressions"}:
            found.setdefault(key.asset_key.to_user_string(), set()).add(key.name)
            assert spec.description and spec.partitions_def is not None  # in the UI, per recording
    assert found == {**CHECKS, "expressions": {"expressions_complete"}}
    blocking = {key.name for key, spec in specs.items() if spec.blocking}
    assert blocking == {"transcript_not_empty"}
    reads = {key.name: {d.asset_key.to_user_string() for d in spec.additional_deps} for key, spec in specs.items()}
    assert reads["transcript_times_valid"] == {"recordings"} and reads["expressions_complete"] == {"transcripts"}
    assert reads["shorts_playable"] == {"recordings"}


def test_checks_are_evaluated_in_the_step_and_recorded_per_recording(instance, tmp_path):
    keys = [subtitle_recording(instance, tmp_path / f"rec{i}", lines) for i, lines in enumerate((6, 9))]
    for key in keys:
        result = dg.materialize([ingestion.recordings, ingestion.transcripts], partition_key=key, instance=instance,
                                resources=build_resources())
        assert result.success
        evaluations = {c.check_name: c for c in result.get_asset_check_evaluations()}
        assert set(evaluations) == CHECKS["transcripts"] and all(c.partition == key for c in evaluations.values())
        assert all(c.passed for c in evaluations.values())
        assert evaluations["transcript_not_empty"].metadata["segments"].value == (6 if key == keys[0] else 9)
        assert evaluations["transcript_mostly_japanese"].severity == dg.AssetCheckSeverity.WARN
    storage = instance.event_log_storage
    for name in CHECKS["transcripts"]:
        check_key = dg.AssetCheckKey(dg.AssetKey("transcripts"), name)
        for key, segments in zip(keys, (6, 9)):
            (record,) = storage.get_asset_check_execution_history(check_key, limit=5,
                                                                  partition_filter=PartitionKeyFilter(key=key))
            evaluation = record.event.dagster_event.event_specific_data
            assert evaluation.passed and evaluation.partition == key
            assert evaluation.target_materialization_data is not None  # it looked at this recording's transcript
            if name == "transcript_not_empty":
                assert evaluation.metadata["segments"].value == segments


def test_a_failing_blocking_check_stops_what_follows(instance, tmp_path, monkeypatch):
    key = subtitle_recording(instance, tmp_path / "rec", 6)
    monkeypatch.setattr(ingestion, "transcript_not_empty", lambda transcripts: dg.AssetCheckResult(
        check_name="transcript_not_empty", passed=False, metadata={"segments": 0}))
    from aivlingual_assets.assets import analysis

    result = dg.materialize([ingestion.recordings, ingestion.transcripts, analysis.expressions], partition_key=key,
                            instance=instance, resources=build_resources(), raise_on_error=False)
    assert not result.success
    assert result.asset_materializations_for_node("transcripts")  # kept: the check looked at it
    assert not result.asset_materializations_for_node("expressions")
    failed = {c.check_name for c in result.get_asset_check_evaluations() if not c.passed}
    assert failed == {"transcript_not_empty"}
