"""The vocabulary stock as an Anki deck, with the example line's audio when we have the media."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .anki_deck import DeckReport, build_deck, cut_example_audio


def example_audio_finder(media_for: Callable[[str], str | None], audio_dir: Path,
                         speak: Callable[[str], Path | None] | None = None) -> Callable[[dict[str, Any]], Path | None]:
    """``audio_for`` for build_deck: cut from local media (cached by span), else TTS if available."""

    def audio_for(row: dict[str, Any]) -> Path | None:
        occurrences = json.loads(row.get("occurrences") or "[]")
        for occ in occurrences:
            media = media_for(occ["recording"])
            if not media:
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
        if speak is not None and row.get("example"):
            return speak(str(row["example"]))
        return None

    return audio_for


def export_deck(stock: pd.DataFrame, out_path: Path, audio_for) -> DeckReport:
    return build_deck(stock, out_path=out_path, audio_for=audio_for)
