"""The AI core: one place that caches, routes, retries, meters and budgets every AI call.

Order of work for a request: pick candidate models (auto or manual) -> look the
request up in the AI memory under every candidate's key (a hit costs $0) ->
claim the key so concurrent processes make exactly one provider call -> reserve
the worst-case cost against the budgets -> call with retries -> validate (one
repair attempt) -> cache, log and release the reservation in one transaction.
"""

from __future__ import annotations

import calendar
import contextvars
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import tenacity
from pydantic import BaseModel, ValidationError

from . import cache_key as ck
from .catalogue import TIERS, ModelSpec, default_catalogue
from .errors import (
    AIError,
    AllProvidersFailedError,
    InvalidOutputError,
    ProviderCallError,
    ProviderNotConfiguredError,
)
from .ledger import Ledger, MemoryRow, process_owner
from .providers.base import CallFailure, TranscriptionResponse
from .providers.offline import OfflineHandler, OfflineProvider
from .results import AudioResult, EmbeddingResult, TextResult, TranscriptionResult, UsageMeter

log = logging.getLogger("aivlingual.ai")

OFFLINE = "offline"
EXTERNAL_PROVIDERS = ("openai", "gemini", "local")
# request types whose output is published or learned from: "important content" -> normal tier
REQUEST_TYPE_TIERS: dict[str, str] = {}

_active_meters: contextvars.ContextVar[tuple[UsageMeter, ...]] = contextvars.ContextVar("aiv_meters", default=())


@dataclass
class AISettings:
    database_url: str
    home: Path
    openai_api_key: str | None = None
    openai_base_url: str | None = None  # None: the SDK reads OPENAI_BASE_URL itself
    gemini_api_key: str | None = None
    local_base_url: str | None = None
    local_api_key: str | None = None
    local_model: str = "llama3.1:8b"
    local_embedding_model: str = "nomic-embed-text"
    monthly_budget_usd: float | None = None
    channel_budgets: dict[str, float] = field(default_factory=dict)
    max_attempts: int = 4
    retry_base_seconds: float = 0.5
    retry_max_seconds: float = 30.0
    timeout_seconds: float = 60.0
    lease_seconds: float = 900.0

    @classmethod
    def from_env(cls, **overrides: Any) -> AISettings:
        from .. import settings as s

        budgets = {}
        for part in (s.env("AIVLINGUAL_CHANNEL_BUDGETS") or "").split(","):
            if "=" in part:
                name, _, value = part.partition("=")
                budgets[name.strip()] = float(value)
        monthly = s.env("AIVLINGUAL_MONTHLY_BUDGET_USD")
        values: dict[str, Any] = dict(
            database_url=s.database_url(),
            home=s.aivlingual_home(),
            openai_api_key=s.env("OPENAI_API_KEY"),
            gemini_api_key=s.env("GEMINI_API_KEY") or s.env("GOOGLE_API_KEY"),
            local_base_url=s.env("AIVLINGUAL_LOCAL_BASE_URL"),
            local_api_key=s.env("AIVLINGUAL_LOCAL_API_KEY"),
            local_model=s.env("AIVLINGUAL_LOCAL_MODEL", "llama3.1:8b"),
            local_embedding_model=s.env("AIVLINGUAL_LOCAL_EMBEDDING_MODEL", "nomic-embed-text"),
            monthly_budget_usd=float(monthly) if monthly else None,
            channel_budgets=budgets,
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def secrets(self) -> list[str]:
        return [v for v in (self.openai_api_key, self.gemini_api_key, self.local_api_key) if v]


@dataclass
class Candidate:
    provider: str
    model: str
    config: dict[str, Any]


def month_start(now: float | None = None) -> float:
    dt = datetime.fromtimestamp(now or time.time(), tz=timezone.utc)
    return calendar.timegm((dt.year, dt.month, 1, 0, 0, 0))


def text_cost(config: dict[str, Any], input_tokens: int, output_tokens: int) -> float:
    return (
        input_tokens * config["input_per_1m"] / 1e6
        + output_tokens * config["output_per_1m"] / 1e6
        + config["per_request"]
    )


def transcription_cost(config: dict[str, Any], response: TranscriptionResponse) -> float:
    """Token-billed models (Gemini) count the audio in their input tokens; the others bill per minute."""
    if response.input_tokens or response.output_tokens:
        return text_cost(config, response.input_tokens, response.output_tokens)
    return (response.duration_seconds / 60) * config["per_minute"] + config["per_request"]


def _tier_rank(tier: str) -> int:
    return TIERS.index(tier) if tier in TIERS else 0


def _blended_price(config: dict[str, Any]) -> float:
    """Ranking price: a typical request reads about twice what it writes."""
    return config["input_per_1m"] * 2 + config["output_per_1m"] + config["per_request"] * 1e6 / 1000 \
        + config["per_minute"] * 1000 + config["per_1m_chars"]


class AICore:
    """Plain-Python AI core; ``AICoreResource`` wraps one for Dagster."""

    def __init__(self, settings: AISettings | None = None):
        self.settings = settings or AISettings.from_env()
        self.ledger = Ledger(self.settings.database_url)
        self.ledger.seed_catalogue(
            default_catalogue(
                self.settings.local_model if self.settings.local_base_url else None,
                self.settings.local_embedding_model if self.settings.local_base_url else None,
            )
        )
        self.owner = process_owner()
        self._providers: dict[str, Any] = {}
        self._offline = OfflineProvider()
        self._models_cache: tuple[float, list[dict[str, Any]]] | None = None

    # ---- providers ------------------------------------------------------------------------
    def configured_providers(self) -> list[str]:
        s = self.settings
        names = []
        if s.openai_api_key:
            names.append("openai")
        if s.gemini_api_key:
            names.append("gemini")
        if s.local_base_url:
            names.append("local")
        return names

    def provider(self, name: str):
        if name == OFFLINE:
            return self._offline
        if name in self._providers:
            return self._providers[name]
        s = self.settings
        if name == "openai":
            if not s.openai_api_key:
                raise ProviderNotConfiguredError("openai", "set OPENAI_API_KEY (and OPENAI_BASE_URL for a proxy).")
            from .providers.openai_provider import OpenAIProvider

            impl = OpenAIProvider(name="openai", api_key=s.openai_api_key, base_url=s.openai_base_url,
                                  timeout=s.timeout_seconds)
        elif name == "gemini":
            if not s.gemini_api_key:
                raise ProviderNotConfiguredError("gemini", "set GEMINI_API_KEY (or GOOGLE_API_KEY).")
            from .providers.gemini_provider import GeminiProvider

            impl = GeminiProvider(api_key=s.gemini_api_key, timeout=s.timeout_seconds)
        elif name == "local":
            if not s.local_base_url:
                raise ProviderNotConfiguredError(
                    "local", "set AIVLINGUAL_LOCAL_BASE_URL to an OpenAI-compatible server, e.g. http://localhost:11434/v1."
                )
            from .providers.openai_provider import OpenAIProvider

            impl = OpenAIProvider(name="local", api_key=s.local_api_key or "local", base_url=s.local_base_url,
                                  timeout=s.timeout_seconds)
        else:
            raise ProviderNotConfiguredError(name, "known providers are openai, gemini, local and offline.")
        self._providers[name] = impl
        return impl

    def _models(self, kind: str) -> list[dict[str, Any]]:
        # the catalogue changes rarely; re-read it at most every few seconds
        now = time.monotonic()
        if self._models_cache is None or now - self._models_cache[0] > 5.0:
            self._models_cache = (now, self.ledger.models(active_only=True))
        return [m for m in self._models_cache[1] if m["kind"] == kind]

    def invalidate_catalogue(self) -> None:
        self._models_cache = None

    # ---- selection ------------------------------------------------------------------------
    def tier_for(self, request_type: str, options: dict[str, Any] | None, tier: str | None) -> str:
        """An explicit tier wins; ``premium``/``important`` only ever raise the request type's tier, never lower it."""
        if tier:
            return tier
        options = options or {}
        base = REQUEST_TYPE_TIERS.get(request_type, "cheap")
        if options.get("premium"):
            return "premium"
        if options.get("important"):
            return max(base, "normal", key=_tier_rank)
        return base

    def candidates(
        self,
        *,
        kind: str,
        request_type: str,
        tier: str,
        provider: str | None,
        model: str | None,
        selection_mode: str,
        require: str | None = None,
    ) -> list[Candidate]:
        models = self._models(kind)
        if selection_mode == "manual" or (provider and model):
            if not provider:
                raise AIError("selection_mode='manual' needs provider= (and usually model=).")
            if provider != OFFLINE:
                self.provider(provider)  # raises a clear error when not configured
            chosen = [m for m in models if m["provider"] == provider and (m["model"] == model if model else m["is_default"])]
            if not chosen and model:
                # manual mode may name a model the catalogue does not know: metered at $0 list price
                spec = ModelSpec(provider, model, kind, tier)
                chosen = [self._spec_config(spec)]
            if not chosen:
                raise AIError(f"No active {kind} model for provider '{provider}'; name one with model=.")
            return [Candidate(provider, chosen[0]["model"], chosen[0])]
        configured = set(self.configured_providers())
        if provider:
            if provider != OFFLINE and provider not in configured:
                self.provider(provider)
            configured = {provider}
        pool = [m for m in models if m["provider"] in configured and m["provider"] != OFFLINE]
        if model:
            pool = [m for m in pool if m["model"] == model]
        if require:
            pool = [m for m in pool if require in m["capabilities"]]
        if not pool:
            offline = [m for m in models if m["provider"] == OFFLINE]
            if provider not in (None, OFFLINE) or not offline:
                raise AIError(f"No active {kind} model among providers {sorted(configured) or 'none'}.")
            return [Candidate(OFFLINE, offline[0]["model"], offline[0])]
        in_tier = [m for m in pool if m["tier"] == tier] or pool
        in_tier.sort(key=lambda m: (request_type not in m["default_for"], _blended_price(m), -m["quality"], m["model"]))
        preferred = [m for m in pool if request_type in m["default_for"] and m not in in_tier]
        ordered = preferred + in_tier
        return [Candidate(m["provider"], m["model"], m) for m in ordered]

    @staticmethod
    def _spec_config(spec: ModelSpec) -> dict[str, Any]:
        return {
            "provider": spec.provider, "model": spec.model, "kind": spec.kind, "tier": spec.tier,
            "input_per_1m": spec.input_per_1m, "output_per_1m": spec.output_per_1m, "per_request": spec.per_request,
            "per_minute": spec.per_minute, "per_1m_chars": spec.per_1m_chars, "quality": spec.quality,
            "max_tokens": spec.max_tokens, "capabilities": list(spec.capabilities), "default_for": [], "is_default": False,
        }

    # ---- metering -------------------------------------------------------------------------
    @contextmanager
    def meter(self) -> Iterator[UsageMeter]:
        """Collects the usage of every call made inside the block (nesting allowed)."""
        meter = UsageMeter()
        token = _active_meters.set(_active_meters.get() + (meter,))
        try:
            yield meter
        finally:
            _active_meters.reset(token)

    @staticmethod
    def _meter(**values: Any) -> None:
        for meter in _active_meters.get():
            meter.add(**values)

    @staticmethod
    def _meter_failure() -> None:
        for meter in _active_meters.get():
            meter.add_failure()

    def _redact(self, text: str) -> str:
        for secret in self.settings.secrets():
            text = text.replace(secret, "***")
        return text

    # ---- budgets and retries ---------------------------------------------------------------
    def _budget_limits(self, channel: str | None) -> list[tuple[str, str | None, float]]:
        limits: list[tuple[str, str | None, float]] = []
        if self.settings.monthly_budget_usd is not None:
            limits.append(("all channels", None, self.settings.monthly_budget_usd))
        if channel and channel in self.settings.channel_budgets:
            limits.append((f"channel '{channel}'", channel, self.settings.channel_budgets[channel]))
        return limits

    def _reserve(self, estimate: float, channel: str | None) -> str | None:
        return self.ledger.reserve_budget(
            estimate=estimate,
            channel=channel,
            limits=self._budget_limits(channel),
            month_start=month_start(),
            owner=self.owner,
            lease_seconds=self.settings.lease_seconds,
        )

    def _with_retries(self, fn: Callable[[], Any], *, on_failure: Callable[[CallFailure], None]) -> Any:
        s = self.settings
        backoff = tenacity.wait_exponential_jitter(initial=s.retry_base_seconds, max=s.retry_max_seconds)

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            delay = backoff(state)
            if isinstance(exc, CallFailure) and exc.retry_after is not None:
                delay = max(delay, min(exc.retry_after, s.retry_max_seconds))
            return delay

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, CallFailure):
                on_failure(exc)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(1, s.max_attempts)),
            retry=tenacity.retry_if_exception(lambda e: isinstance(e, CallFailure) and e.retryable),
            wait=wait,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(fn)

    def _reserved_call(self, candidate: Candidate, call_log: dict[str, Any], estimate: float,
                       channel: str | None, call: Callable[[Any], Any]) -> tuple[Any, str | None]:
        """Reserves ``estimate``, calls with retries; a final failure is logged and re-raised."""
        reservation = self._reserve(estimate, channel)
        impl = self.provider(candidate.provider)
        try:
            response = self._with_retries(lambda: call(impl), on_failure=lambda e: self._log_failure(call_log, e))
        except CallFailure as exc:
            self._log_failure(call_log, exc, reservation)
            raise
        except BaseException:
            self.ledger.release_reservation(reservation)
            raise
        return response, reservation

    # ---- single flight --------------------------------------------------------------------
    def _claim_or_wait(self, keys: list[str], key: str) -> MemoryRow | None:
        """Returns a cached row if another process produced it meanwhile, else holds the claim."""
        delay = 0.02
        deadline = time.monotonic() + self.settings.lease_seconds * 2
        while True:
            if self.ledger.try_claim(key, self.owner, self.settings.lease_seconds):
                hit = self.ledger.find_memory(keys)
                if hit is not None:  # produced between our lookup and our claim
                    self.ledger.release_claim(key, self.owner)
                return hit
            hit = self.ledger.find_memory(keys)
            if hit is not None:
                return hit
            if time.monotonic() > deadline:
                raise AIError(f"Gave up waiting for another process to finish request {key[:12]}.")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    # ---- text -----------------------------------------------------------------------------
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
        keys = [
            ck.text_cache_key(request_type=request_type, prompt=prompt, system=system, schema=schema,
                              provider=c.provider, model=c.model, options=options,
                              offline_fingerprint=offline_fingerprint)
            for c in candidates
        ]
        base_log = {"request_type": request_type, "kind": "text", "endpoint": endpoint, "channel": channel,
                    "selection_mode": selection_mode}
        started = time.perf_counter()
        if not force_refresh:
            hit = self.ledger.find_memory(keys)
            if hit is not None:
                return self._text_hit(hit, schema, base_log, started)

        failures: list[str] = []
        for candidate, key in zip(candidates, keys):
            is_offline = candidate.provider == OFFLINE
            if not is_offline:
                hit = self._claim_or_wait([key] if force_refresh else keys, key)
                if hit is not None and not force_refresh:
                    return self._text_hit(hit, schema, base_log, started)
            try:
                return self._call_text(candidate, key, request_type, prompt, system, schema, options,
                                       base_log, offline)
            except ProviderCallError as exc:
                failures.append(str(exc))
                log.warning("falling back after %s", exc)
                continue
            finally:
                if not is_offline:
                    self.ledger.release_claim(key, self.owner)
        raise AllProvidersFailedError(request_type, failures)

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
                        on_failure=on_failure,
                    )
            except CallFailure as exc:
                self._log_failure(call_log, exc, reservation)
                raise ProviderCallError(candidate.provider, candidate.model, self._redact(str(exc)),
                                        status=exc.status) from exc
            except BaseException:
                self.ledger.release_reservation(reservation)
                raise
            cost = text_cost(cfg, response.input_tokens, response.output_tokens)
            total_in += response.input_tokens
            total_out += response.output_tokens
            total_cost += cost
            raw_outputs.append(response.text)
            try:
                parsed = self._parse(response.text, schema)
            except (ValidationError, ValueError) as exc:
                problem = _short_error(exc)
                # what the failed attempt cost is still spent: log it, do not cache it
                self.ledger.log_failure(
                    {**call_log, "input_tokens": response.input_tokens, "output_tokens": response.output_tokens,
                     "cost_usd": cost, "latency_ms": (time.perf_counter() - started) * 1000, "cache_hit": False,
                     "error": f"invalid structured output: {problem}"},
                    reservation,
                )
                self._meter(provider=candidate.provider, model=candidate.model, cache_hit=False,
                            input_tokens=response.input_tokens, output_tokens=response.output_tokens, cost_usd=cost)
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
            memory_id = self.ledger.store_success(
                memory=memory,
                log={**call_log, "input_tokens": response.input_tokens, "output_tokens": response.output_tokens,
                     "cost_usd": cost, "latency_ms": latency, "cache_hit": False, "success": True},
                reservation_id=reservation,
            )
            self._meter(provider=candidate.provider, model=candidate.model, cache_hit=False,
                        input_tokens=response.input_tokens, output_tokens=response.output_tokens, cost_usd=cost,
                        latency_ms=latency)
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
                log.warning("embedding falls back after %s", exc)
        raise AllProvidersFailedError(request_type, failures)

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

    # ---- audio ----------------------------------------------------------------------------
    def transcribe(self, audio: str | Path, *, language: str | None = None, provider: str | None = None,
                   model: str | None = None, request_type: str = "transcribe", endpoint: str | None = None,
                   channel: str | None = None, duration_seconds: float | None = None,
                   force_refresh: bool = False) -> TranscriptionResult:
        """Timed segments for an audio file, cached by the audio's content hash."""
        from ..ingestion.media import file_sha256

        audio = Path(audio)
        if not audio.is_file():
            raise AIError(f"Audio file not found: {audio}")
        if not self.configured_providers() and provider in (None, OFFLINE):
            from .errors import OfflineUnsupportedError

            raise OfflineUnsupportedError(request_type, kind="transcription")
        audio_hash = file_sha256(audio)
        candidates = self.candidates(kind="transcription", request_type=request_type, tier="cheap",
                                     provider=provider, model=model,
                                     selection_mode="manual" if provider and model else "auto", require="segments")
        keys = [ck.parts_key("transcribe", c.provider, c.model, language or "", audio_hash) for c in candidates]
        base_log = {"request_type": request_type, "kind": "transcription", "endpoint": endpoint, "channel": channel,
                    "selection_mode": "auto"}
        started = time.perf_counter()
        if not force_refresh:
            hit = self.ledger.find_memory(keys)
            if hit is not None:
                return self._transcript_hit(hit, base_log, started)
        failures = []
        for candidate, key in zip(candidates, keys):
            hit = self._claim_or_wait(keys if not force_refresh else [key], key)
            if hit is not None and not force_refresh:
                return self._transcript_hit(hit, base_log, started)
            call_log = {**base_log, "provider": candidate.provider, "model": candidate.model}
            cfg = candidate.config
            try:
                minutes = (duration_seconds or _audio_minutes_upper_bound(audio) * 60) / 60
                try:
                    response, reservation = self._reserved_call(
                        candidate, call_log, minutes * cfg["per_minute"] + cfg["per_request"], channel,
                        lambda impl, c=candidate: impl.transcribe(c.model, audio, language=language))
                except CallFailure as exc:
                    failures.append(self._redact(f"{candidate.provider}/{candidate.model}: {exc}"))
                    continue
                cost = transcription_cost(cfg, response)
                latency = (time.perf_counter() - started) * 1000
                output = json.dumps({"language": response.language, "duration": response.duration_seconds,
                                     "segments": response.segments}, ensure_ascii=False)
                self.ledger.store_success(
                    memory={"cache_key": key, "request_type": request_type, "kind": "transcription",
                            "prompt_hash": audio_hash, "prompt": f"audio sha256:{audio_hash}", "system": None,
                            "options": json.dumps({"language": language}), "output_text": output, "audio_path": None,
                            "provider": candidate.provider, "model": candidate.model,
                            "input_tokens": response.input_tokens, "output_tokens": response.output_tokens,
                            "cost_usd": cost, "latency_ms": latency},
                    log={**call_log, "input_tokens": response.input_tokens, "output_tokens": response.output_tokens,
                         "cost_usd": cost, "latency_ms": latency, "cache_hit": False, "success": True},
                    reservation_id=reservation,
                )
                self._meter(provider=candidate.provider, model=candidate.model, cache_hit=False,
                            input_tokens=response.input_tokens, output_tokens=response.output_tokens, cost_usd=cost,
                            latency_ms=latency)
                return TranscriptionResult(segments=response.segments, language=response.language,
                                           duration_seconds=response.duration_seconds, provider=candidate.provider,
                                           model=candidate.model, cost_usd=cost, latency_ms=latency, cache_hit=False)
            finally:
                self.ledger.release_claim(key, self.owner)
        raise AllProvidersFailedError(request_type, failures)

    def _transcript_hit(self, hit: MemoryRow, base_log: dict[str, Any], started: float) -> TranscriptionResult:
        data = json.loads(hit.output_text or "{}")
        latency = (time.perf_counter() - started) * 1000
        self.ledger.record_hit(hit, log={**base_log, "provider": hit.provider, "model": hit.model, "cost_usd": 0.0,
                                         "saved_usd": hit.cost_usd, "latency_ms": latency, "cache_hit": True,
                                         "success": True})
        self._meter(provider=hit.provider, model=hit.model, cache_hit=True, saved_usd=hit.cost_usd, latency_ms=latency)
        return TranscriptionResult(segments=data.get("segments", []), language=data.get("language"),
                                   duration_seconds=float(data.get("duration") or 0.0), provider=hit.provider,
                                   model=hit.model, cost_usd=0.0, latency_ms=latency, cache_hit=True)

    def generate_audio(self, text: str, *, language: str, voice: str | None = None, provider: str | None = None,
                       model: str | None = None, request_type: str = "tts", endpoint: str | None = None,
                       channel: str | None = None, force_refresh: bool = False) -> AudioResult:
        """Speech for ``text``, stored as a file named by the content hash of the request."""
        if not self.configured_providers() and provider in (None, OFFLINE):
            from .errors import OfflineUnsupportedError

            raise OfflineUnsupportedError(request_type, kind="speech")
        candidates = self.candidates(kind="audio", request_type=request_type, tier="cheap", provider=provider,
                                     model=model, selection_mode="manual" if provider and model else "auto")
        keys = [ck.parts_key("tts", c.provider, c.model, voice or "", language, ck.normalise_prompt(text))
                for c in candidates]
        base_log = {"request_type": request_type, "kind": "audio", "endpoint": endpoint, "channel": channel,
                    "selection_mode": "auto"}
        started = time.perf_counter()
        if not force_refresh:
            hit = self.ledger.find_memory(keys)
            if hit is not None and hit.audio_path and Path(hit.audio_path).is_file():
                return self._audio_hit(hit, base_log, started)
        failures = []
        folder = self.settings.home / "audio"
        folder.mkdir(parents=True, exist_ok=True)
        for candidate, key in zip(candidates, keys):
            hit = self._claim_or_wait(keys if not force_refresh else [key], key)
            if hit is not None and not force_refresh and hit.audio_path and Path(hit.audio_path).is_file():
                return self._audio_hit(hit, base_log, started)
            call_log = {**base_log, "provider": candidate.provider, "model": candidate.model}
            cfg = candidate.config
            try:
                try:
                    response, reservation = self._reserved_call(
                        candidate, call_log, len(text) * cfg["per_1m_chars"] / 1e6 + cfg["per_request"], channel,
                        lambda impl, c=candidate: impl.speak(c.model, text, voice=voice, language=language))
                except CallFailure as exc:
                    failures.append(self._redact(f"{candidate.provider}/{candidate.model}: {exc}"))
                    continue
                path = folder / f"{key}.{response.format}"
                tmp = path.with_suffix(path.suffix + ".part")
                tmp.write_bytes(response.audio)
                tmp.replace(path)  # a crash never leaves a half-written audio file under the final name
                cost = response.characters * cfg["per_1m_chars"] / 1e6 + cfg["per_request"]
                latency = (time.perf_counter() - started) * 1000
                self.ledger.store_success(
                    memory={"cache_key": key, "request_type": request_type, "kind": "audio",
                            "prompt_hash": ck.sha256_text(ck.normalise_prompt(text)), "prompt": text, "system": None,
                            "options": json.dumps({"voice": voice, "language": language}), "output_text": None,
                            "audio_path": str(path), "provider": candidate.provider, "model": candidate.model,
                            "input_tokens": 0, "output_tokens": 0, "cost_usd": cost, "latency_ms": latency},
                    log={**call_log, "input_tokens": 0, "output_tokens": 0, "cost_usd": cost, "latency_ms": latency,
                         "cache_hit": False, "success": True},
                    reservation_id=reservation,
                )
                self._meter(provider=candidate.provider, model=candidate.model, cache_hit=False, cost_usd=cost,
                            latency_ms=latency)
                return AudioResult(path=path, format=response.format, provider=candidate.provider,
                                   model=candidate.model, cost_usd=cost, latency_ms=latency, cache_hit=False)
            finally:
                self.ledger.release_claim(key, self.owner)
        raise AllProvidersFailedError(request_type, failures)

    def _audio_hit(self, hit: MemoryRow, base_log: dict[str, Any], started: float) -> AudioResult:
        latency = (time.perf_counter() - started) * 1000
        self.ledger.record_hit(hit, log={**base_log, "provider": hit.provider, "model": hit.model, "cost_usd": 0.0,
                                         "saved_usd": hit.cost_usd, "latency_ms": latency, "cache_hit": True,
                                         "success": True})
        self._meter(provider=hit.provider, model=hit.model, cache_hit=True, saved_usd=hit.cost_usd, latency_ms=latency)
        path = Path(hit.audio_path or "")
        return AudioResult(path=path, format=path.suffix.lstrip("."), provider=hit.provider, model=hit.model,
                           cost_usd=0.0, latency_ms=latency, cache_hit=True)


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


def _audio_minutes_upper_bound(audio: Path) -> float:
    """Audio length in minutes for the budget check, from ffmpeg's probe."""
    try:
        from ..ingestion.media import probe_duration

        return probe_duration(audio) / 60
    except Exception:  # an unreadable file fails later with the provider's own message
        return 0.0
