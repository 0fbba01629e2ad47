"""The AI core: one place that caches, routes, retries, meters and budgets every AI call.

Order of work for a request: pick candidate models (auto or manual, ``routing``) -> look the
request up in the AI memory under every candidate's key (a hit costs $0) -> claim the key so
concurrent processes make exactly one provider call (``claims``) -> reserve the worst-case cost
against the budgets (``budgets``) -> call with retries (``retries``) -> validate (one repair
attempt) -> cache, log and release the reservation in one transaction; usage goes to the open
meters (``metering``). Speech and transcription live in ``audio``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from . import batching
from . import cache_key as ck
from . import deadline, metering
from .audio import AudioCalls
from .budgets import Budgets, month_start, text_cost, transcription_cost
from .catalogue import default_catalogue, prompt_cache_usage
from .claims import claim_or_wait
from .config import AISettings
from .errors import (
    AIError,
    AllProvidersFailedError,
    DeadlineExceededError,
    InvalidOutputError,
    ProviderCallError,
)
from .ledger import Ledger, MemoryRow, process_owner
from .redaction import redact
from .providers.base import CallFailure
from .providers.offline import OfflineHandler
from .results import EmbeddingResult, TextResult, UsageMeter
from .retries import call_with_retries
from .routing import EXTERNAL_PROVIDERS, OFFLINE, REQUEST_TYPE_TIERS, Candidate, Router

__all__ = [
    "AICore", "AISettings", "Candidate", "EXTERNAL_PROVIDERS", "OFFLINE", "REQUEST_TYPE_TIERS", "month_start",
    "text_cost", "transcription_cost",
]

log = logging.getLogger("aivlingual.ai")


class AICore(AudioCalls):
    """Plain-Python AI core; ``AICoreResource`` wraps one for Dagster."""

    def __init__(self, settings: AISettings | None = None):
        self.settings = settings or AISettings.from_env()
        self.ledger = Ledger(self.settings.database_url, flush_seconds=self.settings.usage_flush_seconds)
        self.ledger.seed_catalogue(
            default_catalogue(
                self.settings.local_model if self.settings.local_base_url else None,
                self.settings.local_embedding_model if self.settings.local_base_url else None,
            )
        )
        self.owner = process_owner()
        self.router = Router(self.settings, self.ledger)
        self.budgets = Budgets(self.settings, self.ledger, self.owner)
        self._offline = self.router.offline

    # ---- routing (see ``routing``) --------------------------------------------------------
    def configured_providers(self) -> list[str]:
        return self.router.configured_providers()

    def provider(self, name: str):
        return self.router.provider(name)

    def invalidate_catalogue(self) -> None:
        self.router.invalidate_catalogue()

    def tier_for(self, request_type: str, options: dict[str, Any] | None, tier: str | None) -> str:
        """An explicit tier wins; ``premium``/``important`` only ever raise the request type's tier, never lower it."""
        return self.router.tier_for(request_type, options, tier)

    def candidates(self, **kwargs: Any) -> list[Candidate]:
        return self.router.candidates(**kwargs)

    # ---- metering (see ``metering``) ------------------------------------------------------
    @contextmanager
    def meter(self) -> Iterator[UsageMeter]:
        """Collects the usage of every call made inside the block (nesting allowed)."""
        with metering.meter() as usage:
            yield usage

    _meter = staticmethod(metering.record)
    _meter_failure = staticmethod(metering.record_failure)

    def _redact(self, text: str) -> str:
        return redact(text, self.settings.secrets())

    # ---- budgets, retries and single flight -----------------------------------------------
    def _reserve(self, estimate: float, channel: str | None) -> str | None:
        return self.budgets.reserve(estimate, channel)

    def _with_retries(self, fn: Callable[[], Any], *, candidate: Candidate,
                      on_failure: Callable[[CallFailure], None]) -> Any:
        return call_with_retries(fn, self.settings, label=f"{candidate.provider}/{candidate.model}",
                                 on_failure=on_failure, redact=self._redact)

    def _all_failed(self, request_type: str, failures: list[str]) -> AllProvidersFailedError:
        """The error after the last candidate failed, or after the call's deadline stopped the fallbacks."""
        if deadline.expired():
            return DeadlineExceededError(request_type, self.settings.call_deadline_seconds, failures)
        return AllProvidersFailedError(request_type, failures)

    def _reserved_call(self, candidate: Candidate, call_log: dict[str, Any], estimate: float,
                       channel: str | None, call: Callable[[Any], Any]) -> tuple[Any, str | None]:
        """Reserves ``estimate``, calls with retries; a final failure is logged and re-raised."""
        reservation = self._reserve(estimate, channel)
        impl = self.provider(candidate.provider)
        try:
            response = self._with_retries(lambda: call(impl), candidate=candidate,
                                          on_failure=lambda e: self._log_failure(call_log, e))
        except CallFailure as exc:
            self._log_failure(call_log, exc, reservation)
            raise
        except BaseException:
            self.ledger.release_reservation(reservation)
            raise
        return response, reservation

    def _store_paid(self, candidate: Candidate, call_log: dict[str, Any], memory: dict[str, Any] | None,
                    reservation: str | None, *, cost: float, latency: float, input_tokens: int = 0,
                    output_tokens: int = 0, cached_input_tokens: int = 0, claimed: bool = False) -> int | None:
        """Caches and logs one answered call (releasing its reservation, and its claim when ``claimed``)."""
        prompt_cache = prompt_cache_usage(candidate.config, cached_input_tokens)
        memory_id = self.ledger.store_success(
            memory=memory,
            log={**call_log, "input_tokens": input_tokens, "output_tokens": output_tokens, "cost_usd": cost,
                 **prompt_cache, "latency_ms": latency, "cache_hit": False, "success": True},
            reservation_id=reservation,
            claim=(memory["cache_key"], self.owner) if claimed and memory is not None else None,
        )
        self._meter(provider=candidate.provider, model=candidate.model, cache_hit=False, input_tokens=input_tokens,
                    output_tokens=output_tokens, cost_usd=cost, latency_ms=latency, **prompt_cache)
        return memory_id

    def _claim_or_wait(self, keys: list[str], key: str) -> MemoryRow | None:
        """Returns a cached row if another process produced it meanwhile, else holds the claim."""
        return claim_or_wait(self.ledger, self.owner, self.settings.lease_seconds, keys, key)

    # ---- text -----------------------------------------------------------------------------
    @deadline.bounded
    def generate_text(
        self,
        request_type: str,
        prompt: str,
        *,
        system: str | None = None,
        options: dict[str, Any] | None = None,
        schema: type[BaseModel] | dict[str, Any] | None = None,
        tier: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        selection_mode: str = "auto",
        force_refresh: bool = False,
        endpoint: str | None = None,
        channel: str | None = None,
        offline: OfflineHandler | None = None,
        offline_fingerprint: str = "",
    ) -> TextResult:
        """``offline_fingerprint`` names the version of ``offline``'s engine: it keys offline answers only."""
        options = dict(options or {})
        if selection_mode not in ("auto", "manual"):
            raise AIError(f"selection_mode must be 'auto' or 'manual', not {selection_mode!r}.")
        chosen_tier = self.tier_for(request_type, options, tier)
        candidates = self.candidates(
            kind="text", request_type=request_type, tier=chosen_tier, provider=provider, model=model,
            selection_mode=selection_mode,
        )
        keys = ck.text_cache_keys(request_type=request_type, prompt=prompt, system=system, schema=schema,
                                  models=[(c.provider, c.model) for c in candidates], options=options,
                                  offline_fingerprint=offline_fingerprint)
        base_log = {"request_type": request_type, "kind": "text", "endpoint": endpoint, "channel": channel,
                    "selection_mode": selection_mode}
        started = time.perf_counter()
        if not force_refresh:
            hit = self.ledger.find_memory(keys)
            if hit is not None:
                return self._text_hit(hit, schema, base_log, started)
            if batching.current() is not None:  # non-urgent work: a miss may wait for a Batch API (BatchPending)
                batching.defer(self, candidates, keys, request_type=request_type, prompt=prompt, system=system,
                               schema=schema, options=options, base_log=base_log)

        failures: list[str] = []
        for candidate, key in zip(candidates, keys):
            is_offline = candidate.provider == OFFLINE
            if not is_offline:
                hit = self._claim_or_wait([key] if force_refresh else keys, key)
                if hit is not None and not force_refresh:
                    return self._text_hit(hit, schema, base_log, started)
            try:  # an answer releases the claim with its cache write; anything else releases it here
                return self._call_text(candidate, key, request_type, prompt, system, schema, options,
                                       base_log, offline)
            except BaseException as exc:
                if not is_offline:
                    self.ledger.release_claim(key, self.owner)
                if not isinstance(exc, ProviderCallError):
                    raise
                failures.append(str(exc))
                if deadline.expired():
                    break
                log.warning("falling back after %s", exc)
        raise self._all_failed(request_type, failures)

    def _text_hit(self, hit: MemoryRow, schema, base_log: dict[str, Any], started: float) -> TextResult:
        parsed = self._parse(hit.output_text or "", schema)
        latency = (time.perf_counter() - started) * 1000
        self.ledger.record_hit(
            hit,
            log={**base_log, "provider": hit.provider, "model": hit.model, "input_tokens": 0, "output_tokens": 0,
                 "cost_usd": 0.0, "saved_usd": hit.cost_usd, "latency_ms": latency, "cache_hit": True,
                 "success": True},
        )
        self._meter(provider=hit.provider, model=hit.model, cache_hit=True, saved_usd=hit.cost_usd, latency_ms=latency)
        return TextResult(
            request_type=hit.request_type, text=hit.output_text or "", parsed=parsed, provider=hit.provider,
            model=hit.model, input_tokens=hit.input_tokens, output_tokens=hit.output_tokens, cost_usd=0.0,
            latency_ms=latency, cache_hit=True, cache_key=hit.cache_key, memory_id=hit.id, saved_usd=hit.cost_usd,
        )

    @staticmethod
    def _parse(text: str, schema) -> Any:
        if schema is None:
            return None
        if isinstance(schema, dict):
            return json.loads(text)
        return schema.model_validate_json(text)

    def _estimate(self, config: dict[str, Any], prompt: str, system: str | None, schema, options) -> float:
        # UTF-8 bytes bound the token count of byte-level BPE tokenizers from above
        prompt_bytes = len(prompt.encode()) + len((system or "").encode()) + len(ck.schema_fingerprint(schema)) + 64
        max_out = int(options.get("max_tokens") or config["max_tokens"])
        return text_cost(config, prompt_bytes, max_out)

    def _call_text(self, candidate: Candidate, key: str, request_type: str, prompt: str, system: str | None,
                   schema, options: dict[str, Any], base_log: dict[str, Any],
                   offline: OfflineHandler | None) -> TextResult:
        cfg = candidate.config
        call_log = {**base_log, "provider": candidate.provider, "model": candidate.model}
        provider_options = ck.output_options(options)
        provider_options.setdefault("max_tokens", cfg["max_tokens"])
        total_in = total_out = 0
        total_cost = 0.0
        attempt_prompt = prompt
        raw_outputs: list[str] = []
        started = time.perf_counter()
        for attempt in (1, 2):  # the second pass is the single repair attempt
            reservation = self._reserve(self._estimate(cfg, attempt_prompt, system, schema, provider_options),
                                        base_log["channel"]) if candidate.provider != OFFLINE else None
            try:
                if candidate.provider == OFFLINE:
                    response = self._offline.generate_with(request_type, offline)
                else:
                    impl = self.provider(candidate.provider)

                    def on_failure(exc: CallFailure) -> None:
                        self._log_failure(call_log, exc)

                    response = self._with_retries(
                        lambda: impl.generate(candidate.model, attempt_prompt, system=system, schema=schema,
                                              options=provider_options),
                        candidate=candidate, on_failure=on_failure,
                    )
            except CallFailure as exc:
                self._log_failure(call_log, exc, reservation)
                raise ProviderCallError(candidate.provider, candidate.model, self._redact(str(exc)),
                                        status=exc.status) from exc
            except BaseException:
                self.ledger.release_reservation(reservation)
                raise
            cost = text_cost(cfg, response.input_tokens, response.output_tokens, response.cached_input_tokens)
            total_in += response.input_tokens
            total_out += response.output_tokens
            total_cost += cost
            raw_outputs.append(response.text)
            try:
                parsed = self._parse(response.text, schema)
            except (ValidationError, ValueError) as exc:
                problem = _short_error(exc)
                # what the failed attempt cost is still spent: log it, do not cache it
                prompt_cache = prompt_cache_usage(cfg, response.cached_input_tokens)
                self.ledger.log_failure(
                    {**call_log, "input_tokens": response.input_tokens, "output_tokens": response.output_tokens,
                     "cost_usd": cost, **prompt_cache, "latency_ms": (time.perf_counter() - started) * 1000,
                     "cache_hit": False, "error": f"invalid structured output: {problem}"},
                    reservation,
                )
                self._meter(provider=candidate.provider, model=candidate.model, cache_hit=False,
                            input_tokens=response.input_tokens, output_tokens=response.output_tokens, cost_usd=cost,
                            **prompt_cache)
                if attempt == 1:
                    attempt_prompt = _repair_prompt(prompt, response.text, problem)
                    continue
                path = self._keep_raw_output(request_type, key, raw_outputs)
                self._meter_failure()
                raise InvalidOutputError(request_type, candidate.provider, candidate.model, problem, str(path)) from exc
            latency = (time.perf_counter() - started) * 1000
            memory = {
                "cache_key": key, "request_type": request_type, "kind": "text", "prompt_hash": ck.sha256_text(
                    ck.normalise_prompt(prompt)), "prompt": prompt, "system": system,
                "options": json.dumps(ck.output_options(options), ensure_ascii=False, default=str),
                "output_text": response.text, "audio_path": None, "provider": candidate.provider,
                "model": candidate.model, "input_tokens": total_in, "output_tokens": total_out,
                "cost_usd": total_cost, "latency_ms": latency,
            }
            memory_id = self._store_paid(candidate, call_log, memory, reservation, cost=cost, latency=latency,
                                         input_tokens=response.input_tokens, output_tokens=response.output_tokens,
                                         cached_input_tokens=response.cached_input_tokens,
                                         claimed=candidate.provider != OFFLINE)
            return TextResult(
                request_type=request_type, text=response.text, parsed=parsed, provider=candidate.provider,
                model=candidate.model, input_tokens=total_in, output_tokens=total_out, cost_usd=total_cost,
                latency_ms=latency, cache_hit=False, cache_key=key, memory_id=memory_id,
            )
        raise AssertionError("unreachable")

    def _log_failure(self, call_log: dict[str, Any], exc: CallFailure, reservation: str | None = None) -> None:
        self.ledger.log_failure({**call_log, "cache_hit": False, "error": self._redact(str(exc))}, reservation)
        self._meter_failure()

    def _keep_raw_output(self, request_type: str, key: str, outputs: list[str]) -> Path:
        folder = self.settings.home / "failed_outputs" / request_type.replace("/", "_")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{time.strftime('%Y%m%dT%H%M%S')}-{key[:12]}.txt"
        path.write_text("\n\n----- repair attempt -----\n\n".join(outputs), encoding="utf-8")
        return path

    def run_task(self, task: Any, task_input: Any, **kwargs: Any) -> TextResult:
        """Runs an ``AITask``: its prompt for language models, its offline implementation otherwise.

        The task's tier is its request type's tier (registered by ``AITask``), so the caller's
        ``tier=`` or a ``premium``/``important`` option overrides it, as for ``generate_text``.
        """
        options = {"task_version": task.version, **(kwargs.pop("options", None) or {})}
        return self.generate_text(
            task.request_type,
            task.prompt(task_input),
            system=task.system,
            schema=task.output_schema,
            options=options,
            offline=lambda: task.offline(task_input),
            offline_fingerprint=task.offline_fingerprint(),
            **kwargs,
        )

    # ---- embeddings -----------------------------------------------------------------------
    @deadline.bounded
    def embed(self, texts: list[str], *, model: str | None = None, provider: str | None = None,
              request_type: str = "embed", endpoint: str | None = None, channel: str | None = None,
              batch_size: int = 256) -> EmbeddingResult:
        """Vectors for ``texts``, all from one model: the first candidate of the tier that answers.

        Vectors of different models are not comparable, so a candidate that fails part-way is
        dropped as a whole (the batches it did answer stay cached) and the next one embeds
        every text. Callers that keep vectors across calls should check ``provider``/``model``.
        """
        texts = [str(t) for t in texts]
        mode = "manual" if provider and model else "auto"
        candidates = self.candidates(kind="embedding", request_type=request_type, tier="cheap", provider=provider,
                                     model=model, selection_mode=mode)
        failures: list[str] = []
        for candidate in candidates:
            try:
                return self._embed_with(candidate, texts, request_type=request_type, endpoint=endpoint,
                                        channel=channel, batch_size=batch_size, selection_mode=mode)
            except ProviderCallError as exc:
                failures.append(str(exc))
                if deadline.expired():
                    break
                log.warning("embedding falls back after %s", exc)
        raise self._all_failed(request_type, failures)

    def _embed_with(self, candidate: Candidate, texts: list[str], *, request_type: str, endpoint: str | None,
                    channel: str | None, batch_size: int, selection_mode: str) -> EmbeddingResult:
        """Every text through one model, cached per text; a final provider failure is a ``ProviderCallError``."""
        started = time.perf_counter()
        keys = [ck.parts_key("embed", candidate.provider, candidate.model, t) for t in texts]
        unique_keys = list(dict.fromkeys(keys))
        cached = self.ledger.get_embeddings(unique_keys)
        missing = [k for k in unique_keys if k not in cached]
        text_for = dict(zip(keys, texts))
        tokens = 0
        cost = 0.0
        batches = 0
        call_log = {"request_type": request_type, "kind": "embedding", "endpoint": endpoint, "channel": channel,
                    "provider": candidate.provider, "model": candidate.model, "selection_mode": selection_mode}
        cfg = candidate.config
        for i in range(0, len(missing), batch_size):
            batch = missing[i : i + batch_size]
            batch_texts = [text_for[k] for k in batch]
            estimate = sum(len(t.encode()) for t in batch_texts) * cfg["input_per_1m"] / 1e6
            try:
                response, reservation = self._reserved_call(
                    candidate, call_log, estimate, channel,
                    lambda impl, texts=batch_texts: impl.embed(candidate.model, texts))
            except CallFailure as exc:
                if batches:  # what the answered batches cost is spent and cached: meter it
                    self._meter(provider=candidate.provider, model=candidate.model, cache_hit=False,
                                input_tokens=tokens, cost_usd=cost, api_calls=batches, hits=0,
                                latency_ms=(time.perf_counter() - started) * 1000)
                raise ProviderCallError(candidate.provider, candidate.model, self._redact(str(exc)),
                                        status=exc.status) from exc
            vectors = np.asarray(response.vectors, dtype=np.float32)
            batch_cost = response.input_tokens * cfg["input_per_1m"] / 1e6
            self.ledger.put_embeddings(candidate.provider, candidate.model,
                                       {k: v.tobytes() for k, v in zip(batch, vectors)}, vectors.shape[1])
            self.ledger.store_success(
                memory=None,
                log={**call_log, "input_tokens": response.input_tokens, "output_tokens": 0, "cost_usd": batch_cost,
                     "latency_ms": (time.perf_counter() - started) * 1000, "cache_hit": False, "success": True},
                reservation_id=reservation,
            )
            for k, v in zip(batch, vectors):
                cached[k] = v.tobytes()
            tokens += response.input_tokens
            cost += batch_cost
            batches += 1
        latency = (time.perf_counter() - started) * 1000
        hits = len(unique_keys) - len(missing)
        if not missing and texts:
            self.ledger.log_usage({**call_log, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0,
                                   "latency_ms": latency, "cache_hit": True, "success": True})
        self._meter(provider=candidate.provider, model=candidate.model, cache_hit=not missing, input_tokens=tokens,
                    cost_usd=cost, latency_ms=latency, api_calls=batches, hits=hits)
        if texts:
            matrix = np.vstack([np.frombuffer(cached[k], dtype=np.float32) for k in keys])
        else:
            matrix = np.zeros((0, 0), dtype=np.float32)
        return EmbeddingResult(vectors=matrix, provider=candidate.provider, model=candidate.model,
                               input_tokens=tokens, cost_usd=cost, latency_ms=latency, cache_hits=hits,
                               cache_misses=len(missing))


def _repair_prompt(prompt: str, raw: str, problem: str) -> str:
    return (
        f"{prompt}\n\n---\nYour previous answer did not match the required JSON schema ({problem}). "
        f"Previous answer:\n{raw[:4000]}\n\nAnswer again with only a JSON document that matches the schema."
    )


def _short_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        errs = exc.errors()
        first = errs[0] if errs else {}
        where = ".".join(str(p) for p in first.get("loc", ())) or "document"
        return f"{len(errs)} validation error(s), first at {where}: {first.get('msg', '')}"
    return f"not valid JSON ({exc.__class__.__name__}: {str(exc)[:120]})"
