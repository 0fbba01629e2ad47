"""The UI's view of a home where `aivlingual process` ran: Dagster's GraphQL API over the workspace the UI loads.

`graphql` answers as the webserver would (the same schema, the same code location loaded from
workspace.yaml in a code server of its own), without a browser or a webserver.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest

from ..conftest import _ISOLATED_ENV

ROOT = Path(__file__).resolve().parents[2]
LOCATION, REPOSITORY = "aivlingual_assets", "__repository__"  # as workspace.yaml names them


@pytest.fixture(scope="session")
def processed_home(tmp_path_factory) -> dict[str, str]:
    """The environment of a home where `aivlingual process` ran on the sample's subtitles (recording and stock)."""
    base = tmp_path_factory.mktemp("processed")
    env = {k: v for k, v in os.environ.items() if k not in _ISOLATED_ENV}
    env.update(AIVLINGUAL_HOME=str(base / "home"), DAGSTER_HOME=str(base / "dagster"))
    source = base / "stream.ja.srt"
    source.write_text((ROOT / "examples" / "sample_stream.ja.srt").read_text(encoding="utf-8"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "aivlingual_assets.cli", "process", str(source)], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=400)
    assert done.returncode == 0, done.stdout
    env["PROCESS_OUTPUT"] = done.stdout
    return env


@pytest.fixture(scope="session")
def graphql(processed_home) -> Iterator[Callable[..., dict]]:
    """``graphql(query, **variables)`` -> the data the UI would get for that query."""
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import WorkspaceFileTarget
    from dagster_graphql.test.utils import execute_dagster_graphql

    with pytest.MonkeyPatch.context() as patch:
        for name in ("AIVLINGUAL_HOME", "DAGSTER_HOME"):
            patch.setenv(name, processed_home[name])
        with dg.DagsterInstance.from_config(processed_home["DAGSTER_HOME"]) as instance, WorkspaceProcessContext(
                instance, WorkspaceFileTarget(paths=[str(ROOT / "workspace.yaml")])) as process_context:

            def query(text: str, **variables) -> dict:
                result = execute_dagster_graphql(process_context.create_request_context(), text, variables)
                return result.data

            yield query
