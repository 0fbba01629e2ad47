"""Notion pull-back: the Review/Rating people set on vocabulary pages, copied to the AI outputs behind them.

How a vocabulary page maps to AI memory rows
--------------------------------------------
A Notion page is one expression of the vocabulary stock; its ``Key`` is
``stock_key(lemma, reading)`` (first 16 hex of SHA-256 over the normalised lemma and
reading, see :mod:`aivlingual_assets.analysis.stock`).  The rows that *produced* an
expression are the AI memory rows of the request types in :data:`VERDICT_REQUEST_TYPES`
(``expressions.extract`` - the expression, reading, meaning, explanation, example - and
``difficulty.assess`` - its level) whose JSON output lists an item with that lemma and
reading.  :func:`memory_ids_by_key` recomputes each item's stock key from the stored output;
keys the stock merged into another expression (``alias_keys``) are mapped to the key of
the page that absorbed them.

One memory row covers a whole chunk of transcript and so usually several expressions.
The row's verdict follows the pages of *all* the expressions it produced:

* any of its pages ``Rejected`` -> the row is rejected (it contains a wrong item);
* every one of its pages ``Verified`` -> the row is verified (a person approved every
  part of the output), rating = the lowest rating given on those pages;
* otherwise (some pages still unreviewed, or an expression of the row has no page) the
  row gets no verdict; ratings given so far are recorded as the row's rating (lowest).

Verdicts given locally (CLI) win: Notion never overwrites a row whose verdict came from
somewhere else.  A verdict that came from Notion follows Notion: if a page goes back to
``Unreviewed`` or is rejected later, the row's Notion verdict is withdrawn or changed.
The reviewer is ``notion:<id of the user who last edited the deciding page>``.
Answers the fine-tune gate asked for while evaluating a model are not among those rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..ai.ledger import Ledger, ai_memory
from ..analysis.stock_columns import nested
from .review_items import ReviewError, pipeline_outputs
from .review_log import _ensure_review_log, review_log
from .review_verdicts import RATING_RANGE

__all__ = [
    "NOTION_REVIEWER_PREFIX",
    "VERDICT_REQUEST_TYPES",
    "NotionPullReport",
    "NotionReviewSettings",
    "aliases_from_stock",
    "fetch_notion_review_pages",
    "keys_in_output",
    "memory_ids_by_key",
    "pull_notion_verdicts",
    "pull_verdicts_from_notion",
]

VERDICT_REQUEST_TYPES: tuple[str, ...] = ("expressions.extract", "difficulty.assess")
NOTION_REVIEWER_PREFIX = "notion:"


def _items_of(output_text: str | None) -> list[Mapping[str, Any]]:
    if not output_text:
        return []
    try:
        data = json.loads(output_text)
    except (TypeError, ValueError):
        return []
    items = data.get("items") if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        return []
    return [i for i in items if isinstance(i, Mapping)]


def keys_in_output(output_text: str | None) -> set[str]:
    """Stock keys of the expressions listed in one AI output (``{"items": [{lemma, reading}, ...]}``)."""
    from ..analysis.stock import stock_key

    keys: set[str] = set()
    for item in _items_of(output_text):
        lemma = str(item.get("lemma") or item.get("expression") or "").strip()
        if not lemma:
            continue
        keys.add(stock_key(lemma, str(item.get("reading") or "")))
    return keys


def aliases_from_stock(stock: Any) -> dict[str, str]:
    """alias key -> key of the stock row that absorbed it (from the stock's ``alias_keys``)."""
    aliases: dict[str, str] = {}
    if stock is None or len(stock) == 0 or "alias_keys" not in getattr(stock, "columns", ()):
        return aliases
    for key, raw in zip(stock["key"], stock["alias_keys"]):
        for alias in nested(raw, (), lenient=True):
            if alias and alias != key:
                aliases[str(alias)] = str(key)
    return aliases


def memory_ids_by_key(
    ledger: Ledger,
    *,
    request_types: Sequence[str] = VERDICT_REQUEST_TYPES,
    aliases: Mapping[str, str] | None = None,
) -> dict[str, set[int]]:
    """Stock key -> ids of the AI memory rows whose output produced that expression."""
    aliases = aliases or {}
    mapping: dict[str, set[int]] = {}
    with ledger.connect() as conn:
        rows = conn.execute(
            sa.select(ai_memory.c.id, ai_memory.c.output_text)
            .where(ai_memory.c.request_type.in_(list(request_types)), ai_memory.c.output_text.is_not(None),
                   pipeline_outputs())
            .execution_options(yield_per=500)
        )
        for row in rows:
            for key in keys_in_output(row.output_text):
                canonical = aliases.get(key, key)
                mapping.setdefault(canonical, set()).add(int(row.id))
    return mapping


def _text(prop: Mapping[str, Any] | None) -> str:
    if not prop:
        return ""
    kind = prop.get("type")
    parts = prop.get(kind) if kind else None
    if not isinstance(parts, list):
        return ""
    return "".join(str(p.get("plain_text") or (p.get("text") or {}).get("content") or "") for p in parts)


def _parse_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass
class _PageVerdict:
    page_id: str
    key: str
    review: str | None  # "verified" | "rejected" | None
    rating: int | None
    editor: str
    edited_at: float | None


def _page_verdict(page: Mapping[str, Any], key_property: str, review_property: str,
                  rating_property: str) -> _PageVerdict | None:
    if page.get("in_trash") or page.get("archived"):
        return None
    props = page.get("properties") or {}
    key = _text(props.get(key_property)).strip()
    if not key:
        return None
    review_prop = props.get(review_property) or {}
    option = review_prop.get(review_prop.get("type") or "select") if isinstance(review_prop, Mapping) else None
    name = (option or {}).get("name") if isinstance(option, Mapping) else None
    review = {"verified": "verified", "rejected": "rejected"}.get(str(name or "").strip().lower())
    rating_prop = props.get(rating_property) or {}
    number = rating_prop.get("number") if isinstance(rating_prop, Mapping) else None
    rating: int | None = None
    if isinstance(number, (int, float)) and not isinstance(number, bool):
        rating = min(max(int(round(number)), RATING_RANGE[0]), RATING_RANGE[1])
    editor = ((page.get("last_edited_by") or {}).get("id") or "notion") if isinstance(
        page.get("last_edited_by"), Mapping) else "notion"
    return _PageVerdict(str(page.get("id") or ""), key, review, rating, str(editor),
                        _parse_time(page.get("last_edited_time")))


@dataclass
class NotionPullReport:
    """What one pull changed (counts only: safe for run metadata)."""

    pages: int = 0
    pages_with_verdict: int = 0
    pages_rated: int = 0
    pages_unmatched: int = 0
    rows_verified: int = 0
    rows_rejected: int = 0
    rows_rated: int = 0
    rows_withdrawn: int = 0
    rows_pending: int = 0
    rows_kept_local_verdict: int = 0
    unmatched_keys: list[str] = field(default_factory=list)

    def as_metadata(self, prefix: str = "notion/") -> dict[str, int]:
        return {f"{prefix}{k}": int(v) for k, v in self.__dict__.items() if isinstance(v, int)}


def pull_notion_verdicts(
    ledger: Ledger,
    notion_pages: Iterable[Mapping[str, Any]],
    key_to_memory_ids: Mapping[str, Iterable[int]],
    *,
    key_property: str = "Key",
    review_property: str = "Review",
    rating_property: str = "Rating",
) -> NotionPullReport:
    """Copies the Review/Rating people set on vocabulary pages to the AI memory rows behind them.

    ``notion_pages`` are page objects as the Notion API returns them (every page that has a
    verdict or rating; pages without either may be left out). ``key_to_memory_ids`` is
    :func:`memory_ids_by_key`. See the module docstring for the rules.
    """
    report = NotionPullReport()
    verdicts: dict[str, _PageVerdict] = {}
    for page in notion_pages:
        verdict = _page_verdict(page, key_property, review_property, rating_property)
        if verdict is None:
            continue
        report.pages += 1
        previous = verdicts.get(verdict.key)
        # two pages with one key (a duplicate someone made): the most recently edited one counts
        if previous is None or (verdict.edited_at or 0) >= (previous.edited_at or 0):
            verdicts[verdict.key] = verdict
    keys_of_row: dict[int, set[str]] = {}
    for key, ids in key_to_memory_ids.items():
        for memory_id in ids:
            keys_of_row.setdefault(int(memory_id), set()).add(key)
    for key, verdict in verdicts.items():
        report.pages_with_verdict += verdict.review is not None
        report.pages_rated += verdict.rating is not None
        if key not in key_to_memory_ids or not key_to_memory_ids[key]:
            if verdict.review is not None or verdict.rating is not None:
                report.pages_unmatched += 1
                report.unmatched_keys.append(key)
    affected = {m for key in verdicts for m in key_to_memory_ids.get(key, ())}
    # rows Notion verified earlier must be re-checked even if their pages dropped out of the query
    _ensure_review_log(ledger)
    with ledger.connect() as conn:
        notion_rows = {
            int(r.id) for r in conn.execute(
                sa.select(ai_memory.c.id).where(ai_memory.c.reviewed_by.like(NOTION_REVIEWER_PREFIX + "%"))
            )
        }
    candidates = sorted(affected | notion_rows)
    if not candidates:
        return report
    current: dict[int, Any] = {}
    with ledger.connect() as conn:
        for start in range(0, len(candidates), 500):
            chunk = candidates[start : start + 500]
            for r in conn.execute(
                sa.select(ai_memory.c.id, ai_memory.c.verified, ai_memory.c.rejected, ai_memory.c.rating,
                          ai_memory.c.reviewed_by, ai_memory.c.use_for_training)
                .where(ai_memory.c.id.in_(chunk))
            ):
                current[int(r.id)] = r
    now = time.time()
    # a verdict given at the CLI while this pull runs still wins: every update re-checks it
    still_open = sa.or_(sa.and_(ai_memory.c.verified.is_(False), ai_memory.c.rejected.is_(False)),
                        ai_memory.c.reviewed_by.like(NOTION_REVIEWER_PREFIX + "%"))
    with ledger.begin() as conn:
        for memory_id in candidates:
            row = current.get(memory_id)
            if row is None:
                continue
            from_notion = (row.reviewed_by or "").startswith(NOTION_REVIEWER_PREFIX)
            has_local_verdict = (row.verified or row.rejected) and not from_notion
            keys = keys_of_row.get(memory_id, set())
            pages = [verdicts[k] for k in keys if k in verdicts]
            ratings = [p.rating for p in pages if p.rating is not None]
            rejected = [p for p in pages if p.review == "rejected"]
            all_verified = bool(keys) and len(pages) == len(keys) and all(p.review == "verified" for p in pages)
            if has_local_verdict:
                if rejected or all_verified or ratings:
                    report.rows_kept_local_verdict += 1
                continue
            rating = min(ratings) if ratings else None
            if rejected:
                decider = max(rejected, key=lambda p: p.edited_at or 0)
                outcome = "rejected"
            elif all_verified:
                decider = max(pages, key=lambda p: p.edited_at or 0)
                outcome = "verified"
            else:
                decider = max(pages, key=lambda p: p.edited_at or 0) if pages else None
                outcome = None
            if outcome is not None:
                reviewer = f"{NOTION_REVIEWER_PREFIX}{decider.editor}"[:200]
                unchanged = (bool(row.verified) == (outcome == "verified") and bool(row.rejected) ==
                             (outcome == "rejected") and row.reviewed_by == reviewer and
                             (rating is None or row.rating == rating))
                if unchanged:
                    continue
                values: dict[str, Any] = {
                    "verified": outcome == "verified", "rejected": outcome == "rejected",
                    "use_for_training": outcome == "verified", "reviewed_by": reviewer,
                    "reviewed_at": decider.edited_at or now,
                }
                if rating is not None:
                    values["rating"] = rating
                if not conn.execute(ai_memory.update().where(ai_memory.c.id == memory_id, still_open)
                                    .values(**values)).rowcount:
                    report.rows_kept_local_verdict += 1
                    continue
                conn.execute(review_log.insert().values(
                    memory_id=memory_id, action=outcome, reviewer=reviewer, rating=rating,
                    use_for_training=outcome == "verified", reason=f"notion page {decider.page_id}",
                    source="notion", ts=now))
                if outcome == "verified":
                    report.rows_verified += 1
                else:
                    report.rows_rejected += 1
                continue
            report.rows_pending += 1
            values = {}
            action = None
            if from_notion and (row.verified or row.rejected):
                # the pages that decided it were changed back in Notion: withdraw the Notion verdict
                values.update(verified=False, rejected=False, use_for_training=False)
                action = "withdrawn"
            rated = rating is not None and row.rating != rating and (row.reviewed_by is None or from_notion)
            if rated:
                values["rating"] = rating
                action = action or "rated"
            if not values:
                continue
            reviewer = f"{NOTION_REVIEWER_PREFIX}{decider.editor if decider else 'notion'}"[:200]
            values.update(reviewed_by=reviewer, reviewed_at=(decider.edited_at if decider and decider.edited_at
                                                              else now))
            if not conn.execute(ai_memory.update().where(ai_memory.c.id == memory_id, still_open)
                                .values(**values)).rowcount:
                report.rows_kept_local_verdict += 1
                continue
            report.rows_withdrawn += action == "withdrawn"
            report.rows_rated += rated
            conn.execute(review_log.insert().values(
                memory_id=memory_id, action=action, reviewer=reviewer, rating=values.get("rating"),
                use_for_training=False if action == "withdrawn" else None,
                reason="notion pages changed" if action == "withdrawn" else None, source="notion", ts=now))
    return report


# ---- Notion access -----------------------------------------------------------------------------
@dataclass(frozen=True)
class NotionReviewSettings:
    """Where the public vocabulary database lives (environment: NOTION_TOKEN, NOTION_DATABASE_ID or
    NOTION_DATA_SOURCE_ID, optional NOTION_BASE_URL). ``repr`` never shows the token."""

    token: str | None = field(default=None, repr=False)
    database_id: str | None = None
    data_source_id: str | None = None
    base_url: str | None = None

    @classmethod
    def from_env(cls) -> NotionReviewSettings:
        from .. import settings

        return cls(
            token=settings.env("NOTION_TOKEN"),
            database_id=settings.env("NOTION_DATABASE_ID"),
            data_source_id=settings.env("NOTION_DATA_SOURCE_ID"),
            base_url=settings.env("NOTION_BASE_URL"),
        )

    @property
    def configured(self) -> bool:
        return bool(self.token and (self.database_id or self.data_source_id))

    def missing(self) -> str:
        parts = []
        if not self.token:
            parts.append("NOTION_TOKEN")
        if not (self.database_id or self.data_source_id):
            parts.append("NOTION_DATABASE_ID or NOTION_DATA_SOURCE_ID")
        return " and ".join(parts)


def fetch_notion_review_pages(client: Any, data_source_id: str, *, limiter: Any = None,
                              review_property: str = "Review", rating_property: str = "Rating") -> list[dict]:
    """Every page of the data source that carries a verdict (Verified/Rejected) or a rating."""
    from ..publishing.notion_sync import query_all_pages
    from ..publishing.rate_limit import RateLimiter

    limiter = limiter or RateLimiter()
    filter_ = {"or": [
        {"property": review_property, "select": {"equals": "Verified"}},
        {"property": review_property, "select": {"equals": "Rejected"}},
        {"property": rating_property, "number": {"is_not_empty": True}},
    ]}
    return query_all_pages(client, limiter, data_source_id, filter_)


def pull_verdicts_from_notion(ledger: Ledger, notion: NotionReviewSettings, *, stock: Any = None,
                              client: Any = None, limiter: Any = None) -> NotionPullReport:
    """Reads the verdict pages of the configured data source and applies them (see above)."""
    from ..publishing.notion_schema import resolve_data_source_id
    from ..publishing.notion_sync import make_client

    own_client = client is None
    if own_client:
        if not notion.configured:
            raise ReviewError(f"Notion is not configured: set {notion.missing()}")
        client = make_client(notion.token or "", base_url=notion.base_url)
    try:
        data_source_id = resolve_data_source_id(client, database_id=notion.database_id,
                                                data_source_id=notion.data_source_id, limiter=limiter)
        pages = fetch_notion_review_pages(client, data_source_id, limiter=limiter)
    finally:
        if own_client and hasattr(client, "close"):
            client.close()
    mapping = memory_ids_by_key(ledger, aliases=aliases_from_stock(stock))
    return pull_notion_verdicts(ledger, pages, mapping)
