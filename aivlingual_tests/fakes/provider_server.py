"""A local fake of the OpenAI and Gemini HTTP APIs, for driving the real SDKs in tests.

One :class:`ProviderServer` listens on ``127.0.0.1`` (random free port) and speaks both wire
protocols, exactly as the installed ``openai`` and ``google-genai`` SDKs send and parse them.
Only the standard library is used (``http.server.ThreadingHTTPServer`` in a daemon thread).

Pointing the SDKs at it
-----------------------
::

    from aivlingual_tests.fakes.provider_server import ProviderServer, Fault, Reply

    with ProviderServer() as server:
        oai = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
        gem = genai.Client(api_key="test", http_options={"base_url": server.gemini_base_url})

or through the environment, exactly as production code reads it (``OPENAI_BASE_URL`` is read by
the openai SDK, ``GOOGLE_GEMINI_BASE_URL`` by google-genai's ``_base_url.get_base_url``)::

    server.apply_env(monkeypatch)        # sets OPENAI_BASE_URL, OPENAI_API_KEY,
                                         # GOOGLE_GEMINI_BASE_URL, GEMINI_API_KEY; removes
                                         # GOOGLE_API_KEY and the Vertex/Enterprise switches

A ready-made pytest fixture ``provider_server`` (started server + ``apply_env``) lives in this
module; import it into a ``conftest.py``::

    from aivlingual_tests.fakes.provider_server import provider_server  # noqa: F401

Attributes: ``url`` (``http://127.0.0.1:PORT``), ``openai_base_url`` (``url + "/v1"``),
``gemini_base_url`` (``url``), ``port``. ``start()``/``stop()`` or use it as a context manager.

Endpoints (request kinds in brackets)
-------------------------------------
OpenAI (``/v1``):
  * ``POST /chat/completions`` [``openai.chat``] - ``response_format`` ``json_schema`` /
    ``json_object`` / text, ``max_tokens`` / ``max_completion_tokens``, ``n``, ``stream``
    (SSE, honours ``stream_options.include_usage``). Like the real API it rejects
    (HTTP 400) ``json_object`` when no message mentions "json", and ``strict: true`` schemas
    whose objects lack ``additionalProperties: false`` or do not require every property
    (switch off with ``server.validate_strict_schemas = False``).
  * ``POST /responses`` [``openai.responses``] - non-streaming only; ``text.format`` json_schema.
  * ``POST /embeddings`` [``openai.embeddings``] - str or list input, ``dimensions``,
    ``encoding_format`` float or base64 (the SDK asks for base64 by default).
  * ``POST /audio/transcriptions`` [``openai.transcriptions``] and ``/audio/translations``
    [``openai.translations``] - multipart; ``response_format`` json (default), verbose_json
    (segments, optional words), text, srt, vtt. verbose_json ``language`` is the full English
    name ("japanese") like whisper-1 returns. ``diarized_json`` (speaker-labelled segments) from
    diarising models: see :mod:`.diarisation`.
  * ``POST /audio/speech`` [``openai.speech``] - ``mp3`` (silent MPEG-1 Layer III frames,
    ``audio/mpeg``), ``wav`` (stdlib ``wave``), ``pcm`` (raw 24 kHz s16le); other formats get
    WAV bytes labelled with their content type.
  * ``POST /files``, ``GET /files``, ``GET /files/{id}``, ``GET /files/{id}/content``,
    ``DELETE /files/{id}`` [``openai.files``].
  * ``POST /fine_tuning/jobs``, ``GET /fine_tuning/jobs``, ``GET /fine_tuning/jobs/{id}``,
    ``GET .../events``, ``GET .../checkpoints``, ``POST .../cancel`` [``openai.fine_tuning``].
    The training file must have been uploaded (else 400, as for real).
  * ``GET /models``, ``GET /models/{id}`` [``openai.models``] (fine-tuned models appear once
    their job succeeded).
  * ``POST /batches``, ``GET /batches``, ``GET /batches/{id}``, ``POST .../cancel`` [``openai.batches``]:
    the Batch API and its test controls, see :mod:`.openai_batches`.
Gemini (``/{v1,v1beta,v1alpha}/models/{model}:action``; google-genai 3.x uses ``v1``):
  * ``:generateContent`` / ``:streamGenerateContent?alt=sse`` [``gemini.generate``] -
    ``systemInstruction``, inline data parts (audio for transcription-by-prompt),
    ``generationConfig.responseMimeType`` / ``responseSchema`` (Gemini dialect, upper-case
    types, as the SDK sends for ``response_schema=PydanticModel``) / ``responseJsonSchema``,
    ``maxOutputTokens``, ``candidateCount``; returns ``candidates``, ``finishReason``,
    ``usageMetadata``, ``modelVersion``, ``responseId``.
  * ``:batchEmbedContents`` (what ``client.models.embed_content`` uses) and ``:embedContent``
    [``gemini.embed``]; ``outputDimensionality`` honoured.
  * ``:countTokens`` [``gemini.count_tokens``].
Both protocols report cached prompt tokens for a repeated prompt prefix: see :mod:`.prompt_cache`.
Anything else is answered 404 in the protocol's error format and logged as ``openai.unknown`` /
``gemini.unknown`` (faults and responders never apply to those).

Default (deterministic) content
-------------------------------
* chat / responses / generate with a schema: a minimal valid instance synthesised from the
  schema (:func:`example_from_schema`: "x" strings, 0 numbers, ``False``, one-item arrays,
  required properties only (all properties when ``required`` is absent), first enum / const,
  ``$ref``/``$defs``, ``allOf``, ``anyOf``/``oneOf``/``nullable``/``type: [.., "null"]`` ->
  ``null``, formats such as date / date-time / email / uri / uuid, min/max bounds, patterns
  tried against a few candidates). Gemini ``text/x.enum`` answers the first enum value.
* JSON mode without schema: ``{"echo": "<start of the last user message>"}``.
* plain text: ``"[<model>] <start of the last user message>"``.
* embeddings: L2-normalised hashed character n-gram vectors (``embedding_dim`` default 64) -
  identical texts give identical vectors and similar texts similar ones.
* transcriptions: one numbered sentence per 5 s of audio (duration read from WAV headers,
  estimated otherwise), Japanese unless another language is requested.
Token counts: prompt tokens = ``len(prompt.encode()) // 3 + 1`` plus, per inline binary part,
32 tokens per second of WAV audio (``len // 1000 + 1`` for other audio, 258 for anything
else); completion tokens = ``len(output.encode()) // 3 + 1`` (see :func:`estimate_tokens`).
When a request sets max tokens and the output is longer, the text is truncated to
``max * 3`` bytes and the finish reason becomes ``length`` / ``MAX_TOKENS`` (like the real
APIs - ``parse()`` then raises ``LengthFinishReasonError``); ``server.enforce_max_tokens =
False`` turns that off.

Responders
----------
``server.set_responder(kind, fn)``; ``kind`` is a kind, a list of kinds, or an ``fnmatch``
pattern (``"*"``, ``"gemini.*"``); the most recently registered match wins. ``fn(req)``
receives the :class:`ProviderRequest` (``.prompt`` all message text joined - system first -,
``.system``, ``.user`` (last user message), ``.messages``, ``.model``, ``.schema``,
``.json_mode``, ``.body``, ``.inline_data``, ``.audio``, ``.inputs``, ``.form``, ``.files``...)
and returns:
  * text kinds (``openai.chat``, ``openai.responses``, ``gemini.generate``): a ``str``
    (content text), a ``dict``/``list`` (serialised to JSON content), a pydantic model, or a
    :class:`Reply` (explicit ``prompt_tokens`` / ``completion_tokens`` / ``finish_reason`` /
    ``refusal``; ``Reply(content=None, finish_reason="SAFETY")`` gives a Gemini candidate
    without content);
  * embeddings: a list of vectors (one per input);
  * transcriptions: a ``str`` (split into sentence segments over the audio duration), a list of
    segments (dicts with start/end/text or ``(start, end, text)`` tuples), or a dict with any
    of ``text``, ``segments``, ``language``, ``duration``, ``words``;
  * speech: ``bytes``;
  * any kind: ``None`` (use the default), a :class:`Fault` (applied to this request as if it had
    been injected - e.g. fail only prompts that mention X; a ``delay`` without ``then`` sleeps and
    then answers with the default content), or ``Reply(raw=dict)`` (sent verbatim as the JSON
    body; not for speech).
Order of checks per request: API key, then injected/persistent faults, then the responder.
An exception raised by a responder becomes an HTTP 500 and is stored in
``server.handler_errors``; ``assert_no_handler_errors()`` (called by the fixture at teardown)
raises it. Return a ``Fault`` when you *want* a 500.

Fault injection
---------------
``server.inject(kind, *faults)`` queues faults consumed one per request by the next requests of
that kind (``kind`` may be ``"*"`` or another pattern; exact-kind queues are served before
pattern queues). ``server.fail_always(kind, 503)`` (or a :class:`Fault`) makes every matching
request fail until ``server.clear_faults()``; queued faults take precedence over it.
  * ``Fault.status(code, retry_after=None, message=None, code_name=None)`` - error in the
    provider's format (OpenAI ``{"error": {message, type, param, code}}``, Gemini
    ``{"error": {code, message, status, details}}``) with ``Retry-After`` when given (and a
    Gemini ``RetryInfo`` detail).
  * ``Fault.delay(seconds, then=None)`` - sleep, then answer normally (or apply ``then``).
  * ``Fault.malformed_json(body=...)`` - HTTP 200 whose body is not valid JSON.
  * ``Fault.invalid_content(text)`` - valid envelope but the content text is ``text``
    (transcriptions: transcript text; kinds without text content: ``text`` is the raw body).
  * ``Fault.disconnect()`` - close the connection without answering.
  * ``Fault.echo_api_key(code=500)`` - an error whose message repeats the request's API key and
    ``Authorization`` header verbatim (servers that echo credentials; for redaction tests).
  * ``Fault.no_embeddings()`` - HTTP 200, an embeddings envelope without vectors (the openai SDK
    raises ``ValueError: No embedding data received`` on it).
``server.require_api_key(key, protocol=None)`` makes other keys fail with 401
(OpenAI ``invalid_api_key``; Gemini ``UNAUTHENTICATED`` - the real Gemini API answers 400
``INVALID_ARGUMENT``/``API_KEY_INVALID``, choose that with ``gemini_status=400``).

Request log
-----------
``server.requests`` is a snapshot list of :class:`ProviderRequest` for every request that
reached the handler, in arrival order, *including* rejected, failed and fault-injected ones
(``.status`` is the HTTP status sent, ``.fault`` the fault applied, ``.api_key`` the key seen).
``count(kind=None, model=None)`` counts those; ``count_success(...)`` only those answered 2xx
without a fault (a ``delay`` fault alone still counts as success). ``find(...)``, ``last(...)``,
``wait_for_requests(n, kind=None, timeout=5)``. ``reset()`` returns the server to its initial
state (log, faults, responders, key requirement, files, jobs); ``clear_requests()`` only empties
the log. All of this is thread-safe.

Fine-tuning control
-------------------
Jobs are created ``validating_files`` and stay there until the test moves them:
``set_job_status(job_id, "running")``, ``finish_job(job_id, fine_tuned_model=None,
trained_tokens=None, metrics=None, steps=None)`` (adds metrics/message events, a checkpoint, a
``fine-tune-results`` CSV result file - base64-encoded like the real API - and lists the model),
``fail_job(job_id, message, code="invalid_training_file")``. ``set_job_progression("running",
"succeeded", **finish_kwargs)`` instead advances every job one step per retrieve call
(``jobs.retrieve`` polling loops). ``get_job(id)``, ``jobs()``, ``files()``,
``file_content(id)`` expose the state.
"""

from __future__ import annotations

import array
import base64
import collections
import dataclasses
import fnmatch
import hashlib
import io
import json
import logging
import math
import re
import socket
import struct
import sys
import threading
import time
import traceback
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

from .diarisation import DiarisationMixin
from .openai_batches import BatchesMixin, batch_routes
from .prompt_cache import PromptCacheMixin

__all__ = [
    "Fault",
    "InlineData",
    "ProviderRequest",
    "ProviderServer",
    "Reply",
    "TEXT_KINDS",
    "UploadedFile",
    "estimate_tokens",
    "example_from_schema",
    "fake_embedding",
    "provider_server",
]

_log = logging.getLogger(__name__)

# ---- request kinds -------------------------------------------------------------------------------
OPENAI_CHAT = "openai.chat"
OPENAI_RESPONSES = "openai.responses"
OPENAI_EMBEDDINGS = "openai.embeddings"
OPENAI_TRANSCRIPTIONS = "openai.transcriptions"
OPENAI_TRANSLATIONS = "openai.translations"
OPENAI_SPEECH = "openai.speech"
OPENAI_FILES = "openai.files"
OPENAI_FINE_TUNING = "openai.fine_tuning"
OPENAI_MODELS = "openai.models"
OPENAI_UNKNOWN = "openai.unknown"
GEMINI_GENERATE = "gemini.generate"
GEMINI_EMBED = "gemini.embed"
GEMINI_COUNT_TOKENS = "gemini.count_tokens"
GEMINI_UNKNOWN = "gemini.unknown"

#: kinds whose responders return content text (str / dict / Reply)
TEXT_KINDS = (OPENAI_CHAT, OPENAI_RESPONSES, GEMINI_GENERATE)
_UNKNOWN_KINDS = (OPENAI_UNKNOWN, GEMINI_UNKNOWN)

_GEMINI_ACTIONS = {
    "generateContent": GEMINI_GENERATE,
    "streamGenerateContent": GEMINI_GENERATE,
    "embedContent": GEMINI_EMBED,
    "batchEmbedContents": GEMINI_EMBED,
    "countTokens": GEMINI_COUNT_TOKENS,
}
_GEMINI_PATH = re.compile(r"^/(?P<version>v1(?:alpha|beta)?\d*)/(?P<model>(?:models|tunedModels)/[^:]+):(?P<action>[A-Za-z]+)$")

_OPENAI_FINISH_TO_GEMINI = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}
_GEMINI_FINISH_TO_OPENAI = {v: k for k, v in _OPENAI_FINISH_TO_GEMINI.items()}

_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_GEMINI_MESSAGES = {
    400: "Request contains an invalid argument.",
    401: "API key not valid. Please pass a valid API key.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "The request timed out. Please try again.",
}
_OPENAI_ERRORS = {  # status -> (type, code, message)
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden."),
    404: ("invalid_request_error", None, "Not found."),
    408: ("server_error", None, "Request timed out."),
    409: ("invalid_request_error", None, "Conflict."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The server is overloaded or not ready yet."),
    504: ("server_error", None, "Gateway timeout."),
}

_WHISPER_LANGUAGES = {
    "ja": "japanese", "en": "english", "zh": "chinese", "ko": "korean", "fr": "french", "de": "german",
    "es": "spanish", "it": "italian", "pt": "portuguese", "ru": "russian", "id": "indonesian", "th": "thai",
    "vi": "vietnamese", "nl": "dutch", "pl": "polish", "tr": "turkish", "ar": "arabic", "hi": "hindi",
}

_BASE_MODELS = (
    "gpt-4o", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "gpt-4.1-mini", "text-embedding-3-small",
    "text-embedding-3-large", "whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "tts-1",
    "gpt-4o-mini-tts",
)
_TERMINAL_JOB_STATES = ("succeeded", "failed", "cancelled")
_SPEECH_CONTENT_TYPES = {
    "mp3": "audio/mpeg", "wav": "audio/wav", "pcm": "audio/pcm", "opus": "audio/ogg",
    "aac": "audio/aac", "flac": "audio/flac",
}


# ==== public helpers ==============================================================================
def estimate_tokens(text: str) -> int:
    """The fake's deterministic token count for ``text``: UTF-8 bytes // 3 + 1."""
    return len(text.encode("utf-8")) // 3 + 1


def fake_embedding(text: str, dim: int = 64) -> list[float]:
    """Deterministic, L2-normalised embedding of ``text`` (hashed character 1..3-grams).

    Identical texts give identical vectors; texts sharing many n-grams have a high cosine
    similarity, so nearest-neighbour code behaves plausibly.
    """
    if dim <= 0:
        raise ValueError("dim must be positive")
    vec = [0.0] * dim
    normalised = " ".join(text.lower().split())
    grams: list[str] = []
    for n in (1, 2, 3):
        grams.extend(normalised[i : i + n] for i in range(max(len(normalised) - n + 1, 0)))
    for gram in grams:
        digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % dim
        sign = 1.0 if digest[4] & 1 else -1.0
        vec[index] += sign * (1.0 + len(gram) / 3.0)
    norm = math.sqrt(sum(v * v for v in vec))
    if norm == 0.0:
        vec[0] = 1.0
        return vec
    return [v / norm for v in vec]


_FORMAT_EXAMPLES = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00",
    "duration": "PT1S",
    "email": "x@example.com",
    "idn-email": "x@example.com",
    "uri": "https://example.com/x",
    "iri": "https://example.com/x",
    "uri-reference": "https://example.com/x",
    "hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_PATTERN_CANDIDATES = ("x", "a", "A", "0", "1", "xx", "x1", "abc", "ABC", "2024-01-01", "00:00", "x@example.com", "")


def example_from_schema(schema: Any) -> Any:
    """A minimal instance valid against ``schema`` (JSON Schema or Gemini's Schema dialect)."""
    return _SchemaExample(schema).build(schema, 0, frozenset())


class _SchemaExample:
    _MAX_DEPTH = 24

    def __init__(self, root: Any):
        self.root = root if isinstance(root, dict) else {}

    def resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise ValueError(f"only local $ref is supported, got {ref!r}")
        node: Any = self.root
        for part in ref[1:].split("/"):
            if not part:
                continue
            part = unquote(part).replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def build(self, s: Any, depth: int, refs: frozenset[str]) -> Any:
        if s is True or s is None:
            return "x"
        if not isinstance(s, dict):
            raise ValueError(f"unsupported schema node {s!r}")
        if "$ref" in s:
            ref = s["$ref"]
            if ref in refs or depth > self._MAX_DEPTH:
                return None  # a recursive, non-nullable cycle cannot be satisfied finitely anyway
            target = self.resolve(ref)
            merged = {**target, **{k: v for k, v in s.items() if k != "$ref"}}
            return self.build(merged, depth + 1, refs | {ref})
        if "const" in s:
            return s["const"]
        if s.get("enum"):
            return s["enum"][0]
        for key in ("anyOf", "oneOf", "any_of"):
            branches = s.get(key)
            if branches:
                if any(self._is_null(b) for b in branches):
                    return None
                base = {k: v for k, v in s.items() if k != key}
                return self.build({**base, **branches[0]}, depth + 1, refs)
        if s.get("allOf"):
            merged = {k: v for k, v in s.items() if k != "allOf"}
            for sub in s["allOf"]:
                if isinstance(sub, dict) and "$ref" in sub:
                    sub = self.resolve(sub["$ref"])
                merged = self._merge(merged, sub)
            return self.build(merged, depth + 1, refs)
        if s.get("nullable") is True:
            return None
        kind = self._type_of(s)
        if kind == "null":
            return None
        if kind == "object":
            return self._object(s, depth, refs)
        if kind == "array":
            return self._array(s, depth, refs)
        if kind == "string":
            return self._string(s)
        if kind == "integer":
            return int(self._number(s, integer=True))
        if kind == "number":
            return float(self._number(s, integer=False))
        if kind == "boolean":
            return False
        return "x"

    @staticmethod
    def _is_null(branch: Any) -> bool:
        return isinstance(branch, dict) and str(branch.get("type", "")).lower() == "null"

    @staticmethod
    def _merge(a: dict, b: Any) -> dict:
        if not isinstance(b, dict):
            return a
        out = {**a, **{k: v for k, v in b.items() if k not in ("properties", "required")}}
        if "properties" in a or "properties" in b:
            out["properties"] = {**a.get("properties", {}), **b.get("properties", {})}
        if "required" in a or "required" in b:
            out["required"] = list(dict.fromkeys([*a.get("required", []), *b.get("required", [])]))
        return out

    @staticmethod
    def _type_of(s: dict) -> str:
        t = s.get("type")
        if isinstance(t, list):
            lowered = [str(x).lower() for x in t]
            if "null" in lowered:
                return "null"
            t = lowered[0] if lowered else None
        if isinstance(t, str):
            return t.lower()
        if "properties" in s or "additionalProperties" in s:
            return "object"
        if "items" in s or "prefixItems" in s:
            return "array"
        if any(k in s for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
            return "number"
        return "string"

    def _object(self, s: dict, depth: int, refs: frozenset[str]) -> dict:
        props = s.get("properties") or {}
        required = s.get("required")
        keys = list(required) if required is not None else list(props)
        ordering = s.get("propertyOrdering") or s.get("property_ordering")
        if ordering:
            rank = {name: i for i, name in enumerate(ordering)}
            keys.sort(key=lambda k: rank.get(k, len(rank)))
        return {k: self.build(props.get(k, True), depth + 1, refs) for k in keys}

    def _array(self, s: dict, depth: int, refs: frozenset[str]) -> list:
        prefix = s.get("prefixItems")
        if prefix:
            return [self.build(p, depth + 1, refs) for p in prefix]
        minimum = int(s.get("minItems", 0) or 0)
        count = max(minimum, 1)
        if "maxItems" in s:
            count = min(count, int(s["maxItems"]))
        if depth > self._MAX_DEPTH:
            count = minimum
        items = s.get("items", True)
        out = []
        for i in range(count):
            value = self.build(items, depth + 1, refs)
            if i and isinstance(value, str):
                value = f"{value}{i}"
            elif i and isinstance(value, (int, float)) and not isinstance(value, bool):
                value = value + i
            out.append(value)
        return out

    @staticmethod
    def _string(s: dict) -> str:
        fmt = s.get("format")
        if fmt in _FORMAT_EXAMPLES:
            return _FORMAT_EXAMPLES[fmt]
        min_len = int(s.get("minLength", 0) or 0)
        max_len = int(s["maxLength"]) if s.get("maxLength") is not None else None
        pattern = s.get("pattern")
        if pattern:
            try:
                compiled = re.compile(pattern)
            except re.error:
                compiled = None
            if compiled is not None:
                for candidate in _PATTERN_CANDIDATES:
                    if compiled.search(candidate) and len(candidate) >= min_len and (max_len is None or len(candidate) <= max_len):
                        return candidate
        value = "x" * max(min_len, 1)
        if max_len is not None:
            value = value[:max_len]
        return value

    @staticmethod
    def _number(s: dict, *, integer: bool) -> float:
        def num(key: str) -> float | None:
            v = s.get(key)
            if isinstance(v, bool) or v is None:
                return None
            return float(v)

        value = 0.0
        lo, hi = num("minimum"), num("maximum")
        ex_lo, ex_hi = num("exclusiveMinimum"), num("exclusiveMaximum")
        if s.get("exclusiveMinimum") is True and lo is not None:  # draft-4 boolean form
            ex_lo, lo = lo, None
        if s.get("exclusiveMaximum") is True and hi is not None:
            ex_hi, hi = hi, None
        if lo is not None and value < lo:
            value = lo
        if ex_lo is not None and value <= ex_lo:
            value = math.floor(ex_lo) + 1 if integer else ex_lo + 1
        if hi is not None and value > hi:
            value = hi
        if ex_hi is not None and value >= ex_hi:
            value = math.ceil(ex_hi) - 1 if integer else ex_hi - 1
            if ex_lo is not None and value <= ex_lo:
                value = (ex_lo + ex_hi) / 2
        step = num("multipleOf")
        if step:
            value = math.ceil(value / step) * step
        return math.ceil(value) if integer else value


# ==== value types =================================================================================
@dataclasses.dataclass(frozen=True)
class Fault:
    """A failure to inject; build with the classmethods, not the constructor."""

    action: str
    status_code: int = 200
    retry_after: float | None = None
    message: str | None = None
    code_name: str | None = None
    seconds: float = 0.0
    text: str | None = None
    then: "Fault | None" = None

    @classmethod
    def status(cls, code: int, *, retry_after: float | None = None, message: str | None = None,
               code_name: str | None = None) -> "Fault":
        """HTTP ``code`` with the provider's error JSON; ``code_name`` overrides OpenAI's ``error.code``."""
        if not 400 <= int(code) <= 599:
            raise ValueError("Fault.status needs a 4xx/5xx code")
        return cls("status", status_code=int(code), retry_after=retry_after, message=message, code_name=code_name)

    @classmethod
    def delay(cls, seconds: float, *, then: "Fault | None" = None) -> "Fault":
        """Sleep ``seconds`` before answering normally (or applying ``then``)."""
        if then is not None and then.action == "delay":
            raise ValueError("Fault.delay(then=...) cannot be another delay")
        return cls("delay", seconds=float(seconds), then=then)

    @classmethod
    def malformed_json(cls, body: str = '{"id": "truncated", "choices": [{"index": 0, "mess') -> "Fault":
        """HTTP 200, ``Content-Type: application/json``, body that does not parse."""
        return cls("malformed_json", text=body)

    @classmethod
    def invalid_content(cls, text: str) -> "Fault":
        """Valid envelope whose content text is ``text`` (e.g. JSON not matching the schema)."""
        return cls("invalid_content", text=text)

    @classmethod
    def disconnect(cls) -> "Fault":
        """Close the connection without sending a response."""
        return cls("disconnect")

    @classmethod
    def echo_api_key(cls, code: int = 500) -> "Fault":
        """HTTP ``code`` whose error message repeats the request's API key and Authorization header verbatim,
        as some OpenAI-compatible local servers and proxies do."""
        return cls("echo_api_key", status_code=int(code))

    @classmethod
    def no_embeddings(cls) -> "Fault":
        """HTTP 200, a well-formed embeddings envelope without any vector (OpenAI ``data: []``, on which the
        openai SDK raises ``ValueError: No embedding data received``; Gemini ``embeddings: []``)."""
        return cls("no_embeddings")


@dataclasses.dataclass
class Reply:
    """Explicit responder result. ``raw`` (a dict) is sent verbatim as the JSON body."""

    content: Any = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None  # "stop"/"length"/"content_filter" or Gemini's "STOP"/"MAX_TOKENS"/...
    refusal: str | None = None  # OpenAI chat: message.refusal (content becomes null)
    raw: dict | None = None


@dataclasses.dataclass(frozen=True)
class UploadedFile:
    """A multipart file field."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclasses.dataclass(frozen=True)
class InlineData:
    """A binary part sent inline (Gemini ``inlineData``, OpenAI ``input_audio`` / data URLs)."""

    mime_type: str
    data: bytes


@dataclasses.dataclass(repr=False, eq=False)
class ProviderRequest:
    """One request as the fake server saw it (also what responders receive)."""

    seq: int
    protocol: str  # "openai" | "gemini"
    kind: str
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    raw_body: bytes
    body: Any = None  # parsed JSON body (dict) or None
    form: dict[str, Any] = dataclasses.field(default_factory=dict)  # multipart text fields; "x[]" / repeated -> list
    files: dict[str, UploadedFile] = dataclasses.field(default_factory=dict)
    model: str | None = None
    api_key: str | None = None
    stream: bool = False
    messages: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (role, text), system first
    schema: dict | None = None
    schema_name: str | None = None
    json_mode: bool = False
    response_mime_type: str | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    candidate_count: int = 1
    inline_data: list[InlineData] = dataclasses.field(default_factory=list)
    inputs: list[str] = dataclasses.field(default_factory=list)  # embedding / count-tokens texts
    received_at: float = dataclasses.field(default_factory=time.time)
    status: int | None = None  # HTTP status sent (None while in flight or after a disconnect)
    fault: Fault | None = None
    error: str | None = None  # traceback of a handler/responder exception
    _route: Any = dataclasses.field(default=None, repr=False, compare=False)
    _skip_responder: bool = dataclasses.field(default=False, repr=False, compare=False)

    @property
    def system(self) -> str:
        return "\n\n".join(text for role, text in self.messages if role in ("system", "developer"))

    @property
    def prompt(self) -> str:
        """All message text (system/developer first, then the conversation), joined."""
        return "\n\n".join(text for _, text in self.messages if text)

    @property
    def user(self) -> str:
        """Text of the last user message."""
        for role, text in reversed(self.messages):
            if role == "user":
                return text
        return ""

    @property
    def audio(self) -> bytes | None:
        """The uploaded audio (transcriptions) or first inline audio part (chat/generate)."""
        if "file" in self.files:
            return self.files["file"].data
        for part in self.inline_data:
            if part.mime_type.startswith("audio/"):
                return part.data
        return None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and (self.fault is None or self.fault.action == "delay")

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def __repr__(self) -> str:
        return f"<ProviderRequest #{self.seq} {self.kind} {self.method} {self.path} model={self.model!r} status={self.status}>"


@dataclasses.dataclass
class _Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


class _ClientError(Exception):
    """Raised inside handlers to answer a 4xx in the provider's format."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code


class _Disconnect(Exception):
    pass


# ==== HTTP plumbing ===============================================================================
class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128
    provider: "ProviderServer"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AIVlingualFakeProvider/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections end eventually
    disable_nagle_algorithm = True  # headers and body are separate writes; avoid the delayed-ACK stall
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.provider._track_connection(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.provider._track_connection(self.connection, False)

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._dispatch()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by base class
        _log.debug("%s %s", self.address_string(), format % args)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(65537).split(b";", 1)[0].strip()
                size = int(size_line or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        try:
            raw = self._read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        response = self.server.provider._handle(self.command, self.path, dict(self.headers.items()), raw)
        if response is None:  # Fault.disconnect
            self.close_connection = True
            return
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True  # the client gave up (e.g. its timeout after a delay fault)


# ==== the server ==================================================================================
class ProviderServer(BatchesMixin, DiarisationMixin, PromptCacheMixin):
    """Fake OpenAI + Gemini server; see the module docstring for the full API."""

    def __init__(self, *, embedding_dim: int = 64, host: str = "127.0.0.1"):
        self._host = host
        self._default_embedding_dim = int(embedding_dim)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._init_state()

    def _init_state(self) -> None:
        with self._lock:
            self._requests: list[ProviderRequest] = []
            self._seq = 0
            self._ids = 0
            self._queued: list[tuple[str, collections.deque[Fault]]] = []
            self._sticky: list[tuple[str, Fault]] = []
            self._responders: list[tuple[Callable[[str], bool], Callable[[ProviderRequest], Any]]] = []
            self._required_keys: dict[str, str | None] = {"openai": None, "gemini": None}
            self._gemini_auth_status = 401
            self._files: dict[str, dict] = {}
            self._file_data: dict[str, bytes] = {}
            self._jobs: dict[str, dict] = {}
            self._job_events: dict[str, list[dict]] = {}
            self._job_checkpoints: dict[str, list[dict]] = {}
            self._job_progression: tuple[tuple[str, ...], dict] | None = None
            self._job_progress_index: dict[str, int] = {}
            self.handler_errors: list[str] = []
            self.embedding_dim = self._default_embedding_dim
            self.enforce_max_tokens = True
            self.validate_strict_schemas = True
            self._init_batch_state()  # openai_batches
            self._init_prompt_cache_state()  # prompt_cache

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> "ProviderServer":
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((self._host, 0), _Handler)
        httpd.provider = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-provider-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a delay fault
        httpd.shutdown()
        httpd.server_close()
        with self._lock:  # end keep-alive connections so no request is served after stop()
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "ProviderServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("ProviderServer is not running; call start()")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    @property
    def gemini_base_url(self) -> str:
        return self.url

    def env(self, api_key: str = "test") -> dict[str, str]:
        """Environment variables that point both SDKs at this server."""
        return {
            "OPENAI_BASE_URL": self.openai_base_url,
            "OPENAI_API_KEY": api_key,
            "GOOGLE_GEMINI_BASE_URL": self.gemini_base_url,
            "GEMINI_API_KEY": api_key,
        }

    def apply_env(self, monkeypatch: Any, api_key: str = "test") -> None:
        """Set :meth:`env` with a pytest ``monkeypatch`` and remove variables that would win over it."""
        for name in ("GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_ENTERPRISE"):
            monkeypatch.delenv(name, raising=False)
        for name, value in self.env(api_key).items():
            monkeypatch.setenv(name, value)

    # ---- configuration ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the initial state: log, faults, responders, key requirement, files, jobs."""
        self._init_state()

    def require_api_key(self, key: str | None, protocol: str | None = None, *, gemini_status: int = 401) -> None:
        """Reject other keys with 401 (``None`` accepts any). ``protocol``: "openai", "gemini" or both."""
        if protocol not in (None, "openai", "gemini"):
            raise ValueError("protocol must be None, 'openai' or 'gemini'")
        with self._lock:
            for name in ("openai", "gemini") if protocol is None else (protocol,):
                self._required_keys[name] = key
            self._gemini_auth_status = int(gemini_status)

    def set_responder(self, kind: str | Iterable[str], fn: Callable[[ProviderRequest], Any] | None) -> None:
        """Register ``fn`` for ``kind`` (kind, list of kinds or fnmatch pattern); ``None`` removes."""
        matcher = _kind_matcher(kind)
        with self._lock:
            if fn is None:
                key = _kind_key(kind)
                self._responders = [(m, f) for m, f in self._responders if getattr(m, "key", None) != key]
            else:
                self._responders.append((matcher, fn))

    def clear_responders(self) -> None:
        with self._lock:
            self._responders = []

    def inject(self, kind: str, *faults: Fault) -> None:
        """Queue ``faults``; each is consumed by one later request matching ``kind``."""
        if not faults:
            raise ValueError("inject() needs at least one Fault")
        for fault in faults:
            if not isinstance(fault, Fault):
                raise TypeError(f"expected Fault, got {fault!r}")
        with self._lock:
            for pattern, queue in self._queued:
                if pattern == kind:
                    queue.extend(faults)
                    return
            self._queued.append((kind, collections.deque(faults)))

    def fail_always(self, kind: str = "*", status: int | Fault = 503, *, retry_after: float | None = None,
                    message: str | None = None) -> None:
        """Every request matching ``kind`` fails (status or Fault) until :meth:`clear_faults`."""
        fault = status if isinstance(status, Fault) else Fault.status(status, retry_after=retry_after, message=message)
        with self._lock:
            self._sticky.append((kind, fault))

    def clear_faults(self, kind: str | None = None) -> None:
        """Drop queued and persistent faults (all, or those registered under ``kind``)."""
        with self._lock:
            if kind is None:
                self._queued, self._sticky = [], []
            else:
                self._queued = [(p, q) for p, q in self._queued if p != kind]
                self._sticky = [(p, f) for p, f in self._sticky if p != kind]

    def pending_faults(self, kind: str | None = None) -> int:
        """Queued faults not consumed yet (all, or those registered under ``kind``)."""
        with self._lock:
            return sum(len(q) for p, q in self._queued if kind is None or p == kind)

    # ---- request log -----------------------------------------------------------------------------
    @property
    def requests(self) -> list[ProviderRequest]:
        with self._lock:
            return list(self._requests)

    def find(self, kind: str | None = None, model: str | None = None) -> list[ProviderRequest]:
        """Logged requests whose kind matches (kind or pattern) and, if given, whose model equals ``model``."""
        matcher = _kind_matcher(kind) if kind is not None else None
        with self._lock:
            return [r for r in self._requests
                    if (matcher is None or matcher(r.kind)) and (model is None or r.model == model)]

    def count(self, kind: str | None = None, model: str | None = None) -> int:
        """Requests that reached the handler, including rejected, failed and fault-injected ones."""
        return len(self.find(kind, model))

    def count_success(self, kind: str | None = None, model: str | None = None) -> int:
        """Requests answered 2xx without a fault (a lone delay fault still counts)."""
        return sum(1 for r in self.find(kind, model) if r.succeeded)

    def last(self, kind: str | None = None, model: str | None = None) -> ProviderRequest:
        found = self.find(kind, model)
        if not found:
            raise LookupError(f"no request logged for kind={kind!r} model={model!r}")
        return found[-1]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests = []

    def wait_for_requests(self, n: int, kind: str | None = None, timeout: float = 5.0) -> bool:
        """Block until at least ``n`` matching requests are logged; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.count(kind) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def assert_no_handler_errors(self) -> None:
        with self._lock:
            errors = list(self.handler_errors)
        if errors:
            raise AssertionError("fake provider handler raised:\n" + "\n".join(errors))

    # ---- files and fine-tuning state -------------------------------------------------------------
    def files(self) -> list[dict]:
        with self._lock:
            return [dict(f) for f in self._files.values()]

    def file_content(self, file_id: str) -> bytes:
        with self._lock:
            return self._file_data[file_id]

    def jobs(self) -> list[dict]:
        with self._lock:
            return [json.loads(json.dumps(j)) for j in self._jobs.values()]

    def get_job(self, job_id: str) -> dict:
        with self._lock:
            return json.loads(json.dumps(self._job(job_id)))

    def set_job_status(self, job_id: str, status: str) -> dict:
        """Move a job to "validating_files", "queued", "running" or "cancelled"."""
        if status not in ("validating_files", "queued", "running", "cancelled"):
            raise ValueError("use finish_job()/fail_job() for terminal states, got " + repr(status))
        with self._lock:
            job = self._job(job_id)
            job["status"] = status
            if status == "running":
                job["hyperparameters"] = _resolved_hyperparameters(job["hyperparameters"])
                self._job_event(job_id, "Fine-tuning job started")
            elif status == "queued":
                self._job_event(job_id, "Files validated, moving job to queued state")
            elif status == "cancelled":
                job["finished_at"] = int(time.time())
                self._job_event(job_id, "Job cancelled")
            return json.loads(json.dumps(job))

    def finish_job(self, job_id: str, fine_tuned_model: str | None = None, trained_tokens: int | None = None,
                   metrics: dict[str, float] | None = None, steps: int | None = None) -> dict:
        """Mark a job succeeded (events, checkpoint, result CSV file, model listed)."""
        with self._lock:
            job = self._job(job_id)
            hyper = _resolved_hyperparameters(job["hyperparameters"])
            job["hyperparameters"] = hyper
            n_epochs = int(hyper["n_epochs"])
            training = self._file_data.get(job["training_file"], b"")
            examples = max(sum(1 for line in training.splitlines() if line.strip()), 1)
            if steps is None:
                steps = max(1, examples * n_epochs // int(hyper["batch_size"]))
            if trained_tokens is None:
                trained_tokens = (len(training) // 3 + 1) * n_epochs
            final = {"train_loss": 0.25, "train_mean_token_accuracy": 0.92}
            if job.get("validation_file"):
                final.update({"valid_loss": 0.3, "valid_mean_token_accuracy": 0.9, "full_valid_loss": 0.31,
                              "full_valid_mean_token_accuracy": 0.89})
            final.update(metrics or {})
            if fine_tuned_model is None:
                suffix = job.get("user_provided_suffix") or ""
                fine_tuned_model = f"ft:{job['model']}:aivlingual:{suffix}:{hashlib.sha1(job_id.encode()).hexdigest()[:8]}"
            now = int(time.time())
            # metric rows: loss decreasing linearly towards the final values
            rows = []
            for step in _metric_steps(steps):
                frac = step / steps
                row = {"step": step}
                for name, value in final.items():
                    row[name] = round(value + (1 - frac) * (1.5 if "loss" in name else -0.3), 4) if frac < 1 else value
                rows.append(row)
            for row in rows:
                self._job_event(job_id, f"Step {row['step']}/{steps}: training loss={row.get('train_loss')}",
                                type_="metrics", data={**row, "total_steps": steps})
            header = list(rows[-1].keys())
            csv_text = ",".join(header) + "\n" + "".join(",".join(str(r.get(h, "")) for h in header) + "\n" for r in rows)
            result_file = self._store_file("step_metrics.csv", "fine-tune-results",
                                           base64.b64encode(csv_text.encode()), status="processed")
            checkpoint = {
                "object": "fine_tuning.job.checkpoint",
                "id": self._new_id("ftckpt_", 24),
                "created_at": now,
                "fine_tuned_model_checkpoint": f"{fine_tuned_model}:ckpt-step-{steps}",
                "fine_tuning_job_id": job_id,
                "metrics": {"step": float(steps), **{k: float(v) for k, v in final.items()}},
                "step_number": steps,
            }
            self._job_checkpoints.setdefault(job_id, []).append(checkpoint)
            self._job_event(job_id, f"New fine-tuned model created: {fine_tuned_model}")
            self._job_event(job_id, "The job has successfully completed")
            job.update(status="succeeded", fine_tuned_model=fine_tuned_model, trained_tokens=int(trained_tokens),
                       finished_at=now, result_files=[result_file["id"]], error=None, estimated_finish=None)
            return json.loads(json.dumps(job))

    def fail_job(self, job_id: str, message: str = "The job failed due to an internal error.",
                 code: str = "invalid_training_file", param: str | None = "training_file") -> dict:
        with self._lock:
            job = self._job(job_id)
            job.update(status="failed", finished_at=int(time.time()), fine_tuned_model=None,
                       error={"code": code, "message": message, "param": param})
            self._job_event(job_id, message, level="error")
            return json.loads(json.dumps(job))

    def set_job_progression(self, *statuses: str, **finish_kwargs: Any) -> None:
        """Advance every job one status per ``jobs.retrieve`` call (``succeeded`` -> finish_job(**kwargs),
        ``failed`` -> fail_job(**kwargs)). No arguments switches it off."""
        for status in statuses:
            if status not in ("validating_files", "queued", "running", "succeeded", "failed", "cancelled"):
                raise ValueError(f"unknown job status {status!r}")
        with self._lock:
            self._job_progression = (tuple(statuses), finish_kwargs) if statuses else None
            self._job_progress_index = {}

    # ---- internals: state helpers ----------------------------------------------------------------
    def _track_connection(self, conn: socket.socket, alive: bool) -> None:
        with self._lock:
            if alive:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _new_id(self, prefix: str, width: int = 24) -> str:
        with self._lock:
            self._ids += 1
            return f"{prefix}{self._ids:0{width}x}"

    def _job(self, job_id: str) -> dict:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise KeyError(f"no fine-tuning job {job_id!r}") from None

    def _job_event(self, job_id: str, message: str, *, level: str = "info", type_: str = "message",
                   data: dict | None = None) -> None:
        self._job_events.setdefault(job_id, []).append({
            "object": "fine_tuning.job.event",
            "id": self._new_id("ftevent-", 24),
            "created_at": int(time.time()),
            "level": level,
            "message": message,
            "data": data if data is not None else {},
            "type": type_,
        })

    def _store_file(self, filename: str, purpose: str, data: bytes, *, status: str = "processed") -> dict:
        file_obj = {
            "object": "file",
            "id": self._new_id("file-", 24),
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": status,
            "expires_at": None,
            "status_details": None,
        }
        self._files[file_obj["id"]] = file_obj
        self._file_data[file_obj["id"]] = data
        return file_obj

    def _take_fault(self, kind: str) -> Fault | None:
        if kind in _UNKNOWN_KINDS:
            return None
        with self._lock:
            for pattern, queue in self._queued:
                if pattern == kind and queue:
                    return queue.popleft()
            for pattern, queue in self._queued:
                if queue and pattern != kind and _kind_matcher(pattern)(kind):
                    return queue.popleft()
            for pattern, fault in reversed(self._sticky):
                if _kind_matcher(pattern)(kind):
                    return fault
        return None

    def _responder_for(self, kind: str) -> Callable[[ProviderRequest], Any] | None:
        if kind in _UNKNOWN_KINDS:
            return None
        with self._lock:
            for matcher, fn in reversed(self._responders):
                if matcher(kind):
                    return fn
        return None

    # ---- internals: request handling -------------------------------------------------------------
    def _handle(self, method: str, target: str, raw_headers: dict[str, str], raw: bytes) -> _Response | None:
        split = urlsplit(target)
        path = split.path
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in raw_headers.items()}
        protocol, kind, route, params = _route(method, path, headers, query)
        with self._lock:
            self._seq += 1
            seq = self._seq
        req = ProviderRequest(seq=seq, protocol=protocol, kind=kind, method=method, path=path, query=query,
                              headers=headers, raw_body=raw)
        req.api_key = _api_key(protocol, headers, query)
        parse_error: _ClientError | None = None
        try:
            _parse_request(req, raw)
        except _ClientError as exc:
            parse_error = exc
        except Exception as exc:  # noqa: BLE001 - a request shape the parser did not expect
            parse_error = _ClientError(400, f"The fake provider server could not read the request: {exc!r}")
        with self._changed:
            self._requests.append(req)
            self._changed.notify_all()

        try:
            response = self._respond(req, route, params, parse_error)
        except _Disconnect:
            return None
        except _ClientError as exc:
            response = self._error(req, exc.status, exc.message, param=exc.param, code=exc.code)
        except Exception:  # a bug in a responder or in the fake itself: 500 + remembered
            tb = traceback.format_exc()
            req.error = tb
            with self._lock:
                self.handler_errors.append(f"{req!r}\n{tb}")
            _log.error("fake provider handler failed for %r:\n%s", req, tb)
            response = self._error(req, 500, "The fake provider raised an exception: " + tb.strip().splitlines()[-1])
        if protocol == "openai":
            response.headers.setdefault("x-request-id", f"req_{seq:024x}")
            response.headers.setdefault("openai-processing-ms", "1")
        with self._changed:
            req.status = response.status
            self._changed.notify_all()
        return response

    def _respond(self, req: ProviderRequest, route: Callable | None, params: dict, parse_error: _ClientError | None) -> _Response:
        required = self._required_keys.get(req.protocol)
        if required is not None and req.api_key != required:
            return self._auth_error(req)
        if route is None:
            return self._error(req, 404, _not_found_message(req))
        if parse_error is not None:
            raise parse_error
        req._route = (route, params)
        fault = self._take_fault(req.kind)
        override: str | None = None
        while fault is not None:
            req.fault = req.fault or fault
            if fault.action == "delay":
                self._stopping.wait(fault.seconds)
                fault = fault.then
                continue
            if fault.action == "status":
                return self._fault_error(req, fault)
            if fault.action == "disconnect":
                raise _Disconnect()
            if fault.action == "malformed_json":
                return _Response(200, (fault.text or "").encode("utf-8"))
            if fault.action == "no_embeddings":
                return self._no_embeddings(req)
            if fault.action == "echo_api_key":
                return self._echo_api_key(req, fault)
            if fault.action == "invalid_content":
                override = fault.text or ""
            break
        return route(self, req, params, override)

    def _apply_responder(self, req: ProviderRequest) -> Any:
        if req._skip_responder:
            return None
        fn = self._responder_for(req.kind)
        return fn(req) if fn is not None else None

    # ---- error bodies ----------------------------------------------------------------------------
    def _error(self, req: ProviderRequest, status: int, message: str | None = None, *, param: str | None = None,
               code: str | None = None, retry_after: float | None = None) -> _Response:
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["Retry-After"] = _format_seconds(retry_after)
        if req.protocol == "gemini":
            body: dict[str, Any] = {"error": {
                "code": status,
                "message": message or _GEMINI_MESSAGES.get(status, "Error."),
                "status": _GEMINI_STATUS.get(status, "UNKNOWN"),
            }}
            if retry_after is not None:
                body["error"]["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                             "retryDelay": _format_seconds(retry_after) + "s"}]
            return _Response(status, _dumps(body), headers=headers)
        err_type, default_code, default_message = _OPENAI_ERRORS.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None, "Error."))
        body = {"error": {"message": message or default_message, "type": err_type, "param": param,
                          "code": code if code is not None else default_code}}
        return _Response(status, _dumps(body), headers=headers)

    def _fault_error(self, req: ProviderRequest, fault: Fault) -> _Response:
        return self._error(req, fault.status_code, fault.message, code=fault.code_name, retry_after=fault.retry_after)

    def _auth_error(self, req: ProviderRequest) -> _Response:
        if req.protocol == "gemini":
            status = self._gemini_auth_status
            body = {"error": {
                "code": status,
                "message": "API key not valid. Please pass a valid API key.",
                "status": _GEMINI_STATUS.get(status, "UNAUTHENTICATED"),
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                             "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}],
            }}
            return _Response(status, _dumps(body))
        masked = _mask_key(req.api_key)
        message = (f"Incorrect API key provided: {masked}. You can find your API key at "
                   "https://platform.openai.com/account/api-keys." if req.api_key else
                   "You didn't provide an API key. You need to provide your API key in an Authorization header "
                   "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
        return self._error(req, 401, message, code="invalid_api_key" if req.api_key else None)

    # ---- text generation core --------------------------------------------------------------------
    def _generate(self, req: ProviderRequest, override: str | None) -> "_Generated | Fault | dict":
        result: Any = None
        if override is None:
            result = self._apply_responder(req)
            if isinstance(result, Fault):
                return result
        reply = result if isinstance(result, Reply) else Reply(content=result)
        if reply.raw is not None:
            return reply.raw
        if override is not None:
            text: str | None = override
        elif reply.content is None and reply.refusal is None and reply.finish_reason is None:
            text = self._default_text(req)
        else:
            text = _content_text(reply.content)
        finish = _normalise_finish(reply.finish_reason) if reply.finish_reason else "stop"
        prompt_tokens = reply.prompt_tokens if reply.prompt_tokens is not None else _prompt_tokens(req)
        completion_tokens = (reply.completion_tokens if reply.completion_tokens is not None
                             else estimate_tokens(text or reply.refusal or "") if (text or reply.refusal) else 0)
        limit = req.max_output_tokens
        if (self.enforce_max_tokens and limit and text is not None and reply.completion_tokens is None
                and completion_tokens > limit):
            text = text.encode("utf-8")[: limit * 3].decode("utf-8", errors="ignore")
            completion_tokens = limit
            finish = "length"
        return _Generated(text=text, refusal=reply.refusal, finish=finish, prompt_tokens=int(prompt_tokens),
                          completion_tokens=int(completion_tokens))

    @staticmethod
    def _default_text(req: ProviderRequest) -> str:
        if req.response_mime_type == "text/x.enum" and req.schema and req.schema.get("enum"):
            return str(req.schema["enum"][0])
        if req.schema is not None:
            transcript = DiarisationMixin._gemini_transcript_text(req) if req.protocol == "gemini" else None
            return transcript or json.dumps(example_from_schema(req.schema), ensure_ascii=False)
        snippet = " ".join(req.user.split())[:80] or " ".join(req.prompt.split())[:80]
        if req.json_mode:
            return json.dumps({"echo": snippet}, ensure_ascii=False)
        return f"[{req.model}] {snippet}"

    # ---- OpenAI: chat ------------------------------------------------------------------------------
    def _openai_chat(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        body = req.body or {}
        if not body.get("model"):
            raise _ClientError(400, "you must provide a model parameter", param="model")
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            raise _ClientError(400, "[] is too short - 'messages'", param="messages", code="empty_array")
        self._validate_openai_response_format(req, body.get("response_format"))
        gen = self._generate(req, override)
        if isinstance(gen, Fault):
            return self._apply_late_fault(req, gen)
        if isinstance(gen, dict):
            return _Response(200, _dumps(gen))
        completion_id = self._new_id("chatcmpl-", 24)
        created = int(time.time())
        n = max(int(body.get("n") or 1), 1)
        usage = {
            "prompt_tokens": gen.prompt_tokens,
            "completion_tokens": gen.completion_tokens * n,
            "total_tokens": gen.prompt_tokens + gen.completion_tokens * n,
            "prompt_tokens_details": {"cached_tokens": self._cached_prompt_tokens(req, gen.prompt_tokens),
                                      "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        }
        content = gen.text if gen.refusal is None else None
        if req.stream:
            return self._openai_chat_stream(req, completion_id, created, n, content, gen, usage)
        message = {"role": "assistant", "content": content, "refusal": gen.refusal, "annotations": []}
        payload = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": req.model,
            "choices": [{"index": i, "message": dict(message), "logprobs": None,
                         "finish_reason": _GEMINI_FINISH_TO_OPENAI.get(gen.finish, gen.finish)} for i in range(n)],
            "usage": usage,
            "service_tier": "default",
            "system_fingerprint": "fp_aivlingual_fake",
        }
        return _Response(200, _dumps(payload))

    def _openai_chat_stream(self, req: ProviderRequest, completion_id: str, created: int, n: int,
                            content: str | None, gen: "_Generated", usage: dict) -> _Response:
        include_usage = bool(((req.body or {}).get("stream_options") or {}).get("include_usage"))
        finish = _GEMINI_FINISH_TO_OPENAI.get(gen.finish, gen.finish)

        def chunk(choices: list, usage_value: Any = None) -> str:
            data = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": req.model,
                    "service_tier": "default", "system_fingerprint": "fp_aivlingual_fake", "choices": choices}
            if include_usage:
                data["usage"] = usage_value
            return "data: " + json.dumps(data, ensure_ascii=False) + "\n\n"

        events = []
        for i in range(n):
            events.append(chunk([{"index": i, "delta": {"role": "assistant", "content": "", "refusal": None},
                                  "logprobs": None, "finish_reason": None}]))
            if gen.refusal is not None:
                events.append(chunk([{"index": i, "delta": {"refusal": gen.refusal}, "logprobs": None, "finish_reason": None}]))
            for piece in _split_text(content or "", 3):
                events.append(chunk([{"index": i, "delta": {"content": piece}, "logprobs": None, "finish_reason": None}]))
            events.append(chunk([{"index": i, "delta": {}, "logprobs": None, "finish_reason": finish}]))
        if include_usage:
            events.append(chunk([], usage))
        events.append("data: [DONE]\n\n")
        return _Response(200, "".join(events).encode("utf-8"), content_type="text/event-stream; charset=utf-8")

    def _validate_openai_response_format(self, req: ProviderRequest, fmt: Any) -> None:
        if not isinstance(fmt, dict):
            return
        if fmt.get("type") == "json_object":
            if "json" not in req.prompt.lower():
                raise _ClientError(400, "'messages' must contain the word 'json' in some form, to use "
                                        "'response_format' of type 'json_object'.", param="messages")
        elif fmt.get("type") == "json_schema":
            spec = fmt.get("json_schema")
            if not isinstance(spec, dict) or not spec.get("name"):
                raise _ClientError(400, "Missing required parameter: 'response_format.json_schema.name'.",
                                   param="response_format.json_schema.name", code="missing_required_parameter")
            if spec.get("strict") and self.validate_strict_schemas:
                problem = _strict_schema_problem(spec.get("schema") or {})
                if problem:
                    raise _ClientError(400, f"Invalid schema for response_format '{spec['name']}': {problem}",
                                       param="response_format", code="invalid_json_schema")

    def _apply_late_fault(self, req: ProviderRequest, fault: Fault) -> _Response:
        """A Fault returned by a responder."""
        req.fault = fault
        if fault.action == "delay":
            self._stopping.wait(fault.seconds)
            if fault.then is not None:
                return self._apply_late_fault(req, fault.then)
            req._skip_responder = True  # then answer with the default content
            route, params = req._route
            return route(self, req, params, None)
        if fault.action == "status":
            return self._fault_error(req, fault)
        if fault.action == "disconnect":
            raise _Disconnect()
        if fault.action == "malformed_json":
            return _Response(200, (fault.text or "").encode("utf-8"))
        if fault.action == "no_embeddings":
            return self._no_embeddings(req)
        if fault.action == "echo_api_key":
            return self._echo_api_key(req, fault)
        # invalid_content: run the route again with the override text (the responder is not asked again)
        route, params = req._route
        return route(self, req, params, fault.text or "")

    # ---- OpenAI: responses ---------------------------------------------------------------------------
    def _openai_responses(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        body = req.body or {}
        if not body.get("model"):
            raise _ClientError(400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
        if req.stream:
            raise _ClientError(400, "The fake provider server does not stream the Responses API.", param="stream")
        gen = self._generate(req, override)
        if isinstance(gen, Fault):
            return self._apply_late_fault(req, gen)
        if isinstance(gen, dict):
            return _Response(200, _dumps(gen))
        finish = _GEMINI_FINISH_TO_OPENAI.get(gen.finish, gen.finish)
        content: list[dict] = []
        if gen.refusal is not None:
            content.append({"type": "refusal", "refusal": gen.refusal})
        elif gen.text is not None:
            content.append({"type": "output_text", "text": gen.text, "annotations": [], "logprobs": []})
        incomplete = finish == "length"
        payload = {
            "id": self._new_id("resp_", 32),
            "object": "response",
            "created_at": int(time.time()),
            "status": "incomplete" if incomplete else "completed",
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": req.model,
            "output": [{"type": "message", "id": self._new_id("msg_", 32),
                        "status": "incomplete" if incomplete else "completed", "role": "assistant", "content": content}],
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "store": bool(body.get("store", True)),
            "temperature": body.get("temperature", 1.0),
            "text": body.get("text") or {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": [],
            "top_p": body.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": {"input_tokens": gen.prompt_tokens,
                      "input_tokens_details": {"cached_tokens": self._cached_prompt_tokens(req, gen.prompt_tokens)},
                      "output_tokens": gen.completion_tokens, "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": gen.prompt_tokens + gen.completion_tokens},
            "metadata": body.get("metadata") or {},
        }
        return _Response(200, _dumps(payload))

    # ---- OpenAI: embeddings ----------------------------------------------------------------------------
    def _openai_embeddings(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        body = req.body or {}
        if not body.get("model"):
            raise _ClientError(400, "you must provide a model parameter", param="model")
        if override is not None:
            return _Response(200, override.encode("utf-8"))
        if not req.inputs or any(text == "" for text in req.inputs):
            raise _ClientError(400, "'$.input' is invalid. Please check the API reference: "
                                    "https://platform.openai.com/docs/api-reference.", param="input")
        dim = int(body.get("dimensions") or self.embedding_dim)
        vectors = self._embedding_vectors(req, dim)
        if isinstance(vectors, _Response):
            return vectors
        base64_mode = body.get("encoding_format") == "base64"
        data = []
        for i, vec in enumerate(vectors):
            emb: Any = (base64.b64encode(array.array("f", vec).tobytes()).decode("ascii") if base64_mode
                        else [float(v) for v in vec])
            data.append({"object": "embedding", "index": i, "embedding": emb})
        tokens = sum(estimate_tokens(t) for t in req.inputs)
        payload = {"object": "list", "data": data, "model": req.model,
                   "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        return _Response(200, _dumps(payload))

    def _embedding_vectors(self, req: ProviderRequest, dim: int) -> "list[list[float]] | _Response":
        result = self._apply_responder(req)
        if isinstance(result, Fault):
            return self._apply_late_fault(req, result)
        if isinstance(result, Reply):
            if result.raw is not None:
                return _Response(200, _dumps(result.raw))
            result = result.content
        if result is None:
            return [fake_embedding(text, dim) for text in req.inputs]
        vectors = [list(map(float, v)) for v in result]
        return vectors

    # ---- OpenAI: audio -----------------------------------------------------------------------------------
    def _openai_transcription(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        if "file" not in req.files:
            raise _ClientError(400, "Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
        if not req.form.get("model"):
            raise _ClientError(400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
        fmt = str(req.form.get("response_format") or "json")
        self._check_diarisation_request(req, fmt, _audio_duration(req.files["file"].data))  # diarisation
        if fmt not in ("json", "text", "srt", "vtt", "verbose_json", "diarized_json"):
            raise _ClientError(400, f"Unsupported response_format '{fmt}' in the fake provider server.",
                               param="response_format")
        translating = req.kind == OPENAI_TRANSLATIONS
        code = "en" if translating else (str(req.form.get("language") or "ja").lower())
        duration = _audio_duration(req.files["file"].data)
        result: Any = override
        if override is None:
            result = self._apply_responder(req)
            if isinstance(result, Fault):
                return self._apply_late_fault(req, result)
            if isinstance(result, Reply):
                if result.raw is not None:
                    return _Response(200, _dumps(result.raw))
                result = result.content
        language, duration, text, segments, words = _transcript(result, code, duration)
        granularities = req.form.get("timestamp_granularities[]") or ["segment"]
        if isinstance(granularities, str):
            granularities = [granularities]
        if fmt == "text":
            return _Response(200, (text + "\n").encode("utf-8"), content_type="text/plain; charset=utf-8")
        if fmt == "srt":
            return _Response(200, _srt(segments).encode("utf-8"), content_type="text/plain; charset=utf-8")
        if fmt == "vtt":
            return _Response(200, _vtt(segments).encode("utf-8"), content_type="text/vtt; charset=utf-8")
        if fmt == "diarized_json":
            return _Response(200, _dumps(self._openai_diarised_payload(req, duration, text, segments)))
        usage = {"type": "duration", "seconds": int(math.ceil(duration))}
        if fmt == "json":
            return _Response(200, _dumps({"text": text, "usage": usage}))
        payload: dict[str, Any] = {"task": "translate" if translating else "transcribe", "language": language,
                                   "duration": round(duration, 3), "text": text, "usage": usage}
        if "segment" in granularities:
            payload["segments"] = segments
        if "word" in granularities:
            payload["words"] = words
        return _Response(200, _dumps(payload))

    def _openai_speech(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        body = req.body or {}
        for name in ("model", "input", "voice"):
            if not body.get(name):
                raise _ClientError(400, f"Missing required parameter: '{name}'.", param=name,
                                   code="missing_required_parameter")
        if len(str(body["input"])) > 4096:
            raise _ClientError(400, "string too long. Expected a string with maximum length 4096", param="input",
                               code="string_above_max_length")
        fmt = str(body.get("response_format") or "mp3")
        if fmt not in _SPEECH_CONTENT_TYPES:
            raise _ClientError(400, f"Invalid value: '{fmt}'.", param="response_format")
        if override is not None:
            return _Response(200, override.encode("utf-8"), content_type=_SPEECH_CONTENT_TYPES[fmt])
        result = self._apply_responder(req)
        if isinstance(result, Fault):
            return self._apply_late_fault(req, result)
        if isinstance(result, Reply):
            result = result.content
        if isinstance(result, (bytes, bytearray)):
            audio = bytes(result)
        else:
            speed = float(body.get("speed") or 1.0)
            seconds = min(max(len(str(body["input"])) * 0.06 / max(speed, 0.25), 0.3), 5.0)
            audio = _mp3_silence(seconds) if fmt == "mp3" else _pcm_tone(seconds) if fmt == "pcm" else _wav_tone(seconds)
        return _Response(200, audio, content_type=_SPEECH_CONTENT_TYPES[fmt])

    # ---- OpenAI: files -------------------------------------------------------------------------------------
    def _openai_files_create(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        upload = req.files.get("file")
        purpose = req.form.get("purpose")
        if upload is None:
            raise _ClientError(400, "Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
        if not purpose:
            raise _ClientError(400, "Missing required parameter: 'purpose'.", param="purpose",
                               code="missing_required_parameter")
        if purpose == "fine-tune":
            _validate_fine_tune_jsonl(upload.data)
        with self._lock:
            obj = self._store_file(upload.filename or "upload", str(purpose), upload.data, status="processed")
        return _Response(200, _dumps(obj))

    def _openai_files_list(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        with self._lock:
            items = [dict(f) for f in self._files.values()]
        purpose = req.query.get("purpose")
        if purpose:
            items = [f for f in items if f["purpose"] == purpose]
        if req.query.get("order", "desc") == "desc":
            items.reverse()
        return _Response(200, _dumps(_cursor_page(items, req.query, default_limit=10_000)))

    def _openai_file_get(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        with self._lock:
            obj = self._files.get(params["file_id"])
            obj = dict(obj) if obj else None
        if obj is None:
            raise _ClientError(404, f"No such File object: {params['file_id']}", param="id")
        return _Response(200, _dumps(obj))

    def _openai_file_content(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        with self._lock:
            data = self._file_data.get(params["file_id"])
        if data is None:
            raise _ClientError(404, f"No such File object: {params['file_id']}", param="id")
        return _Response(200, data, content_type="application/octet-stream")

    def _openai_file_delete(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        with self._lock:
            obj = self._files.pop(params["file_id"], None)
            self._file_data.pop(params["file_id"], None)
        if obj is None:
            raise _ClientError(404, f"No such File object: {params['file_id']}", param="id")
        return _Response(200, _dumps({"id": params["file_id"], "object": "file", "deleted": True}))

    # ---- OpenAI: fine-tuning ---------------------------------------------------------------------------------
    def _openai_job_create(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        body = req.body or {}
        if not body.get("model"):
            raise _ClientError(400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
        training = body.get("training_file")
        if not training:
            raise _ClientError(400, "Missing required parameter: 'training_file'.", param="training_file",
                               code="missing_required_parameter")
        with self._lock:
            for param in ("training_file", "validation_file"):
                file_id = body.get(param)
                if file_id and file_id not in self._files:
                    raise _ClientError(400, f"invalid {param}: {file_id}", param=param)
                if file_id and self._files[file_id]["purpose"] != "fine-tune":
                    raise _ClientError(400, f"File {file_id} has purpose {self._files[file_id]['purpose']!r}, "
                                            "expected 'fine-tune'.", param=param)
            method = body.get("method") or {"type": "supervised", "supervised": {}}
            method_type = method.get("type", "supervised")
            method_hyper = ((method.get(method_type) or {}).get("hyperparameters") or {})
            given = {**(body.get("hyperparameters") or {}), **method_hyper}
            hyper = {name: given.get(name, "auto") for name in ("batch_size", "learning_rate_multiplier", "n_epochs")}
            job_id = self._new_id("ftjob-", 24)
            job = {
                "object": "fine_tuning.job",
                "id": job_id,
                "model": body["model"],
                "created_at": int(time.time()),
                "finished_at": None,
                "fine_tuned_model": None,
                "organization_id": "org-aivlingual-fake",
                "result_files": [],
                "status": "validating_files",
                "validation_file": body.get("validation_file"),
                "training_file": training,
                "hyperparameters": hyper,
                "trained_tokens": None,
                "error": None,
                "user_provided_suffix": body.get("suffix"),
                "seed": int(body.get("seed") if body.get("seed") is not None else 42),
                "estimated_finish": None,
                "integrations": body.get("integrations") or [],
                "metadata": body.get("metadata"),
                "method": {"type": method_type, method_type: {"hyperparameters": dict(hyper)}},
            }
            self._jobs[job_id] = job
            self._job_event(job_id, f"Created fine-tuning job: {job_id}")
            self._job_event(job_id, f"Validating training file: {training}")
            return _Response(200, _dumps(job))

    def _openai_job_list(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        with self._lock:
            items = [json.loads(json.dumps(j)) for j in reversed(list(self._jobs.values()))]
        return _Response(200, _dumps(_cursor_page(items, req.query)))

    def _openai_job_get(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        job_id = params["job_id"]
        with self._lock:
            if job_id not in self._jobs:
                raise _ClientError(404, f"Could not find fine tune job: {job_id}", param="fine_tuning_job_id")
            self._advance_job(job_id)
            job = json.loads(json.dumps(self._jobs[job_id]))
        return _Response(200, _dumps(job))

    def _advance_job(self, job_id: str) -> None:
        if self._job_progression is None or self._jobs[job_id]["status"] in _TERMINAL_JOB_STATES:
            return
        statuses, kwargs = self._job_progression
        index = self._job_progress_index.get(job_id, 0)
        if index >= len(statuses):
            return
        self._job_progress_index[job_id] = index + 1
        status = statuses[index]
        if status == "succeeded":
            self.finish_job(job_id, **kwargs)
        elif status == "failed":
            self.fail_job(job_id, **kwargs)
        else:
            self.set_job_status(job_id, status)

    def _openai_job_events(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        job_id = params["job_id"]
        with self._lock:
            if job_id not in self._jobs:
                raise _ClientError(404, f"Could not find fine tune job: {job_id}", param="fine_tuning_job_id")
            items = [dict(e) for e in reversed(self._job_events.get(job_id, []))]  # newest first, as the API does
        return _Response(200, _dumps(_cursor_page(items, req.query)))

    def _openai_job_checkpoints(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        job_id = params["job_id"]
        with self._lock:
            if job_id not in self._jobs:
                raise _ClientError(404, f"Could not find fine tune job: {job_id}", param="fine_tuning_job_id")
            items = [json.loads(json.dumps(c)) for c in reversed(self._job_checkpoints.get(job_id, []))]
        page = _cursor_page(items, req.query)
        page["first_id"] = page["data"][0]["id"] if page["data"] else None
        page["last_id"] = page["data"][-1]["id"] if page["data"] else None
        return _Response(200, _dumps(page))

    def _openai_job_cancel(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        job_id = params["job_id"]
        with self._lock:
            if job_id not in self._jobs:
                raise _ClientError(404, f"Could not find fine tune job: {job_id}", param="fine_tuning_job_id")
            if self._jobs[job_id]["status"] in _TERMINAL_JOB_STATES:
                raise _ClientError(400, f"Job has already completed with status {self._jobs[job_id]['status']}.")
            job = self.set_job_status(job_id, "cancelled")
        return _Response(200, _dumps(job))

    # ---- OpenAI: models --------------------------------------------------------------------------------------
    def _model_objects(self) -> list[dict]:
        models = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "openai"} for m in _BASE_MODELS]
        with self._lock:
            for job in self._jobs.values():
                if job["status"] == "succeeded" and job["fine_tuned_model"]:
                    models.append({"id": job["fine_tuned_model"], "object": "model", "created": job["finished_at"],
                                   "owned_by": "aivlingual"})
        return models

    def _openai_models_list(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        return _Response(200, _dumps({"object": "list", "data": self._model_objects()}))

    def _openai_model_get(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        for model in self._model_objects():
            if model["id"] == params["model_id"]:
                return _Response(200, _dumps(model))
        raise _ClientError(404, f"The model '{params['model_id']}' does not exist", param="model", code="model_not_found")

    # ---- Gemini ------------------------------------------------------------------------------------------------
    def _gemini_generate(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        body = req.body or {}
        contents = body.get("contents")
        if not contents:
            raise _ClientError(400, "* GenerateContentRequest.contents: contents is not specified")
        config = _gemini_generation_config(body)
        has_schema = any(k in config for k in ("responseSchema", "response_schema", "responseJsonSchema", "response_json_schema"))
        if has_schema and req.response_mime_type not in ("application/json", "text/x.enum"):
            raise _ClientError(400, "* GenerateContentRequest.generation_config.response_mime_type: response_mime_type "
                                    "must be one of [application/json, text/x.enum] when response_schema is set.")
        if (("responseSchema" in config or "response_schema" in config)
                and ("responseJsonSchema" in config or "response_json_schema" in config)):
            raise _ClientError(400, "* GenerateContentRequest.generation_config: response_schema and "
                                    "response_json_schema cannot both be set.")
        gen = self._generate(req, override)
        if isinstance(gen, Fault):
            return self._apply_late_fault(req, gen)
        if isinstance(gen, dict):
            return _Response(200, _dumps(gen))
        finish = _OPENAI_FINISH_TO_GEMINI.get(gen.finish, gen.finish)
        text = gen.text if gen.refusal is None else None
        details = _gemini_prompt_details(req, gen.prompt_tokens)
        usage = {"promptTokenCount": gen.prompt_tokens, "candidatesTokenCount": gen.completion_tokens * req.candidate_count,
                 "totalTokenCount": gen.prompt_tokens + gen.completion_tokens * req.candidate_count,
                 "promptTokensDetails": details}
        cached = self._cached_prompt_tokens(req, gen.prompt_tokens)  # prompt_cache
        if cached:
            usage["cachedContentTokenCount"] = cached
            usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
        response_id = self._new_id("fake", 20)

        def candidates(piece: str | None, final: bool) -> list[dict]:
            out = []
            for i in range(req.candidate_count):
                cand: dict[str, Any] = {"index": i}
                if piece is not None:
                    cand["content"] = {"parts": [{"text": piece}], "role": "model"}
                if final:
                    cand["finishReason"] = finish
                out.append(cand)
            return out

        if req.stream:
            pieces = _split_text(text, 3) if text else [None]
            events = []
            for i, piece in enumerate(pieces):
                final = i == len(pieces) - 1
                chunk = {"candidates": candidates(piece, final), "modelVersion": req.model, "responseId": response_id,
                         "usageMetadata": usage if final else {"promptTokenCount": gen.prompt_tokens,
                                                               "totalTokenCount": gen.prompt_tokens}}
                events.append("data: " + json.dumps(chunk, ensure_ascii=False) + "\r\n\r\n")
            return _Response(200, "".join(events).encode("utf-8"), content_type="text/event-stream")
        payload = {"candidates": candidates(text, True), "usageMetadata": usage, "modelVersion": req.model,
                   "responseId": response_id}
        return _Response(200, _dumps(payload))

    def _gemini_embed(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        if override is not None:
            return _Response(200, override.encode("utf-8"))
        body = req.body or {}
        batch = params["action"] == "batchEmbedContents"
        requests_ = body.get("requests") if batch else [body]
        if not requests_ or not all(isinstance(r, dict) and r.get("content") for r in requests_):
            raise _ClientError(400, "* BatchEmbedContentsRequest.requests: at least one request with content is required"
                               if batch else "* EmbedContentRequest.content: content is not specified")
        dims = [int(r.get("outputDimensionality") or r.get("output_dimensionality") or self.embedding_dim) for r in requests_]
        result = self._apply_responder(req)
        if isinstance(result, Fault):
            return self._apply_late_fault(req, result)
        if isinstance(result, Reply):
            if result.raw is not None:
                return _Response(200, _dumps(result.raw))
            result = result.content
        if result is None:
            vectors = [fake_embedding(text, dim) for text, dim in zip(req.inputs, dims)]
        else:
            vectors = [list(map(float, v)) for v in result]
        if batch:
            return _Response(200, _dumps({"embeddings": [{"values": v} for v in vectors]}))
        return _Response(200, _dumps({"embedding": {"values": vectors[0] if vectors else []}}))

    def _echo_api_key(self, req: ProviderRequest, fault: Fault) -> _Response:
        return self._error(req, fault.status_code, f"Request rejected for API key {req.api_key} "
                                                   f"(Authorization: {req.header('authorization')}, "
                                                   f"x-goog-api-key: {req.header('x-goog-api-key')})")

    @staticmethod
    def _no_embeddings(req: ProviderRequest) -> _Response:
        if req.protocol == "gemini":
            return _Response(200, _dumps({"embeddings": []}))
        return _Response(200, _dumps({"object": "list", "data": [], "model": req.model,
                                      "usage": {"prompt_tokens": 0, "total_tokens": 0}}))

    def _gemini_count_tokens(self, req: ProviderRequest, params: dict, override: str | None) -> _Response:
        return _Response(200, _dumps({"totalTokens": _prompt_tokens(req)}))


@dataclasses.dataclass
class _Generated:
    text: str | None
    refusal: str | None
    finish: str
    prompt_tokens: int
    completion_tokens: int


# ==== routing =====================================================================================
_OPENAI_ROUTES: list[tuple[str, re.Pattern[str], str, Callable]] = [
    ("POST", re.compile(r"^/chat/completions$"), OPENAI_CHAT, ProviderServer._openai_chat),
    ("POST", re.compile(r"^/responses$"), OPENAI_RESPONSES, ProviderServer._openai_responses),
    ("POST", re.compile(r"^/embeddings$"), OPENAI_EMBEDDINGS, ProviderServer._openai_embeddings),
    ("POST", re.compile(r"^/audio/transcriptions$"), OPENAI_TRANSCRIPTIONS, ProviderServer._openai_transcription),
    ("POST", re.compile(r"^/audio/translations$"), OPENAI_TRANSLATIONS, ProviderServer._openai_transcription),
    ("POST", re.compile(r"^/audio/speech$"), OPENAI_SPEECH, ProviderServer._openai_speech),
    ("POST", re.compile(r"^/files$"), OPENAI_FILES, ProviderServer._openai_files_create),
    ("GET", re.compile(r"^/files$"), OPENAI_FILES, ProviderServer._openai_files_list),
    ("GET", re.compile(r"^/files/(?P<file_id>[^/]+)$"), OPENAI_FILES, ProviderServer._openai_file_get),
    ("GET", re.compile(r"^/files/(?P<file_id>[^/]+)/content$"), OPENAI_FILES, ProviderServer._openai_file_content),
    ("DELETE", re.compile(r"^/files/(?P<file_id>[^/]+)$"), OPENAI_FILES, ProviderServer._openai_file_delete),
    ("POST", re.compile(r"^/fine_tuning/jobs$"), OPENAI_FINE_TUNING, ProviderServer._openai_job_create),
    ("GET", re.compile(r"^/fine_tuning/jobs$"), OPENAI_FINE_TUNING, ProviderServer._openai_job_list),
    ("GET", re.compile(r"^/fine_tuning/jobs/(?P<job_id>[^/]+)$"), OPENAI_FINE_TUNING, ProviderServer._openai_job_get),
    ("GET", re.compile(r"^/fine_tuning/jobs/(?P<job_id>[^/]+)/events$"), OPENAI_FINE_TUNING, ProviderServer._openai_job_events),
    ("GET", re.compile(r"^/fine_tuning/jobs/(?P<job_id>[^/]+)/checkpoints$"), OPENAI_FINE_TUNING,
     ProviderServer._openai_job_checkpoints),
    ("POST", re.compile(r"^/fine_tuning/jobs/(?P<job_id>[^/]+)/cancel$"), OPENAI_FINE_TUNING, ProviderServer._openai_job_cancel),
    ("GET", re.compile(r"^/models$"), OPENAI_MODELS, ProviderServer._openai_models_list),
    ("GET", re.compile(r"^/models/(?P<model_id>.+)$"), OPENAI_MODELS, ProviderServer._openai_model_get),
    *batch_routes(ProviderServer),  # POST/GET /batches, GET /batches/{id}, POST .../cancel (openai_batches)
]
_GEMINI_HANDLERS = {
    GEMINI_GENERATE: ProviderServer._gemini_generate,
    GEMINI_EMBED: ProviderServer._gemini_embed,
    GEMINI_COUNT_TOKENS: ProviderServer._gemini_count_tokens,
}


def _route(method: str, path: str, headers: dict[str, str], query: dict[str, str]) -> tuple[str, str, Callable | None, dict]:
    match = _GEMINI_PATH.match(path)
    if match and method == "POST":
        action = match.group("action")
        params = {"action": action, "version": match.group("version"), "model": match.group("model")}
        kind = _GEMINI_ACTIONS.get(action)
        if kind is None:
            return "gemini", GEMINI_UNKNOWN, None, params
        return "gemini", kind, _GEMINI_HANDLERS[kind], params
    looks_gemini = "x-goog-api-key" in headers or "key" in query or path.startswith(("/v1beta/", "/v1alpha/", "/upload/"))
    if path.startswith("/v1/") and not looks_gemini:
        sub = path[3:]
        kind_for_path = None
        for route_method, pattern, kind, handler in _OPENAI_ROUTES:
            found = pattern.match(sub)
            if found:
                kind_for_path = kind_for_path or kind
                if route_method == method:
                    return "openai", kind, handler, {k: unquote(v) for k, v in found.groupdict().items()}
        return "openai", kind_for_path or OPENAI_UNKNOWN, None, {}
    if looks_gemini:
        return "gemini", GEMINI_UNKNOWN, None, {}
    return "openai", OPENAI_UNKNOWN, None, {}


def _not_found_message(req: ProviderRequest) -> str:
    if req.protocol == "gemini":
        return f"The fake provider server has no route for {req.method} {req.path}."
    return f"Invalid URL ({req.method} {req.path})"


def _kind_key(kind: str | Iterable[str]) -> Any:
    return kind if isinstance(kind, str) else tuple(kind)


def _kind_matcher(kind: str | Iterable[str]) -> Callable[[str], bool]:
    if isinstance(kind, str):
        patterns = (kind,)
    else:
        patterns = tuple(kind)

    def matcher(candidate: str) -> bool:
        return any(p == "*" or p == candidate or fnmatch.fnmatchcase(candidate, p) for p in patterns)

    matcher.key = _kind_key(kind)  # type: ignore[attr-defined]
    return matcher


def _api_key(protocol: str, headers: dict[str, str], query: dict[str, str]) -> str | None:
    if protocol == "gemini":
        return headers.get("x-goog-api-key") or query.get("key")
    auth = headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return headers.get("api-key") or None


# ==== request parsing =============================================================================
def _parse_request(req: ProviderRequest, raw: bytes) -> None:
    content_type = req.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        req.form, req.files = _parse_multipart(raw, content_type)
        req.model = req.form.get("model") or None
        return
    if raw:
        try:
            req.body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _ClientError(400, f"We could not parse the JSON body of your request. ({exc})") from None
        if not isinstance(req.body, dict):
            raise _ClientError(400, "The request body must be a JSON object.")
    body = req.body if isinstance(req.body, dict) else {}
    if req.kind.startswith("gemini."):
        _parse_gemini(req, body)
    else:
        _parse_openai(req, body)


def _parse_openai(req: ProviderRequest, body: dict) -> None:
    req.model = body.get("model") or None
    req.stream = bool(body.get("stream"))
    req.temperature = body.get("temperature")
    if req.kind == OPENAI_CHAT:
        for message in body.get("messages") or []:
            if isinstance(message, dict):
                role = str(message.get("role", "user"))
                req.messages.append((role, _openai_content_text(message.get("content"), req.inline_data)))
        req.messages.sort(key=lambda m: 0 if m[0] in ("system", "developer") else 1)
        req.max_output_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        fmt = body.get("response_format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            spec = fmt.get("json_schema") or {}
            req.schema, req.schema_name, req.json_mode = spec.get("schema"), spec.get("name"), True
        elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
            req.json_mode = True
    elif req.kind == OPENAI_RESPONSES:
        if body.get("instructions"):
            req.messages.append(("system", str(body["instructions"])))
        items = body.get("input")
        if isinstance(items, str):
            req.messages.append(("user", items))
        elif isinstance(items, list):
            for item in items:
                if isinstance(item, dict) and "content" in item:
                    req.messages.append((str(item.get("role", "user")),
                                         _openai_content_text(item.get("content"), req.inline_data)))
        req.messages.sort(key=lambda m: 0 if m[0] in ("system", "developer") else 1)
        req.max_output_tokens = body.get("max_output_tokens")
        fmt = ((body.get("text") or {}).get("format")) or {}
        if fmt.get("type") == "json_schema":
            req.schema, req.schema_name, req.json_mode = fmt.get("schema"), fmt.get("name"), True
        elif fmt.get("type") == "json_object":
            req.json_mode = True
    elif req.kind == OPENAI_EMBEDDINGS:
        raw_input = body.get("input")
        if isinstance(raw_input, str):
            req.inputs = [raw_input]
        elif isinstance(raw_input, list) and raw_input and all(isinstance(x, int) for x in raw_input):
            req.inputs = [" ".join(map(str, raw_input))]
        elif isinstance(raw_input, list):
            req.inputs = [x if isinstance(x, str) else " ".join(map(str, x)) for x in raw_input]
    elif req.kind == OPENAI_SPEECH:
        req.messages.append(("user", str(body.get("input") or "")))


def _openai_content_text(content: Any, inline: list[InlineData]) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for part in content if isinstance(content, list) else [content]:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("text", "input_text", "output_text"):
            texts.append(str(part.get("text", "")))
        elif kind == "input_audio":
            audio = part.get("input_audio") or {}
            inline.append(InlineData(f"audio/{audio.get('format', 'wav')}", _b64decode(audio.get("data", ""))))
        elif kind in ("image_url", "input_image"):
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            if isinstance(url, str) and url.startswith("data:"):
                header, _, data = url.partition(",")
                inline.append(InlineData(header[5:].split(";")[0] or "application/octet-stream", _b64decode(data)))
        elif kind in ("file", "input_file"):
            file_part = part.get("file") or part
            data = file_part.get("file_data")
            if isinstance(data, str):
                if data.startswith("data:"):
                    header, _, data = data.partition(",")
                inline.append(InlineData("application/octet-stream", _b64decode(data)))
    return "\n".join(texts)


def _gemini_generation_config(body: dict) -> dict:
    config = body.get("generationConfig") or body.get("generation_config") or {}
    return config if isinstance(config, dict) else {}


def _parse_gemini(req: ProviderRequest, body: dict) -> None:
    model = None
    match = _GEMINI_PATH.match(req.path)
    if match:
        model = match.group("model")
        model = model[len("models/"):] if model.startswith("models/") else model
    req.model = model
    req.stream = ":streamGenerateContent" in req.path
    if req.kind == GEMINI_EMBED:
        requests_ = body.get("requests") if "requests" in body else [body]
        for item in requests_ or []:
            if isinstance(item, dict):
                req.inputs.append(_gemini_content_text(item.get("content"), req.inline_data))
        return
    system = body.get("systemInstruction") or body.get("system_instruction")
    if system:
        req.messages.append(("system", _gemini_content_text(system, req.inline_data)))
    contents = body.get("contents") or []
    if isinstance(contents, dict):
        contents = [contents]
    for content in contents:
        if isinstance(content, dict):
            role = str(content.get("role") or "user")
            req.messages.append(("assistant" if role == "model" else role, _gemini_content_text(content, req.inline_data)))
    if req.kind == GEMINI_COUNT_TOKENS:
        req.inputs = [text for _, text in req.messages]
    config = _gemini_generation_config(body)
    req.response_mime_type = config.get("responseMimeType") or config.get("response_mime_type")
    req.json_mode = req.response_mime_type == "application/json"
    schema = None
    for key in ("responseJsonSchema", "response_json_schema", "responseSchema", "response_schema"):
        if isinstance(config.get(key), dict):
            schema = config[key]
            break
    req.schema = schema
    req.schema_name = schema.get("title") if isinstance(schema, dict) else None
    max_tokens = config.get("maxOutputTokens") or config.get("max_output_tokens")
    req.max_output_tokens = int(max_tokens) if max_tokens else None
    req.temperature = config.get("temperature")
    req.candidate_count = max(int(config.get("candidateCount") or config.get("candidate_count") or 1), 1)


def _gemini_content_text(content: Any, inline: list[InlineData]) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = content.get("parts") if isinstance(content, dict) else content
    texts = []
    for part in parts or []:
        if not isinstance(part, dict):
            continue
        if "text" in part and not part.get("thought"):
            texts.append(str(part["text"]))
        data = part.get("inlineData") or part.get("inline_data")
        if isinstance(data, dict):
            mime = data.get("mimeType") or data.get("mime_type") or "application/octet-stream"
            inline.append(InlineData(str(mime), _b64decode(data.get("data", ""))))
    return "\n".join(texts)


def _b64decode(data: str) -> bytes:
    if not data:
        return b""
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_" if ("-" in data or "_" in data) else None)
    except (ValueError, TypeError):
        raise _ClientError(400, "Invalid value: base64 data could not be decoded.") from None


def _parse_multipart(raw: bytes, content_type: str) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise _ClientError(400, "multipart body without boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    form: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    chunks = raw.split(delimiter)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        if chunk.endswith(b"\r\n"):
            chunk = chunk[:-2]
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        part_headers: dict[str, str] = {}
        for line in head.decode("utf-8", errors="replace").split("\r\n"):
            name, _, value = line.partition(":")
            part_headers[name.strip().lower()] = value.strip()
        disposition = part_headers.get("content-disposition", "")
        name = _disposition_param(disposition, "name")
        if name is None:
            continue
        filename = _disposition_param(disposition, "filename")
        if filename is not None:
            files[name] = UploadedFile(name, filename, part_headers.get("content-type"), data)
            continue
        value = data.decode("utf-8", errors="replace")
        if name.endswith("[]"):
            form.setdefault(name, []).append(value)
        elif name in form:
            existing = form[name]
            form[name] = (existing if isinstance(existing, list) else [existing]) + [value]
        else:
            form[name] = value
    return form, files


def _disposition_param(disposition: str, param: str) -> str | None:
    star = re.search(param + r"\*=([^;]+)", disposition)
    if star:
        value = star.group(1).strip().strip('"')
        if "''" in value:
            value = value.split("''", 1)[1]
        return unquote(value)
    match = re.search(r'(?:^|;)\s*' + param + r'="((?:[^"\\]|\\.)*)"', disposition) or re.search(
        r'(?:^|;)\s*' + param + r"=([^;]+)", disposition)
    return match.group(1).strip() if match else None


def _validate_fine_tune_jsonl(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _ClientError(400, "Invalid file format for Fine-Tuning API. Must be .jsonl", param="file") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise _ClientError(400, "Invalid file format for Fine-Tuning API. Must be .jsonl", param="file")
    for number, line in enumerate(lines, 1):
        try:
            json.loads(line)
        except json.JSONDecodeError:
            raise _ClientError(400, f"Invalid file format for Fine-Tuning API. Must be .jsonl (line {number} is not JSON)",
                               param="file") from None


# ==== response helpers ============================================================================
def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def _mask_key(key: str | None) -> str:
    if not key:
        return ""
    return key[:3] + "*" * max(len(key) - 7, 1) + key[-4:] if len(key) > 8 else "*" * len(key)


def _content_text(content: Any) -> str | None:
    if content is None:
        return None
    if isinstance(content, str):
        return content
    if hasattr(content, "model_dump_json"):
        return content.model_dump_json()
    return json.dumps(content, ensure_ascii=False)


def _normalise_finish(reason: str) -> str:
    return _GEMINI_FINISH_TO_OPENAI.get(reason, reason)


def _prompt_tokens(req: ProviderRequest) -> int:
    return estimate_tokens(req.prompt) + sum(_inline_tokens(p) for p in req.inline_data)


def _gemini_prompt_details(req: ProviderRequest, prompt_tokens: int) -> list[dict]:
    by_modality = {"TEXT": estimate_tokens(req.prompt)}
    for part in req.inline_data:
        modality = ("AUDIO" if part.mime_type.startswith("audio/") else "IMAGE" if part.mime_type.startswith("image/")
                    else "VIDEO" if part.mime_type.startswith("video/") else "DOCUMENT")
        by_modality[modality] = by_modality.get(modality, 0) + _inline_tokens(part)
    if sum(by_modality.values()) != prompt_tokens:  # a responder gave explicit counts
        by_modality = {"TEXT": prompt_tokens}
    return [{"modality": m, "tokenCount": n} for m, n in by_modality.items()]


def _inline_tokens(part: InlineData) -> int:
    if part.mime_type.startswith("audio/"):
        duration = _wav_duration(part.data)
        return int(math.ceil(duration * 32)) if duration is not None else len(part.data) // 1000 + 1
    return 258


def _split_text(text: str, pieces: int) -> list[str]:
    if not text:
        return []
    size = max(1, math.ceil(len(text) / pieces))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _cursor_page(items: list[dict], query: dict[str, str], default_limit: int = 20) -> dict:
    after = query.get("after")
    if after:
        ids = [item.get("id") for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    limit = int(query.get("limit") or default_limit)
    return {"object": "list", "data": items[:limit], "has_more": len(items) > limit}


def _resolved_hyperparameters(hyper: dict) -> dict:
    defaults = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.8}
    return {name: defaults[name] if hyper.get(name, "auto") == "auto" else hyper[name] for name in defaults}


def _metric_steps(steps: int) -> list[int]:
    if steps <= 5:
        return list(range(1, steps + 1))
    return sorted({max(1, round(steps * i / 5)) for i in range(1, 6)})


def _strict_schema_problem(schema: Any) -> str | None:
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return "schema must be a JSON Schema of 'type: \"object\"', got 'type: \"%s\"'." % (
            schema.get("type") if isinstance(schema, dict) else type(schema).__name__)

    def walk(node: Any, context: str) -> str | None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                problem = walk(item, f"{context}, {i}")
                if problem:
                    return problem
            return None
        if not isinstance(node, dict):
            return None
        is_object = node.get("type") == "object" or (isinstance(node.get("type"), list) and "object" in node["type"])
        if is_object or "properties" in node:
            if node.get("additionalProperties") is not False:
                return (f"In context=({context}), 'additionalProperties' is required to be supplied and to be false.")
            props = list((node.get("properties") or {}).keys())
            missing = [p for p in props if p not in (node.get("required") or [])]
            if missing:
                return (f"In context=({context}), 'required' is required to be supplied and to be an array including "
                        f"every key in properties. Missing '{missing[0]}'.")
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                problem = walk(value, f"{context}, '{key}'" if context else f"'{key}'")
                if problem:
                    return problem
        return None

    return walk(schema, "")


# ---- audio ---------------------------------------------------------------------------------------
def _wav_duration(data: bytes) -> float | None:
    if not data.startswith(b"RIFF"):
        return None
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            rate = wav.getframerate()
            return wav.getnframes() / float(rate) if rate else None
    except (wave.Error, EOFError, ValueError, struct.error):
        return None


def _audio_duration(data: bytes) -> float:
    duration = _wav_duration(data)
    if duration is None:
        if data.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")):
            duration = len(data) * 8 / 128000.0
        else:
            duration = len(data) / 32000.0  # 16 kHz, 16-bit mono
    return max(duration, 0.5)


def _pcm_tone(seconds: float, rate: int = 24000) -> bytes:
    frames = int(seconds * rate)
    samples = array.array("h", (int(1200 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(frames)))
    if samples.itemsize != 2:  # pragma: no cover - every CPython platform has 16-bit shorts
        raise RuntimeError("array('h') is not 16-bit")
    if sys.byteorder == "big":  # pragma: no cover
        samples.byteswap()
    return samples.tobytes()


def _wav_tone(seconds: float, rate: int = 24000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(_pcm_tone(seconds, rate))
    return buffer.getvalue()


_MP3_FRAME = b"\xff\xfb\x90\xc4" + bytes(413)  # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, mono, silent


def _mp3_silence(seconds: float) -> bytes:
    frames = max(1, int(math.ceil(seconds * 44100 / 1152)))
    return _MP3_FRAME * frames


# ---- transcripts ----------------------------------------------------------------------------------
_SENTENCE_END = re.compile(r"(?<=[。．！？!?.])\s*")


def _transcript(result: Any, code: str, duration: float) -> tuple[str, float, str, list[dict], list[dict]]:
    language = _WHISPER_LANGUAGES.get(code, code)
    text: str | None = None
    raw_segments: list[Any] | None = None
    words: list[dict] | None = None
    if isinstance(result, dict):
        text = result.get("text")
        raw_segments = result.get("segments")
        language = result.get("language", language)
        duration = float(result.get("duration", duration if raw_segments is None else 0) or 0)
        words = result.get("words")
    elif isinstance(result, list):
        raw_segments = result
    elif isinstance(result, str):
        text = result
    if raw_segments is None:
        if text is None:
            count = min(max(1, math.ceil(duration / 5.0)), 20)
            sentences = [f"テスト音声の{i + 1}番目の文です。" if code == "ja" else f"This is test sentence {i + 1}."
                         for i in range(count)]
        else:
            sentences = [s for s in _SENTENCE_END.split(text.strip()) if s] or [text]
        total = sum(len(s) for s in sentences) or 1
        raw_segments, start = [], 0.0
        for sentence in sentences:
            end = start + duration * len(sentence) / total
            raw_segments.append({"start": round(start, 3), "end": round(end, 3), "text": sentence})
            start = end
    segments = []
    for i, seg in enumerate(raw_segments):
        start, end, seg_text = (seg["start"], seg["end"], seg["text"]) if isinstance(seg, dict) else seg
        base = dict(seg) if isinstance(seg, dict) else {}
        segments.append({
            "id": i, "seek": int(float(start) * 100), "start": float(start), "end": float(end), "text": str(seg_text),
            "tokens": [50364 + b % 1000 for b in str(seg_text).encode("utf-8")[:24]], "temperature": 0.0,
            "avg_logprob": -0.25, "compression_ratio": 1.2, "no_speech_prob": 0.01,
            **{k: v for k, v in base.items() if k not in ("start", "end", "text")},
        })
    if not duration:
        duration = max((s["end"] for s in segments), default=0.0)
    if text is None:
        joiner = "" if code in ("ja", "zh") else " "
        text = joiner.join(s["text"].strip() for s in segments)
    if words is None:
        words = []
        for seg in segments:
            tokens = seg["text"].split() or [seg["text"]]
            if len(tokens) == 1 and len(seg["text"]) > 2:
                tokens = [seg["text"][i : i + 2] for i in range(0, len(seg["text"]), 2)]
            step = (seg["end"] - seg["start"]) / max(len(tokens), 1)
            for j, token in enumerate(tokens):
                words.append({"word": token, "start": round(seg["start"] + j * step, 3),
                              "end": round(seg["start"] + (j + 1) * step, 3)})
    return language, float(duration), text, segments, words


def _timestamp(seconds: float, sep: str) -> str:
    millis = int(round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


def _srt(segments: list[dict]) -> str:
    return "".join(f"{i + 1}\n{_timestamp(s['start'], ',')} --> {_timestamp(s['end'], ',')}\n{s['text'].strip()}\n\n"
                   for i, s in enumerate(segments))


def _vtt(segments: list[dict]) -> str:
    return "WEBVTT\n\n" + "".join(f"{_timestamp(s['start'], '.')} --> {_timestamp(s['end'], '.')}\n{s['text'].strip()}\n\n"
                                  for s in segments)


# ==== pytest fixture ==============================================================================
def _make_fixture() -> Any:
    try:
        import pytest
    except ImportError:  # pragma: no cover - the module is usable without pytest
        return None

    @pytest.fixture
    def provider_server(monkeypatch: Any) -> Iterator[ProviderServer]:
        """A started :class:`ProviderServer` with both SDKs pointed at it through the environment."""
        with ProviderServer() as server:
            server.apply_env(monkeypatch)
            yield server
            server.assert_no_handler_errors()

    return provider_server


provider_server = _make_fixture()
