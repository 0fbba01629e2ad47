"""Run in separate processes by the channel budget test."""

from __future__ import annotations

import glob
import os
import time


def generate_for_channel(env: dict[str, str], channel: str, prompt: str, barrier_path: str) -> dict:
    os.environ.update(env)
    from pydantic import BaseModel

    from aivlingual_assets.ai import AICore, AISettings, BudgetExceededError
    from aivlingual_assets.channels.ai_view import channel_ai
    from aivlingual_assets.resources.ai_core import shared_core

    class Gloss(BaseModel):
        word: str
        meaning: str

    view = channel_ai(AICore(AISettings.from_env(retry_base_seconds=0.01)), channel, core_for=shared_core)
    open(f"{barrier_path}.{os.getpid()}", "w").close()  # start together once every worker is ready
    deadline = time.time() + 60
    while len(glob.glob(f"{barrier_path}.*")) < int(env["AIV_TEST_WORKERS"]) and time.time() < deadline:
        time.sleep(0.01)
    try:
        result = view.generate_text("gloss", prompt, schema=Gloss, options={"max_tokens": 100})
    except BudgetExceededError as exc:
        return {"error": "budget", "message": str(exc)}
    return {"text": result.text, "cost": result.cost_usd}
