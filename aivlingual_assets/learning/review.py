"""Human review of AI outputs kept in the AI memory: what to look at, verdicts, and Notion pull-back.

Nothing here ever marks an output verified on its own: ``verified`` is only set by
:func:`record_verdict` (a person at the CLI or a caller passing a person's name) or by
:func:`pull_notion_verdicts`, which copies what people chose in Notion's ``Review`` column.
Every verdict, rating and Notion change is also appended to ``aiv_review_log`` (an
audit trail this module creates next to the ledger's tables), so each verified row can be
traced to the person and moment that verified it.

Picking (:func:`pick_for_review`) looks only at *text* outputs without a verdict
(neither verified nor rejected) and mixes three lists, round robin, without duplicates:

* **most reused** - ``usage_count >= 2``, highest first: a wrong cached answer is served
  again every time it is reused, so these matter most;
* **highest rated** - outputs someone rated (CLI ``review rate`` or Notion ``Rating``)
  but gave no verdict yet: a quick confirmation turns them into training data;
* **newest of each request type** - so every kind of output gets looked at, not only
  the popular ones.

Notion pull-back (how a vocabulary page maps to AI memory rows)
--------------------------------------------------------------
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
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..ai.ledger import Ledger, ai_memory, training_data

__all__ = [
    "NotionPullReport",
    "NotionReviewSettings",
    "ReviewError",
    "ReviewItem",
    "UnknownMemoryError",
    "VERDICTS",
    "VERDICT_REQUEST_TYPES",
    "aliases_from_stock",
    "fetch_notion_review_pages",
    "get_item",
    "keys_in_output",
    "memory_ids_by_key",
    "pick_for_review",
    "pull_notion_verdicts",
    "record_rating",
    "record_verdict",
    "review_counts",
    "review_log",
    "review_history",
]

VERDICTS = ("verified", "rejected")
VERDICT_REQUEST_TYPES: tuple[str, ...] = ("expressions.extract", "difficulty.assess")
NOTION_REVIEWER_PREFIX = "notion:"
RATING_RANGE = (1, 5)

# ---- audit trail -------------------------------------------------------------------------------
_review_metadata = sa.MetaData()
review_log = sa.Table(
    "aiv_review_log",
    _review_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("memory_id", sa.Integer, nullable=False, index=True),
    sa.Column("action", sa.String(20), nullable=False),  # verified | rejected | rated | withdrawn
    sa.Column("reviewer", sa.String(200), nullable=False),
    sa.Column("rating", sa.Integer, nullable=True),
    sa.Column("use_for_training", sa.Boolean, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("source", sa.String(20), nullable=False),  # cli | notion | api
    sa.Column("ts", sa.Float, nullable=False),
)
_log_ready: set[str] = set()
_log_lock = threading.Lock()


def _ensure_review_log(ledger: Ledger) -> None:
    if ledger.url in _log_ready:
        return
    with _log_lock:
        if ledger.url in _log_ready:
            return
        from ..storage.schema import create_tables

        create_tables(ledger.engine, _review_metadata)  # serialised across processes
        _log_ready.add(ledger.url)


# ---- errors ------------------------------------------------------------------------------------
class ReviewError(ValueError):
    """A verdict or rating that cannot be recorded (bad value, nobody named)."""


class UnknownMemoryError(LookupError):
    def __init__(self, memory_id: int):
        super().__init__(f"No AI output with id {memory_id} in the AI memory (see `aivlingual review list`).")
        self.memory_id = memory_id


# ---- items -------------------------------------------------------------------------------------
@dataclass
class ReviewItem:
    """One AI memory row as a reviewer sees it."""

    id: int
    request_type: str
    kind: str
    provider: str
    model: str
    usage_count: int
    rating: int | None
    verified: bool
    rejected: bool
    use_for_training: bool
    reviewed_by: str | None
    reviewed_at: float | None
    created_at: float
    last_used_at: float
    prompt: str
    system: str | None
    output_text: str | None
    reasons: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        if self.verified:
            return "verified"
        if self.rejected:
            return "rejected"
        return "rated" if self.rating is not None else "unreviewed"

    def preview(self, text: str | None, width: int = 80) -> str:
        flat = " ".join((text or "").split())
        return flat if len(flat) <= width else flat[: width - 1] + "…"

    def as_row(self, width: int = 120) -> dict[str, Any]:
        return {
            "id": self.id,
            "request_type": self.request_type,
            "provider": self.provider,
            "model": self.model,
            "usage_count": self.usage_count,
            "rating": self.rating,
            "status": self.status,
            "reasons": ",".join(self.reasons),
            "created_at": self.created_at,
            "prompt_preview": self.preview(self.prompt, width),
            "output_preview": self.preview(self.output_text, width),
        }


_ITEM_COLUMNS = (
    ai_memory.c.id, ai_memory.c.request_type, ai_memory.c.kind, ai_memory.c.provider, ai_memory.c.model,
    ai_memory.c.usage_count, ai_memory.c.rating, ai_memory.c.verified, ai_memory.c.rejected,
    ai_memory.c.use_for_training, ai_memory.c.reviewed_by, ai_memory.c.reviewed_at, ai_memory.c.created_at,
    ai_memory.c.last_used_at, ai_memory.c.prompt, ai_memory.c.system, ai_memory.c.output_text,
)


def _item(row: Any, reasons: Sequence[str] = ()) -> ReviewItem:
    m = row._mapping
    return ReviewItem(
        id=int(m["id"]), request_type=m["request_type"], kind=m["kind"], provider=m["provider"], model=m["model"],
        usage_count=int(m["usage_count"] or 0), rating=m["rating"], verified=bool(m["verified"]),
        rejected=bool(m["rejected"]), use_for_training=bool(m["use_for_training"]), reviewed_by=m["reviewed_by"],
        reviewed_at=m["reviewed_at"], created_at=float(m["created_at"]), last_used_at=float(m["last_used_at"]),
        prompt=m["prompt"], system=m["system"], output_text=m["output_text"], reasons=tuple(reasons),
    )


def get_item(ledger: Ledger, memory_id: int) -> ReviewItem:
    with ledger.connect() as conn:
        row = conn.execute(sa.select(*_ITEM_COLUMNS).where(ai_memory.c.id == int(memory_id))).first()
    if row is None:
        raise UnknownMemoryError(int(memory_id))
    return _item(row)


def _unreviewed(request_types: Sequence[str] | None):
    cond = sa.and_(
        ai_memory.c.kind == "text",
        ai_memory.c.output_text.is_not(None),
        ai_memory.c.verified.is_(False),
        ai_memory.c.rejected.is_(False),
    )
    if request_types:
        cond = sa.and_(cond, ai_memory.c.request_type.in_(list(request_types)))
    return cond


def pick_for_review(ledger: Ledger, limit: int = 20, *, request_types: Sequence[str] | None = None) -> list[ReviewItem]:
    """AI outputs worth a human look, best first (see the module docstring for the mix)."""
    if limit <= 0:
        return []
    pending = _unreviewed(request_types)
    with ledger.connect() as conn:
        reused = conn.execute(
            sa.select(*_ITEM_COLUMNS).where(pending, ai_memory.c.usage_count >= 2)
            .order_by(ai_memory.c.usage_count.desc(), ai_memory.c.last_used_at.desc(), ai_memory.c.id)
            .limit(limit)
        ).all()
        rated = conn.execute(
            sa.select(*_ITEM_COLUMNS).where(pending, ai_memory.c.rating.is_not(None))
            .order_by(ai_memory.c.rating.desc(), ai_memory.c.usage_count.desc(), ai_memory.c.id)
            .limit(limit)
        ).all()
        newest_at = (
            sa.select(ai_memory.c.request_type, sa.func.max(ai_memory.c.created_at).label("newest"))
            .where(pending).group_by(ai_memory.c.request_type).subquery()
        )
        newest = conn.execute(
            sa.select(*_ITEM_COLUMNS)
            .join(newest_at, sa.and_(newest_at.c.request_type == ai_memory.c.request_type,
                                     newest_at.c.newest == ai_memory.c.created_at))
            .where(pending)
            .order_by(ai_memory.c.created_at.desc(), ai_memory.c.id.desc())
        ).all()
    # one row per request type even when two share the newest timestamp
    seen_types: set[str] = set()
    newest_one = []
    for row in newest:
        if row.request_type not in seen_types:
            seen_types.add(row.request_type)
            newest_one.append(row)
    lists = [
        [(r, "most_reused") for r in reused],
        [(r, "highest_rated") for r in rated],
        [(r, f"newest:{r.request_type}") for r in newest_one],
    ]
    reasons: dict[int, list[str]] = {}
    rows: dict[int, Any] = {}
    order: list[int] = []
    for position in range(max((len(x) for x in lists), default=0)):
        for strategy in lists:
            if position >= len(strategy):
                continue
            row, reason = strategy[position]
            if row.id not in rows:
                rows[row.id] = row
                order.append(row.id)
            reasons.setdefault(row.id, []).append(reason)
    return [_item(rows[i], reasons[i]) for i in order[:limit]]


# ---- verdicts ----------------------------------------------------------------------------------
def _check_rating(rating: int | None) -> int | None:
    if rating is None:
        return None
    if isinstance(rating, bool) or not isinstance(rating, int):
        try:
            as_float = float(rating)
        except (TypeError, ValueError):
            raise ReviewError(f"rating must be a whole number from 1 to 5, not {rating!r}") from None
        if not as_float.is_integer():
            raise ReviewError(f"rating must be a whole number from 1 to 5, not {rating!r}")
        rating = int(as_float)
    low, high = RATING_RANGE
    if not low <= rating <= high:
        raise ReviewError(f"rating must be from {low} to {high}, not {rating}")
    return rating


def _check_reviewer(reviewer: str | None) -> str:
    name = (reviewer or "").strip()
    if not name:
        raise ReviewError("a verdict needs the reviewer's name (nothing is verified without a person)")
    return name[:200]


def record_verdict(
    ledger: Ledger,
    memory_id: int,
    verdict: str,
    reviewer: str,
    rating: int | None = None,
    use_for_training: bool | None = None,
    *,
    reason: str | None = None,
    source: str = "cli",
    reviewed_at: float | None = None,
) -> ReviewItem:
    """Records a person's verdict on one AI output and returns the updated item.

    ``use_for_training`` defaults to True for "verified" and False for "rejected"; a
    rejected output can never be used for training. ``rating`` (1-5) is kept when not given.
    """
    verdict = (verdict or "").strip().lower()
    if verdict not in VERDICTS:
        raise ReviewError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    reviewer = _check_reviewer(reviewer)
    rating = _check_rating(rating)
    if verdict == "rejected" and use_for_training:
        raise ReviewError("a rejected output cannot be used for training")
    if use_for_training is None:
        use_for_training = verdict == "verified"
    when = reviewed_at if reviewed_at is not None else time.time()
    _ensure_review_log(ledger)
    values: dict[str, Any] = {
        "verified": verdict == "verified",
        "rejected": verdict == "rejected",
        "use_for_training": bool(use_for_training),
        "reviewed_by": reviewer,
        "reviewed_at": when,
    }
    if rating is not None:
        values["rating"] = rating
    with ledger.begin() as conn:
        changed = conn.execute(ai_memory.update().where(ai_memory.c.id == int(memory_id)).values(**values)).rowcount
        if not changed:
            raise UnknownMemoryError(int(memory_id))
        conn.execute(review_log.insert().values(
            memory_id=int(memory_id), action=verdict, reviewer=reviewer, rating=rating,
            use_for_training=bool(use_for_training), reason=(reason or None), source=source, ts=when))
    return get_item(ledger, memory_id)


def record_rating(ledger: Ledger, memory_id: int, rating: int, reviewer: str, *, source: str = "cli",
                  reviewed_at: float | None = None) -> ReviewItem:
    """A 1-5 rating without a verdict: the output stays in the review queue (as "highest rated")."""
    reviewer = _check_reviewer(reviewer)
    checked = _check_rating(rating)
    if checked is None:
        raise ReviewError("rating is required")
    when = reviewed_at if reviewed_at is not None else time.time()
    _ensure_review_log(ledger)
    with ledger.begin() as conn:
        current = conn.execute(sa.select(ai_memory.c.verified, ai_memory.c.rejected)
                               .where(ai_memory.c.id == int(memory_id))).first()
        if current is None:
            raise UnknownMemoryError(int(memory_id))
        values: dict[str, Any] = {"rating": checked}
        if not (current.verified or current.rejected):
            # who looked at it last; a verdict's reviewer is never replaced by a mere rating
            values.update(reviewed_by=reviewer, reviewed_at=when)
        conn.execute(ai_memory.update().where(ai_memory.c.id == int(memory_id)).values(**values))
        conn.execute(review_log.insert().values(memory_id=int(memory_id), action="rated", reviewer=reviewer,
                                                rating=checked, source=source, ts=when))
    return get_item(ledger, memory_id)


def review_history(ledger: Ledger, memory_id: int) -> list[dict[str, Any]]:
    """The audit trail of one output, oldest first."""
    _ensure_review_log(ledger)
    with ledger.connect() as conn:
        rows = conn.execute(sa.select(review_log).where(review_log.c.memory_id == int(memory_id))
                            .order_by(review_log.c.ts, review_log.c.id)).all()
    return [dict(r._mapping) for r in rows]


def review_counts(ledger: Ledger) -> dict[str, int]:
    """Text outputs by review state, plus how many verified ones wait for a training export."""
    m = ai_memory.c
    is_text = sa.and_(m.kind == "text", m.output_text.is_not(None))

    def flag(cond) -> Any:
        return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)

    recorded = sa.select(training_data.c.memory_id)
    exported = sa.select(training_data.c.memory_id).where(training_data.c.split.in_(("train", "validation")))
    with ledger.connect() as conn:
        row = conn.execute(
            sa.select(
                sa.func.count(),
                flag(sa.and_(m.verified.is_(False), m.rejected.is_(False))),
                flag(m.verified.is_(True)),
                flag(m.rejected.is_(True)),
                flag(sa.and_(m.rating.is_not(None), m.verified.is_(False), m.rejected.is_(False))),
                flag(sa.and_(m.verified.is_(True), m.use_for_training.is_(True), m.id.not_in(recorded))),
                flag(m.id.in_(exported)),
            ).where(is_text)
        ).one()
    keys = ("outputs", "unreviewed", "verified", "rejected", "rated_without_verdict", "ready_for_training",
            "exported")
    return {k: int(v) for k, v in zip(keys, row)}


# ---- Notion pull-back --------------------------------------------------------------------------
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
        try:
            values = json.loads(raw) if isinstance(raw, str) else list(raw or [])
        except (TypeError, ValueError):
            continue
        for alias in values:
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
            .where(ai_memory.c.request_type.in_(list(request_types)), ai_memory.c.output_text.is_not(None))
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
