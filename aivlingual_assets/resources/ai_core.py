"""The Dagster face of the AI core: settings from config or the environment, one core per process and settings."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import BaseModel, Field, PrivateAttr

from ..ai import AICore, AISettings, UsageMeter
from ..ai.results import AudioResult, EmbeddingResult, TextResult, TranscriptionResult


_cores: dict[str, AICore] = {}
_cores_lock = threading.Lock()


def shared_core(settings: AISettings) -> AICore:
    """One ``AICore`` per process and settings: every run and step of a process reuses it (and its clients)."""
    key = f"{os.getpid()}:{settings!r}"
    with _cores_lock:
        core = _cores.get(key)
        if core is None:
            core = _cores[key] = AICore(settings)
        return core


class AICoreResource(dg.ConfigurableResource):
    """Every AI call of the project goes through here: cached, metered, routed and budgeted.

    Unset fields fall back to the environment (OPENAI_API_KEY, GEMINI_API_KEY / GOOGLE_API_KEY,
    AIVLINGUAL_LOCAL_BASE_URL, AIVLINGUAL_DATABASE_URL, AIVLINGUAL_MONTHLY_BUDGET_USD, ...), so
    ``AICoreResource()`` works as is. Pass secrets as ``dg.EnvVar(...)``, never as literals.
    """

    database_url: str | None = Field(default=None, description="Ledger URL; default SQLite under AIVLINGUAL_HOME.")
    home: str | None = Field(default=None, description="Data folder; default AIVLINGUAL_HOME.")
    openai_api_key: str | None = Field(default=None, description="Default: OPENAI_API_KEY.")
    gemini_api_key: str | None = Field(default=None, description="Default: GEMINI_API_KEY or GOOGLE_API_KEY.")
    local_base_url: str | None = Field(default=None, description="OpenAI-compatible server; default AIVLINGUAL_LOCAL_BASE_URL.")
    local_model: str | None = Field(default=None, description="Model name on the local server.")
    monthly_budget_usd: float | None = Field(default=None, description="Default: AIVLINGUAL_MONTHLY_BUDGET_USD.")
    channel_budgets: dict[str, float] | None = Field(default=None, description="Monthly USD budget per channel.")
    max_attempts: int = Field(default=4, description="Attempts per model on 429/5xx/timeouts before falling back.")
    retry_base_seconds: float = Field(default=0.5, description="First backoff delay; doubles with jitter.")
    timeout_seconds: float = Field(default=60.0, description="Per request.")
    call_deadline_seconds: float | None = Field(
        default=None, description="One call in all (retries and fallbacks); default AIVLINGUAL_AI_CALL_DEADLINE_S or 300.")

    _core: AICore | None = PrivateAttr(default=None)

    @property
    def core(self) -> AICore:
        if self._core is None:
            overrides: dict[str, Any] = {
                "database_url": self.database_url,
                "home": Path(self.home) if self.home else None,
                "openai_api_key": self.openai_api_key,
                "gemini_api_key": self.gemini_api_key,
                "local_base_url": self.local_base_url,
                "local_model": self.local_model,
                "monthly_budget_usd": self.monthly_budget_usd,
                "channel_budgets": self.channel_budgets,
                "max_attempts": self.max_attempts,
                "retry_base_seconds": self.retry_base_seconds,
                "timeout_seconds": self.timeout_seconds,
                "call_deadline_seconds": self.call_deadline_seconds,
            }
            self._core = shared_core(AISettings.from_env(**overrides))
        return self._core

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        core = self.core  # open the ledger (and create it) once per run process
        for name in core.configured_providers():
            core.provider(name)  # load the SDKs now, not inside the first call's deadline

    # The AI API, delegated to the core -------------------------------------------------------
    def generate_text(self, request_type: str, prompt: str, *, system: str | None = None,
                      options: dict[str, Any] | None = None, schema: type[BaseModel] | dict | None = None,
                      tier: str | None = None, provider: str | None = None, model: str | None = None,
                      selection_mode: str = "auto", force_refresh: bool = False, endpoint: str | None = None,
                      channel: str | None = None, offline=None, offline_fingerprint: str = "") -> TextResult:
        return self.core.generate_text(request_type, prompt, system=system, options=options, schema=schema,
                                       tier=tier, provider=provider, model=model, selection_mode=selection_mode,
                                       force_refresh=force_refresh, endpoint=endpoint, channel=channel,
                                       offline=offline, offline_fingerprint=offline_fingerprint)

    def run_task(self, task: Any, task_input: Any, **kwargs: Any) -> TextResult:
        return self.core.run_task(task, task_input, **kwargs)

    def embed(self, texts: list[str], *, model: str | None = None, **kwargs: Any) -> EmbeddingResult:
        return self.core.embed(texts, model=model, **kwargs)

    def transcribe(self, audio: str | Path, *, language: str | None = None, **kwargs: Any) -> TranscriptionResult:
        return self.core.transcribe(audio, language=language, **kwargs)

    def generate_audio(self, text: str, *, language: str, voice: str | None = None, provider: str | None = None,
                       **kwargs: Any) -> AudioResult:
        return self.core.generate_audio(text, language=language, voice=voice, provider=provider, **kwargs)

    # Channels (tenants): their keys, settings, budget and limits on every call -------------------
    def for_channel(self, name: str | None):
        """The AI core as channel ``name`` sees it (``channels.ai_view.ChannelAI``; None: no channel)."""
        from ..channels.ai_view import channel_ai

        return channel_ai(self.core, name, core_for=shared_core)

    def for_recording(self, partition_key: str):
        """The AI core as the recording's channel sees it, within the recording's cost limit."""
        from ..channels.ai_view import recording_ai

        return recording_ai(self.core, partition_key, core_for=shared_core)

    @contextmanager
    def meter(self) -> Iterator[UsageMeter]:
        """``with ai.meter() as m: ...; return MaterializeResult(metadata=m.metadata())``."""
        with self.core.meter() as meter:
            yield meter


def ai_metadata(meter: UsageMeter) -> dict[str, Any]:
    """MaterializeResult metadata (ai/api_calls, ai/cache_hits, ai/input_tokens, ...)."""
    return meter.metadata()
