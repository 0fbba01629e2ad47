"""Speech and transcription calls of the AI core, cached by content hash like every other call."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import cache_key as ck
from . import deadline
from .budgets import transcription_cost
from .errors import AIError
from .ledger import MemoryRow
from .providers.base import CallFailure
from .results import AudioResult, TranscriptionResult
from .catalogue import SPEAKERS
from .routing import OFFLINE, Candidate


class AudioCalls:
    """Mixed into ``AICore``: uses its ledger, routing, claims, budgets, retries and meters."""

    @deadline.bounded
    def transcribe(self, audio: str | Path, *, language: str | None = None, provider: str | None = None,
                   model: str | None = None, request_type: str = "transcribe", endpoint: str | None = None,
                   channel: str | None = None, duration_seconds: float | None = None,
                   force_refresh: bool = False, speakers: bool = False,
                   known_speakers: Mapping[str, str | Path] | None = None) -> TranscriptionResult:
        """Timed segments for an audio file, cached by the audio's content hash.

        ``speakers`` asks for who said each segment (``speaker`` in each segment): the models of the
        catalogue that diarise (capability ``speakers``) go first, the others follow as fallbacks whose
        segments have no speaker. A diarised transcript is cached under its own key. ``known_speakers``
        (name -> a 2-10 s sample of that voice; OpenAI takes 4) asks a diarising model to label those
        voices with those names; the samples' content enters the key.
        """
        from ..ingestion.media import file_sha256

        audio = Path(audio)
        if not audio.is_file():
            raise AIError(f"Audio file not found: {audio}")
        if not self.configured_providers() and provider in (None, OFFLINE):
            from .errors import OfflineUnsupportedError

            raise OfflineUnsupportedError(request_type, kind="transcription")
        audio_hash = file_sha256(audio)
        known = {str(name): Path(sample) for name, sample in (known_speakers or {}).items()} if speakers else {}
        voices = tuple(f"{name}={file_sha256(sample)}" for name, sample in known.items())
        candidates = self._transcription_candidates(request_type, provider, model, speakers)
        keys = [ck.parts_key("transcribe", c.provider, c.model, language or "", audio_hash,
                             *((SPEAKERS, *voices) if _diarises(c, speakers) else ())) for c in candidates]
        base_log = {"request_type": request_type, "kind": "transcription", "endpoint": endpoint, "channel": channel,
                    "selection_mode": "auto"}
        # asked for speakers, a cached transcript without them answers only once every diarising model failed
        wanted = [k for c, k in zip(candidates, keys) if _diarises(c, speakers)] or keys
        started = time.perf_counter()
        if not force_refresh:
            hit = self.ledger.find_memory(wanted)
            if hit is not None:
                return self._transcript_hit(hit, base_log, started)
        failures = []
        for candidate, key in zip(candidates, keys):
            hit = self._claim_or_wait(wanted if key in wanted and not force_refresh else [key], key)
            if hit is not None and not force_refresh:
                return self._transcript_hit(hit, base_log, started)
            call_log = {**base_log, "provider": candidate.provider, "model": candidate.model}
            cfg = candidate.config
            try:
                minutes = (duration_seconds or _audio_minutes_upper_bound(audio) * 60) / 60
                try:
                    response, reservation = self._reserved_call(
                        candidate, call_log, minutes * cfg["per_minute"] + cfg["per_request"], channel,
                        lambda impl, c=candidate: impl.transcribe(
                            c.model, audio, language=language,
                            **({"speakers": True, "known_speakers": known} if _diarises(c, speakers) else {})))
                except CallFailure as exc:
                    failures.append(self._redact(f"{candidate.provider}/{candidate.model}: {exc}"))
                    if deadline.expired():
                        break
                    continue
                cost = transcription_cost(cfg, response)
                latency = (time.perf_counter() - started) * 1000
                output = json.dumps({"language": response.language, "duration": response.duration_seconds,
                                     "segments": response.segments}, ensure_ascii=False)
                self._store_paid(
                    candidate, call_log,
                    {"cache_key": key, "request_type": request_type, "kind": "transcription",
                     "prompt_hash": audio_hash, "prompt": f"audio sha256:{audio_hash}", "system": None,
                     "options": json.dumps({"language": language, "speakers": _diarises(candidate, speakers),
                                            "known_speakers": list(known) if _diarises(candidate, speakers) else []},
                                           ensure_ascii=False),
                     "output_text": output, "audio_path": None,
                     "provider": candidate.provider, "model": candidate.model,
                     "input_tokens": response.input_tokens, "output_tokens": response.output_tokens,
                     "cost_usd": cost, "latency_ms": latency},
                    reservation, cost=cost, latency=latency, input_tokens=response.input_tokens,
                    output_tokens=response.output_tokens)
                return TranscriptionResult(segments=response.segments, language=response.language,
                                           duration_seconds=response.duration_seconds, provider=candidate.provider,
                                           model=candidate.model, cost_usd=cost, latency_ms=latency, cache_hit=False)
            finally:
                self.ledger.release_claim(key, self.owner)
        raise self._all_failed(request_type, failures)

    def _transcription_candidates(self, request_type: str, provider: str | None, model: str | None,
                                  speakers: bool) -> list[Candidate]:
        """Models that give timed segments, best first; asked for speakers, the diarising ones before the rest."""
        def pick(require: str) -> list[Candidate]:
            return self.candidates(kind="transcription", request_type=request_type, tier="cheap", provider=provider,
                                   model=model, selection_mode="manual" if provider and model else "auto",
                                   require=require)

        if not speakers or (provider and model):
            return pick("segments")
        try:
            diarising = pick(SPEAKERS)
        except AIError:  # no diarising model among the configured providers
            diarising = []
        chosen = {(c.provider, c.model) for c in diarising}
        return diarising + [c for c in pick("segments") if (c.provider, c.model) not in chosen]

    def _transcript_hit(self, hit: MemoryRow, base_log: dict[str, Any], started: float) -> TranscriptionResult:
        data = json.loads(hit.output_text or "{}")
        latency = (time.perf_counter() - started) * 1000
        self.ledger.record_hit(hit, log={**base_log, "provider": hit.provider, "model": hit.model, "cost_usd": 0.0,
                                         "saved_usd": hit.cost_usd, "latency_ms": latency, "cache_hit": True,
                                         "success": True})
        self._meter(provider=hit.provider, model=hit.model, cache_hit=True, saved_usd=hit.cost_usd, latency_ms=latency)
        return TranscriptionResult(segments=data.get("segments", []), language=data.get("language"),
                                   duration_seconds=float(data.get("duration") or 0.0), provider=hit.provider,
                                   model=hit.model, cost_usd=0.0, latency_ms=latency, cache_hit=True)

    @deadline.bounded
    def generate_audio(self, text: str, *, language: str, voice: str | None = None, provider: str | None = None,
                       model: str | None = None, request_type: str = "tts", endpoint: str | None = None,
                       channel: str | None = None, force_refresh: bool = False) -> AudioResult:
        """Speech for ``text``, stored as a file named by the content hash of the request."""
        if not self.configured_providers() and provider in (None, OFFLINE):
            from .errors import OfflineUnsupportedError

            raise OfflineUnsupportedError(request_type, kind="speech")
        candidates = self.candidates(kind="audio", request_type=request_type, tier="cheap", provider=provider,
                                     model=model, selection_mode="manual" if provider and model else "auto")
        keys = [ck.parts_key("tts", c.provider, c.model, voice or "", language, ck.normalise_prompt(text))
                for c in candidates]
        base_log = {"request_type": request_type, "kind": "audio", "endpoint": endpoint, "channel": channel,
                    "selection_mode": "auto"}
        started = time.perf_counter()
        if not force_refresh:
            hit = self.ledger.find_memory(keys)
            if hit is not None and hit.audio_path and Path(hit.audio_path).is_file():
                return self._audio_hit(hit, base_log, started)
        failures = []
        folder = self.settings.home / "audio"
        folder.mkdir(parents=True, exist_ok=True)
        for candidate, key in zip(candidates, keys):
            hit = self._claim_or_wait(keys if not force_refresh else [key], key)
            if hit is not None and not force_refresh and hit.audio_path and Path(hit.audio_path).is_file():
                return self._audio_hit(hit, base_log, started)
            call_log = {**base_log, "provider": candidate.provider, "model": candidate.model}
            cfg = candidate.config
            try:
                try:
                    response, reservation = self._reserved_call(
                        candidate, call_log, len(text) * cfg["per_1m_chars"] / 1e6 + cfg["per_request"], channel,
                        lambda impl, c=candidate: impl.speak(c.model, text, voice=voice, language=language))
                except CallFailure as exc:
                    failures.append(self._redact(f"{candidate.provider}/{candidate.model}: {exc}"))
                    if deadline.expired():
                        break
                    continue
                path = folder / f"{key}.{response.format}"
                tmp = path.with_suffix(path.suffix + ".part")
                tmp.write_bytes(response.audio)
                tmp.replace(path)  # a crash never leaves a half-written audio file under the final name
                cost = response.characters * cfg["per_1m_chars"] / 1e6 + cfg["per_request"]
                latency = (time.perf_counter() - started) * 1000
                self._store_paid(
                    candidate, call_log,
                    {"cache_key": key, "request_type": request_type, "kind": "audio",
                     "prompt_hash": ck.sha256_text(ck.normalise_prompt(text)), "prompt": text, "system": None,
                     "options": json.dumps({"voice": voice, "language": language}), "output_text": None,
                     "audio_path": str(path), "provider": candidate.provider, "model": candidate.model,
                     "input_tokens": 0, "output_tokens": 0, "cost_usd": cost, "latency_ms": latency},
                    reservation, cost=cost, latency=latency)
                return AudioResult(path=path, format=response.format, provider=candidate.provider,
                                   model=candidate.model, cost_usd=cost, latency_ms=latency, cache_hit=False)
            finally:
                self.ledger.release_claim(key, self.owner)
        raise self._all_failed(request_type, failures)

    def _audio_hit(self, hit: MemoryRow, base_log: dict[str, Any], started: float) -> AudioResult:
        latency = (time.perf_counter() - started) * 1000
        self.ledger.record_hit(hit, log={**base_log, "provider": hit.provider, "model": hit.model, "cost_usd": 0.0,
                                         "saved_usd": hit.cost_usd, "latency_ms": latency, "cache_hit": True,
                                         "success": True})
        self._meter(provider=hit.provider, model=hit.model, cache_hit=True, saved_usd=hit.cost_usd, latency_ms=latency)
        path = Path(hit.audio_path or "")
        return AudioResult(path=path, format=path.suffix.lstrip("."), provider=hit.provider, model=hit.model,
                           cost_usd=0.0, latency_ms=latency, cache_hit=True)



def _diarises(candidate: Candidate, speakers: bool) -> bool:
    """Whether this candidate is asked for speaker labels (asked for them, and a model that gives them)."""
    return speakers and SPEAKERS in (candidate.config.get("capabilities") or ())


def _audio_minutes_upper_bound(audio: Path) -> float:
    """Audio length in minutes for the budget check, from ffmpeg's probe."""
    try:
        from ..ingestion.media import probe_duration

        return probe_duration(audio) / 60
    except Exception:  # an unreadable file fails later with the provider's own message
        return 0.0
