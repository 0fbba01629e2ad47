"""The Notion token never leaks, even when the server repeats it in its error messages (issue 15 #12).

A careless server or proxy may echo the Authorization header in an error.  The error then travels
into the run's event log (Dagster run storage), the compute logs and the command line's output.
The fake Notion server is made to echo the token on every error path of a sync, and every file
written and everything printed is searched for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from notion_client.errors import HTTPResponseError

from aivlingual_assets.publishing.notion_api import make_client
from aivlingual_assets.resources.notion import NotionResource
from aivlingual_tests.fakes.notion_server import FakeNotionServer
from aivlingual_tests.publishing.notion_asset_runs import materialize_notion_entries

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "secret_aivNOTIONecho7f3a9c2e41"

def files_holding(secret: str, *folders: Path) -> list[str]:
    return [str(path) for folder in folders for path in folder.rglob("*")
            if path.is_file() and secret.encode() in path.read_bytes()]


# (route that fails, status, code): every request the sync makes, in the order it makes them
ERROR_PATHS = [
    ("GET /v1/databases/{id}", 400, "validation_error"),  # resolving the database to its data source
    ("GET /v1/data_sources/{id}", 503, "service_unavailable"),  # reading the schema (retried, then fatal)
    ("PATCH /v1/data_sources/{id}", 400, "validation_error"),  # adding the missing properties
    ("POST /v1/data_sources/{id}/query", 400, "validation_error"),  # looking up pages by Key
    ("POST /v1/pages", 400, "validation_error"),  # creating a page (a per-row failure)
]


@pytest.mark.parametrize(("route", "status", "code"), ERROR_PATHS, ids=[r for r, _, _ in ERROR_PATHS])
def test_an_echoed_token_is_in_no_log_run_storage_or_compute_log(tmp_path, aiv_home, capfd, route, status, code):
    instance_dir = tmp_path / "dagster_home"
    instance_dir.mkdir()
    with FakeNotionServer(token=TOKEN, echo_token=True) as server, \
            dg.DagsterInstance.local_temp(str(instance_dir)) as instance:
        server.inject_error(99, status, code, "The request failed.", route=route)
        result = materialize_notion_entries(
            NotionResource(token=TOKEN, base_url=server.url, database_id=server.database_id), instance=instance)
        assert server.responses[(route, status)] > 0  # the server did echo the token at least once
        logged = [f"{entry.user_message} {entry.dagster_event!r}" for entry in instance.all_logs(result.run_id)]
    printed = capfd.readouterr()
    assert TOKEN not in printed.out + printed.err
    assert files_holding(TOKEN, instance_dir, aiv_home) == []
    assert not any(TOKEN in line for line in logged)
    assert any("Authorization: Bearer ***" in line for line in logged)  # the message is kept, minus the token


def test_a_rejected_token_echoed_back_is_redacted(aiv_home):
    """401: the server answers with the token it was sent, which is ours (not the one it expects)."""
    with FakeNotionServer(token="secret_the_right_one_0000", echo_token=True) as server:
        client = make_client(TOKEN, base_url=server.url)
        with pytest.raises(HTTPResponseError) as info:
            client.databases.retrieve(database_id=server.database_id)
    error = info.value
    assert error.status == 401
    assert TOKEN not in f"{error} {error.body} {error.additional_data} {dict(error.headers)} {error!r}"
    assert "Bearer ***" in str(error)


@pytest.mark.slow
def test_the_command_line_prints_and_stores_no_echoed_token(tmp_path):
    """`aivlingual process` end to end, Notion failing with the token in its message."""
    sample = tmp_path / "in"
    sample.mkdir()
    shutil.copy(ROOT / "examples" / "sample_stream.ja.srt", sample / "s.ja.srt")
    home, dagster_home = tmp_path / "home", tmp_path / "dagster_home"
    home.mkdir()
    with FakeNotionServer(token=TOKEN, echo_token=True) as notion:
        notion.inject_error(99, 400, "validation_error", "The request failed.", route="GET /v1/databases/{id}")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OPENAI_", "GEMINI_", "GOOGLE_", "NOTION_", "AIVLINGUAL_", "DAGSTER_"))}
        env.update(DAGSTER_HOME=str(dagster_home), AIVLINGUAL_HOME=str(home), NOTION_TOKEN=TOKEN,
                   NOTION_BASE_URL=notion.url, NOTION_DATABASE_ID=notion.database_id)
        done = subprocess.run([sys.executable, "-m", "aivlingual_assets.cli", "process", str(sample / "s.ja.srt")],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        assert notion.responses[("GET /v1/databases/{id}", 400)] > 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "notion_entries" in done.stdout  # the failure is reported ...
    assert TOKEN not in done.stdout and TOKEN not in done.stderr  # ... without the token
    assert files_holding(TOKEN, home, dagster_home) == []
