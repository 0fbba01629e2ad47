"""The learning loop: review AI outputs, export verified ones as training data, fine-tune, watch costs.

Plain functions (no Dagster); :mod:`aivlingual_assets.assets.learning` wraps them as assets,
schedules and a sensor, and ``aivlingual review`` exposes the review functions.
"""

from .fine_tune import (
    FINE_TUNE_PRICES,
    FineTuneError,
    FineTuneStart,
    RunUpdate,
    deploy_model,
    estimate_training_cost,
    pending_examples,
    poll_fine_tune_runs,
    resolve_min_examples,
    start_fine_tune,
    training_price,
)
from .review import (
    NotionPullReport,
    NotionReviewSettings,
    ReviewError,
    ReviewItem,
    UnknownMemoryError,
    get_item,
    memory_ids_by_key,
    pick_for_review,
    pull_notion_verdicts,
    pull_verdicts_from_notion,
    record_rating,
    record_verdict,
    review_counts,
)
from .scrub import find_personal_data, scrub_messages, scrub_text
from .training_export import ExportResult, export_training_batch, split_examples
from .usage_chart import dashboard_markdown, dashboard_metadata, render_usage_chart

__all__ = [
    "FINE_TUNE_PRICES", "ExportResult", "FineTuneError", "FineTuneStart", "NotionPullReport", "NotionReviewSettings",
    "ReviewError", "ReviewItem", "RunUpdate", "UnknownMemoryError", "dashboard_markdown", "dashboard_metadata",
    "deploy_model", "estimate_training_cost", "export_training_batch", "find_personal_data", "get_item",
    "memory_ids_by_key", "pending_examples", "pick_for_review", "poll_fine_tune_runs", "pull_notion_verdicts",
    "pull_verdicts_from_notion", "record_rating", "record_verdict", "render_usage_chart", "resolve_min_examples",
    "review_counts", "scrub_messages", "scrub_text", "split_examples", "start_fine_tune", "training_price",
]
