"""Single flight: concurrent processes asking the same question make exactly one provider call.

The first claims the cache key in the ledger; the others wait until its answer is cached (or
its claim is released, expires, or its owner process is found dead) and then use the cache.
"""

from __future__ import annotations

import time

from .errors import AIError
from .ledger import Ledger, MemoryRow


def claim_or_wait(ledger: Ledger, owner: str, lease_seconds: float, keys: list[str], key: str) -> MemoryRow | None:
    """Returns a cached row if another process produced it meanwhile, else holds the claim on ``key``."""
    delay = 0.02
    deadline = time.monotonic() + lease_seconds * 2
    while True:
        if ledger.try_claim(key, owner, lease_seconds):
            hit = ledger.find_memory(keys)
            if hit is not None:  # produced between our lookup and our claim
                ledger.release_claim(key, owner)
            return hit
        hit = ledger.find_memory(keys)
        if hit is not None:
            return hit
        if time.monotonic() > deadline:
            raise AIError(f"Gave up waiting for another process to finish request {key[:12]}.")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)
