"""Human review of AI outputs kept in the AI memory: what to look at, verdicts, and Notion pull-back.

Nothing here ever marks an output verified on its own: ``verified`` is only set by
:func:`record_verdict` (a person at the CLI or a caller passing a person's name) or by
:func:`pull_notion_verdicts`, which copies what people chose in Notion's ``Review`` column.
Every verdict, rating and Notion change is also appended to ``aiv_review_log`` (an
audit trail this module creates next to the ledger's tables), so each verified row can be
traced to the person and moment that verified it.

One concept per module, all re-exported here:

* :mod:`.review_items` - an output as a reviewer sees it (:class:`ReviewItem`, :func:`get_item`), errors;
* :mod:`.review_picking` - what to look at (:func:`pick_for_review`) and :func:`review_counts`;
* :mod:`.review_verdicts` - :func:`record_verdict`, :func:`record_rating`;
* :mod:`.review_log` - the audit trail ``aiv_review_log`` and :func:`review_history`;
* :mod:`.review_notion` - verdicts and ratings pulled back from Notion (how a vocabulary page maps to
  AI memory rows: see that module).
"""

from __future__ import annotations

from .review_items import ReviewError, ReviewItem, UnknownMemoryError, get_item
from .review_log import _ensure_review_log, review_history, review_log
from .review_notion import (
    NOTION_REVIEWER_PREFIX,
    VERDICT_REQUEST_TYPES,
    NotionPullReport,
    NotionReviewSettings,
    aliases_from_stock,
    fetch_notion_review_pages,
    keys_in_output,
    memory_ids_by_key,
    pull_notion_verdicts,
    pull_verdicts_from_notion,
)
from .review_picking import pick_for_review, review_counts
from .review_verdicts import RATING_RANGE, VERDICTS, record_rating, record_verdict

__all__ = [
    "NOTION_REVIEWER_PREFIX",
    "RATING_RANGE",
    "VERDICTS",
    "VERDICT_REQUEST_TYPES",
    "NotionPullReport",
    "NotionReviewSettings",
    "ReviewError",
    "ReviewItem",
    "UnknownMemoryError",
    "_ensure_review_log",
    "aliases_from_stock",
    "fetch_notion_review_pages",
    "get_item",
    "keys_in_output",
    "memory_ids_by_key",
    "pick_for_review",
    "pull_notion_verdicts",
    "pull_verdicts_from_notion",
    "record_rating",
    "record_verdict",
    "review_counts",
    "review_history",
    "review_log",
]
