"""Shared by the batch pricing tests: an AI core on the fake server, a schema, deferring one request."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from aivlingual_assets.ai import AICore, AISettings
from aivlingual_assets.ai.batching import BatchPending, non_urgent


class Gloss(BaseModel):
    word: str
    meaning: str


def make_core(**overrides) -> AICore:
    overrides.setdefault("retry_base_seconds", 0.01)
    overrides.setdefault("retry_max_seconds", 0.2)
    return AICore(AISettings.from_env(**overrides))


def defer(core: AICore, prompt: str, waiter: str = "rec-1") -> BatchPending:
    """Asks ``prompt`` as non-urgent work and returns the deferral (the test fails if it was answered instead)."""
    with non_urgent(waiter), pytest.raises(BatchPending) as raised:
        core.generate_text("gloss", prompt, schema=Gloss, endpoint="expressions", channel="demo")
    return raised.value
