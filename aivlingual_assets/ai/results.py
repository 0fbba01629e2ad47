"""What the AI core returns to its callers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class TextResult:
    request_type: str
    text: str
    parsed: Any
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float
    cache_hit: bool
    cache_key: str
    memory_id: int | None = None
    saved_usd: float = 0.0  # what a cache hit would have cost


@dataclass
class EmbeddingResult:
    vectors: np.ndarray  # float32, one row per input text
    provider: str
    model: str
    input_tokens: int
    cost_usd: float
    latency_ms: float
    cache_hits: int
    cache_misses: int

    @property
    def cache_hit(self) -> bool:
        return self.cache_misses == 0


@dataclass
class TranscriptionResult:
    segments: list[dict[str, Any]]
    language: str | None
    duration_seconds: float
    provider: str
    model: str
    cost_usd: float
    latency_ms: float
    cache_hit: bool


@dataclass
class AudioResult:
    path: Path
    format: str
    provider: str
    model: str
    cost_usd: float
    latency_ms: float
    cache_hit: bool


@dataclass
class UsageMeter:
    """Adds up what the calls made inside ``AICore.meter()`` cost (for asset metadata)."""

    requests: int = 0
    api_calls: int = 0
    cache_hits: int = 0
    failures: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    saved_usd: float = 0.0
    latency_ms: float = 0.0
    cached_input_tokens: int = 0  # input tokens the providers read from their prompt caches
    prompt_cache_saved_usd: float = 0.0  # what that took off cost_usd
    providers: dict[str, int] = field(default_factory=dict)

    def add(self, *, provider: str, model: str, cache_hit: bool, input_tokens: int = 0, output_tokens: int = 0,
            cost_usd: float = 0.0, saved_usd: float = 0.0, latency_ms: float = 0.0, api_calls: int | None = None,
            hits: int | None = None, cached_input_tokens: int = 0, prompt_cache_saved_usd: float = 0.0) -> None:
        self.requests += 1
        self.cache_hits += hits if hits is not None else int(cache_hit)
        self.api_calls += api_calls if api_calls is not None else int(not cache_hit)
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cost_usd += cost_usd
        self.saved_usd += saved_usd
        self.cached_input_tokens += cached_input_tokens
        self.prompt_cache_saved_usd += prompt_cache_saved_usd
        self.latency_ms += latency_ms
        label = f"{provider}/{model}"
        self.providers[label] = self.providers.get(label, 0) + 1

    def add_failure(self) -> None:
        self.failures += 1

    @property
    def hit_rate(self) -> float:
        looked_up = self.cache_hits + self.api_calls
        return self.cache_hits / looked_up if looked_up else 0.0

    def metadata(self) -> dict[str, Any]:
        """Numbers the Dagster UI plots per materialisation."""
        return {
            "ai/requests": self.requests,
            "ai/api_calls": self.api_calls,
            "ai/cache_hits": self.cache_hits,
            "ai/cache_hit_rate": round(self.hit_rate, 4),
            "ai/failures": self.failures,
            "ai/input_tokens": self.input_tokens,
            "ai/output_tokens": self.output_tokens,
            "ai/cost_usd": round(self.cost_usd, 6),
            "ai/saved_usd": round(self.saved_usd, 6),
            "ai/cached_input_tokens": self.cached_input_tokens,
            "ai/prompt_cache_saved_usd": round(self.prompt_cache_saved_usd, 6),
            "ai/models": ", ".join(f"{k} x{v}" for k, v in sorted(self.providers.items())) or "none",
        }
