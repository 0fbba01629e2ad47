"""Publishing the vocabulary stock to a public Notion database, idempotently.

An expression is one Notion page, ever.  Its identity is the stock's ``key``
(stored in the ``Key`` property), and the local :class:`SyncStore` remembers
key → page id plus a hash of the exact properties payload last sent, so:

* same hash → nothing to do, no API call;
* different hash → update that page;
* no local record → look for a page with that Key in Notion and adopt it
  (the store was lost, or a previous run crashed between create and record);
* otherwise create the page and record it *immediately*.

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

import hashlib
import json
import logging
import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Iterator, Mapping, Sequence
from urllib.parse import urlparse

import numpy as np
import pandas as pd
from notion_client import Client
from notion_client.constants import DEFAULT_BASE_URL
from notion_client.errors import HTTPResponseError

from aivlingual_assets.publishing.notion_schema import (
    KEY_PROPERTY,
    NOTION_VERSION,
    REVIEW_DEFAULT,
    REVIEW_PROPERTY,
    SYNCED_PROPERTIES,
    TITLE_PROPERTY,
    NotionAuthError,
    SchemaReport,
    access_error,
    ensure_schema,
    normalise_notion_id,
)
from aivlingual_assets.publishing.rate_limit import LogLike, RateLimiter
from aivlingual_assets.publishing.sync_store import SyncStore

__all__ = [
    "MAX_REQUEST_BYTES",
    "PayloadTooLargeError",
    "SyncReport",
    "build_properties",
    "content_hash",
    "grapheme_clusters",
    "iter_grapheme_clusters",
    "make_client",
    "preview_rows",
    "split_rich_text",
    "sync_vocabulary",
    "utf16_len",
]

_log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- limits
# Notion: 2,000 characters per text object, 100 text objects per rich_text array,
# 100 characters per select option name, 2,000 per URL, 500 KB per request body.
# Lengths are measured in UTF-16 code units (what JavaScript's length counts), which
# is never less than the number of code points, so we stay inside either reading.
TEXT_OBJECT_LIMIT = 2000
MAX_TEXT_OBJECTS = 100
OPTION_NAME_LIMIT = 100
MAX_MULTI_SELECT = 100
URL_LIMIT = 2000
MAX_REQUEST_BYTES = 256_000  # well below Notion's 500 KB
MAX_KEY_CHARS = 512

# per-property text budgets (UTF-16 units): generous for real data, and six of them at
# 3 bytes per unit stay far below MAX_REQUEST_BYTES
TEXT_BUDGETS: Mapping[str, int] = {
    TITLE_PROPERTY: 2000,
    "Reading": 2000,
    "English": 6000,
    "Context": 6000,
    "Source": 4000,
}

REQUIRED_COLUMNS = ("key", "expression")
ELLIPSIS = "…"


class PayloadTooLargeError(ValueError):
    """A page payload would exceed our request-size budget."""


# ----------------------------------------------------------------------------- text


def utf16_len(text: str) -> int:
    """Length as Notion's JavaScript backend counts it (astral characters count 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


_ZWJ = "\u200d"

# extenders besides combining marks (General_Category Mn / Me / Mc)
_EXTRA_EXTENDERS = (
    (0x200C, 0x200C),  # ZWNJ
    (0xFE00, 0xFE0F),  # variation selectors (emoji / text presentation)
    (0xFF9E, 0xFF9F),  # half-width katakana (semi-)voiced marks
    (0x1160, 0x11FF),  # Hangul medial / final jamo
    (0xD7B0, 0xD7FF),
    (0x1F3FB, 0x1F3FF),  # emoji skin-tone modifiers
    (0xE0020, 0xE007F),  # tag characters (subdivision flags)
    (0xE0100, 0xE01EF),  # ideographic variation selectors (異体字セレクタ)
)
# blocks without any combining mark, skipped when scanning (CJK, Hangul syllables, surrogates, PUA)
_NO_MARKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xD800, 0xF8FF))


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Regexes for one grapheme cluster and for one extender; built once (scans ~70k code points)."""
    ranges: list[tuple[int, int]] = list(_EXTRA_EXTENDERS)
    run_start: int | None = None
    cp = 0x300
    while cp <= 0x1FFFF:
        skip = next((hi for lo, hi in _NO_MARKS if lo <= cp <= hi), None)
        if skip is not None:
            if run_start is not None:
                ranges.append((run_start, cp - 1))
                run_start = None
            cp = skip + 1
            continue
        is_mark = unicodedata.category(chr(cp)) in ("Mn", "Me", "Mc")
        if is_mark and run_start is None:
            run_start = cp
        elif not is_mark and run_start is not None:
            ranges.append((run_start, cp - 1))
            run_start = None
        cp += 1
    if run_start is not None:
        ranges.append((run_start, 0x1FFFF))
    ext = "".join(re.escape(chr(lo)) + ("-" + re.escape(chr(hi)) if hi > lo else "") for lo, hi in sorted(ranges))
    ri = "\U0001F1E6-\U0001F1FF"
    cluster = re.compile(rf"\r\n|[\r\n]|[{ri}][{ri}](?:[{ext}])*|[^\r\n](?:[{ext}]|{_ZWJ}[^\r\n]?)*")
    return cluster, re.compile(rf"[{ext}{_ZWJ}]")


def iter_grapheme_clusters(text: str) -> Iterator[str]:
    """User-perceived characters (simplified UAX #29), lazily."""
    return (m.group() for m in _patterns()[0].finditer(text))


def grapheme_clusters(text: str) -> list[str]:
    """User-perceived characters (simplified UAX #29): never cut inside one of these.

    Keeps together CR LF, base + combining marks (か + ゚), emoji with variation
    selectors, skin tones and ZWJ sequences, keycaps, and regional-indicator flags.
    """
    return list(iter_grapheme_clusters(text))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(value: Any) -> str:
    """Text safe to send: str, NFC, unified newlines, no control chars or lone surrogates."""
    if _is_missing(value):
        return ""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    text = _LONE_SURROGATE.sub("\ufffd", text)
    text = _CONTROL.sub("", text)
    return unicodedata.normalize("NFC", text).strip()


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def is_cluster_boundary(text: str, index: int) -> bool:
    """May ``text`` be cut before ``text[index]`` without splitting a grapheme cluster?"""
    if index <= 0 or index >= len(text):
        return True
    before, after = text[index - 1], text[index]
    if before == "\r" and after == "\n":
        return False
    if before in "\r\n" or after in "\r\n":
        return True
    if before == _ZWJ or _patterns()[1].match(after):
        return False
    if _is_regional_indicator(before) and _is_regional_indicator(after):
        run = 0
        while index - run - 1 >= 0 and _is_regional_indicator(text[index - run - 1]):
            run += 1
        return run % 2 == 0  # flags are pairs counted from the start of the run
    return True


def _fit(text: str, start: int, limit: int) -> int:
    """An end index so that text[start:end] is at most ``limit`` UTF-16 units (near-maximal)."""
    end = min(len(text), start + limit)
    units = utf16_len(text[start:end])
    while units > limit:  # astral characters count twice
        end -= max(1, (units - limit + 1) // 2)
        units = utf16_len(text[start:end])
    return end


def _cut(text: str, start: int, limit: int) -> int:
    """End of the longest chunk from ``start`` within ``limit`` that ends on a cluster boundary."""
    end = _fit(text, start, limit)
    if end >= len(text):
        return len(text)
    boundary = end
    while boundary > start and not is_cluster_boundary(text, boundary):
        boundary -= 1
    # one cluster longer than the limit (stacked marks): cut between code points, which in
    # Python never splits a surrogate pair
    return boundary if boundary > start else max(end, start + 1)


def truncate_text(text: str, max_units: int, *, marker: str = ELLIPSIS) -> str:
    """Cut ``text`` to ``max_units`` UTF-16 units at a grapheme boundary, marking the cut."""
    if utf16_len(text) <= max_units:
        return text
    budget = max(0, max_units - utf16_len(marker))
    end = _cut(text, 0, budget) if budget else 0
    return text[:end] + marker


def split_text(text: str, limit: int = TEXT_OBJECT_LIMIT) -> list[str]:
    """Chunks of at most ``limit`` UTF-16 units, cut only between grapheme clusters."""
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = _cut(text, start, limit)
        chunks.append(text[start:end])
        start = end
    return chunks


def split_rich_text(
    text: str, *, limit: int = TEXT_OBJECT_LIMIT, max_objects: int = MAX_TEXT_OBJECTS
) -> list[dict[str, Any]]:
    """A Notion rich_text array for ``text``: several text objects if it is long."""
    if not text:
        return []
    if utf16_len(text) > limit * max_objects:
        text = truncate_text(text, limit * max_objects)
    chunks = split_text(text, limit)
    if len(chunks) > max_objects:  # clusters left gaps at chunk ends: make room
        chunks = split_text(truncate_text(text, limit * (max_objects - 1)), limit)[:max_objects]
    return [{"type": "text", "text": {"content": chunk}} for chunk in chunks]


def clean_option_name(value: Any) -> str:
    """A select / multi_select option name: no commas (Notion forbids them), ≤ 100 units."""
    text = clean_text(value).replace(",", " ")
    text = " ".join(text.split())
    return truncate_text(text, OPTION_NAME_LIMIT, marker="")


# ----------------------------------------------------------------------------- row values


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (str, bytes, list, tuple, dict, set)):
        return False
    try:
        result = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return bool(result) if isinstance(result, (bool, np.bool_)) else False


def _get(row: Any, column: str) -> Any:
    try:
        return row.get(column)
    except AttributeError:
        return getattr(row, column, None)


def _plain(value: Any) -> str:
    """A scalar cell as text (3.0 → "3": levels and counts arrive as floats after NaN)."""
    if _is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(value)


def _occurrences(value: Any) -> list[dict[str, Any]]:
    if _is_missing(value):
        return []
    if isinstance(value, (str, bytes)):
        if not value.strip():
            return []
        try:
            items = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"occurrences is not valid JSON ({exc.msg})") from None
    else:
        items = value.tolist() if hasattr(value, "tolist") else value
    if not isinstance(items, (list, tuple)):
        raise ValueError("occurrences must be a JSON list")
    return [item for item in items if isinstance(item, Mapping)]


def _http_url(value: Any) -> str | None:
    text = clean_text(value)
    if not text or utf16_len(text) > URL_LIMIT:
        return None
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return None
    return text


def _count(value: Any, fallback: int) -> int:
    if _is_missing(value) or (isinstance(value, str) and not value.strip()):
        return fallback
    try:
        number = float(value)
    except (TypeError, ValueError):
        return fallback
    return int(number) if math.isfinite(number) else fallback


def _rich(text: str, budget: int) -> list[dict[str, Any]]:
    return split_rich_text(truncate_text(text, budget))


def _select(name: str) -> dict[str, str] | None:
    return {"name": name} if name else None


def build_properties(row: Mapping[str, Any] | pd.Series) -> dict[str, Any]:
    """The exact Notion ``properties`` payload for one stock row (sync-owned properties only).

    Review / Rating are not included: people own them in Notion.
    """
    key = _get(row, "key")
    key = "" if _is_missing(key) else str(key)
    if not key.strip():
        raise ValueError("row has no key")
    if len(key) > MAX_KEY_CHARS or _CONTROL.search(key) or _LONE_SURROGATE.search(key):
        raise ValueError(f"key must be ≤ {MAX_KEY_CHARS} printable characters")
    expression = clean_text(_get(row, "expression"))
    if not expression:
        raise ValueError("row has no expression")

    occurrences = _occurrences(_get(row, "occurrences"))
    titles = list(dict.fromkeys(t for t in (clean_text(o.get("recording_title")) for o in occurrences) if t))
    first_url = next((u for u in (_http_url(o.get("url")) for o in occurrences) if u), None)
    category = clean_option_name(_plain(_get(row, "category")))
    level = clean_option_name(_plain(_get(row, "level")))
    theme = clean_option_name(_plain(_get(row, "theme")))
    tags = list(dict.fromkeys(t for t in (theme, category) if t))[:MAX_MULTI_SELECT]

    return {
        TITLE_PROPERTY: {"title": _rich(expression, TEXT_BUDGETS[TITLE_PROPERTY])},
        "Reading": {"rich_text": _rich(clean_text(_get(row, "reading")), TEXT_BUDGETS["Reading"])},
        "English": {"rich_text": _rich(clean_text(_get(row, "meaning")), TEXT_BUDGETS["English"])},
        "Category": {"select": _select(category)},
        "Level": {"select": _select(level)},
        "Context": {"rich_text": _rich(clean_text(_get(row, "example")), TEXT_BUDGETS["Context"])},
        "Source": {"rich_text": _rich("\n".join(titles), TEXT_BUDGETS["Source"])},
        "Timestamp": {"url": first_url},
        "Tags": {"multi_select": [{"name": t} for t in tags]},
        "Occurrences": {"number": _count(_get(row, "count"), len(occurrences))},
        KEY_PROPERTY: {"rich_text": split_rich_text(key)},
    }


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(properties: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a properties payload (what "unchanged" means)."""
    return hashlib.sha256(_canonical_json(properties).encode("utf-8")).hexdigest()


def payload_bytes(body: Mapping[str, Any]) -> int:
    """Request body size as httpx sends it (compact JSON, UTF-8)."""
    return len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _check_size(body: Mapping[str, Any]) -> None:
    size = payload_bytes(body)
    if size > MAX_REQUEST_BYTES:
        raise PayloadTooLargeError(f"page payload is {size} bytes (limit {MAX_REQUEST_BYTES})")


# ----------------------------------------------------------------------------- comparing pages


def _text_of(items: Iterable[Mapping[str, Any]] | None) -> str:
    parts = []
    for item in items or []:
        text = item.get("plain_text")
        if text is None:
            text = (item.get("text") or {}).get("content", "")
        parts.append(text)
    return "".join(parts)


def _normalise_value(value: Mapping[str, Any] | None) -> Any:
    """A property value (request or response form) reduced to what a reader sees."""
    if not value:
        return None
    kind = value.get("type") or next((k for k in value if k in _VALUE_KINDS), None)
    raw = value.get(kind) if kind else None
    if kind in ("title", "rich_text"):
        return _text_of(raw)
    if kind == "select":
        return (raw or {}).get("name") or None
    if kind == "multi_select":
        return [item.get("name") for item in raw or []]
    if kind == "number":
        return None if raw is None else float(raw)
    if kind == "url":
        return raw or None
    return raw


_VALUE_KINDS = ("title", "rich_text", "select", "multi_select", "number", "url")


def page_matches(page: Mapping[str, Any], properties: Mapping[str, Any]) -> bool:
    """True if the page already shows exactly these property values."""
    current = page.get("properties") or {}
    return all(_normalise_value(current.get(name)) == _normalise_value(value) for name, value in properties.items())


def page_key(page: Mapping[str, Any]) -> str:
    return _text_of(((page.get("properties") or {}).get(KEY_PROPERTY) or {}).get("rich_text"))


# ----------------------------------------------------------------------------- client


def make_client(token: str, *, base_url: str | None = None, timeout_ms: int = 30_000) -> Client:
    """A notion-client pinned to API 2025-09-03, with its own retries off (RateLimiter retries)."""
    if not token:
        raise ValueError("a Notion token is required (NOTION_TOKEN); use preview_rows() without one")
    return Client(
        auth=token,
        base_url=(base_url or DEFAULT_BASE_URL).rstrip("/"),
        notion_version=NOTION_VERSION,
        retry=False,
        timeout_ms=timeout_ms,
        logger=logging.getLogger("aivlingual.notion_client"),
        log_level=logging.ERROR,
    )


def _client_secret(client: Any) -> str | None:
    auth = getattr(getattr(client, "options", None), "auth", None)
    return auth if isinstance(auth, str) and len(auth) >= 4 else None


def _redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    prefix = f"{type(exc).__name__}" + (f" {status}" if status else "")
    return f"{prefix}: {exc}"[:1000]


# ----------------------------------------------------------------------------- lookup

LOOKUP_BATCH = 20  # keys per `or` filter
SCAN_THRESHOLD = 60  # more unknown keys than this: scan the whole data source instead


def query_all_pages(client: Any, limiter: RateLimiter, data_source_id: str, filter_: dict | None) -> list[dict]:
    """Every page of a data source matching ``filter_`` (all of them when None), following cursors."""
    pages: list[dict] = []
    cursor: str | None = None
    while True:
        kwargs: dict[str, Any] = {"data_source_id": data_source_id, "page_size": 100}
        if filter_ is not None:
            kwargs["filter"] = filter_
        if cursor:
            kwargs["start_cursor"] = cursor
        response = limiter.call(client.data_sources.query, **kwargs)
        pages.extend(r for r in response.get("results", []) if r.get("object") == "page")
        cursor = response.get("next_cursor")
        if not response.get("has_more") or not cursor:
            return pages


def find_pages_by_key(
    client: Any, data_source_id: str, keys: Sequence[str], *, limiter: RateLimiter
) -> dict[str, list[dict]]:
    """Existing (non-trashed) pages per Key, oldest first; see the module docstring for the strategy."""
    wanted = set(keys)
    if not wanted:
        return {}
    if len(wanted) > SCAN_THRESHOLD:
        pages = query_all_pages(client, limiter, data_source_id, None)
    else:
        ordered = sorted(wanted)
        pages = []
        for start in range(0, len(ordered), LOOKUP_BATCH):
            batch = ordered[start : start + LOOKUP_BATCH]
            conditions = [{"property": KEY_PROPERTY, "rich_text": {"equals": k}} for k in batch]
            filter_ = conditions[0] if len(conditions) == 1 else {"or": conditions}
            pages.extend(query_all_pages(client, limiter, data_source_id, filter_))
    found: dict[str, list[dict]] = {}
    seen: set[str] = set()
    for page in pages:
        if page.get("in_trash") or page.get("archived") or page.get("id") in seen:
            continue
        key = page_key(page)
        if key in wanted:  # `equals` may be looser than exact; we compare exactly here
            seen.add(page["id"])
            found.setdefault(key, []).append(page)
    for group in found.values():
        group.sort(key=lambda p: (p.get("created_time") or "", p.get("id") or ""))
    return found


# ----------------------------------------------------------------------------- report


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
    failures: list[tuple[str, str]] = field(default_factory=list)
    duplicates: dict[str, list[str]] = field(default_factory=dict)  # key -> extra page ids
    schema: SchemaReport | None = None

    @property
    def link(self) -> str | None:
        return self.database_url

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.failed

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
            "duplicate_keys": len(self.duplicates),
            "first_failures": [f"{k}: {m}" for k, m in self.failures[:20]],
        }


# ----------------------------------------------------------------------------- sync


@dataclass(frozen=True)
class _Planned:
    key: str
    properties: dict[str, Any]
    hash: str


def _check_columns(stock: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in stock.columns]
    if missing:
        raise ValueError(f"vocabulary stock lacks columns: {', '.join(missing)}")


def _plan(stock: pd.DataFrame, report: SyncReport) -> list[_Planned]:
    planned: list[_Planned] = []
    seen: set[str] = set()
    for position, row in enumerate(stock.to_dict("records")):
        raw_key = row.get("key")
        key = f"<row {position}>" if _is_missing(raw_key) else str(raw_key)
        if key in seen:
            report.fail(key, "duplicate key in the vocabulary stock (first row kept)")
            continue
        try:
            properties = build_properties(row)
            _check_size({"properties": properties})
        except ValueError as exc:
            report.fail(key, f"invalid row: {exc}")
            continue
        seen.add(key)
        planned.append(_Planned(key, properties, content_hash(properties)))
    return planned


def _is_gone(exc: BaseException) -> bool:
    """The recorded page was deleted or trashed in Notion."""
    if not isinstance(exc, HTTPResponseError):
        return False
    code = str(getattr(exc.code, "value", exc.code) or "")
    return exc.status == 404 or code == "object_not_found" or (
        exc.status == 400 and "archived" in str(exc).lower()
    )


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

    def update(self, page_id: str, item: _Planned) -> None:
        self.limiter.call(self.client.pages.update, page_id=page_id, properties=item.properties)
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

    def create(self, item: _Planned) -> None:
        properties = dict(item.properties)
        properties[REVIEW_PROPERTY] = {"select": {"name": REVIEW_DEFAULT}}
        body = {"parent": {"type": "data_source_id", "data_source_id": self.ds}, "properties": properties}
        _check_size(body)

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
            try:
                self.update(record.page_id, item)
                self.report.updated += 1
                return
            except Exception as exc:
                if not _is_gone(exc):
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
) -> SyncReport:
    """Make the Notion data source show the stock: one page per key, only changed pages written.

    Per-row problems end up in ``report.failures``; access problems (401/403, data
    source not found / not shared) raise NotionAccessError / NotionAuthError, and a
    schema that cannot be fixed raises NotionSchemaError — before any page is written.
    """
    _check_columns(stock)
    log = log or _log
    limiter = limiter or RateLimiter(log=log)
    secret = _client_secret(client)
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
            message = _redact(_describe(exc), secret)
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
            report.fail(item.key, _redact(_describe(exc), secret))
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
    log.info(
        "Notion sync done: %d created, %d updated, %d unchanged, %d failed (%d adopted)",
        report.created,
        report.updated,
        report.unchanged,
        report.failed,
        report.adopted,
    )
    return report


# ----------------------------------------------------------------------------- preview

PREVIEW_COLUMNS = ("key", *SYNCED_PROPERTIES, "content_hash", "payload_bytes", "error")


def _display(value: Mapping[str, Any]) -> Any:
    normalised = _normalise_value(value)
    if isinstance(normalised, list):
        return ", ".join(str(v) for v in normalised)
    if isinstance(normalised, float) and normalised.is_integer():
        return int(normalised)
    return normalised


def preview_rows(stock: pd.DataFrame) -> pd.DataFrame:
    """What a sync would send, one row per expression (used when no Notion token is set)."""
    _check_columns(stock)
    rows: list[dict[str, Any]] = []
    for position, row in enumerate(stock.to_dict("records")):
        raw_key = row.get("key")
        out: dict[str, Any] = {c: None for c in PREVIEW_COLUMNS}
        out["key"] = f"<row {position}>" if _is_missing(raw_key) else str(raw_key)
        try:
            properties = build_properties(row)
            body = {"properties": properties}
            _check_size(body)
        except ValueError as exc:
            out["error"] = str(exc)
            rows.append(out)
            continue
        for name in SYNCED_PROPERTIES:
            out[name] = _display(properties[name])
        out["content_hash"] = content_hash(properties)
        out["payload_bytes"] = payload_bytes(body)
        rows.append(out)
    frame = pd.DataFrame(rows, columns=list(PREVIEW_COLUMNS))
    frame["Occurrences"] = frame["Occurrences"].astype("Int64")
    frame["payload_bytes"] = frame["payload_bytes"].astype("Int64")
    return frame

