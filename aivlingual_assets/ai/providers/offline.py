"""The built-in offline engine: no network, $0.

It has no general language model. Text requests are served only when the caller
hands over the task's own offline implementation (``offline=``); embeddings use
character n-gram vectors. Anything else fails with a message naming the key to set.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..errors import OfflineUnsupportedError
from .base import EmbeddingResponse, SpeechResponse, TextResponse, TranscriptionResponse

OfflineHandler = Callable[[], "BaseModel | str | dict[str, Any] | list[Any]"]


class OfflineProvider:
    name = "offline"

    def generate_with(self, request_type: str, handler: OfflineHandler | None) -> TextResponse:
        if handler is None:
            raise OfflineUnsupportedError(request_type)
        output = handler()
        if isinstance(output, BaseModel):
            text = output.model_dump_json()
        elif isinstance(output, str):
            text = output
        else:
            text = json.dumps(output, ensure_ascii=False)
        return TextResponse(text=text, input_tokens=0, output_tokens=0)

    def embed(self, model: str, texts: list[str]) -> EmbeddingResponse:
        from ...analysis.ngram_embedding import ngram_vectors

        dim = int(model.rsplit("-", 1)[-1]) if model.rsplit("-", 1)[-1].isdigit() else 256
        return EmbeddingResponse(vectors=ngram_vectors(texts, dim=dim).tolist(), input_tokens=0)

    def transcribe(self, model: str, audio: Path, *, language: str | None, speakers: bool = False,
                   known_speakers=None) -> TranscriptionResponse:
        raise OfflineUnsupportedError("transcribe", kind="transcription")

    def speak(self, model: str, text: str, *, voice: str | None, language: str) -> SpeechResponse:
        raise OfflineUnsupportedError("generate_audio", kind="speech")
