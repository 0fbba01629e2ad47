"""Fixtures of the AI core's tests (the batch pricing ones)."""

from __future__ import annotations

import pytest

from ..pipeline.conftest import instance  # noqa: F401 (fixture: a throwaway Dagster instance)


@pytest.fixture
def openai_only(provider_server, monkeypatch):
    """The fake server as the only provider, answering glosses of the user message."""
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    provider_server.set_responder("openai.chat",
                                  lambda req: {"word": req.user[:4], "meaning": "meaning of " + req.user})
    return provider_server
