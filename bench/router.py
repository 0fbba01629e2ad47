"""Benchmark 2: what the AI core adds to a provider call on a cache miss.

``AICore.generate_text`` with the OpenAI provider configured the production way
(``OPENAI_API_KEY`` + ``OPENAI_BASE_URL`` pointing at a local fake ``ProviderServer``) and
unique prompts, so every call misses: routing, cache-key hashing, cache lookup, single-flight
claim, the SDK call, schema validation and the cache/usage-log write. Baseline, interleaved
call by call: the bare ``openai`` SDK ``client.chat.completions.create`` against the same
server with the request body the core sent (same model, messages, response_format, max tokens).
"""

from __future__ import annotations

import gc
import os
import time
from types import SimpleNamespace
from typing import Any

from .common import Row, dispose_engine, isolated_home, row, sqlite_url, summary_ms

NAME = "router"
TITLE = "AI core overhead on a miss (OpenAI SDK, local fake server)"
SIZES = {
    "full": {"calls": 300},
    "quick": {"calls": 80},
    "tiny": {"calls": 5},
}


def _prompts(task, n: int, offset: int) -> list[str]:
    from .synthetic import source_lines

    lines = source_lines()
    out = []
    for i in range(n):
        t0 = (offset + i) * 60.0
        chunk = [SimpleNamespace(start=t0 + 2 * j, end=t0 + 2 * j + 1.8, text=lines[(offset + i * 7 + j) % len(lines)])
                 for j in range(12)]
        out.append(task.prompt(chunk))
    return out


def run(sizes: dict[str, Any]) -> list[Row]:
    import openai

    from aivlingual_assets.ai.core import AICore, AISettings
    from aivlingual_assets.analysis.tasks import ExtractExpressions
    from aivlingual_tests.fakes.provider_server import ProviderServer

    n = int(sizes["calls"])
    warmup = 5
    task = ExtractExpressions()
    options = {"task_version": task.version}
    prompts = _prompts(task, 2 * (n + warmup), 0)
    with isolated_home(NAME) as home, ProviderServer() as server:
        os.environ["OPENAI_API_KEY"] = "bench-key"
        os.environ["OPENAI_BASE_URL"] = server.openai_base_url
        url = sqlite_url(home)
        core = AICore(AISettings.from_env(database_url=url, home=home))
        client = openai.OpenAI(api_key="bench-key", base_url=server.openai_base_url, max_retries=0, timeout=60)
        try:
            def via_core(prompt: str) -> None:
                result = core.generate_text(task.request_type, prompt, system=task.system, schema=task.output_schema,
                                            options=options)
                if result.cache_hit or result.provider != "openai":
                    raise AssertionError(f"expected an OpenAI miss, got {result.provider} hit={result.cache_hit}")

            via_core(prompts[0])
            body = server.last("openai.chat").body
            model = body["model"]
            extra = {k: v for k, v in body.items() if k not in ("model", "messages")}

            def bare(prompt: str) -> None:
                response = client.chat.completions.create(
                    model=model,
                    messages=[{"role": "system", "content": task.system}, {"role": "user", "content": prompt}],
                    **extra,
                )
                if not response.choices[0].message.content:
                    raise AssertionError("empty completion")

            bare(prompts[1])
            for i in range(1, warmup):
                via_core(prompts[2 * i])
                bare(prompts[2 * i + 1])
            before = server.count("openai.chat")
            core_t: list[float] = []
            bare_t: list[float] = []
            gc.collect()
            gc.disable()
            try:
                for i in range(warmup, warmup + n):
                    t0 = time.perf_counter()
                    via_core(prompts[2 * i])
                    t1 = time.perf_counter()
                    bare(prompts[2 * i + 1])
                    t2 = time.perf_counter()
                    core_t.append(t1 - t0)
                    bare_t.append(t2 - t1)
            finally:
                gc.enable()
            sent = server.count("openai.chat") - before
            if sent != 2 * n:  # one HTTP request per call on both sides: no retry, no repair
                raise AssertionError(f"expected {2 * n} chat requests, the server saw {sent}")
            server.assert_no_handler_errors()
        finally:
            client.close()
            dispose_engine(url)
    c, b = summary_ms(core_t), summary_ms(bare_t)
    details = {"calls": n, "model": model, "core": c, "bare_sdk": b, "response_format": extra.get("response_format", {})
               .get("type")}
    return [
        row(NAME, "generate_text miss, mean", c["mean_ms"], "ms", "bare openai SDK create(), mean", b["mean_ms"],
            details=details, note=f"p50 {c['p50_ms']:.2f} vs {b['p50_ms']:.2f} ms; {n} calls each"),
        row(NAME, "router overhead per miss (mean diff)", c["mean_ms"] - b["mean_ms"], "ms"),
    ]
