"""The bundled sample analysed once per module (offline, Shorts planned but not cut), for the content assets."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from aivlingual_assets.assets import analysis, ingestion, publishing
from aivlingual_assets.definitions import build_resources
from aivlingual_assets.ingestion.recording import recording_from_path
from aivlingual_assets.resources.pipeline import PipelineResource
from aivlingual_assets.storage.frame_store import FrameStore

from ..conftest import _ISOLATED_ENV

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
UPSTREAM = [ingestion.recordings, ingestion.transcripts, analysis.expressions, analysis.difficulty, publishing.shorts]


@dataclass
class AnalysedSample:
    home: Path
    instance: dg.DagsterInstance
    key: str
    media: Path

    def frames(self) -> FrameStore:
        return FrameStore(self.home / "storage")

    def materialize(self, assets, *, partition_key: str | None = None, resources=None, **kwargs):
        """``assets`` (with their checks) on top of the analysed sample, upstream loaded from storage."""
        return dg.materialize(
            [*UPSTREAM, *assets], selection=[a for a in assets if isinstance(a, dg.AssetsDefinition)],
            partition_key=partition_key if partition_key is not None else self.key, instance=self.instance,
            resources=resources or build_resources(), **kwargs,
        )


@pytest.fixture(scope="module")
def analysed_sample(tmp_path_factory) -> AnalysedSample:
    tmp = tmp_path_factory.mktemp("content")
    with pytest.MonkeyPatch.context() as mp:
        for name in _ISOLATED_ENV:
            mp.delenv(name, raising=False)
        home = tmp / "aivhome"
        home.mkdir()
        mp.setenv("AIVLINGUAL_HOME", str(home))
        folder = tmp / "sample"
        folder.mkdir()
        for name in ("sample_stream.mp4", "sample_stream.ja.srt"):
            shutil.copy(EXAMPLES / name, folder / name)
        recording = recording_from_path(folder / "sample_stream.mp4")
        PipelineResource().registry().register(recording)
        (tmp / "dagster").mkdir()
        with dg.instance_for_test(temp_dir=str(tmp / "dagster")) as instance:
            instance.add_dynamic_partitions("recordings", [recording.partition_key])
            result = dg.materialize(UPSTREAM, partition_key=recording.partition_key, instance=instance,
                                    resources=build_resources(),
                                    run_config={"ops": {"shorts": {"config": {"cut_clips": False}}}})
            assert result.success
            sample = AnalysedSample(home=home, instance=instance, key=recording.partition_key,
                                    media=folder / "sample_stream.mp4")
            yield sample


@pytest.fixture
def sample(analysed_sample, aiv_home, monkeypatch) -> AnalysedSample:
    """The module's analysed sample, its home made current for this test (after the per-test home)."""
    monkeypatch.setenv("AIVLINGUAL_HOME", str(analysed_sample.home))
    return analysed_sample
