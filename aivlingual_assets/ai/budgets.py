"""Prices and budgets: what a call costs and reserving its worst case against the monthly budgets."""

from __future__ import annotations

import calendar
import contextvars
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from .catalogue import cached_input_price
from .config import AISettings
from .ledger import Ledger
from .providers.base import TranscriptionResponse


def month_start(now: float | None = None) -> float:
    dt = datetime.fromtimestamp(now or time.time(), tz=timezone.utc)
    return calendar.timegm((dt.year, dt.month, 1, 0, 0, 0))


def text_cost(config: dict[str, Any], input_tokens: int, output_tokens: int, cached_input_tokens: int = 0) -> float:
    """Uncached input at the input price, input read from the provider's prompt cache at its cached price."""
    cached = min(max(0, cached_input_tokens), input_tokens)
    return (
        (input_tokens - cached) * config["input_per_1m"] / 1e6
        + cached * cached_input_price(config) / 1e6
        + output_tokens * config["output_per_1m"] / 1e6
        + config["per_request"]
    )


def transcription_cost(config: dict[str, Any], response: TranscriptionResponse) -> float:
    """Token-billed models (Gemini) count the audio in their input tokens; the others bill per minute."""
    if response.input_tokens or response.output_tokens:
        return text_cost(config, response.input_tokens, response.output_tokens)
    return (response.duration_seconds / 60) * config["per_minute"] + config["per_request"]


def blended_price(config: dict[str, Any]) -> float:
    """Ranking price: a typical request reads about twice what it writes."""
    return config["input_per_1m"] * 2 + config["output_per_1m"] + config["per_request"] * 1e6 / 1000 \
        + config["per_minute"] * 1000 + config["per_1m_chars"]


# limits a caller puts around its calls on top of the monthly budgets (a channel's per-recording cost)
_guards: contextvars.ContextVar[tuple[Callable[[float], None], ...]] = contextvars.ContextVar(
    "aiv_budget_guards", default=())


@contextmanager
def guarded_by(guard: Callable[[float], None]) -> Iterator[None]:
    """Every paid call made inside first passes ``guard(estimate)``, which reserves the call's worst case against
    the caller's own limit or raises ``BudgetExceededError`` (nothing is then sent)."""
    token = _guards.set(_guards.get() + (guard,))
    try:
        yield
    finally:
        _guards.reset(token)


class Budgets:
    """The monthly budgets of the settings, reserved in the ledger under this process's owner id."""

    def __init__(self, settings: AISettings, ledger: Ledger, owner: str):
        self.settings, self.ledger, self.owner = settings, ledger, owner

    def limits(self, channel: str | None) -> list[tuple[str, str | None, float]]:
        limits: list[tuple[str, str | None, float]] = []
        if self.settings.monthly_budget_usd is not None:
            limits.append(("all channels", None, self.settings.monthly_budget_usd))
        budget = self.channel_budget(channel) if channel else None
        if budget is not None:
            limits.append((f"channel '{channel}'", channel, budget))
        return limits

    def channel_budget(self, channel: str) -> float | None:
        """The cascade (see ``channels``): the channel's ``monthly_budget_usd``, else ``channel_budgets``."""
        from ..channels import channel_budget

        return channel_budget(self.ledger.url, channel, self.settings.channel_budgets).value

    def reserve(self, estimate: float, channel: str | None) -> str | None:
        """A reservation id (None when no budget applies); raises ``BudgetExceededError``."""
        for guard in _guards.get():
            guard(estimate)
        limits = self.limits(channel)
        if not limits:
            return None
        return self.ledger.reserve_budget(
            estimate=estimate,
            channel=channel,
            limits=limits,
            month_start=month_start(),
            owner=self.owner,
            lease_seconds=self.settings.lease_seconds,
        )
