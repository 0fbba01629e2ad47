"""Cascading configuration: a channel's own setting, else the service default, else the provider default.

Every setting a channel can have is declared once in :data:`SETTINGS` (or matches a pattern of
:data:`PATTERNS`, the per-request-type and per-tier models): its type (how a value is read from
the command line or the environment), the environment variable that holds the service default,
and the provider default (None: the AI core's or the provider's own choice, e.g. the catalogue's
cheapest model of the tier). :func:`resolve` returns the value together with where it came from.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from .store import Channel, ChannelError

T = TypeVar("T")
Source = Literal["channel", "service", "default"]
PROVIDERS = ("openai", "gemini", "local", "offline")
TIERS = ("cheap", "normal", "premium")
OUTPUTS = ("shorts", "notion", "anki", "tts", "training_export")
ANKI_DECK_NAME = "AIVlingual — Japanese from streams"  # publishing.anki_deck.DEFAULT_DECK_NAME: the deck's id stays


def parse_bool(text: str) -> bool:
    lowered = str(text).strip().lower()
    if lowered in ("on", "true", "yes", "1"):
        return True
    if lowered in ("off", "false", "no", "0"):
        return False
    raise ChannelError(f"{text!r} is not on/off (also true/false, yes/no, 1/0)")


def parse_amount(text: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not value >= 0 or value == math.inf:
        raise ChannelError(f"{text!r} is not a finite number, 0 or more")
    return value


def parse_text(text: str) -> str:
    if not str(text).strip():
        raise ChannelError("must not be empty")
    return str(text).strip()


@dataclass(frozen=True)
class ModelChoice:
    """``provider`` or ``provider/model``: the provider's best model of the tier, or exactly that model."""

    provider: str
    model: str | None = None

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}" if self.model else self.provider


def parse_model(text: str) -> ModelChoice:
    provider, _, model = parse_text(text).partition("/")
    if provider not in PROVIDERS:
        raise ChannelError(f"{text!r}: the provider must be one of {', '.join(PROVIDERS)} (as provider or "
                           "provider/model)")
    return ModelChoice(provider, model.strip() or None)


def parse_provider(text: str) -> str:
    return parse_model(text).provider


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]
    env: str | None  # the service default's variable (None: no service default)
    default: Any  # the provider default (None: the AI core's or provider's own choice)
    help: str


def _switch(output: str, what: str) -> Setting:
    return Setting(f"outputs.{output}", parse_bool, f"AIVLINGUAL_OUTPUTS_{output.upper()}", True,
                   f"whether {what} run for the channel's recordings (on/off)")


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("transcription_provider", parse_provider, "AIVLINGUAL_TRANSCRIPTION_PROVIDER", None,
            "provider of speech-to-text (default: the catalogue's cheapest configured)"),
    Setting("tts_voice", parse_text, "AIVLINGUAL_TTS_VOICE", None, "voice of text-to-speech (default: the "
            "provider's)"),
    Setting("notion_database", parse_text, "NOTION_DATABASE_ID", None, "Notion vocabulary database id or URL"),
    Setting("anki_deck_name", parse_text, "AIVLINGUAL_ANKI_DECK_NAME", ANKI_DECK_NAME, "name of the Anki deck"),
    Setting("monthly_budget_usd", parse_amount, "AIVLINGUAL_CHANNEL_BUDGETS", None,
            "the channel's monthly AI budget in USD (service default: its entry in AIVLINGUAL_CHANNEL_BUDGETS)"),
    Setting("max_recording_minutes", parse_amount, "AIVLINGUAL_MAX_RECORDING_MINUTES", None,
            "longer recordings are refused before anything is paid"),
    Setting("max_cost_per_recording_usd", parse_amount, "AIVLINGUAL_MAX_COST_PER_RECORDING_USD", None,
            "a recording that has cost this much gets no further paid AI calls"),
    Setting("youtube_feed", parse_text, None, None, "YouTube channel id or feed URL whose uploads belong to it"),
    Setting("batch", parse_bool, "AIVLINGUAL_BATCH", False, "whether the nightly catch-up of its recordings may wait "
            "up to a day for half-price OpenAI batches (on/off; see ai/batching)"),
    _switch("shorts", "Shorts (plans and clips)"),
    _switch("notion", "Notion pages of its expressions"),
    _switch("anki", "Anki notes of its expressions"),
    _switch("tts", "text-to-speech audio of its examples"),
    _switch("training_export", "fine-tuning exports of its AI outputs"),
)}

# models per tier and per request type: "tier.cheap" = "gemini/gemini-2.5-flash-lite", "request.gloss" = "openai"
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"tier\.(cheap|normal|premium)"), "text model of the {0} tier"),
    (re.compile(r"request\.([a-z0-9_.:-]{1,80})"), "model for the {0} request type"),
)


def setting(name: str) -> Setting:
    """The declaration of a setting name (a model pattern's declaration is made on the fly)."""
    if name in SETTINGS:
        return SETTINGS[name]
    for pattern, help_text in PATTERNS:
        match = pattern.fullmatch(name)
        if match:
            env = "AIVLINGUAL_" + re.sub(r"[^A-Z0-9]", "_", name.upper())
            return Setting(name, parse_model, env, None, help_text.format(match.group(1)))
    raise ChannelError(f"Unknown setting {name!r}. Settings: {', '.join(SETTINGS)}, tier.<cheap|normal|premium> "
                       "and request.<request type> (a provider or provider/model).")


@dataclass(frozen=True)
class Resolved(Generic[T]):
    """A setting's value and where it came from: ``source`` and a readable ``origin``."""

    name: str
    value: T | None
    source: Source
    origin: str  # "channel pekora", "environment AIVLINGUAL_TTS_VOICE", "default"


def _service_value(spec: Setting, channel_name: str | None, env: Mapping[str, str]) -> str | None:
    if spec.env is None:
        return None
    raw = (env.get(spec.env) or "").strip()
    if spec.name == "monthly_budget_usd":  # name=usd,name=usd: only this channel's entry is its default
        entries = dict(part.split("=", 1) for part in raw.split(",") if "=" in part)
        return next((v.strip() for k, v in entries.items() if k.strip() == channel_name), None)
    return raw or None


def resolve(name: str, channel: Channel | None, *, env: Mapping[str, str] | None = None,
            service: Mapping[str, Any] | None = None) -> Resolved[Any]:
    """``name`` for ``channel``: its own value, else the service default, else the provider default.

    ``service`` gives service defaults set elsewhere than the environment (a resource's config),
    which win over the environment variable; ``env`` defaults to ``os.environ``.
    """
    spec = setting(name)
    if channel is not None and name in channel.settings:
        return Resolved(name, spec.parse(str(channel.settings[name])) if isinstance(channel.settings[name], str)
                        else channel.settings[name], "channel", f"channel {channel.name}")
    if service is not None and service.get(name) is not None:
        return Resolved(name, service[name], "service", "service configuration")
    raw = _service_value(spec, channel.name if channel else None, os.environ if env is None else env)
    if raw is not None:
        try:
            value = spec.parse(raw)
        except ChannelError as exc:
            raise ChannelError(f"{spec.env}: {exc}") from None
        return Resolved(name, value, "service", f"environment {spec.env}")
    return Resolved(name, spec.default, "default", "default")


def to_stored(name: str, text: str) -> Any:
    """A value typed on the command line, checked and in the form it is stored in (JSON)."""
    value = setting(name).parse(text)
    return str(value) if isinstance(value, ModelChoice) else value
