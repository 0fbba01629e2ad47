"""sync_vocabulary through the real notion-client against the local fake Notion server."""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Iterator

import pandas as pd
import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from aivlingual_assets.publishing import notion_api, notion_sync
from aivlingual_assets.publishing.notion_schema import NotionAuthError, NotionSchemaError, ensure_schema
from aivlingual_assets.publishing.notion_sync import (
    build_properties,
    make_client,
    preview_rows,
    sync_vocabulary,
)
from aivlingual_assets.publishing.rate_limit import RateLimiter
from aivlingual_assets.publishing.sync_store import SyncStore
from aivlingual_tests.fakes.notion_server import FakeNotionServer

EXPRESSIONS = [
    ("やばい", "やばい", "amazing / terrible", "slang"),
    ("てぇてぇ", "てぇてぇ", "precious (尊い)", "vtuber"),
    ("草", "くさ", "lol", "slang"),
    ("お疲れ様", "おつかれさま", "good work", "greeting"),
    ("推し", "おし", "favourite idol", "fandom"),
    ("ガチ恋", "がちこい", "real love for an idol", "fandom"),
    ("初見", "しょけん", "first-time viewer", "stream"),
    ("乙", "おつ", "thanks for the stream", "stream"),
]


def make_stock(n: int = 12) -> pd.DataFrame:
    """A realistic vocabulary stock with ``n`` rows (stable keys ``expr-0000``...)."""
    rows = []
    for i in range(n):
        expression, reading, meaning, category = EXPRESSIONS[i % len(EXPRESSIONS)]
        occurrences = [
            {
                "recording": f"rec-{i % 3}",
                "recording_title": f"【雑談】Stream {i % 3} 🎤",
                "start": 12.5 * i,
                "url": f"https://www.youtube.com/watch?v=vid{i % 3}&t={i * 12}s",
            },
            {"recording": "rec-x", "recording_title": "【歌枠】Karaoke", "start": 3.0, "url": "https://youtu.be/x?t=3"},
        ]
        rows.append(
            {
                "key": f"expr-{i:04d}",
                "expression": f"{expression}{i}",
                "lemma": expression,
                "reading": reading,
                "meaning": f"{meaning} #{i}",
                "category": category,
                "level": ["N5", "N4", "N3", "N2", "N1"][i % 5],
                "level_score": 1.0 + i % 5,
                "explanation": "explanation",
                "example": f"「{expression}」って言ったよね？ ({i})",
                "occurrences": json.dumps(occurrences, ensure_ascii=False),
                "count": len(occurrences),
                "first_seen": "2025-01-01",
                "last_seen": "2025-02-01",
                "variants": json.dumps([expression]),
                "theme": "vtuber-slang",
            }
        )
    return pd.DataFrame(rows)


class FakeClock:
    """Monotonic clock + sleep that only records: rate limiting without real waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_limiter(clock: FakeClock, **kwargs) -> RateLimiter:
    return RateLimiter(clock=clock, sleep=clock.sleep, **kwargs)


@pytest.fixture
def server() -> Iterator[FakeNotionServer]:
    with FakeNotionServer() as fake:
        yield fake


@pytest.fixture
def client(server: FakeNotionServer):
    notion = make_client(server.token, base_url=server.url)
    yield notion
    notion.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter(clock: FakeClock) -> RateLimiter:
    return make_limiter(clock)


def new_store() -> SyncStore:
    """A store on its own in-memory SQLite (file-backed commits fsync: ~15 ms each)."""
    return SyncStore(
        create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    )


@pytest.fixture
def store() -> SyncStore:
    return new_store()


def run(stock, server, client, store, limiter, **kwargs):
    return sync_vocabulary(
        stock, client=client, data_source_id=server.data_source_id, store=store, limiter=limiter, **kwargs
    )


def assert_one_page_per_key(server: FakeNotionServer, stock: pd.DataFrame) -> None:
    keys = Counter(server.keys())
    duplicates = {k: c for k, c in keys.items() if c > 1}
    assert not duplicates, f"duplicate pages: {duplicates}"
    assert set(keys) == set(stock["key"])


# ----------------------------------------------------------------------------- idempotency


def test_first_sync_creates_one_page_per_row(server, client, store, limiter):
    stock = make_stock(12)
    report = run(stock, server, client, store, limiter)

    assert (report.created, report.updated, report.unchanged, report.failed) == (12, 0, 0, 0)
    assert report.failures == []
    assert report.database_url == "https://www.notion.so/" + server.database_id.replace("-", "")
    assert server.count("POST /v1/pages") == 12
    assert_one_page_per_key(server, stock)
    assert store.count(server.data_source_id) == 12

    page = next(p for p in server.pages() if server.values(p["id"])["Key"] == "expr-0001")
    values = server.values(page["id"])
    assert values["Japanese"] == "てぇてぇ1"
    assert values["Reading"] == "てぇてぇ"
    assert values["English"] == "precious (尊い) #1"
    assert values["Category"] == "vtuber"
    assert values["Level"] == "N4"
    assert values["Context"] == "「てぇてぇ」って言ったよね？ (1)"
    assert values["Source"] == "【雑談】Stream 1 🎤\n【歌枠】Karaoke"
    assert values["Timestamp"] == "https://www.youtube.com/watch?v=vid1&t=12s"
    assert values["Tags"] == ["vtuber-slang", "vtuber"]
    assert values["Occurrences"] == 2
    assert values["Review"] == "Unreviewed"
    assert values["Rating"] is None
    assert store.get(server.data_source_id, "expr-0001").page_id == page["id"]


def test_second_sync_makes_no_page_writes(server, client, store, limiter):
    stock = make_stock(10)
    run(stock, server, client, store, limiter)
    server.reset_counts()

    report = run(stock, server, client, store, limiter)

    assert (report.created, report.updated, report.unchanged, report.failed) == (0, 0, 10, 0)
    assert server.page_writes() == 0
    assert server.count("POST /v1/data_sources/{id}/query") == 0  # complete store: no lookups
    assert server.count() == 1  # only the schema check
    assert len(server.pages()) == 10


def test_changing_one_meaning_updates_exactly_one_page(server, client, store, limiter):
    stock = make_stock(10)
    run(stock, server, client, store, limiter)
    server.reset_counts()
    changed = stock.copy()
    changed.loc[changed["key"] == "expr-0003", "meaning"] = "a brand new meaning"

    report = run(changed, server, client, store, limiter)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 9)
    assert server.count("PATCH /v1/pages/{id}") == 1
    assert server.count("POST /v1/pages") == 0
    page_id = store.get(server.data_source_id, "expr-0003").page_id
    assert server.values(page_id)["English"] == "a brand new meaning"
    assert len(server.pages()) == 10


def test_review_and_rating_set_in_notion_are_never_overwritten(server, client, store, limiter):
    stock = make_stock(3)
    run(stock, server, client, store, limiter)
    page_id = store.get(server.data_source_id, "expr-0002").page_id
    server.set_property(page_id, "Review", "Verified")
    server.set_property(page_id, "Rating", 4)
    changed = stock.copy()
    changed.loc[changed["key"] == "expr-0002", "example"] = "新しい例文"

    report = run(changed, server, client, store, limiter)

    assert report.updated == 1
    values = server.values(page_id)
    assert values["Context"] == "新しい例文"
    assert (values["Review"], values["Rating"]) == ("Verified", 4)


# ----------------------------------------------------------------------------- rate limits, faults


def test_429_storm_honours_retry_after_and_creates_no_duplicates(server, client, store, clock):
    limiter = make_limiter(clock, max_attempts=6)
    stock = make_stock(10)
    server.inject_429(4, retry_after=2, route="POST /v1/pages")
    server.inject_429(3, retry_after=7)

    report = run(stock, server, client, store, limiter)

    assert (report.created, report.failed) == (10, 0)
    assert_one_page_per_key(server, stock)
    assert limiter.stats.rate_limited == 7
    assert clock.sleeps.count(7.0) >= 3 and clock.sleeps.count(2.0) >= 4
    # the bucket is held for Retry-After, so no request goes out early
    assert server.responses[("POST /v1/pages", 429)] == 4


def test_5xx_on_create_is_reconciled_and_retried_without_duplicates(server, client, store, clock):
    limiter = make_limiter(clock)
    stock = make_stock(6)
    server.inject_500(3, route="POST /v1/pages")

    report = run(stock, server, client, store, limiter)

    assert (report.created, report.failed) == (6, 0)
    assert_one_page_per_key(server, stock)
    assert limiter.stats.retries >= 3
    waits = [w for w in clock.sleeps if w >= limiter.backoff_initial / 2]
    assert waits and max(waits) <= limiter.backoff_max


def test_lost_create_responses_are_adopted_not_duplicated(server, client, store, limiter):
    stock = make_stock(8)
    server.fail_after(3, commit=True)  # from the 4th create on, Notion writes but the answer is lost

    report = run(stock, server, client, store, limiter)

    assert (report.created, report.failed) == (8, 0)
    assert server.dropped == 5
    assert_one_page_per_key(server, stock)
    assert store.count(server.data_source_id) == 8


def test_connection_failure_half_way_then_rerun_completes_without_duplicates(server, client, store, clock):
    limiter = make_limiter(clock, max_attempts=3)
    stock = make_stock(10)
    server.fail_after(4)  # then every create dies without an answer (and without a write)

    first = run(stock, server, client, store, limiter)

    assert (first.created, first.failed) == (4, 6)
    assert all("RemoteProtocolError" in message for _, message in first.failures)
    assert len(server.pages()) == 4

    server.clear_faults()
    second = run(stock, server, client, store, limiter)

    assert (second.created, second.unchanged, second.failed) == (6, 4, 0)
    assert_one_page_per_key(server, stock)


def test_crash_between_create_and_record_then_rerun_adopts(server, client, store, limiter):
    stock = make_stock(8)
    original_create = client.pages.create
    calls = {"n": 0}

    def crashing_create(**kwargs):
        page = original_create(**kwargs)
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt("process killed right after Notion answered")
        return page

    client.pages.create = crashing_create
    with pytest.raises(KeyboardInterrupt):
        run(stock, server, client, store, limiter)
    assert len(server.pages()) == 5
    assert store.count(server.data_source_id) == 4  # the 5th page was never recorded

    client.pages.create = original_create
    report = run(stock, server, client, store, limiter)

    assert (report.created, report.adopted, report.failed) == (3, 1, 0)
    assert_one_page_per_key(server, stock)


def test_per_row_failures_are_collected_and_do_not_abort(server, client, store, limiter):
    stock = make_stock(5)
    stock.loc[stock["key"] == "expr-0001", "occurrences"] = "{not json"
    server.inject_error(1, 400, "validation_error", "body failed validation: injected.", route="POST /v1/pages")

    report = run(stock, server, client, store, limiter)

    assert (report.created, report.failed) == (3, 2)
    failed = dict(report.failures)
    assert "occurrences is not valid JSON" in failed["expr-0001"]
    assert any("validation" in m for k, m in report.failures if k != "expr-0001")
    assert report.as_metadata()["failed"] == 2

    stock.loc[stock["key"] == "expr-0001", "occurrences"] = "[]"
    again = run(stock, server, client, store, limiter)
    assert (again.created, again.failed) == (2, 0)
    assert_one_page_per_key(server, stock)


def test_duplicate_keys_in_stock_are_rejected_per_row(server, client, store, limiter):
    stock = make_stock(3)
    stock = pd.concat([stock, stock.iloc[[1]]], ignore_index=True)

    report = run(stock, server, client, store, limiter)

    assert (report.created, report.failed) == (3, 1)
    assert report.failures[0][0] == "expr-0001"
    assert len(server.pages()) == 3


# ----------------------------------------------------------------------------- lost store, adoption


def test_lost_store_adopts_existing_pages_by_key(server, client, store, limiter):
    stock = make_stock(12)
    run(stock, server, client, store, limiter)
    server.reset_counts()

    fresh = new_store()
    report = run(stock, server, client, fresh, limiter)

    assert (report.created, report.updated, report.unchanged, report.adopted) == (0, 0, 12, 12)
    assert server.page_writes() == 0
    assert server.count("POST /v1/data_sources/{id}/query") == 1  # 12 keys: one `or` query
    assert fresh.load(server.data_source_id).keys() == store.load(server.data_source_id).keys()
    assert all(
        fresh.get(server.data_source_id, k).page_id == store.get(server.data_source_id, k).page_id
        for k in stock["key"]
    )
    assert_one_page_per_key(server, stock)


def test_lost_store_scan_paginates_and_updates_changed_pages(server, client, limiter, monkeypatch):
    stock = make_stock(230)
    ensure_schema(client, server.data_source_id)
    for row in stock.to_dict("records"):  # pages made earlier (seeded directly, fast)
        server.add_page(build_properties(row))
    changed = stock.copy()
    changed.loc[changed["key"] == "expr-0100", "meaning"] = "changed while the store was lost"
    store = new_store()
    monkeypatch.setattr(notion_api, "SCAN_THRESHOLD", 60)

    report = run(changed, server, client, store, limiter)

    assert (report.created, report.updated, report.unchanged, report.adopted) == (0, 1, 229, 230)
    assert server.count("POST /v1/data_sources/{id}/query") == 3  # 230 pages, 100 per request
    assert server.count("POST /v1/pages") == 0
    assert len(server.pages()) == 230


def test_few_unknown_keys_are_looked_up_in_batches(server, client, store, limiter, monkeypatch):
    stock = make_stock(45)
    monkeypatch.setattr(notion_api, "SCAN_THRESHOLD", 1000)

    report = run(stock, server, client, store, limiter)

    assert report.created == 45
    assert server.count("POST /v1/data_sources/{id}/query") == 3  # ceil(45 / 20)


def test_duplicate_pages_in_notion_are_reported_and_the_oldest_kept(server, client, store, limiter):
    stock = make_stock(2)
    ensure_schema(client, server.data_source_id)
    first_row = stock.to_dict("records")[0]
    oldest = server.add_page(build_properties(first_row))
    server.add_page(build_properties(first_row))

    report = run(stock, server, client, store, limiter)

    assert report.duplicates == {"expr-0000": [p["id"] for p in server.pages()][1:2]}
    assert store.get(server.data_source_id, "expr-0000").page_id == oldest
    assert report.created == 1 and len(server.pages()) == 3


def test_page_deleted_in_notion_is_recreated_once(server, client, store, limiter):
    stock = make_stock(3)
    run(stock, server, client, store, limiter)
    gone = store.get(server.data_source_id, "expr-0001").page_id
    server.trash_page(gone)
    changed = stock.copy()
    changed.loc[changed["key"] == "expr-0001", "meaning"] = "new"

    report = run(changed, server, client, store, limiter)

    assert (report.created, report.failed) == (1, 0)
    assert store.get(server.data_source_id, "expr-0001").page_id != gone
    assert_one_page_per_key(server, stock)


# ----------------------------------------------------------------------------- payload limits


def test_long_japanese_text_is_split_at_safe_boundaries(server, client, store, limiter):
    stock = make_stock(1)
    # か + U+309A (semi-voiced mark) has no precomposed form, so it survives NFC as two code points
    meaning = "あ" * 1999 + "👍🏽" + "い" * 2500 + "か\u309a" + "🇯🇵" * 300
    example = "え" * 1998 + "👨\u200d👩\u200d👧" + "お" * 100
    stock.loc[0, "meaning"] = meaning
    stock.loc[0, "example"] = example

    report = run(stock, server, client, store, limiter)

    assert (report.created, report.failed) == (1, 0)
    page = server.pages()[0]
    english = page["properties"]["English"]["rich_text"]
    assert "".join(t["plain_text"] for t in english) == meaning
    assert len(english) >= 3
    assert english[0]["plain_text"] == "あ" * 1999  # the emoji + skin tone did not fit: not split
    assert english[1]["plain_text"].startswith("👍🏽")
    context = page["properties"]["Context"]["rich_text"]
    assert "".join(t["plain_text"] for t in context) == example
    assert context[1]["plain_text"].startswith("👨\u200d👩\u200d👧")
    assert server.max_body_seen < notion_sync.MAX_REQUEST_BYTES


def test_oversized_text_is_truncated_to_the_budget(server, client, store, limiter):
    stock = make_stock(1)
    stock.loc[0, "example"] = "長" * 50_000

    report = run(stock, server, client, store, limiter)

    assert report.created == 1
    context = server.values(server.pages()[0]["id"])["Context"]
    assert context.endswith("…") and len(context) == notion_sync.TEXT_BUDGETS["Context"]
    assert server.max_body_seen < 100_000


# ----------------------------------------------------------------------------- access, schema, preview


def test_wrong_token_raises_a_clear_error_without_the_token(server, store, limiter, caplog):
    secret = "secret_WRONG_token_do_not_print_42"
    bad_client = make_client(secret, base_url=server.url)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(NotionAuthError) as info:
        run(make_stock(2), server, bad_client, store, limiter)

    message = str(info.value)
    assert "NOTION_TOKEN" in message and "share the database with the integration" in message
    assert info.value.status == 401
    assert secret not in message and secret not in repr(info.value)
    assert secret not in caplog.text
    assert server.page_writes() == 0


def test_token_revoked_mid_sync_aborts_with_auth_error(server, client, store, limiter):
    server.inject_error(1, 401, "unauthorized", "API token is invalid.", route="POST /v1/pages")

    with pytest.raises(NotionAuthError) as info:
        run(make_stock(4), server, client, store, limiter)
    assert server.token not in str(info.value)


def test_unknown_data_source_is_a_clear_access_error(server, client, store, limiter):
    with pytest.raises(Exception) as info:
        sync_vocabulary(
            make_stock(1),
            client=client,
            data_source_id="00000000-0000-0000-0000-000000000000",
            store=store,
            limiter=limiter,
        )
    assert "404" in str(info.value) and "share the database" in str(info.value)


def test_sync_refuses_an_incomplete_schema_when_adding_is_off(server, client, store, limiter):
    with pytest.raises(NotionSchemaError) as info:
        run(make_stock(2), server, client, store, limiter, add_missing_properties=False)
    assert "Reading (rich_text)" in str(info.value)
    assert server.page_writes() == 0


def test_preview_when_no_token_is_configured():
    stock = make_stock(4)
    stock.loc[2, "occurrences"] = "oops"

    preview = preview_rows(stock)

    assert list(preview["key"]) == list(stock["key"])
    row = preview.iloc[0]
    assert row["Japanese"] == "やばい0" and row["Tags"] == "vtuber-slang, slang"
    assert row["Occurrences"] == 2 and row["payload_bytes"] > 0 and len(row["content_hash"]) == 64
    assert preview.iloc[2]["error"].startswith("occurrences is not valid JSON")
    assert pd.isna(preview.iloc[1]["error"])
    with pytest.raises(ValueError, match="NOTION_TOKEN"):
        make_client("")
