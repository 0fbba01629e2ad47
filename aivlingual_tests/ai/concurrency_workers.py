"""Functions run in separate processes by the concurrency tests (importable under spawn)."""

from __future__ import annotations

import os


def generate(env: dict[str, str], prompt: str, barrier_path: str, budget: float | None = None) -> dict:
    os.environ.update(env)
    from pydantic import BaseModel

    from aivlingual_assets.ai import AICore, AISettings, BudgetExceededError

    class Gloss(BaseModel):
        word: str
        meaning: str

    core = AICore(AISettings.from_env(monthly_budget_usd=budget, retry_base_seconds=0.01))
    # start together: wait until every worker has built its core
    open(f"{barrier_path}.{os.getpid()}", "w").close()
    import glob
    import time

    deadline = time.time() + 60
    while len(glob.glob(f"{barrier_path}.*")) < int(env["AIV_TEST_WORKERS"]) and time.time() < deadline:
        time.sleep(0.01)
    try:
        result = core.generate_text("gloss", prompt, schema=Gloss, options={"max_tokens": 100})
    except BudgetExceededError as exc:
        return {"error": "budget", "message": str(exc)}
    return {"text": result.text, "cache_hit": result.cache_hit, "cost": result.cost_usd}
