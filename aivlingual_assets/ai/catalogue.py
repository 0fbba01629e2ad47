"""The default provider catalogue: which models exist, their tier and list price.

Prices are USD list prices as published by each provider on the page named in
``PRICE_SOURCES`` and read on the date given there. They change: edit them with
``aivlingual providers set-price`` (stored in the ledger), not here, so the
ledger keeps the prices that were actually used for each logged request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("text", "embedding", "transcription", "audio")
TIERS = ("cheap", "normal", "premium")

PRICE_SOURCES = {
    "openai": ("https://platform.openai.com/docs/pricing", "2025-08-15"),
    "gemini": ("https://ai.google.dev/gemini-api/docs/pricing", "2025-08-15"),
    "local": ("self-hosted: no per-request price", "n/a"),
    "offline": ("built-in engine: runs on this machine", "n/a"),
}

# Share of the list price taken off requests sent through a provider's Batch API (answered within
# 24 hours instead of at once): OpenAI bills batch requests at 50% of the synchronous price.
BATCH_DISCOUNTS = {"openai": 0.5}
BATCH_PRICE_SOURCE = ("https://platform.openai.com/docs/guides/batch", "2025-08-15")


def batch_price_factor(provider: str) -> float | None:
    """What a batch request costs as a share of the list price; None when the provider has no Batch API."""
    discount = BATCH_DISCOUNTS.get(provider)
    return None if discount is None else 1.0 - discount


@dataclass(frozen=True)
class ModelSpec:
    provider: str
    model: str
    kind: str
    tier: str
    input_per_1m: float = 0.0  # USD per 1M input tokens
    output_per_1m: float = 0.0  # USD per 1M output tokens
    per_request: float = 0.0
    per_minute: float = 0.0  # transcription: USD per audio minute
    per_1m_chars: float = 0.0  # speech: USD per 1M input characters
    # USD per 1M input tokens the provider read from its prompt cache (a repeated prefix); None: no discount
    cached_input_per_1m: float | None = None
    quality: int = 50  # 0-100, our own judgement for tie-breaks
    max_tokens: int = 4096
    is_default: bool = False
    capabilities: tuple[str, ...] = field(default_factory=tuple)

    @property
    def price_source(self) -> str:
        return PRICE_SOURCES[self.provider][0]

    @property
    def price_date(self) -> str:
        return PRICE_SOURCES[self.provider][1]


_JSON = ("json_schema",)
# transcription models whose segments carry who spoke (diarisation)
SPEAKERS = "speakers"
_DIARISES = ("segments", SPEAKERS)

DEFAULT_CATALOGUE: tuple[ModelSpec, ...] = (
    # OpenAI text (cached input: the "Cached input" column of the pricing page; prompts of 1,024+ tokens)
    ModelSpec("openai", "gpt-5-nano", "text", "cheap", 0.05, 0.40, quality=70, capabilities=_JSON,
              cached_input_per_1m=0.005),
    ModelSpec("openai", "gpt-4.1-nano", "text", "cheap", 0.10, 0.40, quality=60, capabilities=_JSON,
              cached_input_per_1m=0.025),
    ModelSpec("openai", "gpt-4o-mini", "text", "cheap", 0.15, 0.60, quality=65, is_default=True, capabilities=_JSON,
              cached_input_per_1m=0.075),
    ModelSpec("openai", "gpt-5-mini", "text", "normal", 0.25, 2.00, quality=82, capabilities=_JSON,
              cached_input_per_1m=0.025),
    ModelSpec("openai", "gpt-4.1-mini", "text", "normal", 0.40, 1.60, quality=78, capabilities=_JSON,
              cached_input_per_1m=0.10),
    ModelSpec("openai", "gpt-5", "text", "premium", 1.25, 10.00, quality=95, capabilities=_JSON,
              cached_input_per_1m=0.125),
    ModelSpec("openai", "gpt-4.1", "text", "premium", 2.00, 8.00, quality=90, capabilities=_JSON,
              cached_input_per_1m=0.50),
    # OpenAI other kinds
    ModelSpec("openai", "text-embedding-3-small", "embedding", "cheap", 0.02, quality=70, is_default=True),
    ModelSpec("openai", "text-embedding-3-large", "embedding", "normal", 0.13, quality=80),
    ModelSpec("openai", "gpt-4o-mini-transcribe", "transcription", "cheap", per_minute=0.003, quality=75, is_default=True),
    ModelSpec("openai", "whisper-1", "transcription", "normal", per_minute=0.006, quality=70, capabilities=("segments",)),
    # timed segments with a speaker label each (response_format diarized_json); estimated $0.006/min; asked
    # for plain segments, whisper-1 goes first (quality), asked for speakers this one (capability)
    ModelSpec("openai", "gpt-4o-transcribe-diarize", "transcription", "normal", per_minute=0.006, quality=68,
              capabilities=_DIARISES),
    ModelSpec("openai", "tts-1", "audio", "cheap", per_1m_chars=15.0, quality=70, is_default=True),
    ModelSpec("openai", "tts-1-hd", "audio", "normal", per_1m_chars=30.0, quality=80),
    # Gemini
    # cached input: the "Context caching price" for text (implicit caching of a repeated prefix bills it too)
    ModelSpec("gemini", "gemini-2.5-flash-lite", "text", "cheap", 0.10, 0.40, quality=68, is_default=True, capabilities=_JSON,
              cached_input_per_1m=0.025),
    ModelSpec("gemini", "gemini-2.5-flash", "text", "normal", 0.30, 2.50, quality=84, capabilities=_JSON,
              cached_input_per_1m=0.075),
    ModelSpec("gemini", "gemini-2.5-pro", "text", "premium", 1.25, 10.00, quality=94, capabilities=_JSON,
              cached_input_per_1m=0.31),
    ModelSpec("gemini", "gemini-embedding-001", "embedding", "cheap", 0.15, quality=78, is_default=True),
    # audio input is billed as tokens (32 per second at $0.10/1M for flash-lite) plus the text it writes;
    # GeminiProvider.transcribe asks for a JSON schema of timed, speaker-labelled segments, hence "segments", "speakers"
    ModelSpec("gemini", "gemini-2.5-flash-lite", "transcription", "cheap", 0.10, 0.40, per_minute=0.000192, quality=60,
              is_default=True, capabilities=_DIARISES),
    # Local OpenAI-compatible server (Ollama, vLLM, llama.cpp): free per request
    # Built-in offline engine
    ModelSpec("offline", "aivlingual-offline-1", "text", "cheap", quality=30, is_default=True),
    ModelSpec("offline", "aivlingual-ngram-256", "embedding", "cheap", quality=30, is_default=True),
)


def cached_input_price(config: Mapping[str, Any]) -> float:
    """USD per 1M input tokens read from the provider's prompt cache (the full input price when none is known)."""
    cached = config.get("cached_input_per_1m")
    return float(config["input_per_1m"] if cached is None else cached)


def prompt_cache_saving(config: Mapping[str, Any], cached_input_tokens: int) -> float:
    """What the provider's prompt cache took off a call: its cached input tokens at the discount."""
    return max(0, cached_input_tokens) * max(0.0, config["input_per_1m"] - cached_input_price(config)) / 1e6


def prompt_cache_usage(config: Mapping[str, Any], cached_input_tokens: int) -> dict[str, Any]:
    """A call's prompt-cache figures as the usage log and the meters name them."""
    return {"cached_input_tokens": int(cached_input_tokens),
            "prompt_cache_saved_usd": prompt_cache_saving(config, cached_input_tokens)}


def default_catalogue(local_model: str | None = None, local_embedding_model: str | None = None) -> list[ModelSpec]:
    """The built-in models plus the local server's models, named as that server knows them."""
    specs = list(DEFAULT_CATALOGUE)
    if local_model:
        specs.append(ModelSpec("local", local_model, "text", "cheap", quality=50, is_default=True, capabilities=_JSON))
    if local_embedding_model:
        specs.append(ModelSpec("local", local_embedding_model, "embedding", "cheap", quality=45, is_default=True))
    return specs
