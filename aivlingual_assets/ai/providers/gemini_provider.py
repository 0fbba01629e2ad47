"""Gemini through the official google-genai SDK (which reads GOOGLE_GEMINI_BASE_URL itself)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from pydantic import BaseModel, Field

from ..deadline import request_timeout
from .base import (
    CallFailure,
    EmbeddingResponse,
    SpeechResponse,
    TextResponse,
    TranscriptionResponse,
    parse_retry_after,
)
from .openai_provider import _short, guess_mime


@lru_cache(maxsize=256)
def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def _transport_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """google-genai may send through httpx or httpx2, whose exceptions are unrelated classes."""
    timeouts: list[type[BaseException]] = []
    transport: list[type[BaseException]] = []
    for name in ("httpx", "httpx2"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        timeouts.append(module.TimeoutException)
        transport.append(module.TransportError)
    return tuple(timeouts), tuple(transport)


_TIMEOUTS, _TRANSPORT_ERRORS = _transport_errors()


class _TimedSegment(BaseModel):
    start: float = Field(description="start time in seconds")
    end: float = Field(description="end time in seconds")
    text: str = Field(description="what was said, verbatim, in the original language")


class _Transcript(BaseModel):
    language: str = Field(description="ISO 639-1 code of the spoken language")
    segments: list[_TimedSegment]


class _SpeakerSegment(_TimedSegment):
    speaker: str = Field(description="who said it: the speaker's name when the audio makes it clear "
                                     "(a self-introduction, being addressed by name), else A, B, C ... in order of "
                                     "first appearance, the same label for the same voice throughout")


class _DiarisedTranscript(BaseModel):
    language: str = Field(description="ISO 639-1 code of the spoken language")
    segments: list[_SpeakerSegment]


_TRANSCRIBE_PROMPT = (
    "Transcribe this audio verbatim in its original language. Split it into short segments at "
    "sentence or pause boundaries and give each segment's start and end time in seconds from "
    "the beginning of the audio. Do not translate or summarise."
)
_KNOWN_SPEAKERS_PROMPT = (
    " Samples of known voices follow the audio, each after its name ({names}): label those voices with "
    "exactly these names, and any other voice with a new label."
)
_SPEAKERS_PROMPT = (
    " Several people may speak (a collaboration stream): start a new segment whenever the speaker "
    "changes and label every segment with its speaker."
)


class GeminiProvider:
    name = "gemini"

    def __init__(self, *, api_key: str, timeout: float):
        self.timeout = timeout
        self.client = genai.Client(
            api_key=api_key,
            # retries are ours (with ledger logging); the SDK makes exactly one attempt
            http_options=types.HttpOptions(timeout=int(timeout * 1000), retry_options=None),
        )

    def generate(self, model, prompt, *, system, schema, options) -> TextResponse:
        config: dict[str, Any] = {}
        if system:
            config["system_instruction"] = system
        if "temperature" in options:
            config["temperature"] = options["temperature"]
        if "top_p" in options:
            config["top_p"] = options["top_p"]
        if "seed" in options:
            config["seed"] = options["seed"]
        if options.get("max_tokens"):
            config["max_output_tokens"] = int(options["max_tokens"])
        if schema is not None:
            config["response_mime_type"] = "application/json"
            if isinstance(schema, dict):
                config["response_json_schema"] = schema
            else:
                config["response_json_schema"] = _json_schema(schema)
        response = self._call(
            lambda: self.client.models.generate_content(
                model=model, contents=prompt,
                config=types.GenerateContentConfig(**config, http_options=self._http_options())
            )
        )
        return self._text_response(response, model)

    def embed(self, model: str, texts: list[str]) -> EmbeddingResponse:
        response = self._call(lambda: self.client.models.embed_content(
            model=model, contents=texts, config=types.EmbedContentConfig(http_options=self._http_options())))
        vectors = [list(e.values or []) for e in (response.embeddings or [])]
        if len(vectors) != len(texts):
            raise CallFailure(f"gemini returned {len(vectors)} embeddings for {len(texts)} texts", retryable=True)
        # the embeddings API reports no token count; UTF-8 bytes / 3 is a conservative estimate
        return EmbeddingResponse(vectors=vectors, input_tokens=sum(len(t.encode()) // 3 + 1 for t in texts))

    def transcribe(self, model: str, audio: Path, *, language: str | None, speakers: bool = False,
                   known_speakers: Mapping[str, Path] | None = None) -> TranscriptionResponse:
        """Timed segments by prompt and response schema; ``speakers`` adds a speaker label to each.

        ``known_speakers`` (name -> a short sample of the voice) follow the audio, each after its name, so
        the model labels those voices by name.
        """
        data = Path(audio).read_bytes()
        schema = _DiarisedTranscript if speakers else _Transcript
        known = dict(known_speakers or {}) if speakers else {}
        prompt = (_TRANSCRIBE_PROMPT + (_SPEAKERS_PROMPT if speakers else "")
                  + (_KNOWN_SPEAKERS_PROMPT.format(names=", ".join(known)) if known else "")
                  + (f" The language is '{language}'." if language else ""))
        samples: list[Any] = []
        for name, sample in known.items():
            samples += [f"Sample of the voice of {name}:",
                        types.Part.from_bytes(data=Path(sample).read_bytes(), mime_type=guess_mime(Path(sample)))]
        response = self._call(
            lambda: self.client.models.generate_content(
                model=model,
                contents=[types.Part.from_bytes(data=data, mime_type=guess_mime(Path(audio))), prompt, *samples],
                config=types.GenerateContentConfig(
                    response_mime_type="application/json", response_json_schema=_json_schema(schema),
                    http_options=self._http_options(),
                ),
            )
        )
        text = self._text_response(response, model)
        try:
            parsed = schema.model_validate_json(text.text)
        except ValueError as exc:
            raise CallFailure(f"gemini/{model} returned a transcript that is not valid JSON segments", retryable=True) from exc
        segments = [s.model_dump() for s in parsed.segments if s.text.strip()]
        duration = max((s["end"] for s in segments), default=0.0)
        return TranscriptionResponse(
            segments=segments,
            language=parsed.language or language,
            duration_seconds=duration,
            input_tokens=text.input_tokens,
            output_tokens=text.output_tokens,
        )

    def speak(self, model: str, text: str, *, voice: str | None, language: str) -> SpeechResponse:
        raise CallFailure("speech synthesis is served by the openai provider; gemini is not used for it", retryable=False)

    @staticmethod
    def _text_response(response, model: str) -> TextResponse:
        text = response.text
        if text is None:
            reason = None
            if response.candidates:
                reason = response.candidates[0].finish_reason
            raise CallFailure(f"gemini/{model} returned no text (finish reason: {reason})", retryable=False)
        usage = response.usage_metadata
        output = (getattr(usage, "candidates_token_count", 0) or 0) + (getattr(usage, "thoughts_token_count", 0) or 0)
        return TextResponse(
            text=text, input_tokens=int(getattr(usage, "prompt_token_count", 0) or 0), output_tokens=int(output),
            # prompt_token_count includes the cached part, as OpenAI's prompt_tokens does
            cached_input_tokens=int(getattr(usage, "cached_content_token_count", 0) or 0),
        )

    def _http_options(self) -> types.HttpOptions:
        """This request's timeout: the configured one, cut to what is left of the call's deadline."""
        return types.HttpOptions(timeout=max(1, int(request_timeout(self.timeout) * 1000)), retry_options=None)

    @staticmethod
    def _call(fn):
        try:
            return fn()
        except genai_errors.APIError as exc:
            status = int(exc.code or 0)
            headers = getattr(getattr(exc, "response", None), "headers", None) or {}
            retry_after = parse_retry_after(headers.get("retry-after") if hasattr(headers, "get") else None)
            raise CallFailure(
                f"gemini answered HTTP {status}: {_short(exc.message or exc.status or '')}",
                retryable=status in (408, 429) or status >= 500,
                status=status,
                retry_after=retry_after,
            ) from exc
        except _TIMEOUTS as exc:
            raise CallFailure("gemini timed out", retryable=True) from exc
        except _TRANSPORT_ERRORS as exc:
            raise CallFailure(f"gemini connection failed: {exc.__class__.__name__}", retryable=True) from exc
        except ValueError as exc:  # body that is not JSON
            raise CallFailure(f"gemini sent a response that could not be read: {_short(str(exc), 120)}", retryable=True) from exc
