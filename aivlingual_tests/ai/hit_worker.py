"""A long-lived AI-core process for the cache-hit tests, driven by JSON lines on stdin.

    python -m aivlingual_tests.ai.hit_worker      # environment: the ledger, provider keys, flush interval

Each command line is answered by one JSON line on stdout:
``{"ask": prompt, "force_refresh": bool, "times": n}`` -> the last call's text, hit flag and memory id
(plus how many of the ``n`` calls were hits); ``{"flush": true}`` writes the buffered hit bookkeeping.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    from aivlingual_assets.ai import AICore, AISettings

    core = AICore(AISettings.from_env(max_attempts=1))
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("flush"):
            reply: dict = {"written": core.ledger.flush_usage()}
        else:
            hits = 0
            for _ in range(int(command.get("times", 1))):
                result = core.generate_text("demo.hit", command["ask"], force_refresh=command.get("force_refresh", False))
                hits += result.cache_hit
            reply = {"text": result.text, "cache_hit": result.cache_hit, "memory_id": result.memory_id,
                     "cost_usd": result.cost_usd, "hits": hits}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
