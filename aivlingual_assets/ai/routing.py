"""Routing: which providers are configured, and which models may answer a request, best first."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from .budgets import blended_price
from .catalogue import TIERS, ModelSpec
from .config import AISettings
from .errors import AIError, ProviderNotConfiguredError
from .ledger import Ledger, catalogue_changes
from .providers.offline import OfflineProvider

OFFLINE = "offline"
EXTERNAL_PROVIDERS = ("openai", "gemini", "local")
# request types whose output is published or learned from: "important content" -> normal tier
REQUEST_TYPE_TIERS: dict[str, str] = {}


@dataclass
class Candidate:
    provider: str
    model: str
    config: dict[str, Any]


def tier_rank(tier: str) -> int:
    return TIERS.index(tier) if tier in TIERS else 0


def spec_config(spec: ModelSpec) -> dict[str, Any]:
    """A catalogue row for a model the ledger does not list (manual mode)."""
    return {
        "provider": spec.provider, "model": spec.model, "kind": spec.kind, "tier": spec.tier,
        "input_per_1m": spec.input_per_1m, "output_per_1m": spec.output_per_1m, "per_request": spec.per_request,
        "per_minute": spec.per_minute, "per_1m_chars": spec.per_1m_chars,
        "cached_input_per_1m": spec.cached_input_per_1m, "quality": spec.quality,
        "max_tokens": spec.max_tokens, "capabilities": list(spec.capabilities), "default_for": [], "is_default": False,
    }


# provider clients are costly to build (openai.OpenAI ~30 ms): one per process and configuration
_clients: dict[tuple, Any] = {}
_clients_lock = threading.Lock()


def shared_client(name: str, s: AISettings) -> Any:
    """This process's client for provider ``name`` with these settings (built on first use, then reused).

    The key holds everything the client is built from, including the base URLs the SDKs read
    from the environment themselves, so a changed setting gets a new client.
    """
    built_from = {
        "openai": (s.openai_api_key, s.openai_base_url or os.environ.get("OPENAI_BASE_URL")),
        "gemini": (s.gemini_api_key, os.environ.get("GOOGLE_GEMINI_BASE_URL")),
        "local": (s.local_base_url, s.local_api_key),
    }.get(name, ())
    key = (os.getpid(), name, s.timeout_seconds, *built_from)
    with _clients_lock:
        impl = _clients.get(key)
        if impl is None:
            impl = _clients[key] = _build_client(name, s)
        return impl


def _build_client(name: str, s: AISettings) -> Any:
    if name == "openai":
        if not s.openai_api_key:
            raise ProviderNotConfiguredError("openai", "set OPENAI_API_KEY (and OPENAI_BASE_URL for a proxy).")
        from .providers.openai_provider import OpenAIProvider

        return OpenAIProvider(name="openai", api_key=s.openai_api_key, base_url=s.openai_base_url,
                              timeout=s.timeout_seconds)
    if name == "gemini":
        if not s.gemini_api_key:
            raise ProviderNotConfiguredError("gemini", "set GEMINI_API_KEY (or GOOGLE_API_KEY).")
        from .providers.gemini_provider import GeminiProvider

        return GeminiProvider(api_key=s.gemini_api_key, timeout=s.timeout_seconds)
    if name == "local":
        if not s.local_base_url:
            raise ProviderNotConfiguredError(
                "local", "set AIVLINGUAL_LOCAL_BASE_URL to an OpenAI-compatible server, e.g. http://localhost:11434/v1."
            )
        from .providers.openai_provider import OpenAIProvider

        return OpenAIProvider(name="local", api_key=s.local_api_key or "local", base_url=s.local_base_url,
                              timeout=s.timeout_seconds)
    raise ProviderNotConfiguredError(name, "known providers are openai, gemini, local and offline.")


class Router:
    """Provider clients (shared by the process, see ``shared_client``) and the candidate models of each request."""

    def __init__(self, settings: AISettings, ledger: Ledger):
        self.settings, self.ledger = settings, ledger
        self.offline = OfflineProvider()
        self._models_cache: tuple[float, list[dict[str, Any]]] | None = None
        self._seen_changes = catalogue_changes()
        # the candidates of a request shape, valid as long as the catalogue snapshot they came from
        self._chosen: dict[tuple, list[Candidate]] = {}

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
            return self.offline
        return shared_client(name, self.settings)

    def models(self, kind: str) -> list[dict[str, Any]]:
        # the catalogue changes rarely; re-read it at most every few seconds
        now = time.monotonic()
        if self._models_cache is None or now - self._models_cache[0] > 5.0 or self._catalogue_stale():
            self._seen_changes = catalogue_changes()
            self._models_cache = (now, self.ledger.models(active_only=True))
            self._chosen.clear()
        return [m for m in self._models_cache[1] if m["kind"] == kind]

    def _catalogue_stale(self) -> bool:
        """This process changed the catalogue since it was read (other processes: within 5 s)."""
        return self._seen_changes != catalogue_changes()

    def invalidate_catalogue(self) -> None:
        self._models_cache = None
        self._chosen.clear()

    # ---- selection ------------------------------------------------------------------------
    @staticmethod
    def tier_for(request_type: str, options: dict[str, Any] | None, tier: str | None) -> str:
        """An explicit tier wins; ``premium``/``important`` only ever raise the request type's tier, never lower it."""
        if tier:
            return tier
        options = options or {}
        base = REQUEST_TYPE_TIERS.get(request_type, "cheap")
        if options.get("premium"):
            return "premium"
        if options.get("important"):
            return max(base, "normal", key=tier_rank)
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
        """The models that may answer, best first (the same list while the catalogue snapshot lasts)."""
        shape = (kind, request_type, tier, provider, model, selection_mode, require)
        if (self._models_cache is not None and time.monotonic() - self._models_cache[0] <= 5.0
                and not self._catalogue_stale()):
            chosen = self._chosen.get(shape)
            if chosen is not None:
                return list(chosen)
        chosen = self._choose(kind=kind, request_type=request_type, tier=tier, provider=provider, model=model,
                              selection_mode=selection_mode, require=require)
        self._chosen[shape] = chosen
        return list(chosen)

    def _choose(self, *, kind: str, request_type: str, tier: str, provider: str | None, model: str | None,
                selection_mode: str, require: str | None) -> list[Candidate]:
        models = self.models(kind)
        if selection_mode == "manual" or (provider and model):
            if not provider:
                raise AIError("selection_mode='manual' needs provider= (and usually model=).")
            if provider != OFFLINE:
                self.provider(provider)  # raises a clear error when not configured
            chosen = [m for m in models if m["provider"] == provider and (m["model"] == model if model else m["is_default"])]
            if not chosen and model:
                # a model the catalogue keeps switched off (a fine-tune under evaluation, a demoted one) answers
                # by name at its catalogue price; one it does not know at all is metered at $0 list price
                chosen = [m for m in self.ledger.models(kind=kind)
                          if m["provider"] == provider and m["model"] == model] or [
                    spec_config(ModelSpec(provider, model, kind, tier))]
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
        in_tier.sort(key=lambda m: (request_type not in m["default_for"], blended_price(m), -m["quality"], m["model"]))
        preferred = [m for m in pool if request_type in m["default_for"] and m not in in_tier]
        ordered = preferred + in_tier
        return [Candidate(m["provider"], m["model"], m) for m in ordered]
