"""Verdicts people set in Notion come back to the AI memory rows behind each vocabulary page.

The vocabulary is published with the real publisher (sync_vocabulary) through the real
notion-client to the local fake Notion server; a "person" then edits Review/Rating there.
"""

from __future__ import annotations

import json
from typing import Iterator

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import create_engine

from aivlingual_assets.analysis.stock import stock_key
from aivlingual_assets.assets.learning import review_queue
from aivlingual_assets.learning.review import (
    NotionReviewSettings,
    get_item,
    memory_ids_by_key,
    pull_notion_verdicts,
    pull_verdicts_from_notion,
    record_verdict,
)
from aivlingual_assets.publishing.notion_sync import make_client, sync_vocabulary
from aivlingual_assets.publishing.rate_limit import RateLimiter
from aivlingual_assets.publishing.sync_store import SyncStore
from aivlingual_assets.resources import AICoreResource
from aivlingual_assets.resources.parquet_io_manager import ParquetIOManager
from aivlingual_assets.resources.pipeline import PipelineResource
from aivlingual_tests.fakes.notion_server import FakeNotionServer

from .conftest import add_memory, expression_output

WORDS = {
    "kusa": ("草", "くさ", "lol"),
    "gachi": ("ガチ", "がち", "seriously"),
    "oshi": ("推し", "おし", "favourite"),
    "betsu": ("別", "べつ", "other"),
    "teetee": ("尊い", "とうとい", "precious"),
    "merged": ("てぇてぇ", "てぇてぇ", "precious (slang)"),  # merged into 尊い by the stock
}
KEY = {name: stock_key(lemma, reading) for name, (lemma, reading, _) in WORDS.items()}


def make_stock(names: list[str]) -> pd.DataFrame:
    rows = []
    for name in names:
        lemma, reading, meaning = WORDS[name]
        rows.append({
            "key": KEY[name], "expression": lemma, "lemma": lemma, "reading": reading, "meaning": meaning,
            "category": "slang", "level": "slang", "explanation": "x", "example": f"{lemma}だね",
            "occurrences": json.dumps([{"recording": "rec-1", "recording_title": "雑談", "start": 1.0,
                                        "url": "https://www.youtube.com/watch?v=abcdefghijk&t=1s"}]),
            "count": 1, "first_seen": "2025-01-01", "last_seen": "2025-01-01", "variants": json.dumps([lemma]),
            "alias_keys": json.dumps([KEY["merged"]] if name == "teetee" else []), "theme": "vtuber",
        })
    return pd.DataFrame(rows)


@pytest.fixture
def server() -> Iterator[FakeNotionServer]:
    with FakeNotionServer() as fake:
        yield fake


@pytest.fixture
def published(server, tmp_path):
    """The stock published to the fake Notion; returns {name: page id}."""
    stock = make_stock(["kusa", "gachi", "oshi", "betsu", "teetee"])
    client = make_client(server.token, base_url=server.url)
    store = SyncStore(create_engine(f"sqlite:///{tmp_path / 'sync.sqlite3'}"))
    report = sync_vocabulary(stock, client=client, data_source_id=server.data_source_id, store=store,
                             limiter=RateLimiter(rate=1000, burst=1000))
    client.close()
    assert report.created == len(stock)
    by_key = {server.values(p["id"])["Key"]: p["id"] for p in server.pages()}
    return stock, {name: by_key[KEY[name]] for name in ("kusa", "gachi", "oshi", "betsu", "teetee")}


def settings_for(server) -> NotionReviewSettings:
    return NotionReviewSettings(token=server.token, data_source_id=server.data_source_id, base_url=server.url)


def test_keys_are_recomputed_from_outputs_and_aliases_follow_the_stock(ledger):
    row = add_memory(ledger, "p", expression_output(WORDS["kusa"], WORDS["merged"]))
    mapping = memory_ids_by_key(ledger, aliases={KEY["merged"]: KEY["teetee"]})
    assert mapping == {KEY["kusa"]: {row}, KEY["teetee"]: {row}}


def test_notion_review_flows_back_to_the_rows_that_produced_each_expression(ledger, server, published):
    stock, page = published
    both = add_memory(ledger, "chunk 1", expression_output(WORDS["kusa"], WORDS["gachi"]))
    levels = add_memory(ledger, "levels", {"items": [{"expression": "草", "lemma": "草", "reading": "くさ",
                                                      "level": "slang", "score": 0.9, "method": "llm",
                                                      "reason": "x"}]}, request_type="difficulty.assess")
    oshi = add_memory(ledger, "chunk 2", expression_output(WORDS["oshi"]))
    partial = add_memory(ledger, "chunk 3", expression_output(WORDS["kusa"], WORDS["betsu"]))
    aliased = add_memory(ledger, "chunk 4", expression_output(WORDS["merged"]))
    local = add_memory(ledger, "chunk 5", expression_output(WORDS["oshi"], WORDS["gachi"]))
    record_verdict(ledger, local, "verified", "alice")
    unrelated = add_memory(ledger, "other task", expression_output(WORDS["kusa"]), request_type="shorts.copy")

    # a person reviews in Notion
    server.set_property(page["kusa"], "Review", "Verified")
    server.set_property(page["kusa"], "Rating", 4)
    server.set_property(page["gachi"], "Review", "Verified")
    server.set_property(page["gachi"], "Rating", 5)
    server.set_property(page["oshi"], "Review", "Rejected")
    server.set_property(page["teetee"], "Review", "Verified")

    report = pull_verdicts_from_notion(ledger, settings_for(server), stock=stock)

    a = get_item(ledger, both)
    assert (a.verified, a.rejected, a.use_for_training, a.rating) == (True, False, True, 4)  # lowest rating
    assert a.reviewed_by.startswith("notion:")
    assert get_item(ledger, levels).verified
    b = get_item(ledger, oshi)
    assert (b.verified, b.rejected, b.use_for_training) == (False, True, False)
    p = get_item(ledger, partial)  # 別 is still unreviewed in Notion: no verdict, rating noted
    assert (p.verified, p.rejected, p.rating) == (False, False, 4)
    assert get_item(ledger, aliased).verified  # its key was merged into 尊い's page
    kept = get_item(ledger, local)  # a local verdict is never overwritten from Notion
    assert (kept.verified, kept.rejected, kept.reviewed_by) == (True, False, "alice")
    assert not get_item(ledger, unrelated).verified  # other request types are not mapped
    assert report.rows_verified == 3 and report.rows_rejected == 1 and report.rows_kept_local_verdict == 1
    assert report.pages == 4 and report.pages_unmatched == 0

    # pulling again changes nothing
    again = pull_verdicts_from_notion(ledger, settings_for(server), stock=stock)
    assert again.rows_verified == again.rows_rejected == again.rows_withdrawn == 0

    # the person changes their mind: ガチ back to Unreviewed, 別 rejected
    server.set_property(page["gachi"], "Review", "Unreviewed")
    server.set_property(page["gachi"], "Rating", None)
    server.set_property(page["betsu"], "Review", "Rejected")
    later = pull_verdicts_from_notion(ledger, settings_for(server), stock=stock)
    a = get_item(ledger, both)
    assert (a.verified, a.rejected, a.use_for_training) == (False, False, False)
    assert get_item(ledger, partial).rejected
    assert later.rows_withdrawn == 1 and later.rows_rejected == 1


def test_pages_without_a_matching_output_are_counted_not_guessed(ledger):
    page = {"object": "page", "id": "p1", "last_edited_time": "2025-01-01T00:00:00.000Z",
            "last_edited_by": {"object": "user", "id": "user-123"},
            "properties": {"Key": {"type": "rich_text", "rich_text": [{"plain_text": "feedfacefeedface"}]},
                           "Review": {"type": "select", "select": {"name": "Verified"}},
                           "Rating": {"type": "number", "number": None}}}
    report = pull_notion_verdicts(ledger, [page], {})
    assert report.pages_unmatched == 1 and report.unmatched_keys == ["feedfacefeedface"]
    row = add_memory(ledger, "p", expression_output(WORDS["kusa"]))
    page["properties"]["Key"]["rich_text"][0]["plain_text"] = KEY["kusa"]
    pull_notion_verdicts(ledger, [page], {KEY["kusa"]: {row}})
    item = get_item(ledger, row)
    assert item.verified and item.reviewed_by == "notion:user-123"


def test_review_queue_asset_pulls_from_notion_when_configured(ledger, server, published, monkeypatch):
    stock, page = published
    row = add_memory(ledger, "chunk", expression_output(WORDS["kusa"]), usage_count=3)
    pending = add_memory(ledger, "chunk b", expression_output(WORDS["betsu"]), usage_count=2)
    server.set_property(page["kusa"], "Review", "Verified")
    resources = {"ai": AICoreResource(), "pipeline": PipelineResource(), "parquet_io_manager": ParquetIOManager()}
    PipelineResource().frames().write(stock, "vocabulary")

    unconfigured = dg.materialize([review_queue], resources=resources)
    md = unconfigured.asset_materializations_for_node("review_queue")[0].metadata
    assert "not configured" in md["notion_pull"].value and "NOTION_TOKEN" in md["notion_pull"].value
    assert not get_item(ledger, row).verified

    monkeypatch.setenv("NOTION_TOKEN", server.token)
    monkeypatch.setenv("NOTION_DATABASE_ID", server.database_id)
    monkeypatch.setenv("NOTION_BASE_URL", server.url)
    result = dg.materialize([review_queue], resources=resources)
    assert result.success
    md = result.asset_materializations_for_node("review_queue")[0].metadata
    assert md["notion_pull"].value == "done" and md["notion/rows_verified"].value == 1
    assert md["queue"].value == 1 and md["outputs/verified"].value == 1
    assert server.token not in json.dumps({k: str(v.value) for k, v in md.items()})
    assert get_item(ledger, row).verified
    queue = result.output_for_node("review_queue")
    assert queue["id"].tolist() == [pending]
