"""The ledger's schema: its tables (SQLAlchemy Core, SQLite and PostgreSQL), version and migrations.

Timestamps are epoch seconds (floats) so both databases compare and sum them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

SCHEMA_VERSION = 2

metadata = sa.MetaData()

schema_info = sa.Table(
    "aiv_schema_info",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

provider_configs = sa.Table(
    "aiv_provider_configs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("tier", sa.String(10), nullable=False),
    sa.Column("input_per_1m", sa.Float, nullable=False, default=0.0),
    sa.Column("output_per_1m", sa.Float, nullable=False, default=0.0),
    sa.Column("per_request", sa.Float, nullable=False, default=0.0),
    sa.Column("per_minute", sa.Float, nullable=False, default=0.0),
    sa.Column("per_1m_chars", sa.Float, nullable=False, default=0.0),
    # input tokens read from the provider's prompt cache; NULL: billed like any input token
    sa.Column("cached_input_per_1m", sa.Float, nullable=True),
    sa.Column("quality", sa.Integer, nullable=False, default=50),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("is_default", sa.Boolean, nullable=False, default=False),
    # JSON list of request types this model is the preferred model for (fine-tuned models)
    sa.Column("default_for", sa.Text, nullable=False, default="[]"),
    sa.Column("max_tokens", sa.Integer, nullable=False, default=4096),
    sa.Column("capabilities", sa.Text, nullable=False, default="[]"),
    sa.Column("price_source", sa.Text, nullable=False, default=""),
    sa.Column("price_date", sa.String(20), nullable=False, default=""),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("provider", "model", "kind", name="uq_aiv_provider_model_kind"),
)

ai_memory = sa.Table(
    "aiv_ai_memory",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("cache_key", sa.String(64), nullable=False, unique=True),
    sa.Column("request_type", sa.String(100), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("prompt_hash", sa.String(64), nullable=False),
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("system", sa.Text, nullable=True),
    sa.Column("options", sa.Text, nullable=False, default="{}"),
    sa.Column("output_text", sa.Text, nullable=True),
    sa.Column("audio_path", sa.Text, nullable=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("input_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("output_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("cost_usd", sa.Float, nullable=False, default=0.0),
    sa.Column("latency_ms", sa.Float, nullable=False, default=0.0),
    sa.Column("verified", sa.Boolean, nullable=False, default=False),
    sa.Column("rejected", sa.Boolean, nullable=False, default=False),
    sa.Column("rating", sa.Integer, nullable=True),
    sa.Column("use_for_training", sa.Boolean, nullable=False, default=False),
    sa.Column("reviewed_by", sa.String(200), nullable=True),
    sa.Column("reviewed_at", sa.Float, nullable=True),
    sa.Column("usage_count", sa.Integer, nullable=False, default=1),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_used_at", sa.Float, nullable=False),
)

usage_log = sa.Table(
    "aiv_usage_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False, index=True),
    sa.Column("request_type", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("endpoint", sa.String(200), nullable=True),
    sa.Column("channel", sa.String(200), nullable=True),
    sa.Column("provider", sa.String(32), nullable=True),
    sa.Column("model", sa.String(200), nullable=True),
    sa.Column("input_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("output_tokens", sa.Integer, nullable=False, default=0),
    # of input_tokens, those the provider read from its prompt cache, and what their discount took off cost_usd
    sa.Column("cached_input_tokens", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("prompt_cache_saved_usd", sa.Float, nullable=False, default=0.0, server_default="0"),
    sa.Column("cost_usd", sa.Float, nullable=False, default=0.0),
    sa.Column("saved_usd", sa.Float, nullable=False, default=0.0),
    sa.Column("latency_ms", sa.Float, nullable=False, default=0.0),
    sa.Column("cache_hit", sa.Boolean, nullable=False, default=False),
    sa.Column("selection_mode", sa.String(10), nullable=False, default="auto"),
    sa.Column("success", sa.Boolean, nullable=False, default=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("memory_id", sa.Integer, nullable=True),
)

training_data = sa.Table(
    "aiv_training_data",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("memory_id", sa.Integer, nullable=False, index=True),
    sa.Column("request_type", sa.String(100), nullable=False),
    sa.Column("batch_id", sa.String(64), nullable=False, index=True),
    sa.Column("split", sa.String(12), nullable=False),
    sa.Column("example_hash", sa.String(64), nullable=False),
    sa.Column("messages", sa.Text, nullable=False),
    sa.Column("tokens", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("memory_id", "batch_id", name="uq_aiv_training_memory_batch"),
)

training_runs = sa.Table(
    "aiv_training_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(64), nullable=False, index=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("base_model", sa.String(200), nullable=False),
    sa.Column("model_version", sa.String(200), nullable=True),
    sa.Column("job_id", sa.String(200), nullable=True),
    sa.Column("file_id", sa.String(200), nullable=True),
    sa.Column("validation_file_id", sa.String(200), nullable=True),
    sa.Column("request_types", sa.Text, nullable=False, default="[]"),
    sa.Column("examples", sa.Integer, nullable=False, default=0),
    sa.Column("trained_tokens", sa.Integer, nullable=True),
    sa.Column("cost_usd", sa.Float, nullable=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("metrics", sa.Text, nullable=False, default="{}"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
)

embedding_cache = sa.Table(
    "aiv_embedding_cache",
    metadata,
    sa.Column("cache_key", sa.String(64), primary_key=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("dim", sa.Integer, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),  # float32 bytes
    sa.Column("created_at", sa.Float, nullable=False),
)

inflight = sa.Table(
    "aiv_inflight",
    metadata,
    sa.Column("cache_key", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

budget_lock = sa.Table(
    "aiv_budget_lock",
    metadata,
    sa.Column("scope", sa.String(50), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False, default=0),
)

budget_reservations = sa.Table(
    "aiv_budget_reservations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("channel", sa.String(200), nullable=True),
    sa.Column("amount", sa.Float, nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)


# version -> function that upgrades a ledger from version-1 to version (run inside one transaction).
# When a column is added: bump SCHEMA_VERSION, add it to the table above and add its ALTER here.
def _add_prompt_cache_columns(conn: Connection) -> None:
    """Version 2: cached input tokens on the usage log, a cached-input price in the catalogue."""
    conn.execute(sa.text("ALTER TABLE aiv_usage_log ADD COLUMN cached_input_tokens INTEGER NOT NULL DEFAULT 0"))
    conn.execute(sa.text("ALTER TABLE aiv_usage_log ADD COLUMN prompt_cache_saved_usd FLOAT NOT NULL DEFAULT 0"))
    conn.execute(sa.text("ALTER TABLE aiv_provider_configs ADD COLUMN cached_input_per_1m FLOAT"))


MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _add_prompt_cache_columns}


# a replaced answer is a new answer: no verdict of the old one carries over
UNREVIEWED: dict[str, Any] = {"verified": False, "rejected": False, "rating": None, "use_for_training": False,
                               "reviewed_by": None, "reviewed_at": None}

LOG_DEFAULTS: dict[str, Any] = {
    "endpoint": None, "channel": None, "provider": None, "model": None, "input_tokens": 0, "output_tokens": 0,
    "cached_input_tokens": 0, "prompt_cache_saved_usd": 0.0, "cost_usd": 0.0, "saved_usd": 0.0, "latency_ms": 0.0,
    "cache_hit": False, "selection_mode": "auto", "success": True, "error": None, "memory_id": None,
}
