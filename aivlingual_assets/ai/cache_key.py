"""The cache key: a SHA-256 over everything that changes a model's output, and nothing else."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

# options that only steer routing; the chosen provider/model already enters the key
ROUTING_OPTIONS = frozenset({"premium", "important"})
# the only provider whose answers come from our own code, versioned by an offline fingerprint
OFFLINE_PROVIDER = "offline"


def normalise_prompt(text: str | None) -> str:
    """Same meaning, same key: NFC, unified newlines, no trailing spaces or outer blank lines."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def schema_fingerprint(schema: type[BaseModel] | dict[str, Any] | None) -> str:
    if schema is None:
        return ""
    if isinstance(schema, dict):
        return _dumps(schema)
    return _model_fingerprint(schema)


@lru_cache(maxsize=256)
def _model_fingerprint(model: type[BaseModel]) -> str:
    # building a JSON schema takes ~0.2 ms; a model class does not change while we run
    return _dumps(model.model_json_schema())


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def output_options(options: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (options or {}).items() if k not in ROUTING_OPTIONS}


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text_cache_key(
    *,
    request_type: str,
    prompt: str,
    system: str | None,
    schema: type[BaseModel] | dict[str, Any] | None,
    provider: str,
    model: str,
    options: dict[str, Any] | None,
    offline_fingerprint: str = "",
) -> str:
    """``offline_fingerprint`` versions the offline engine's answers and is ignored for every other provider.

    A language model's answer depends on the prompt, not on our lexicon, so a new
    lexicon must not make LLM answers miss; the offline engine's answer is our code.
    """
    payload = {
        "request_type": request_type,
        "prompt": normalise_prompt(prompt),
        "system": normalise_prompt(system),
        "schema": schema_fingerprint(schema),
        "provider": provider,
        "model": model,
        "options": output_options(options),
    }
    if offline_fingerprint and provider == OFFLINE_PROVIDER:  # absent otherwise: older keys stay valid
        payload["offline_engine"] = offline_fingerprint
    return sha256_text(json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str))


def parts_key(*parts: object) -> str:
    return sha256_text("\x1f".join(str(p) for p in parts))
