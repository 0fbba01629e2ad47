"""The vocabulary stock as an Anki deck, with the example line's audio when we have the media."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..ai.errors import AIError
from ..channels.destinations import Destination
from .anki_deck import (
    DEFAULT_DECK_NAME,
    DeckManifest,
    DeckReport,
    build_deck,
    cut_example_audio,
    parse_occurrences,
)

TTS_REQUEST_TYPE = "anki.tts"
MAX_CONSECUTIVE_TTS_FAILURES = 5  # then the provider is down for this deck: stop asking for every card

log = logging.getLogger("aivlingual.publishing")


def tts_available(core: Any, request_type: str = TTS_REQUEST_TYPE) -> bool:
    """True when the AI core would route speech to a real model (not every provider has one, e.g. Gemini)."""
    try:
        chosen = core.candidates(kind="audio", request_type=request_type, tier="cheap", provider=None, model=None,
                                 selection_mode="auto")
    except AIError:
        return False
    return any(candidate.provider != "offline" for candidate in chosen)


class ExampleSpeaker:
    """TTS for examples without local media; a failed line costs that card its audio, never the deck."""

    def __init__(self, speak: Callable[[str], Path], *, logger: Any = None,
                 redact: Callable[[str], str] = lambda text: text,
                 max_consecutive_failures: int = MAX_CONSECUTIVE_TTS_FAILURES):
        self._speak = speak
        self._log = logger or log
        self._redact = redact
        self._max_consecutive = max_consecutive_failures
        self._consecutive = 0
        self.spoken = 0
        self.failed = 0
        self.given_up = False

    def __call__(self, text: str) -> Path | None:
        if self.given_up:
            return None
        try:
            path = self._speak(text)
        except Exception as exc:  # provider down, budget reached, bad answer: this card goes without audio
            self.failed += 1
            self._consecutive += 1
            message = self._redact(f"{type(exc).__name__}: {exc}")
            self._log.warning(f"TTS failed for an example, its card has no audio: {message[:300]}")
            if self._consecutive >= self._max_consecutive:
                self.given_up = True
                self._log.warning(f"TTS failed {self._consecutive} times in a row; the rest of the deck is "
                                  "built without TTS audio")
            return None
        self._consecutive = 0
        self.spoken += 1
        return path

    def metadata(self) -> dict[str, Any]:
        return {"tts_audio": self.spoken, "tts_failed": self.failed, "tts_gave_up": self.given_up}


def example_audio_finder(media_for: Callable[[str], str | None], audio_dir: Path,
                         speak: Callable[[str], Path | None] | None = None) -> Callable[[dict[str, Any]], Path | None]:
    """``audio_for`` for build_deck: cut from local media (cached by span), else TTS if available."""

    def audio_for(row: dict[str, Any]) -> Path | None:
        for occ in parse_occurrences(row.get("occurrences")):
            media = media_for(str(occ.get("recording") or ""))
            if not media or occ.get("start") is None:
                continue
            start = float(occ["start"])
            end = float(occ.get("end") or start + 6.0)
            name = hashlib.sha256(f"{media}|{start:.3f}|{end:.3f}".encode()).hexdigest()[:16] + ".mp3"
            target = audio_dir / name
            if not target.exists():
                audio_dir.mkdir(parents=True, exist_ok=True)
                try:
                    cut_example_audio(media, start, min(end, start + 12.0), target)
                except Exception:  # a recording without audio: try the next occurrence / TTS
                    continue
            return target
        example = row.get("example")
        if speak is not None and isinstance(example, str) and example.strip():
            return speak(example)
        return None

    return audio_for


def export_deck(stock: pd.DataFrame, out_path: Path, audio_for, *, deck_name: str = DEFAULT_DECK_NAME) -> DeckReport:
    """The deck at ``out_path``; keys exported before and gone from the stock now ship as retired notes."""
    manifest = DeckManifest.load(out_path)
    current: dict[str, str] = {}
    if {"key", "expression"} <= set(stock.columns):  # else build_deck says what is missing
        current = {str(k): str(e) for k, e in zip(stock["key"], stock["expression"])}
    retired = manifest.retired_after(current)
    report = build_deck(stock, out_path=out_path, deck_name=deck_name, audio_for=audio_for, retired=retired)
    DeckManifest(exported=current, retired=retired).save(out_path)  # only once the deck is written
    return report


SERVICE_DECK_FILE = "aivlingual.apkg"


@dataclass
class DeckPlan:
    """One package to write: the deck's name, its file, its rows and the channel whose AI speaks its audio."""

    name: str
    file_name: str
    stock: pd.DataFrame
    owner: str | None  # a channel that named this deck itself (its TTS key, voice, budget); None: the service
    label: str


def deck_file_name(name: str, service_name: str) -> str:
    """``aivlingual.apkg`` for the service's deck (as always), ``aivlingual-<name>-<hash>.apkg`` for the others."""
    if name == service_name:
        return SERVICE_DECK_FILE
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:40] or "deck"
    return f"aivlingual-{slug}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}.apkg"


def deck_plans(stock: pd.DataFrame, destinations: Mapping[str | None, Destination], service_name: str) -> list[DeckPlan]:
    """A package per deck name: each channel's own deck (``anki_deck_name``), the rest in the service's deck; a
    channel that names the service's deck shares it. An empty stock still writes the service's deck."""
    by_name: dict[str, tuple[list[int], Destination]] = {}
    for value, destination in (destinations or {None: Destination(None)}).items():
        name = value if value is not None else service_name
        rows, _ = by_name.setdefault(name, ([], destination))
        rows.extend(destination.rows)
    plans = []
    for name, (rows, destination) in by_name.items():
        owner = destination.owner if name != service_name else None
        plans.append(DeckPlan(name, deck_file_name(name, service_name), stock.iloc[sorted(set(rows))], owner,
                              destination.label() if owner else "service default"))
    return sorted(plans, key=lambda plan: (plan.owner is not None, plan.name))
