"""Diarised transcription in the fake provider server (mixed into :class:`ProviderServer`).

OpenAI: ``POST /v1/audio/transcriptions`` with ``response_format=diarized_json`` answers as the
diarising model does (``openai.types.audio.TranscriptionDiarized``): ``task``, ``duration``,
``text``, ``segments`` of ``{"type": "transcript.text.segment", "id", "start", "end", "text",
"speaker"}`` and token ``usage``. Like the real API it refuses (HTTP 400) ``diarized_json`` from
a model that does not diarise (its name lacks ``diarize``), a diarising model asked for another
format than ``json``/``text``/``diarized_json``, ``timestamp_granularities`` or ``prompt`` with a
diarising model, and audio over 30 seconds without ``chunking_strategy``.

Gemini: a ``generateContent`` request with inline audio and a JSON response schema whose
``segments`` items have ``start``/``end``/``text`` (a transcript asked for by prompt) gets timed
segments over the audio's duration, each with a ``speaker`` when the schema has one, instead of
the schema's minimal example.

Known speakers (OpenAI ``known_speaker_names[]`` with ``known_speaker_references[]``, up to 4,
each reference a ``data:`` URL of 2-10 s of audio) are checked like the real API does and become
the default labels. Default speakers otherwise alternate ``A``/``B`` segment by segment (the labels
the OpenAI model uses when no known speakers are given). A responder (``openai.transcriptions`` or
``gemini.generate``) may return segments with their own ``speaker``.
"""

from __future__ import annotations

import math
from typing import Any

DEFAULT_SPEAKERS = ("A", "B")
_DIARISED_FORMATS = ("json", "text", "diarized_json")
MAX_KNOWN_SPEAKERS = 4


def speaker_for(index: int, labels: tuple[str, ...] | list[str] = DEFAULT_SPEAKERS) -> str:
    return labels[index % len(labels)]


def _form_list(req: Any, name: str) -> list[str]:
    value = req.form.get(f"{name}[]", req.form.get(name))
    return [] if value is None else [value] if isinstance(value, str) else [str(v) for v in value]


class DiarisationMixin:
    """OpenAI's diarized_json and Gemini's speaker-labelled transcripts; ``ProviderServer`` inherits them."""

    def _check_diarisation_request(self, req: Any, fmt: str, duration: float) -> None:
        """Raises the fake's client error (HTTP 400) where the real API refuses a diarisation request."""
        from .provider_server import _ClientError

        diarises = "diarize" in str(req.form.get("model") or "")
        if fmt == "diarized_json" and not diarises:
            raise _ClientError(400, f"response_format 'diarized_json' is not compatible with model "
                                    f"'{req.form.get('model')}'.", param="response_format")
        if not diarises:
            return
        if fmt not in _DIARISED_FORMATS:
            raise _ClientError(400, f"response_format '{fmt}' is not compatible with model '{req.form['model']}'; "
                                    "use json, text or diarized_json.", param="response_format")
        for name in ("timestamp_granularities[]", "prompt"):
            if name in req.form:
                raise _ClientError(400, f"'{name.rstrip('[]')}' is not supported with model '{req.form['model']}'.",
                                   param=name.rstrip("[]"))
        names, references = _form_list(req, "known_speaker_names"), _form_list(req, "known_speaker_references")
        if len(names) != len(references):
            raise _ClientError(400, "known_speaker_names and known_speaker_references must have the same length.",
                               param="known_speaker_names")
        if len(names) > MAX_KNOWN_SPEAKERS:
            raise _ClientError(400, f"At most {MAX_KNOWN_SPEAKERS} known speakers are supported.",
                               param="known_speaker_names")
        for reference in references:
            if not (reference.startswith("data:") and ";base64," in reference):
                raise _ClientError(400, "known_speaker_references must be data URLs (data:audio/...;base64,...).",
                                   param="known_speaker_references")
        chunking = any(k == "chunking_strategy" or k.startswith("chunking_strategy[") for k in req.form)
        if duration > 30.0 and not chunking:
            raise _ClientError(400, "chunking_strategy is required for diarization models when the input audio is "
                                    "longer than 30 seconds.", param="chunking_strategy")

    @staticmethod
    def _openai_diarised_payload(req: Any, duration: float, text: str, segments: list[dict]) -> dict[str, Any]:
        labels = _form_list(req, "known_speaker_names") or DEFAULT_SPEAKERS
        out = [{"type": "transcript.text.segment", "id": f"seg_{i:03d}", "start": float(s["start"]),
                "end": float(s["end"]), "text": str(s["text"]),
                "speaker": str(s.get("speaker") or speaker_for(i, labels))}
               for i, s in enumerate(segments)]
        audio_tokens = int(math.ceil(duration * 10))
        output_tokens = max(1, len(text.encode("utf-8")) // 3)
        return {"task": "transcribe", "duration": round(duration, 3), "text": text, "segments": out,
                "usage": {"type": "tokens", "input_tokens": audio_tokens, "output_tokens": output_tokens,
                          "total_tokens": audio_tokens + output_tokens,
                          "input_token_details": {"audio_tokens": audio_tokens, "text_tokens": 0}}}

    @staticmethod
    def _gemini_transcript_text(req: Any) -> str | None:
        """Default content for a transcript asked of Gemini by prompt and schema; None for any other request."""
        import json

        from .provider_server import _audio_duration, _transcript

        audio = [p for p in req.inline_data if p.mime_type.startswith("audio/")]
        item = _segment_item_schema(req.schema)
        if not audio or item is None:
            return None
        _, duration, _, segments, _ = _transcript(None, "ja", _audio_duration(audio[0].data))
        with_speaker = "speaker" in (item.get("properties") or {})
        out = [{"start": s["start"], "end": s["end"], "text": s["text"],
                **({"speaker": speaker_for(i)} if with_speaker else {})} for i, s in enumerate(segments)]
        return json.dumps({"language": "ja", "segments": out}, ensure_ascii=False)


def _segment_item_schema(schema: Any) -> dict | None:
    """The schema of ``segments`` items when ``schema`` describes timed transcript segments."""
    if not isinstance(schema, dict):
        return None
    defs = schema.get("$defs") or schema.get("definitions") or {}

    def resolve(node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = defs.get(str(node["$ref"]).rsplit("/", 1)[-1], {})
        return node

    properties = {k.lower(): v for k, v in (resolve(schema).get("properties") or {}).items()}
    segments = resolve(properties.get("segments"))
    item = resolve(segments.get("items")) if isinstance(segments, dict) else None
    if not isinstance(item, dict):
        return None
    names = set(item.get("properties") or {})
    return item if {"start", "end", "text"} <= names else None
