"""Prompt caching of the fake provider server (mixed into :class:`ProviderServer`).

Both real APIs read a repeated prompt prefix from a cache and bill it at a discount, and say so
in the usage they return: OpenAI ``usage.prompt_tokens_details.cached_tokens`` (chat
completions; ``usage.input_tokens_details.cached_tokens`` on the Responses API), Gemini
``usageMetadata.cachedContentTokenCount`` (implicit caching). The fake does the same for text
requests: the longest prefix a request shares with an earlier answered request of the same
protocol, model and response schema (system text first, then the messages, as the APIs lay the
prompt out) counts as cached when it is at least ``prompt_cache_min_tokens`` long (1,024 like
both APIs); OpenAI counts it in steps of 128 tokens above that, as the real API does. Tokens
are the server's estimate (UTF-8 bytes / 3, see ``estimate_tokens``). Requests with inline data
(audio, images) are not cached. ``server.prompt_caching = False`` turns it off;
``server.cached_prompt_tokens`` lists what was reported, one entry per request, in order.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

PROMPT_CACHE_MIN_TOKENS = 1024
OPENAI_CACHE_STEP = 128
_HISTORY = 256  # earlier prompts remembered per (protocol, model, schema)


class PromptCacheMixin:
    """State and accounting of prompt caching; ``ProviderServer`` inherits it."""

    def _init_prompt_cache_state(self) -> None:
        self._prompt_history: dict[tuple[str, str, str], list[bytes]] = {}
        self.prompt_caching = True
        self.prompt_cache_min_tokens = PROMPT_CACHE_MIN_TOKENS
        self.cached_prompt_tokens: list[int] = []

    def _cached_prompt_tokens(self, req: Any, prompt_tokens: int) -> int:
        """The cached part of this request's prompt (and remembers the prompt for later requests)."""
        if not self.prompt_caching or req.inline_data:
            return 0
        text = req.prompt.encode("utf-8")
        schema = hashlib.sha256(json.dumps(req.schema, sort_keys=True, default=str).encode()).hexdigest()
        key = (req.protocol, req.model or "", schema)
        with self._lock:
            history = self._prompt_history.setdefault(key, [])
            shared = max((len(os.path.commonprefix([text, earlier])) for earlier in history), default=0)
            history.append(text)
            del history[:-_HISTORY]
            cached = min(shared // 3, prompt_tokens)
            if cached < self.prompt_cache_min_tokens:
                cached = 0
            elif req.protocol == "openai":
                cached = self.prompt_cache_min_tokens + (
                    (cached - self.prompt_cache_min_tokens) // OPENAI_CACHE_STEP) * OPENAI_CACHE_STEP
            self.cached_prompt_tokens.append(cached)
            return cached
