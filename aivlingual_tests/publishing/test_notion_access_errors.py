"""A Notion database the integration cannot reach fails the asset with advice, not a stack trace (issue 15 #18).

Notion answers 404 ``object_not_found`` both for an id that does not exist and for a database that
was not shared with the integration; either way the user must check the id and the sharing.
"""

from __future__ import annotations

import json
import uuid

import dagster as dg
import pandas as pd
import pytest

from aivlingual_assets.assets.publishing import notion_entries
from aivlingual_assets.resources.notion import NotionResource
from aivlingual_assets.resources.pipeline import PipelineResource
from aivlingual_tests.fakes.notion_server import FakeNotionServer

STOCK = pd.DataFrame([{
    "key": "k000000000000001", "expression": "推し", "reading": "おし", "meaning": "favourite",
    "category": "vtuber_culture", "level": "slang", "example": "推しが尊い", "count": 1,
    "occurrences": json.dumps([{"recording_title": "sample", "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"}]),
}])


class _StockIO(dg.IOManager):
    """Hands the asset the small stock above as its ``vocabulary`` input."""

    def handle_output(self, context, obj) -> None:  # pragma: no cover - a source asset is never written
        raise NotImplementedError

    def load_input(self, context) -> pd.DataFrame:
        return STOCK


def materialize(server: FakeNotionServer, **target: str) -> dg.ExecuteInProcessResult:
    resource = NotionResource(token=server.token, base_url=server.url, **target)
    return dg.materialize(
        [notion_entries, dg.SourceAsset("vocabulary", io_manager_key="stock_io")],
        resources={"notion": resource, "pipeline": PipelineResource(), "stock_io": _StockIO(),
                   "parquet_io_manager": dg.mem_io_manager},
        raise_on_error=False, selection=[notion_entries])


@pytest.mark.parametrize("target", ["database_id", "data_source_id"])
def test_an_unknown_or_unshared_notion_target_fails_with_advice(aiv_home, target):
    with FakeNotionServer() as server:
        result = materialize(server, **{target: str(uuid.uuid4())})
        assert server.page_writes() == 0
    assert not result.success
    (failure,) = result.get_step_failure_events()
    data = failure.step_failure_data
    assert data.user_failure_data is not None, data.error  # a dg.Failure, not an unexpected exception
    description = data.user_failure_data.description
    assert "404" in description and "NOTION_DATABASE_ID" in description
    assert "share the database with the integration" in description
