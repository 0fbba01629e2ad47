"""Helpers for the learning-loop tests: a ledger in the test's home and AI memory rows."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pytest

from aivlingual_assets.ai.ledger import Ledger, ai_memory


@pytest.fixture
def ledger(aiv_home) -> Ledger:
    """The ledger at the default location, so the CLI and AICoreResource() see the same rows."""
    return Ledger(f"sqlite:///{aiv_home / 'ledger.sqlite3'}")


def add_memory(
    ledger: Ledger,
    prompt: str,
    output: str | dict[str, Any],
    *,
    request_type: str = "expressions.extract",
    system: str | None = "You are a Japanese teacher.",
    usage_count: int = 1,
    rating: int | None = None,
    created_at: float | None = None,
    kind: str = "text",
    verified: bool = False,
    use_for_training: bool = False,
    provider: str = "openai",
    model: str = "gpt-4o-mini",
) -> int:
    """One AI memory row, as the AI core would have cached it."""
    text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
    now = created_at if created_at is not None else time.time()
    key = hashlib.sha256(f"{request_type}|{prompt}|{text}|{now}".encode()).hexdigest()
    with ledger.begin() as conn:
        return int(conn.execute(ai_memory.insert().values(
            cache_key=key, request_type=request_type, kind=kind,
            prompt_hash=hashlib.sha256(prompt.encode()).hexdigest(),
            prompt=prompt, system=system, options="{}", output_text=text, audio_path=None, provider=provider,
            model=model, input_tokens=100, output_tokens=50, cost_usd=0.0001, latency_ms=5.0,
            verified=verified, rejected=False, rating=rating, use_for_training=use_for_training,
            usage_count=usage_count, created_at=now, last_used_at=now,
        )).inserted_primary_key[0])


def expression_output(*items: tuple[str, str, str]) -> dict[str, Any]:
    """An ``expressions.extract`` output listing (expression/lemma, reading, meaning) items."""
    return {"items": [
        {"expression": lemma, "lemma": lemma, "reading": reading, "meaning": meaning, "category": "slang",
         "explanation": f"{lemma} means {meaning}.", "example": f"{lemma}って言ったよね", "start": 1.0, "end": 2.0,
         "source_url": None}
        for lemma, reading, meaning in items
    ]}
