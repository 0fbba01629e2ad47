"""What every provider returns, and how its failures are classified for retry and fallback."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel


@dataclass
class TextResponse:
    text: str
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0  # of input_tokens, those the provider read from its prompt cache (billed lower)


@dataclass
class EmbeddingResponse:
    vectors: list[list[float]]
    input_tokens: int


@dataclass
class TranscriptionResponse:
    segments: list[dict[str, Any]]  # {"start": float, "end": float, "text": str, "speaker": str (diarised only)}
    language: str | None
    duration_seconds: float
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class SpeechResponse:
    audio: bytes
    format: str  # file extension: "mp3", "wav"
    characters: int


@dataclass
class CallFailure(Exception):
    """A provider call that failed; ``retryable`` drives retry, ``retry_after`` the wait."""

    message: str
    retryable: bool
    status: int | None = None
    retry_after: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class Provider(Protocol):
    name: str

    def generate(
        self,
        model: str,
        prompt: str,
        *,
        system: str | None,
        schema: "type[BaseModel] | dict[str, Any] | None",
        options: dict[str, Any],
    ) -> TextResponse: ...

    def embed(self, model: str, texts: list[str]) -> EmbeddingResponse: ...

    def transcribe(self, model: str, audio: Path, *, language: str | None, speakers: bool = False,
                   known_speakers: "Mapping[str, Path] | None" = None) -> TranscriptionResponse: ...

    def speak(self, model: str, text: str, *, voice: str | None, language: str) -> SpeechResponse: ...


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime
    import time

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
