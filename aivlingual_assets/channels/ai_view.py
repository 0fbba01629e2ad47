"""The AI core as one channel sees it: its own keys, its settings as defaults, its budget and its meter.

``AICoreResource.for_channel(name)`` / ``for_recording(partition_key)`` return a :class:`ChannelAI`,
which has the AI core's call API (``generate_text``, ``run_task``, ``embed``, ``transcribe``,
``generate_audio``, ``meter``) and adds to every call:

- ``channel=``: the usage log and the budget reservation are the channel's (its monthly budget, see
  ``ai.budgets``);
- the cascade's defaults for what the caller left open: the model of the request type or tier
  (``request.<type>``, ``tier.<tier>``), the transcription provider, the TTS voice;
- the channel's own OpenAI/Gemini keys: its calls go through an AI core whose settings hold them
  (one per process and key set, sharing the ledger; provider clients are built once per key);
- the recording's cost limit (``max_cost_per_recording_usd``): each paid attempt reserves its worst case against
  it first and is refused when it would cross it (``recording_costs``).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..ai import AICore, AISettings, UsageMeter, metering
from ..ai.budgets import guarded_by
from .cascade import ModelChoice, resolve
from .recording_costs import RecordingCosts
from .store import Channel, channel_store
from .vault import KeyVault

AI_KEY_PROVIDERS = ("openai", "gemini")


def channel_settings(base: AISettings, channel: Channel | None, vault: KeyVault) -> AISettings:
    """``base`` with the channel's own OpenAI/Gemini keys in place of the service's (the cascade for keys)."""
    if channel is None or not set(AI_KEY_PROVIDERS) & set(channel.key_providers):
        return base
    return dataclasses.replace(
        base,
        openai_api_key=vault.get_key(channel.name, "openai") or base.openai_api_key,
        gemini_api_key=vault.get_key(channel.name, "gemini") or base.gemini_api_key,
    )


_costs: dict[int, RecordingCosts] = {}
_costs_lock = threading.Lock()


def _recording_costs(core: AICore) -> RecordingCosts:
    with _costs_lock:
        costs = _costs.get(id(core.ledger.engine))
        if costs is None:
            costs = _costs[id(core.ledger.engine)] = RecordingCosts(core.ledger.engine)
        return costs


class ChannelAI:
    """A channel's view of the AI core (``channel`` None: recordings of no channel, the service's settings)."""

    def __init__(self, base: AICore, channel: Channel | None, *, core_for: Callable[[AISettings], AICore],
                 recording: str | None = None, env: Mapping[str, str] | None = None):
        self.base, self.channel, self.recording, self.env = base, channel, recording, env
        settings = channel_settings(base.settings, channel, KeyVault(channel_store(base.ledger.url), env=env))
        self.core = base if settings is base.settings else core_for(settings)

    @property
    def name(self) -> str | None:
        return self.channel.name if self.channel else None

    def has_own_key(self, provider: str) -> bool:
        """Whether the channel brings its own key for ``provider`` (its calls then use it, not the service's)."""
        return self.channel is not None and provider in self.channel.key_providers

    def setting(self, name: str) -> Any:
        return resolve(name, self.channel, env=self.env).value

    # ---- limits -------------------------------------------------------------------------
    def _paid(self, call: Callable[[], Any]) -> Any:
        """Runs one call of the AI core for the recording: every paid attempt inside first reserves its worst case
        against ``max_cost_per_recording_usd`` (refused when it would cross it); afterwards what the call cost
        (failed attempts included) is added to the recording and its reservations dropped."""
        if self.recording is None:
            return call()
        costs, limit = _recording_costs(self.base), resolve("max_cost_per_recording_usd", self.channel, env=self.env)
        held: list[str] = []
        settled = 0.0  # of what the meter has seen, what is already charged to the recording

        def reserve(estimate: float) -> None:
            nonlocal settled
            if limit.value is None or estimate <= 0:
                return
            # the call's earlier attempts are over (they run one after another): charge what they really cost
            # and drop their worst cases in the same transaction as this attempt's reservation
            spent = usage.cost_usd
            reservation = costs.reserve(self.recording, estimate, limit.value, owner=self.base.owner,
                                        lease_seconds=self.base.settings.lease_seconds, channel=self.name or "(none)",
                                        origin=limit.origin, settle_cost=spent - settled, settle=list(held))
            settled = spent
            held[:] = [reservation]

        usage = None
        try:
            with metering.meter() as usage, guarded_by(reserve):
                return call()
        finally:
            costs.settle(self.recording, (usage.cost_usd - settled) if usage is not None else 0.0, held)

    def _model_for(self, request_type: str, options: dict[str, Any] | None, tier: str | None,
                   provider: str | None, model: str | None, selection_mode: str) -> tuple[str | None, str | None]:
        """The caller's provider/model, else the channel's (or service's) model of the request type, then tier."""
        if provider or model or selection_mode != "auto":
            return provider, model
        choice = self.setting(f"request.{request_type}")
        if choice is None:
            choice = self.setting(f"tier.{self.core.tier_for(request_type, options, tier)}")
        if isinstance(choice, ModelChoice):
            return choice.provider, choice.model
        return None, None

    # ---- the AI core's API ----------------------------------------------------------------
    def generate_text(self, request_type: str, prompt: str, *, options: dict[str, Any] | None = None,
                      tier: str | None = None, provider: str | None = None, model: str | None = None,
                      selection_mode: str = "auto", **kwargs: Any):
        provider, model = self._model_for(request_type, options, tier, provider, model, selection_mode)
        return self._paid(lambda: self.core.generate_text(
            request_type, prompt, options=options, tier=tier, provider=provider, model=model,
            selection_mode=selection_mode, **{**kwargs, "channel": self.name}))

    def run_task(self, task: Any, task_input: Any, *, tier: str | None = None, provider: str | None = None,
                 model: str | None = None, selection_mode: str = "auto", **kwargs: Any):
        provider, model = self._model_for(task.request_type, kwargs.get("options"), tier, provider, model,
                                          selection_mode)
        return self._paid(lambda: self.core.run_task(
            task, task_input, tier=tier, provider=provider, model=model, selection_mode=selection_mode,
            **{**kwargs, "channel": self.name}))

    def embed(self, texts: list[str], **kwargs: Any):
        return self._paid(lambda: self.core.embed(texts, **{**kwargs, "channel": self.name}))

    def transcribe(self, audio: str | Path, *, language: str | None = None, provider: str | None = None,
                   **kwargs: Any):
        if provider is None and not kwargs.get("model"):
            provider = self.setting("transcription_provider")
        return self._paid(lambda: self.core.transcribe(audio, language=language, provider=provider,
                                                **{**kwargs, "channel": self.name}))

    def generate_audio(self, text: str, *, language: str, voice: str | None = None, **kwargs: Any):
        return self._paid(lambda: self.core.generate_audio(text, language=language,
                                                    voice=voice or self.setting("tts_voice"),
                                                    **{**kwargs, "channel": self.name}))

    @contextmanager
    def meter(self) -> Iterator[UsageMeter]:
        with self.core.meter() as usage:
            yield usage


def channel_ai(base: AICore, channel_name: str | None, *, core_for: Callable[[AISettings], AICore],
               recording: str | None = None, env: Mapping[str, str] | None = None) -> ChannelAI:
    """The view of channel ``channel_name`` (which must exist; None: no channel)."""
    store = channel_store(base.ledger.url)
    channel = store.require(channel_name) if channel_name else None
    return ChannelAI(base, channel, core_for=core_for, recording=recording, env=env)


def recording_ai(base: AICore, partition_key: str, *, core_for: Callable[[AISettings], AICore],
                 env: Mapping[str, str] | None = None) -> ChannelAI:
    """The view of the channel the recording belongs to (its registry row), limited to the recording's cost."""
    from .assignment import recording_channel

    store = channel_store(base.ledger.url)
    return ChannelAI(base, store.get(recording_channel(base.ledger.url, partition_key)), core_for=core_for,
                     recording=partition_key, env=env)
