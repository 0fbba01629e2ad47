"""A Notion database the integration cannot reach fails the asset with advice, not a stack trace (issue 15 #18).

Notion answers 404 ``object_not_found`` both for an id that does not exist and for a database that
was not shared with the integration; either way the user must check the id and the sharing.
"""

from __future__ import annotations

import uuid

import dagster as dg
import pytest

from aivlingual_assets.resources.notion import NotionResource
from aivlingual_tests.fakes.notion_server import FakeNotionServer
from aivlingual_tests.publishing.notion_asset_runs import materialize_notion_entries


def materialize(server: FakeNotionServer, **target: str) -> dg.ExecuteInProcessResult:
    return materialize_notion_entries(NotionResource(token=server.token, base_url=server.url, **target))


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
