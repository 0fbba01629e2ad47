"""The cache key: a SHA-256 over everything that changes a model's output, and nothing else."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from json.encoder import encode_basestring as _encode_string
from typing import Any

from pydantic import BaseModel

# options that only steer routing; the chosen provider/model already enters the key
ROUTING_OPTIONS = frozenset({"premium", "important"})
# the only provider whose answers come from our own code, versioned by an offline fingerprint
OFFLINE_PROVIDER = "offline"


# whitespace (as ``str.isspace`` knows it) before a line end; newlines themselves stay
_TRAILING_SPACE = re.compile(r"[^\S\n]+$", re.MULTILINE)


def normalise_prompt(text: str | None) -> str:
    """Same meaning, same key: NFC, unified newlines, no trailing spaces or outer blank lines."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return _TRAILING_SPACE.sub("", text).strip()


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


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, compact, unescaped Unicode (a string: one C call)."""
    if type(value) is str:
        return _encode_string(value)
    return _ENCODER.encode(value)


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
    return text_cache_keys(request_type=request_type, prompt=prompt, system=system, schema=schema,
                           models=[(provider, model)], options=options, offline_fingerprint=offline_fingerprint)[0]


def text_cache_keys(
    *,
    request_type: str,
    prompt: str,
    system: str | None,
    schema: type[BaseModel] | dict[str, Any] | None,
    models: Sequence[tuple[str, str]],
    options: dict[str, Any] | None,
    offline_fingerprint: str = "",
) -> list[str]:
    """The keys of one request for each (provider, model), the request normalised and encoded once.

    Each key is the SHA-256 of the canonical JSON (sorted keys, compact, UTF-8) of
    ``{"model", ["offline_engine",] "options", "prompt", "provider", "request_type", "schema",
    "system"}``; the parts every model shares are rendered once and hashed per model.
    """
    shared_middle = (
        f',"options":{_dumps(output_options(options))},"prompt":{_dumps(normalise_prompt(prompt))},"provider":'
    ).encode()
    shared_tail = (
        f',"request_type":{_dumps(request_type)},"schema":{_dumps(schema_fingerprint(schema))},'
        f'"system":{_dumps(normalise_prompt(system))}}}'
    ).encode()
    keys = []
    for provider, model in models:
        digest = hashlib.sha256(f'{{"model":{_dumps(model)}'.encode())
        if offline_fingerprint and provider == OFFLINE_PROVIDER:  # absent otherwise: older keys stay valid
            digest.update(f',"offline_engine":{_dumps(offline_fingerprint)}'.encode())
        digest.update(shared_middle)
        digest.update(_dumps(provider).encode())
        digest.update(shared_tail)
        keys.append(digest.hexdigest())
    return keys


def parts_key(*parts: object) -> str:
    return sha256_text("\x1f".join(str(p) for p in parts))
