from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def instance(tmp_path):
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as inst:
        yield inst


@pytest.fixture
def sample_copy(tmp_path) -> Path:
    """The bundled sample (media + subtitles) in a folder of its own."""
    folder = tmp_path / "sample"
    folder.mkdir()
    for name in ("sample_stream.mp4", "sample_stream.ja.srt"):
        shutil.copy(EXAMPLES / name, folder / name)
    return folder
