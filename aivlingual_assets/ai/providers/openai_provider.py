"""OpenAI and OpenAI-compatible servers (Ollama, vLLM, llama.cpp) through the official SDK."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import openai
from pydantic import BaseModel

from ..deadline import request_timeout
from .base import (
    CallFailure,
    EmbeddingResponse,
    SpeechResponse,
    TextResponse,
    TranscriptionResponse,
    parse_retry_after,
)

MAX_KNOWN_SPEAKERS = 4  # what the diarising model takes
_PASSED_OPTIONS = ("temperature", "top_p", "seed")


class OpenAIProvider:
    """``name`` is "openai" for the real API and "local" for a compatible server."""

    def __init__(self, *, name: str, api_key: str, base_url: str | None, timeout: float):
        self.name = name
        self.timeout = timeout
        # base_url None lets the SDK read OPENAI_BASE_URL exactly as it always does
        self.client = openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout)

    # ---- text -----------------------------------------------------------------------------
    def generate(self, model, prompt, *, system, schema, options) -> TextResponse:
        body = chat_body(self.name, model, prompt, system=system, schema=schema, options=options)
        response = self._call(lambda: self.client.chat.completions.create(**body, timeout=self._timeout()))
        if not getattr(response, "choices", None):
            raise CallFailure(f"{self.name} returned a response without choices", retryable=True)
        message = response.choices[0].message
        text = message.content or ""
        if not text and getattr(message, "refusal", None):
            raise CallFailure(f"{self.name}/{model} refused: {message.refusal}", retryable=False)
        usage = response.usage
        details = getattr(usage, "prompt_tokens_details", None)
        return TextResponse(
            text=text,
            input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cached_input_tokens=int(getattr(details, "cached_tokens", 0) or 0),
        )

    # ---- embeddings -----------------------------------------------------------------------
    def embed(self, model: str, texts: list[str]) -> EmbeddingResponse:
        response = self._call(lambda: self.client.embeddings.create(model=model, input=texts,
                                                                      timeout=self._timeout()))
        data = sorted(response.data, key=lambda d: d.index)
        if len(data) != len(texts):
            raise CallFailure(f"{self.name} returned {len(data)} embeddings for {len(texts)} texts", retryable=True)
        tokens = int(getattr(response.usage, "prompt_tokens", 0) or 0)
        return EmbeddingResponse(vectors=[list(d.embedding) for d in data], input_tokens=tokens)

    # ---- audio ----------------------------------------------------------------------------
    def transcribe(self, model: str, audio: Path, *, language: str | None, speakers: bool = False,
                   known_speakers: Mapping[str, Path] | None = None) -> TranscriptionResponse:
        """Timed segments; ``speakers`` asks a diarising model for ``diarized_json`` (segments with a speaker).

        A diarising model gives timed segments only as ``diarized_json``, so it is always asked for them.
        ``known_speakers`` (name -> 2-10 s sample of the voice, at most 4) makes it label those voices by name.
        """
        speakers = speakers or "diarize" in model
        known = dict(list((known_speakers or {}).items())[:MAX_KNOWN_SPEAKERS]) if speakers else {}

        def call():
            with open(audio, "rb") as fh:
                kwargs: dict[str, Any] = {"model": model, "file": fh, "timeout": self._timeout()}
                if speakers:
                    # the diarising model takes no timestamp_granularities and needs chunking past 30 s of audio
                    kwargs.update(response_format="diarized_json", chunking_strategy="auto")
                    if known:
                        kwargs.update(known_speaker_names=list(known),
                                      known_speaker_references=[data_url(p) for p in known.values()])
                else:
                    kwargs.update(response_format="verbose_json", timestamp_granularities=["segment"])
                if language:
                    kwargs["language"] = language
                return self.client.audio.transcriptions.create(**kwargs)

        response = self._call(call)
        segments = [
            {"start": float(_get(s, "start")), "end": float(_get(s, "end")), "text": str(_get(s, "text")).strip(),
             **({"speaker": str(_get(s, "speaker"))} if _get(s, "speaker") else {})}
            for s in (_get(response, "segments") or [])
        ]
        duration = float(_get(response, "duration") or (segments[-1]["end"] if segments else 0.0))
        if not segments and (_get(response, "text") or "").strip():
            segments = [{"start": 0.0, "end": duration, "text": _get(response, "text").strip()}]
        return TranscriptionResponse(segments=segments, language=_get(response, "language"), duration_seconds=duration)

    def speak(self, model: str, text: str, *, voice: str | None, language: str) -> SpeechResponse:
        response = self._call(
            lambda: self.client.audio.speech.create(model=model, voice=voice or "alloy", input=text, response_format="mp3",
                                                    timeout=self._timeout())
        )
        return SpeechResponse(audio=response.content, format="mp3", characters=len(text))

    # ---- errors ---------------------------------------------------------------------------
    def _timeout(self) -> float:
        """The configured timeout, cut to what is left of the call's deadline."""
        return request_timeout(self.timeout)

    def _call(self, fn):
        try:
            return fn()
        except openai.APITimeoutError as exc:
            raise CallFailure(f"{self.name} timed out", retryable=True) from exc
        except openai.APIConnectionError as exc:
            raise CallFailure(f"{self.name} connection failed: {exc.__class__.__name__}", retryable=True) from exc
        except openai.APIStatusError as exc:
            status = exc.status_code
            retryable = status in (408, 409, 429) or status >= 500
            message = _short(getattr(exc, "message", "") or str(exc))
            raise CallFailure(
                f"{self.name} answered HTTP {status}: {message}",
                retryable=retryable,
                status=status,
                retry_after=parse_retry_after(exc.response.headers.get("retry-after")),
            ) from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CallFailure(f"{self.name} sent a response that is not valid JSON", retryable=True) from exc


def chat_body(provider: str, model: str, prompt: str, *, system: str | None,
              schema: type[BaseModel] | dict[str, Any] | None, options: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of one chat completion request (also one line of a Batch API file)."""
    messages: list[dict[str, str]] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": prompt})
    body: dict[str, Any] = {"model": model, "messages": messages}
    body.update({k: options[k] for k in _PASSED_OPTIONS if k in options})
    max_tokens = options.get("max_tokens")
    if max_tokens:
        # compatible servers know max_tokens; OpenAI's newer models only max_completion_tokens
        body["max_tokens" if provider == "local" else "max_completion_tokens"] = int(max_tokens)
    if schema is not None:
        body["response_format"] = response_format_for(schema)
    return body


def response_format_for(schema: type[BaseModel] | dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema, dict):
        return {"type": "json_schema", "json_schema": {"name": schema.get("title", "output"), "schema": schema, "strict": False}}
    return _strict_response_format(schema)


@lru_cache(maxsize=256)
def _strict_response_format(schema: type[BaseModel]) -> dict[str, Any]:
    # the strict JSON schema the SDK's parse() sends; building it costs milliseconds, so once per model
    from openai.lib._parsing._completions import type_to_response_format_param

    return type_to_response_format_param(schema)


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def data_url(path: Path) -> str:
    """A file as a ``data:`` URL (the form OpenAI takes known speakers' voice samples in)."""
    import base64

    return f"data:{guess_mime(Path(path))};base64,{base64.b64encode(Path(path).read_bytes()).decode()}"


def guess_mime(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"
