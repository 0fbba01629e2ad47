"""Publishing the vocabulary stock to a public Notion database, idempotently.

An expression is one Notion page, ever.  Its identity is the stock's ``key``
(stored in the ``Key`` property), and the local :class:`SyncStore` remembers
key → page id plus a hash of the exact properties payload last sent, so:

* same hash → nothing to do, no API call;
* different hash → update that page;
* no local record → look for a page with that Key in Notion and adopt it
  (the store was lost, or a previous run crashed between create and record);
* otherwise create the page and record it *immediately*.

A page we recorded whose key is no longer in the stock (its recording was analysed again,
or removed, and the stock replaced its rows) is moved to Notion's trash and recorded as
archived; if the key comes back, the same page is restored and updated, so what people set on
it (Review, Rating) is kept.  Notion deletes trashed pages after 30 days: a key that comes
back later gets a new page.  Pages we never recorded
(made by people, or by another tool) are never touched, and an empty stock removes nothing:
that is far more often a broken input than a wish to empty the database.

Looking up pages for keys without a record is a hybrid, chosen for cost: a few
keys (the daily case: new expressions) are looked up with ``or`` filters on Key,
20 keys per query, so cost follows the number of new rows; many keys (first
sync, lost store) use one paginated scan of the data source (100 pages per
request), so cost follows the database size instead of thousands of queries.
When the store is complete no lookup happens at all.

Only one sync may write to a data source at a time (the Dagster job runs in a
single-slot concurrency pool); Notion has no unique constraint to stop two
concurrent writers from both creating a page.
"""


from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

import pandas as pd

from aivlingual_assets.publishing.notion_api import (
    LOOKUP_BATCH,
    SCAN_THRESHOLD,
    client_secret,
    describe_error,
    find_pages_by_key,
    is_gone,
    make_client,
    query_all_pages,
    redact,
)
from aivlingual_assets.publishing.notion_payload import (
    MAX_KEY_CHARS,
    MAX_MULTI_SELECT,
    MAX_REQUEST_BYTES,
    PREVIEW_COLUMNS,
    REQUIRED_COLUMNS,
    TEXT_BUDGETS,
    PayloadTooLargeError,
    build_properties,
    check_columns,
    check_size,
    content_hash,
    page_key,
    page_matches,
    payload_bytes,
    preview_rows,
    row_key,
)
from aivlingual_assets.publishing.notion_schema import (
    REVIEW_DEFAULT,
    REVIEW_PROPERTY,
    NotionAuthError,
    SchemaReport,
    access_error,
    ensure_schema,
    normalise_notion_id,
)
from aivlingual_assets.publishing.notion_text import (
    ELLIPSIS,
    MAX_TEXT_OBJECTS,
    OPTION_NAME_LIMIT,
    TEXT_OBJECT_LIMIT,
    URL_LIMIT,
    clean_option_name,
    clean_text,
    grapheme_clusters,
    is_cluster_boundary,
    iter_grapheme_clusters,
    split_rich_text,
    split_text,
    truncate_text,
    utf16_len,
)
from aivlingual_assets.publishing.rate_limit import LogLike, RateLimiter
from aivlingual_assets.publishing.sync_store import SyncStore

# the names below were defined here before the module was split by concept; they stay importable from here
__all__ = [
    "ELLIPSIS",
    "LOOKUP_BATCH",
    "MAX_KEY_CHARS",
    "MAX_MULTI_SELECT",
    "MAX_REQUEST_BYTES",
    "MAX_TEXT_OBJECTS",
    "OPTION_NAME_LIMIT",
    "PREVIEW_COLUMNS",
    "PayloadTooLargeError",
    "REQUIRED_COLUMNS",
    "SCAN_THRESHOLD",
    "SyncReport",
    "TEXT_BUDGETS",
    "TEXT_OBJECT_LIMIT",
    "URL_LIMIT",
    "build_properties",
    "clean_option_name",
    "clean_text",
    "content_hash",
    "find_pages_by_key",
    "grapheme_clusters",
    "is_cluster_boundary",
    "iter_grapheme_clusters",
    "make_client",
    "page_key",
    "page_matches",
    "payload_bytes",
    "preview_rows",
    "query_all_pages",
    "split_rich_text",
    "split_text",
    "sync_vocabulary",
    "truncate_text",
    "utf16_len",
]

_log = logging.getLogger(__name__)

ARCHIVED = "archived"  # the content hash recorded for a page moved to the trash (never a SHA-256)


@dataclass
class SyncReport:
    """Outcome of one sync; safe for logs and run metadata (no secrets)."""

    data_source_id: str
    database_url: str | None = None
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    adopted: int = 0  # pages found in Notion by Key that the store did not know
    archived: int = 0  # pages of keys no longer in the stock, moved to the trash
    restored: int = 0  # archived pages whose keys came back
    failures: list[tuple[str, str]] = field(default_factory=list)
    duplicates: dict[str, list[str]] = field(default_factory=dict)  # key -> extra page ids
    schema: SchemaReport | None = None

    @property
    def link(self) -> str | None:
        return self.database_url

    @property
    def total(self) -> int:
        return self.created + self.updated + self.restored + self.unchanged + self.failed

    def fail(self, key: str, message: str) -> None:
        self.failed += 1
        self.failures.append((key, message))

    def as_metadata(self) -> dict[str, Any]:
        return {
            "data_source_id": self.data_source_id,
            "database_url": self.database_url,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "adopted": self.adopted,
            "archived": self.archived,
            "restored": self.restored,
            "duplicate_keys": len(self.duplicates),
            "first_failures": [f"{k}: {m}" for k, m in self.failures[:20]],
        }


# ----------------------------------------------------------------------------- sync


@dataclass(frozen=True)
class _Planned:
    key: str
    properties: dict[str, Any]
    hash: str



def _plan(stock: pd.DataFrame, report: SyncReport) -> list[_Planned]:
    planned: list[_Planned] = []
    seen: set[str] = set()
    for position, row in enumerate(stock.to_dict("records")):
        key = row_key(row, position)
        if key in seen:
            report.fail(key, "duplicate key in the vocabulary stock (first row kept)")
            continue
        try:
            properties = build_properties(row)
            check_size({"properties": properties})
        except ValueError as exc:
            report.fail(key, f"invalid row: {exc}")
            continue
        seen.add(key)
        planned.append(_Planned(key, properties, content_hash(properties)))
    return planned



class _Syncer:
    def __init__(
        self,
        client: Any,
        data_source_id: str,
        store: SyncStore,
        limiter: RateLimiter,
        log: LogLike,
        report: SyncReport,
    ) -> None:
        self.client = client
        self.ds = data_source_id
        self.store = store
        self.limiter = limiter
        self.log = log
        self.report = report

    def lookup(self, keys: Sequence[str]) -> dict[str, list[dict]]:
        return find_pages_by_key(self.client, self.ds, keys, limiter=self.limiter)

    def update(self, page_id: str, item: _Planned, *, restore: bool = False) -> None:
        extra = {"in_trash": False} if restore else {}
        self.limiter.call(self.client.pages.update, page_id=page_id, properties=item.properties, **extra)
        self.store.record(self.ds, item.key, page_id, item.hash)

    def adopt(self, item: _Planned, pages: list[dict]) -> None:
        page = pages[0]
        if len(pages) > 1:
            extra = [p["id"] for p in pages[1:]]
            self.report.duplicates[item.key] = extra
            self.log.warning("Notion has %d pages for key %r; keeping the oldest %s", len(pages), item.key, page["id"])
        self.report.adopted += 1
        if page_matches(page, item.properties):
            self.store.record(self.ds, item.key, page["id"], item.hash)
            self.report.unchanged += 1
        else:
            self.update(page["id"], item)
            self.report.updated += 1

    def archive(self, key: str, page_id: str) -> None:
        """Trash the page of a key that left the stock and record it as archived (forgotten if already gone)."""
        try:
            self.limiter.call(self.client.pages.update, page_id=page_id, in_trash=True)
        except Exception as exc:
            if not is_gone(exc):
                raise
            self.store.forget(self.ds, key)
        else:
            self.store.record(self.ds, key, page_id, ARCHIVED)
        self.report.archived += 1

    def create(self, item: _Planned) -> None:
        properties = dict(item.properties)
        properties[REVIEW_PROPERTY] = {"select": {"name": REVIEW_DEFAULT}}
        body = {"parent": {"type": "data_source_id", "data_source_id": self.ds}, "properties": properties}
        check_size(body)

        reconciled: list[dict] = []

        def reconcile() -> dict | None:
            # the create may have happened although no answer came back: look before retrying
            pages = self.lookup([item.key]).get(item.key)
            if pages:
                reconciled.append(pages[0])
                return pages[0]
            return None

        page = self.limiter.call(self.client.pages.create, idempotent=False, reconcile=reconcile, **body)
        stale = bool(reconciled) and not page_matches(page, item.properties)
        # record before anything else: a crash from here on must not lead to a second page
        self.store.record(self.ds, item.key, page["id"], "" if stale else item.hash)
        if stale:
            self.update(page["id"], item)
        self.report.created += 1

    def sync(self, item: _Planned, record: Any, known: dict[str, list[dict]] | None) -> None:
        if record is not None:
            if record.content_hash == item.hash:
                self.report.unchanged += 1
                return
            archived = record.content_hash == ARCHIVED
            try:
                self.update(record.page_id, item, restore=archived)
                if archived:
                    self.report.restored += 1
                else:
                    self.report.updated += 1
                return
            except Exception as exc:
                if not is_gone(exc):
                    raise
                self.log.warning("Notion page %s for key %r is gone; looking it up again", record.page_id, item.key)
                self.store.forget(self.ds, item.key)
            known = None
        pages = (known if known is not None else self.lookup([item.key])).get(item.key)
        if pages:
            self.adopt(item, pages)
        else:
            self.create(item)


def sync_vocabulary(
    stock: pd.DataFrame,
    *,
    client: Any,
    data_source_id: str,
    store: SyncStore,
    limiter: RateLimiter | None = None,
    log: LogLike | None = None,
    add_missing_properties: bool = True,
    progress_every: int = 100,
    remove_missing: bool = True,
    empty_on_purpose: bool = False,
) -> SyncReport:
    """Make the Notion data source show the stock: one page per key, only changed pages written.

    Per-row problems end up in ``report.failures``; access problems (401/403, data
    source not found / not shared) raise NotionAccessError / NotionAuthError, and a
    schema that cannot be fixed raises NotionSchemaError — before any page is written.
    With ``remove_missing``, pages recorded for keys no longer in the stock are trashed
    (see the module docstring); an empty stock trashes nothing unless ``empty_on_purpose`` (a
    channel's own database none of whose rows is published any more).
    """
    check_columns(stock)
    log = log or _log
    limiter = limiter or RateLimiter(log=log)
    secret = client_secret(client)
    data_source_id = normalise_notion_id(data_source_id)

    schema = ensure_schema(client, data_source_id, add_missing=add_missing_properties, limiter=limiter)
    report = SyncReport(data_source_id, database_url=schema.database_url, schema=schema)
    planned = _plan(stock, report)
    records = store.load(data_source_id)
    syncer = _Syncer(client, data_source_id, store, limiter, log, report)

    unknown = [item.key for item in planned if item.key not in records]
    known: dict[str, list[dict]] | None = None
    if unknown:
        try:
            known = syncer.lookup(unknown)
        except Exception as exc:
            translated = access_error(exc, f"data source {data_source_id}")
            if translated is not None:
                raise translated from None
            message = redact(describe_error(exc), secret)
            log.warning("Could not look up existing Notion pages (%s); new rows are skipped this run", message)
            planned = [item for item in planned if item.key in records]
            for key in unknown:
                report.fail(key, f"not created: existence check failed ({message})")

    log.info(
        "Notion sync of %d expressions into %s (%d without a local record)",
        len(planned),
        report.database_url or data_source_id,
        len(unknown),
    )
    for index, item in enumerate(planned, start=1):
        try:
            syncer.sync(item, records.get(item.key), known)
        except NotionAuthError:
            raise
        except Exception as exc:
            translated = access_error(exc, f"data source {data_source_id}")
            if isinstance(translated, NotionAuthError):
                raise translated from None
            report.fail(item.key, redact(describe_error(exc), secret))
            log.warning("Notion sync failed for key %r: %s", item.key, report.failures[-1][1])
        if progress_every and index % progress_every == 0:
            log.info(
                "Notion sync %d/%d: %d created, %d updated, %d unchanged, %d failed",
                index,
                len(planned),
                report.created,
                report.updated,
                report.unchanged,
                report.failed,
            )
    if remove_missing:
        _archive_removed(syncer, stock, records, secret, empty_on_purpose=empty_on_purpose)
    log.info(
        "Notion sync done: %d created, %d updated, %d unchanged, %d failed (%d adopted, %d archived, %d restored)",
        report.created,
        report.updated,
        report.unchanged,
        report.failed,
        report.adopted,
        report.archived,
        report.restored,
    )
    return report


def _archive_removed(syncer: _Syncer, stock: pd.DataFrame, records: dict[str, Any], secret: str | None, *,
                     empty_on_purpose: bool = False) -> None:
    """Trash the recorded pages whose keys left the stock (nothing when the stock is empty, unless on purpose)."""
    if stock.empty and not empty_on_purpose:
        if records:
            syncer.log.warning("The vocabulary stock is empty: no Notion page is archived (%d recorded)", len(records))
        return
    present = {row_key(row, position) for position, row in enumerate(stock.to_dict("records"))}
    removed = sorted(key for key, record in records.items() if key not in present and record.content_hash != ARCHIVED)
    if removed:
        syncer.log.info("%d expression(s) left the stock; archiving their Notion pages", len(removed))
    for key in removed:
        try:
            syncer.archive(key, records[key].page_id)
        except Exception as exc:
            translated = access_error(exc, f"data source {syncer.ds}")
            if isinstance(translated, NotionAuthError):
                raise translated from None
            syncer.report.fail(key, f"not archived: {redact(describe_error(exc), secret)}")
            syncer.log.warning("Could not archive the Notion page of key %r: %s", key, syncer.report.failures[-1][1])

