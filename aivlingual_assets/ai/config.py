"""The AI core's settings: provider keys, budgets and retry policy, from the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .deadline import DEADLINE_ENV, DEFAULT_DEADLINE_SECONDS
from .errors import AIError
from .write_behind import DEFAULT_INTERVAL_SECONDS

FLUSH_ENV = "AIVLINGUAL_AI_FLUSH_SECONDS"


@dataclass
class AISettings:
    database_url: str
    home: Path
    openai_api_key: str | None = None
    openai_base_url: str | None = None  # None: the SDK reads OPENAI_BASE_URL itself
    gemini_api_key: str | None = None
    local_base_url: str | None = None
    local_api_key: str | None = None
    local_model: str = "llama3.1:8b"
    local_embedding_model: str = "nomic-embed-text"
    monthly_budget_usd: float | None = None
    channel_budgets: dict[str, float] = field(default_factory=dict)
    max_attempts: int = 4
    retry_base_seconds: float = 0.5
    retry_max_seconds: float = 30.0
    timeout_seconds: float = 60.0
    # one call, all retries, repair attempt and fallbacks included (AIVLINGUAL_AI_CALL_DEADLINE_S)
    call_deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
    lease_seconds: float = 900.0
    # how often the bookkeeping of cache hits is written (AIVLINGUAL_AI_FLUSH_SECONDS); a crash loses at most this
    usage_flush_seconds: float = DEFAULT_INTERVAL_SECONDS

    @classmethod
    def from_env(cls, **overrides: Any) -> AISettings:
        from .. import settings as s

        budgets = {}
        for part in (s.env("AIVLINGUAL_CHANNEL_BUDGETS") or "").split(","):
            if "=" in part:
                name, _, value = part.partition("=")
                budgets[name.strip()] = float(value)
        monthly = s.env("AIVLINGUAL_MONTHLY_BUDGET_USD")
        deadline = s.env(DEADLINE_ENV)
        flush = s.env(FLUSH_ENV)
        values: dict[str, Any] = dict(
            database_url=s.database_url(),
            home=s.aivlingual_home(),
            openai_api_key=s.env("OPENAI_API_KEY"),
            gemini_api_key=s.env("GEMINI_API_KEY") or s.env("GOOGLE_API_KEY"),
            local_base_url=s.env("AIVLINGUAL_LOCAL_BASE_URL"),
            local_api_key=s.env("AIVLINGUAL_LOCAL_API_KEY"),
            local_model=s.env("AIVLINGUAL_LOCAL_MODEL", "llama3.1:8b"),
            local_embedding_model=s.env("AIVLINGUAL_LOCAL_EMBEDDING_MODEL", "nomic-embed-text"),
            monthly_budget_usd=float(monthly) if monthly else None,
            channel_budgets=budgets,
            call_deadline_seconds=_seconds(DEADLINE_ENV, deadline) if deadline else None,
            usage_flush_seconds=_seconds(FLUSH_ENV, flush) if flush else None,
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def secrets(self) -> list[str]:
        return [v for v in (self.openai_api_key, self.gemini_api_key, self.local_api_key) if v]


def _seconds(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise AIError(f"{name} must be a number of seconds above 0, not {text!r}.")
    return value
