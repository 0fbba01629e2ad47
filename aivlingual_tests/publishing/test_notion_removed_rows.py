"""Notion follows the stock when rows leave it (issue 10: re-analysis replaces a recording's rows).

A recording analysed again replaces its rows in the vocabulary stock: some keys disappear, some
change, some are new.  Notion must show the new stock: the pages of keys that left are moved to
the trash (restorable for 30 days), changed pages are updated, new ones created - and nothing
that the sync did not create is touched.  A key that comes back gets its old page back.
"""

from __future__ import annotations

import uuid

import pytest

from aivlingual_assets.publishing.notion_sync import ARCHIVED, make_client, sync_vocabulary
from aivlingual_tests.fakes.notion_server import FakeNotionServer
from aivlingual_tests.publishing.test_notion_sync import FakeClock, make_limiter, make_stock, new_store


@pytest.fixture
def setup():
    with FakeNotionServer() as server:
        client = make_client(server.token, base_url=server.url)
        store = new_store()
        limiter = make_limiter(FakeClock())

        def sync(stock, **kwargs):
            return sync_vocabulary(stock, client=client, data_source_id=server.data_source_id, store=store,
                                   limiter=limiter, **kwargs)

        yield server, store, sync
        client.close()


def live_keys(server: FakeNotionServer) -> set[str]:
    return set(server.keys())


def live_records(store, server: FakeNotionServer) -> set[str]:
    return {k for k, r in store.load(server.data_source_id).items() if r.content_hash != ARCHIVED}


def test_a_reanalysed_recording_archives_removed_rows_updates_changed_and_creates_new(setup):
    server, store, sync = setup
    first = make_stock(8)
    sync(first)
    page_of = {server.values(p["id"])["Key"]: p["id"] for p in server.pages()}

    # the re-analysis: rows 5-7 are gone, row 1 has a better meaning, one new row
    second = make_stock(9).drop(index=[5, 6, 7]).reset_index(drop=True)
    second.loc[1, "meaning"] = "precious (said of two streamers together)"
    server.reset_counts()
    report = sync(second)

    assert (report.created, report.updated, report.archived, report.failed) == (1, 1, 3, 0)
    assert live_keys(server) == set(second["key"])
    trashed = {server.values(p["id"])["Key"] for p in server.pages(include_trashed=True) if p["in_trash"]}
    assert trashed == {"expr-0005", "expr-0006", "expr-0007"}
    assert all(server.page(page_of[k])["in_trash"] for k in trashed)  # the same pages, restorable
    assert server.values(page_of["expr-0001"])["English"] == "precious (said of two streamers together)"
    assert live_records(store, server) == set(second["key"])
    assert report.as_metadata()["archived"] == 3

    server.reset_counts()
    again = sync(second)  # nothing left to do
    assert (again.created, again.updated, again.archived) == (0, 0, 0) and server.page_writes() == 0


def test_pages_the_sync_did_not_create_are_never_archived(setup):
    server, store, sync = setup
    sync(make_stock(3))
    by_hand = server.add_page({"Japanese": "自分で書いたメモ", "Key": "someone-elses"})
    report = sync(make_stock(2))
    assert report.archived == 1
    assert not server.page(by_hand)["in_trash"]


def test_a_page_already_trashed_or_deleted_in_notion_is_no_error(setup):
    server, store, sync = setup
    sync(make_stock(3))
    trashed = next(p["id"] for p in server.pages() if server.values(p["id"])["Key"] == "expr-0002")
    server.trash_page(trashed)  # by a person
    store.record(server.data_source_id, "expr-ghost", str(uuid.uuid4()), "0" * 64)  # deleted for good (404)
    report = sync(make_stock(2))
    assert (report.archived, report.failed) == (2, 0)
    records = store.load(server.data_source_id)
    assert records["expr-0002"].content_hash == ARCHIVED and "expr-ghost" not in records


def test_an_empty_stock_archives_nothing(setup):
    server, store, sync = setup
    sync(make_stock(3))
    report = sync(make_stock(1).iloc[0:0])
    assert report.archived == 0 and len(server.pages()) == 3
    assert store.count(server.data_source_id) == 3


def test_a_key_that_comes_back_gets_its_old_page_back_with_what_people_set_on_it(setup):
    server, store, sync = setup
    sync(make_stock(3))
    page = next(p["id"] for p in server.pages() if server.values(p["id"])["Key"] == "expr-0002")
    server.set_property(page, "Review", "Verified")  # a person's verdict in Notion
    assert sync(make_stock(2)).archived == 1 and server.page(page)["in_trash"]

    back = make_stock(3)
    back.loc[2, "meaning"] = "a better meaning from the new analysis"
    report = sync(back)
    assert (report.restored, report.created, report.archived) == (1, 0, 0)
    assert not server.page(page)["in_trash"] and len(server.pages()) == 3
    values = server.values(page)
    assert values["Review"] == "Verified" and values["English"] == "a better meaning from the new analysis"
    assert live_records(store, server) == set(back["key"])


def test_removal_can_be_turned_off(setup):
    server, store, sync = setup
    sync(make_stock(3))
    report = sync(make_stock(1), remove_missing=False)
    assert report.archived == 0 and len(server.pages()) == 3


def test_a_failed_archive_is_reported_and_retried_next_run(setup):
    server, store, sync = setup
    sync(make_stock(3))
    server.inject_error(1, 400, "validation_error", "The page could not be saved.", route="PATCH /v1/pages/{id}")
    report = sync(make_stock(2))
    assert report.archived == 0 and report.failed == 1 and report.failures[0][0] == "expr-0002"
    assert "expr-0002" in store.load(server.data_source_id)
    server.clear_faults()
    assert sync(make_stock(2)).archived == 1
