"""Helpers for the learning-loop tests: a ledger in the test's home, AI memory rows and verified outputs."""

from __future__ import annotations

import hashlib
import json
import random
import time
from typing import Any

import pytest

from aivlingual_assets import cli
from aivlingual_assets.ai import AICore, AISettings
from aivlingual_assets.ai.ledger import Ledger, ai_memory
from aivlingual_assets.analysis.schemas import Expression, ExpressionList
from aivlingual_assets.analysis.tasks import EXTRACT_SYSTEM
from aivlingual_assets.learning.review import record_verdict


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


WORDS = ["ワンチャン", "ガチ", "草", "推し", "尊い", "同接", "切り抜き", "スパチャ", "初見", "歌枠", "雑談", "コラボ",
         "ボス戦", "エンディング", "深夜テンション", "ら抜き言葉", "見れる", "来れる", "やばい", "マジで", "えぐい",
         "神回", "乙", "おつかれ", "ありがてぇ", "ぴえん", "エモい", "バズる", "ググる", "ディスる", "チルい",
         "沼", "推し活", "限界オタク", "てぇてぇ", "待機", "枠", "配信", "同時視聴", "実況", "耐久", "凸待ち",
         "初配信", "周年", "新衣装", "お披露目", "メン限", "アーカイブ", "ミュート", "遅延"]


def seed_outputs(home, ledger_url: str, n: int, *, start: int = 0) -> list[int]:
    """``n`` distinct cached extraction outputs, produced by the AI core's offline path (no key)."""
    core = AICore(AISettings(database_url=ledger_url, home=home))
    ids = []
    for i in range(start, start + n):
        rng = random.Random(i)
        words = rng.sample(WORDS, 6)
        lines = [f"[{j * 3}.00-{j * 3 + 3}.00] {w}{rng.choice(['だね', 'じゃん', 'すぎる', 'かも', 'って何'])}"
                 f"（{i}-{j}）" for j, w in enumerate(words)]
        prompt = "Transcript lines ([start-end] text):\n" + "\n".join(lines)
        items = ExpressionList(items=[Expression(
            expression=w, lemma=w, reading="よみ", meaning=f"meaning of {w} #{i}", category="slang",
            explanation=f"{w} is informal (example {i}).", example=lines[k].split("] ", 1)[1], start=k * 3.0,
            end=k * 3.0 + 3) for k, w in enumerate(words[:2])])
        result = core.generate_text("expressions.extract", prompt, system=EXTRACT_SYSTEM, schema=ExpressionList,
                                    offline=lambda items=items: items)
        assert result.provider == "offline"
        ids.append(result.memory_id)
    return ids


@pytest.fixture
def approved(ledger, aiv_home, monkeypatch):
    """30 verified outputs: 10 approved at the CLI, 20 through record_verdict; 2 more rejected."""
    ids = seed_outputs(aiv_home, ledger.url, 32)
    monkeypatch.setenv("USER", "alice")
    for memory_id in ids[:10]:
        assert cli.main(["review", "approve", str(memory_id), "--rating", "5"]) == 0
    for memory_id in ids[10:30]:
        record_verdict(ledger, memory_id, "verified", "bob", rating=4)
    for memory_id in ids[30:]:
        assert cli.main(["review", "reject", str(memory_id), "--reason", "wrong"]) == 0
    return ids
