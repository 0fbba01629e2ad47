"""Picks the best transcript source for a recording: subtitles, YouTube captions, or speech-to-text."""

from __future__ import annotations

import re
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
# voice samples sent as known speakers: what OpenAI's diarising model takes (2-10 s each, at most 4)
SAMPLE_MIN_SECONDS, SAMPLE_MAX_SECONDS = 2.0, 10.0
MAX_KNOWN_SPEAKERS = 4


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
    which fills the transcript's ``speaker`` column. A model labels voices per request, so the same
    letter in two chunks need not be the same person: anonymous labels (``A``, ``B``) become
    ``Speaker 1``, ``Speaker 2``... for the whole recording, and a 2-10 s sample of each voice heard
    is sent with the following chunks as a known speaker, so the model keeps naming that voice the
    same way (OpenAI takes 4 known speakers). Names a model heard (``Pekora``) are kept. A model that
    does not diarise leaves the column empty.
    """
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        audio = extract_audio(media, Path(tmp) / "audio.mp3")
        chunks = split_audio(audio, Path(tmp) / "chunks", max_seconds=CHUNK_SECONDS)
        voices = Voices(Path(tmp) / "voices")
        segments: list[Segment] = []
        models = set()
        for chunk in chunks:
            path, offset, length = chunk.path, chunk.offset_seconds, chunk.duration_seconds
            result = transcriber.transcribe(path, language=language, duration_seconds=length, speakers=True,
                                            known_speakers=voices.samples() or None)
            models.add(f"{result.provider}/{result.model}")
            names = voices.learn(result.segments, path)
            for seg in result.segments:
                text = str(seg.get("text", "")).strip()
                if not text:
                    continue
                start = offset + float(seg["start"])
                end = max(start, offset + float(seg["end"]))
                speaker = names.get(str(seg.get("speaker") or "").strip())
                segments.append(Segment(start=start, end=end, text=text, speaker=speaker))
    return segments, {"source": "speech-to-text", "language": language, "models": ", ".join(sorted(models))}


_ANONYMOUS = re.compile(r"[A-Z]|(?:speaker|spk)[ _-]?\d+", re.IGNORECASE)


class Voices:
    """The voices heard so far in one recording: a stable name for each and a short sample of it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._samples: dict[str, Path] = {}
        self._anonymous = 0

    def samples(self) -> dict[str, Path]:
        """Name -> sample of the voice, for the next chunk's ``known_speakers`` (the first ones heard)."""
        return dict(list(self._samples.items())[:MAX_KNOWN_SPEAKERS])

    def learn(self, segments: list[dict[str, Any]], audio: Path) -> dict[str, str]:
        """Label -> name for this chunk's segments; keeps a sample of each voice not sampled yet."""
        names: dict[str, str] = {}
        for seg in segments:
            label = str(seg.get("speaker") or "").strip()
            if not label or label in names:
                continue
            if label in self._samples or not _ANONYMOUS.fullmatch(label):
                names[label] = label  # a known speaker given back by name, or a name the model heard
            else:
                self._anonymous += 1
                while f"Speaker {self._anonymous}" in self._samples:
                    self._anonymous += 1
                names[label] = f"Speaker {self._anonymous}"
        for label, name in names.items():
            if name not in self._samples and len(self._samples) < MAX_KNOWN_SPEAKERS:
                self._sample(name, [s for s in segments if str(s.get("speaker") or "").strip() == label], audio)
        return names

    def _sample(self, name: str, said: list[dict[str, Any]], audio: Path) -> None:
        longest = max(said, key=lambda s: float(s["end"]) - float(s["start"]), default=None)
        if longest is None or float(longest["end"]) - float(longest["start"]) < SAMPLE_MIN_SECONDS:
            return  # too short to tell a voice by
        seconds = min(SAMPLE_MAX_SECONDS, float(longest["end"]) - float(longest["start"]))
        target = self.folder / f"voice-{len(self._samples) + 1}.wav"
        self._samples[name] = extract_audio(audio, target, start=float(longest["start"]), seconds=seconds)
