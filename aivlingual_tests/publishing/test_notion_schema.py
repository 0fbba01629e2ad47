"""ensure_schema / resolve_data_source_id through the real notion-client and the fake server."""

from __future__ import annotations

import pytest

from aivlingual_assets.publishing.notion_schema import (
    PROPERTY_SCHEMA,
    NotionAccessError,
    NotionAuthError,
    NotionSchemaError,
    ensure_schema,
    normalise_notion_id,
    notion_url,
    resolve_data_source_id,
)
from aivlingual_assets.publishing.notion_sync import make_client
from aivlingual_tests.fakes.notion_server import FakeNotionServer


def full_schema(**overrides):
    schema = {name: spec.type for name, spec in PROPERTY_SCHEMA.items()}
    schema.update(overrides)
    return {k: v for k, v in schema.items() if v is not None}


def test_adds_missing_properties_in_one_update_and_renames_the_title():
    with FakeNotionServer(properties={"Name": "title", "Reading": "rich_text", "Notes": "rich_text"}) as server:
        client = make_client(server.token, base_url=server.url)
        report = ensure_schema(client, server.data_source_id)

        assert server.count("PATCH /v1/data_sources/{id}") == 1
        assert report.renamed == {"Name": "Japanese"}
        assert "Reading" not in report.added and "Key" in report.added and "Review" in report.added
        assert report.extra == ("Notes",)
        props = server.properties()
        assert {n: p["type"] for n, p in props.items() if n in PROPERTY_SCHEMA} == {
            n: s.type for n, s in PROPERTY_SCHEMA.items()
        }
        assert [o["name"] for o in props["Review"]["select"]["options"]] == ["Unreviewed", "Verified", "Rejected"]
        assert report.database_url == notion_url(server.database_id)

        server.reset_counts()
        again = ensure_schema(client, server.data_source_id)
        assert not again.changed and server.count("PATCH /v1/data_sources/{id}") == 0


def test_reports_exactly_the_missing_properties_when_adding_is_off():
    with FakeNotionServer(properties=full_schema(Reading=None, Rating=None)) as server:
        client = make_client(server.token, base_url=server.url)
        with pytest.raises(NotionSchemaError) as info:
            ensure_schema(client, server.data_source_id, add_missing=False)
        assert info.value.missing == ("Reading", "Rating")
        assert info.value.wrong_type == {}
        assert "Reading (rich_text)" in str(info.value) and "Rating (number)" in str(info.value)
        assert server.count("PATCH /v1/data_sources/{id}") == 0


def test_wrong_types_are_reported_and_never_changed():
    with FakeNotionServer(properties=full_schema(Level="rich_text", Key=None)) as server:
        client = make_client(server.token, base_url=server.url)
        with pytest.raises(NotionSchemaError) as info:
            ensure_schema(client, server.data_source_id)
        assert info.value.wrong_type == {"Level": ("select", "rich_text")}
        assert info.value.missing == ("Key",)
        assert "Level (expected select, found rich_text)" in str(info.value)
        assert server.count("PATCH /v1/data_sources/{id}") == 0
        assert server.properties()["Level"]["type"] == "rich_text"


def test_refused_schema_change_names_the_missing_properties():
    with FakeNotionServer(properties=full_schema(Tags=None), allow_schema_changes=False) as server:
        client = make_client(server.token, base_url=server.url)
        with pytest.raises(NotionSchemaError) as info:
            ensure_schema(client, server.data_source_id)
        assert info.value.missing == ("Tags",)
        assert "restricted_resource" in str(info.value)


def test_resolves_a_database_id_or_url_to_its_data_source():
    with FakeNotionServer() as server:
        client = make_client(server.token, base_url=server.url)
        assert resolve_data_source_id(client, database_id=server.database_id) == server.data_source_id
        pasted = f"https://www.notion.so/team/Vocab-{server.database_id.replace('-', '')}?v=0123456789abcdef0123456789abcdef"
        assert resolve_data_source_id(client, database_id=pasted) == server.data_source_id
        assert resolve_data_source_id(client, data_source_id=server.data_source_id.replace("-", "")) == server.data_source_id
        assert server.count("GET /v1/databases/{id}") == 2
        with pytest.raises(ValueError):
            resolve_data_source_id(client)


def test_access_errors_are_clear_and_token_free():
    with FakeNotionServer() as server:
        bad = make_client("secret_nope_nope_nope", base_url=server.url)
        with pytest.raises(NotionAuthError) as info:
            resolve_data_source_id(bad, database_id=server.database_id)
        assert "NOTION_TOKEN" in str(info.value) and "secret_nope" not in str(info.value)

        client = make_client(server.token, base_url=server.url)
        with pytest.raises(NotionAccessError, match="404") as missing:
            ensure_schema(client, "11111111-1111-1111-1111-111111111111")
        assert not isinstance(missing.value, NotionAuthError)

        server.inject_error(1, 403, "restricted_resource", "Insufficient permissions for this endpoint.")
        with pytest.raises(NotionAuthError, match="403"):
            ensure_schema(client, server.data_source_id)


def test_normalise_notion_id():
    dashed = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    assert normalise_notion_id(dashed.replace("-", "")) == dashed
    assert normalise_notion_id(dashed.upper()) == dashed
    assert normalise_notion_id(f"notion.so/x-{dashed.replace('-', '')}") == dashed
    with pytest.raises(ValueError):
        normalise_notion_id("not-an-id")
