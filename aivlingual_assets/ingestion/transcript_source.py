"""Picks the best transcript source for a recording: subtitles, YouTube captions, or speech-to-text."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import requests

from .media import extract_audio, split_audio
from .recording import Recording
from .segments import Segment
from .subtitles import read_subtitle_file
from .youtube import fetch_youtube_transcript

# transcription APIs take up to 25 MB per request; 10-minute 16 kHz mono chunks stay far below
CHUNK_SECONDS = 600.0


def load_transcript(
    recording: Recording,
    *,
    transcriber: Any | None = None,
    http_client: requests.Session | None = None,
    work_dir: Path | None = None,
) -> tuple[list[Segment], dict[str, Any]]:
    """Segments plus metadata naming where they came from.

    Order of preference: a subtitle file next to the media (exact, free), YouTube's
    captions, then the AI core's ``transcribe`` on audio extracted with ffmpeg
    (cached by the audio's content hash, so a rerun never pays again).
    """
    if recording.subtitle_path:
        segments, encoding = read_subtitle_file(recording.subtitle_path)
        return segments, {"source": "subtitle-file", "language": recording.language,
                          "subtitle_path": recording.subtitle_path, "encoding": encoding}
    if recording.source == "youtube":
        return fetch_youtube_transcript(recording.video_id or recording.url or "", languages=(recording.language,),
                                        http_client=http_client)
    if recording.path and transcriber is not None:
        return transcribe_media(Path(recording.path), transcriber=transcriber, language=recording.language,
                                work_dir=work_dir)
    raise ValueError(
        f"Recording {recording.partition_key} has no subtitle file, is not a YouTube video, and no transcriber "
        "was given: add a .srt/.vtt next to the media, or configure a transcription provider (OPENAI_API_KEY or "
        "GEMINI_API_KEY)."
    )


def transcribe_media(media: Path, *, transcriber: Any, language: str, work_dir: Path | None = None
                     ) -> tuple[list[Segment], dict[str, Any]]:
    """Extracts audio, splits long recordings, transcribes each chunk and re-times it.

    Speakers are asked for (collab streams): a diarising model of the catalogue labels each segment,
    which fills the transcript's ``speaker`` column. Labels are per chunk (``A``/``B`` or names the model
    heard); a model that does not diarise leaves the column empty.
    """
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        audio = extract_audio(media, Path(tmp) / "audio.mp3")
        chunks = split_audio(audio, Path(tmp) / "chunks", max_seconds=CHUNK_SECONDS)
        segments: list[Segment] = []
        models = set()
        for chunk in chunks:
            path, offset, length = chunk.path, chunk.offset_seconds, chunk.duration_seconds
            result = transcriber.transcribe(path, language=language, duration_seconds=length, speakers=True)
            models.add(f"{result.provider}/{result.model}")
            for seg in result.segments:
                text = str(seg.get("text", "")).strip()
                if not text:
                    continue
                start = offset + float(seg["start"])
                end = max(start, offset + float(seg["end"]))
                speaker = str(seg.get("speaker") or "").strip() or None
                segments.append(Segment(start=start, end=end, text=text, speaker=speaker))
    speakers = sorted({s.speaker for s in segments if s.speaker})
    return segments, {"source": "speech-to-text", "language": language, "models": ", ".join(sorted(models)),
                      "speakers": ", ".join(speakers) or "none"}
