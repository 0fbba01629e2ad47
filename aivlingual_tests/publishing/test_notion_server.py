"""The fake Notion server itself behaves like Notion where our code depends on it."""

from __future__ import annotations

import httpx
import pytest
from notion_client import APIResponseError, Client

from aivlingual_tests.fakes.notion_server import FakeNotionServer


@pytest.fixture
def server():
    with FakeNotionServer(properties={"Name": "title", "Key": "rich_text", "Review": {"select": {"options": []}}}) as fake:
        yield fake


@pytest.fixture
def client(server):
    notion = Client(auth=server.token, base_url=server.url, notion_version="2025-09-03", retry=False)
    yield notion
    notion.close()


def create(client, server, key, title="t"):
    return client.pages.create(
        parent={"type": "data_source_id", "data_source_id": server.data_source_id},
        properties={
            "Name": {"title": [{"text": {"content": title}}]},
            "Key": {"rich_text": [{"text": {"content": key}}]},
        },
    )


def test_pagination_and_filters(server, client):
    for i in range(7):
        create(client, server, f"k{i}")
    seen, cursor, calls = [], None, 0
    while True:
        kwargs = {"data_source_id": server.data_source_id, "page_size": 3}
        if cursor:
            kwargs["start_cursor"] = cursor
        response = client.data_sources.query(**kwargs)
        calls += 1
        seen += [server.values(p["id"])["Key"] for p in response["results"]]
        if not response["has_more"]:
            assert response["next_cursor"] is None
            break
        cursor = response["next_cursor"]
    assert seen == [f"k{i}" for i in range(7)] and calls == 3

    equal = client.data_sources.query(
        data_source_id=server.data_source_id,
        filter={"or": [{"property": "Key", "rich_text": {"equals": "k2"}}, {"property": "Name", "title": {"equals": "nope"}}]},
    )
    assert [server.values(p["id"])["Key"] for p in equal["results"]] == ["k2"]

    with pytest.raises(APIResponseError) as info:
        client.data_sources.query(data_source_id=server.data_source_id, page_size=101)
    assert info.value.status == 400 and info.value.code == "validation_error"


def test_rich_text_limit_is_enforced_in_utf16_units(server, client):
    with pytest.raises(APIResponseError) as info:
        create(client, server, "k", title="😀" * 1001)
    assert info.value.status == 400
    assert "text.content.length should be ≤ `2000`, instead was `2002`" in str(info.value)
    create(client, server, "k", title="😀" * 1000)
    assert len(server.pages()) == 1


def test_commas_in_select_names_are_rejected(server, client):
    page = create(client, server, "k")
    with pytest.raises(APIResponseError, match="commas"):
        client.pages.update(page_id=page["id"], properties={"Review": {"select": {"name": "a,b"}}})


def test_headers_are_validated(server):
    with httpx.Client(base_url=server.url) as http:
        missing = http.get(f"/v1/data_sources/{server.data_source_id}", headers={"Authorization": f"Bearer {server.token}"})
        assert missing.status_code == 400 and missing.json()["code"] == "missing_version"
        wrong = http.get(
            f"/v1/data_sources/{server.data_source_id}",
            headers={"Authorization": "Bearer wrong", "Notion-Version": "2025-09-03"},
        )
        assert wrong.status_code == 401
        assert wrong.json() == {**wrong.json(), "object": "error", "status": 401, "code": "unauthorized"}


def test_human_edits_and_counters(server, client):
    page = create(client, server, "k1")
    server.set_property(page["id"], "Review", "Verified")
    fetched = client.pages.retrieve(page_id=page["id"])
    assert fetched["properties"]["Review"]["select"]["name"] == "Verified"
    assert server.count("POST /v1/pages") == 1 and server.count("GET /v1/pages/{id}") == 1
    assert server.page_writes() == 1


def test_fault_injection(server, client):
    server.inject_429(1, retry_after=3)
    with pytest.raises(APIResponseError) as info:
        client.data_sources.retrieve(data_source_id=server.data_source_id)
    assert info.value.status == 429 and info.value.headers["retry-after"] == "3"
    server.inject_500(1, route="POST /v1/pages")
    with pytest.raises(APIResponseError) as info:
        create(client, server, "k")
    assert info.value.status == 500 and not server.pages()

    server.fail_after(1, commit=True, times=1)
    create(client, server, "a")
    with pytest.raises(httpx.RemoteProtocolError):
        create(client, server, "b")
    create(client, server, "c")
    assert server.keys() == ["a", "b", "c"] and server.dropped == 1
