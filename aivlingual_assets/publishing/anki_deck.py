"""Export the vocabulary stock as an Anki deck (.apkg) that updates in place.

Re-importing a newer deck must update the learner's existing cards (and keep
their review history) instead of adding duplicates.  Anki matches notes by
GUID and note types / decks by id, so all three are derived from stable
names rather than random numbers:

* note GUID  = ``genanki.guid_for(stock key)``
* model id   = :func:`stable_anki_id` of :data:`MODEL_NAME` -- bump the ``v1``
  in the name only when the fields change (Anki then sees a new note type);
* deck id    = :func:`stable_anki_id` of ``"deck:" + deck name``.

Example audio, when given, is cut from the recording by
:func:`cut_example_audio` and shipped as media (``[sound:...]``).

Rows that leave the stock (a recording analysed again replaced them) cannot be deleted from
a learner's collection by an import: Anki only adds and updates.  So the deck keeps each
such note as a *retired* note under the same GUID: its card suspended, its meaning saying it
was removed, tagged ``aivlingual::removed`` (browse that tag and delete).  A learner who had
the card sees it stop; a new learner gets it suspended.  Which keys were exported is
remembered in a manifest beside the package (:class:`DeckManifest`); a retired key that
comes back to the stock is an ordinary note again.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import genanki
import pandas as pd
from pydantic import BaseModel

from aivlingual_assets.analysis.stock_columns import nested
from aivlingual_assets.publishing.clip_cutter import ClipError, atomic_output, run_ffmpeg
from aivlingual_assets.publishing.media_check import MediaProbeError, probe_video

DEFAULT_DECK_NAME = "AIVlingual — Japanese from streams"
MODEL_NAME = "AIVlingual expression v1"
FIELDS = ("Expression", "Reading", "Meaning", "Example", "Explanation", "Level", "Source", "Audio")
REQUIRED_COLUMNS = ("key", "expression")
MAX_SOURCES_SHOWN = 3
AUDIO_PAD_SECONDS = 0.3
_AUDIO_CODECS = {".mp3": ["-c:a", "libmp3lame", "-b:a", "64k"], ".m4a": ["-c:a", "aac", "-b:a", "64k"]}
_LEVEL_ORDER = {"N5": 1.0, "N4": 2.0, "N3": 3.0, "N2": 4.0, "N1": 5.0, "SLANG": 4.5, "BEYOND_JLPT": 6.0}


class DeckError(ValueError):
    """The stock cannot become a deck (missing columns, empty or duplicate keys)."""


def stable_anki_id(name: str) -> int:
    """A fixed id in genanki's recommended range [2**30, 2**31) derived from ``name``."""
    digest = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
    return (1 << 30) + digest % (1 << 30)


MODEL_ID = stable_anki_id(MODEL_NAME)


def deck_id_for(deck_name: str) -> int:
    return stable_anki_id(f"deck:{deck_name}")


DEFAULT_DECK_ID = deck_id_for(DEFAULT_DECK_NAME)

_FRONT = """\
<div class="aiv-card">
  <div class="aiv-level">{{Level}}</div>
  <div class="aiv-expression">{{Expression}}</div>
  {{#Example}}<div class="aiv-example">{{Example}}</div>{{/Example}}
</div>"""

_BACK = """\
{{FrontSide}}
<hr id="answer">
<div class="aiv-card">
  {{#Reading}}<div class="aiv-reading">{{Reading}}</div>{{/Reading}}
  <div class="aiv-meaning">{{Meaning}}</div>
  {{#Explanation}}<div class="aiv-explanation">{{Explanation}}</div>{{/Explanation}}
  {{#Audio}}<div class="aiv-audio">{{Audio}}</div>{{/Audio}}
  {{#Source}}<div class="aiv-source">{{Source}}</div>{{/Source}}
</div>"""

_CSS = """\
.card { font-family: "Hiragino Sans", "Noto Sans JP", "Yu Gothic", "IPAexGothic", sans-serif;
        font-size: 20px; line-height: 1.5; text-align: center; color: #1f2328; background: #fbfbfd; }
.nightMode.card, .night_mode .card { color: #e6e6e6; background: #1e1f24; }
.aiv-card { max-width: 36em; margin: 0 auto; padding: 0 0.5em; }
.aiv-level { display: inline-block; font-size: 0.7em; letter-spacing: 0.05em; padding: 0.1em 0.7em;
             border-radius: 1em; background: #eef1ff; color: #3b4cca; }
.nightMode .aiv-level { background: #2b3160; color: #c7cdff; }
.aiv-expression { font-size: 2.6em; font-weight: 700; margin: 0.3em 0 0.2em; }
.aiv-example { font-size: 1.05em; color: #57606a; }
.aiv-example b { color: #d1242f; font-weight: 700; }
.nightMode .aiv-example { color: #b0b6bd; }
.nightMode .aiv-example b { color: #ff7b72; }
.aiv-reading { font-size: 1.5em; color: #0969da; }
.nightMode .aiv-reading { color: #79c0ff; }
.aiv-meaning { font-size: 1.3em; font-weight: 600; margin: 0.3em 0; }
.aiv-explanation { font-size: 0.95em; text-align: left; margin: 0.8em 0; }
.aiv-audio { margin: 0.6em 0; }
.aiv-source { font-size: 0.75em; color: #6e7781; margin-top: 1em; }
.aiv-source a { color: inherit; }
"""


def expression_model() -> genanki.Model:
    """The AIVlingual note type (fixed id, one recognition card)."""
    return genanki.Model(
        MODEL_ID,
        MODEL_NAME,
        fields=[{"name": name} for name in FIELDS],
        templates=[{"name": "Recognition", "qfmt": _FRONT, "afmt": _BACK}],
        css=_CSS,
        sort_field_index=0,
    )


class DeckReport(BaseModel):
    """What :func:`build_deck` wrote, for asset metadata."""

    path: str
    deck_name: str
    deck_id: int
    model_id: int
    notes: int
    media_files: int
    skipped: list[str] = []
    missing_audio: list[str] = []
    retired: int = 0  # notes of keys that left the stock, shipped suspended and tagged RETIRED_TAG


RETIRED_TAG = "aivlingual::removed"
RETIRED_MEANING = (
    "Removed from the AIVlingual stock (its recording was analysed again). "
    "Delete it: browse tag:aivlingual::removed."
)


class DeckManifest(BaseModel):
    """Which keys a deck file held (key -> expression), and which were retired since (see the module doc)."""

    exported: dict[str, str] = {}
    retired: dict[str, str] = {}

    @staticmethod
    def path_for(deck_path: str | Path) -> Path:
        return Path(deck_path).with_suffix(".keys.json")

    @classmethod
    def load(cls, deck_path: str | Path) -> "DeckManifest":
        """The manifest beside ``deck_path`` (empty when there is none yet, or it is unreadable)."""
        path = cls.path_for(deck_path)
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()

    def retired_after(self, current: Mapping[str, str]) -> dict[str, str]:
        """Keys exported or retired before that are not in ``current`` (the stock now)."""
        before = {**self.retired, **self.exported}
        return {key: expression for key, expression in sorted(before.items()) if key not in current}

    def save(self, deck_path: str | Path) -> None:
        with atomic_output(self.path_for(deck_path)) as partial:
            Path(partial).write_text(self.model_dump_json(indent=1), encoding="utf-8")


# --- field rendering --------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value).strip()


def _html(value: Any) -> str:
    return html.escape(_text(value)).replace("\n", "<br>")


def highlight_example(example: str, expression: str) -> str:
    """HTML-escaped example with the expression in ``<b>``."""
    escaped = html.escape(example)
    needle = html.escape(expression)
    if needle and needle in escaped:
        escaped = escaped.replace(needle, f"<b>{needle}</b>")
    return escaped.replace("\n", "<br>")


def level_label(level: str) -> str:
    upper = level.upper()
    if re.fullmatch(r"N[1-5]", upper):
        return f"JLPT {upper}"
    if upper == "BEYOND_JLPT":
        return "beyond JLPT"
    return level


def parse_occurrences(value: Any) -> list[dict[str, Any]]:
    """The stock's ``occurrences`` (a list, an array as Parquet gives it, or the JSON text of
    a stock stored before; read by :func:`~aivlingual_assets.analysis.stock_columns.nested`);
    malformed data gives []."""
    value = nested(value, [], lenient=True)
    if hasattr(value, "tolist"):  # a NumPy array read from Parquet
        value = value.tolist()
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _clock(seconds: Any) -> str:
    try:
        total = max(0, int(float(seconds)))
    except (TypeError, ValueError):
        return ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def source_html(occurrences: list[dict[str, Any]], count: Any = None) -> str:
    """Links to where the expression was heard (latest first), e.g. for replaying the moment."""
    shown = list(reversed(occurrences))[:MAX_SOURCES_SHOWN]
    parts = []
    for occ in shown:
        title = html.escape(_text(occ.get("recording_title")) or _text(occ.get("recording")) or "stream")
        at = _clock(occ.get("start"))
        label = f"{title} ({at})" if at else title
        url = _text(occ.get("url"))
        if url.startswith(("http://", "https://")):
            parts.append(f'<a href="{html.escape(url, quote=True)}">{label}</a>')
        else:
            parts.append(label)
    try:
        total = int(float(count)) if _text(count) else len(occurrences)
    except ValueError:
        total = len(occurrences)
    prefix = f"Heard {total}× — " if total > 1 else ""
    more = f" (+{len(occurrences) - len(shown)} more)" if len(occurrences) > len(shown) else ""
    return prefix + " · ".join(parts) + more if parts else ""


def tag(prefix: str, value: Any) -> str | None:
    """An Anki tag ``prefix::value``; Anki tags cannot contain spaces."""
    text = re.sub(r"\s+", "_", _text(value))
    text = text.replace('"', "")
    return f"{prefix}::{text}" if text else None


def _sort_key(row: Mapping[str, Any]) -> tuple[float, float, str]:
    try:
        score = float(row.get("level_score"))
        if math.isnan(score):
            raise ValueError
    except (TypeError, ValueError):
        score = _LEVEL_ORDER.get(_text(row.get("level")).upper(), 99.0)
    try:
        count = float(row.get("count") or 0)
    except (TypeError, ValueError):
        count = 0.0
    return (score, -(count if not math.isnan(count) else 0.0), _text(row.get("key")))


# --- building ----------------------------------------------------------------


def _media_name(key: str, suffix: str) -> str:
    return f"aivlingual-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:16]}{suffix.lower()}"


def build_deck(
    stock: pd.DataFrame,
    *,
    out_path: str | Path,
    deck_name: str = DEFAULT_DECK_NAME,
    audio_for: Callable[[dict[str, Any]], Path | None] | None = None,
    timestamp: float | None = None,
    retired: Mapping[str, str] | None = None,
) -> DeckReport:
    """Write the stock as an .apkg at ``out_path`` (atomically) and report on it.

    Notes are ordered easy-to-hard (level_score), then most frequent, so new
    cards come in a sensible order.  ``audio_for(row)`` gets each row as a dict
    and may return an audio file to attach; a returned path that does not
    exist is listed in ``missing_audio``.  ``timestamp`` makes the file
    byte-reproducible.  ``retired`` (key -> expression) adds the retired notes of
    keys that left the stock (see the module docstring).  Raises DeckError for
    missing columns or empty / duplicate keys.
    """
    if not isinstance(stock, pd.DataFrame):
        raise DeckError(f"stock must be a pandas DataFrame, got {type(stock).__name__}")
    missing = [column for column in REQUIRED_COLUMNS if column not in stock.columns]
    if missing:
        raise DeckError(f"stock is missing column(s) {missing}; it has {list(stock.columns)}")
    if not _text(deck_name):
        raise DeckError("deck_name must not be empty")
    rows = stock.to_dict("records")
    keys = [_text(row.get("key")) for row in rows]
    if any(not key for key in keys):
        raise DeckError(f"{sum(not k for k in keys)} stock row(s) have an empty key; keys give notes stable ids")
    duplicates = sorted(key for key, n in Counter(keys).items() if n > 1)
    if duplicates:
        raise DeckError(f"duplicate stock keys would collide as note ids: {duplicates[:10]}")

    model = expression_model()
    deck = genanki.Deck(deck_id_for(deck_name), deck_name)
    skipped: list[str] = []
    missing_audio: list[str] = []
    out_path = Path(out_path)
    with tempfile.TemporaryDirectory(prefix="aivlingual-anki-") as tmp:
        media: list[str] = []
        for due, row in enumerate(sorted(rows, key=_sort_key)):
            key = _text(row.get("key"))
            expression = _text(row.get("expression"))
            if not expression:
                skipped.append(f"{key}: empty expression")
                continue
            audio_field = ""
            if audio_for is not None:
                audio = audio_for(dict(row))
                if audio is not None:
                    audio = Path(audio)
                    if audio.is_file() and audio.stat().st_size > 0:
                        staged = Path(tmp) / _media_name(key, audio.suffix or ".mp3")
                        shutil.copyfile(audio, staged)
                        media.append(str(staged))
                        audio_field = f"[sound:{staged.name}]"
                    else:
                        missing_audio.append(key)
            level = _text(row.get("level"))
            fields = [
                html.escape(expression),
                _html(row.get("reading")),
                _html(row.get("meaning")),
                highlight_example(_text(row.get("example")), expression),
                _html(row.get("explanation")),
                html.escape(level_label(level)) if level else "",
                source_html(parse_occurrences(row.get("occurrences")), row.get("count")),
                audio_field,
            ]
            tags = ["aivlingual"] + [
                t
                for t in (tag("level", level), tag("category", row.get("category")), tag("theme", row.get("theme")))
                if t
            ]
            deck.add_note(genanki.Note(model=model, fields=fields, tags=tags, guid=genanki.guid_for(key), due=due))

        active = len(deck.notes)
        present = set(keys)
        for key, expression in sorted((retired or {}).items()):
            if key in present or not _text(expression):
                continue
            note = genanki.Note(model=model, fields=[html.escape(_text(expression)), "", html.escape(RETIRED_MEANING),
                                                     "", "", "", "", ""],
                                tags=["aivlingual", RETIRED_TAG], guid=genanki.guid_for(key), due=len(deck.notes))
            for card in note.cards:
                card.suspend = True
            deck.add_note(note)

        package = genanki.Package(deck, media_files=media)
        with atomic_output(out_path) as partial:
            package.write_to_file(str(partial), timestamp=timestamp)
    return DeckReport(
        path=str(out_path),
        deck_name=deck_name,
        deck_id=deck.deck_id,
        model_id=MODEL_ID,
        notes=active,
        media_files=len(media),
        skipped=skipped,
        missing_audio=missing_audio,
        retired=len(deck.notes) - active,
    )


def cut_example_audio(
    media_path: str | Path,
    start: float,
    end: float,
    out_path: str | Path,
    *,
    pad: float = AUDIO_PAD_SECONDS,
    timeout: float | None = 300,
) -> Path:
    """Cut the example line's audio (±``pad`` s, short fades) to a small .mp3 or .m4a.

    Raises FileNotFoundError for a missing recording, ValueError for bad
    times or an unsupported extension, and ClipError when the recording has no
    audio or ffmpeg fails.  Written atomically.
    """
    media_path, out_path = Path(media_path), Path(out_path)
    codec = _AUDIO_CODECS.get(out_path.suffix.lower())
    if codec is None:
        raise ValueError(f"audio must be written as {sorted(_AUDIO_CODECS)}, got {out_path.name!r}")
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end <= start:
        raise ValueError(f"need 0 <= start < end, got start={start}, end={end}")
    if not media_path.is_file():
        raise FileNotFoundError(f"recording not found: {media_path}")
    try:
        info = probe_video(media_path)
    except MediaProbeError as exc:
        raise ClipError(f"cannot read recording {media_path}", str(exc)) from exc
    if not info.has_audio:
        raise ClipError(f"recording {media_path.name} has no audio stream to cut example audio from")
    begin = max(0.0, start - pad)
    finish = end + pad
    if info.duration > 0:
        if begin >= info.duration:
            raise ClipError(f"example at {start:.2f}s is after the recording ends ({info.duration:.2f}s)")
        finish = min(finish, info.duration)
    length = finish - begin
    fade = min(0.05, length / 4)
    with atomic_output(out_path) as partial:
        run_ffmpeg(
            [
                "-ss", f"{begin:.3f}", "-t", f"{length:.3f}", "-i", str(media_path),
                "-map", "0:a:0", "-vn", "-sn", "-dn", "-map_metadata", "-1",
                "-af", f"afade=t=in:d={fade:.3f},afade=t=out:st={max(0.0, length - fade):.3f}:d={fade:.3f}",
                "-ac", "1", "-ar", "44100", *codec,
                "-f", "mp3" if out_path.suffix.lower() == ".mp3" else "ipod",
                str(partial),
            ],
            what=f"cutting example audio {begin:.2f}-{finish:.2f}s from {media_path.name}",
            timeout=timeout,
        )
    return out_path
