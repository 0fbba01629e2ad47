"""The inbox sensor's logic: which dropped files are complete recordings, fast.

A file counts once its (size, mtime) is the same on two consecutive scans, so
a recording still being copied or downloaded is never picked up half-written
(first sight = pending).  Media and subtitles sharing a name (``talk.mp4`` +
``talk.ja.srt``) form one group; a group is *ready* once all its files are
stable, and is reported ready once: the returned ``observed`` state remembers
it.  Adding a file to a reported group (a late subtitle) makes it ready again.

Scanned: the inbox folder and its direct sub-folders (one level, so people can
organise drops per channel); deeper folders and hidden folders are skipped.
Only ``os.scandir`` + one ``stat`` per candidate file, no hashing: 10,000
files take a few tens of milliseconds.

``observed`` (store it as the sensor cursor, it is JSON-serialisable) maps a
relative POSIX path to ``[size, mtime]`` for a file not yet reported,
``[size, mtime, 1]`` once its group was reported, and ``None`` for a file that
is ignored (so it is reported in ``ignored`` only the first time it is seen).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aivlingual_assets.ingestion.errors import InboxError
from aivlingual_assets.ingestion.recording import (
    SUPPORTED_EXTENSIONS,
    file_kind,
    media_preference,
    pairing_stem,
    subtitle_preference,
)

TEMP_SUFFIXES: tuple[str, ...] = (
    ".part", ".crdownload", ".tmp", ".temp", ".download", ".partial", ".ytdl", ".aria2", ".!qb",
)

Observed = dict[str, list[int | float] | None]
_UNSEEN: list[int | float] = []


@dataclass(frozen=True, slots=True)
class InboxGroup:
    """The files of one recording found in the inbox (``key`` is ``[folder/]stem``)."""

    key: str
    media: Path | None
    subtitle: Path | None
    files: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class InboxScan:
    """Result of one scan; ``ignored`` maps newly seen ignored files to the reason."""

    ready: list[InboxGroup] = field(default_factory=list)
    pending: list[InboxGroup] = field(default_factory=list)
    settled: list[InboxGroup] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)
    observed: Observed = field(default_factory=dict)


def ignore_reason(name: str) -> str | None:
    """Why a file name is not a recording file, or None if it may be one."""
    lower = name.lower()
    if name.startswith(".") or name.startswith("~$"):
        return "hidden file"
    if lower.endswith(TEMP_SUFFIXES) or ".part-frag" in lower:
        return "temporary/partial download; it will be picked up once renamed to its final name"
    if file_kind(name) is None:
        return f"unsupported extension (supported: {' '.join(SUPPORTED_EXTENSIONS)})"
    return None


def scan_inbox(folder: str | Path, previous: Mapping[str, Sequence[int | float] | None] | None = None) -> InboxScan:
    """Scan the inbox once; pass the previous scan's ``observed`` as ``previous``."""
    root = Path(folder)
    previous = previous or {}
    try:
        candidates, ignored_all, deep = _list_files(root)
    except FileNotFoundError:
        raise InboxError(f"The inbox folder {root} does not exist; create it or set AIVLINGUAL_INBOX.") from None
    except NotADirectoryError:
        raise InboxError(f"The inbox path {root} is a file, not a folder; set AIVLINGUAL_INBOX to a folder.") from None
    except PermissionError as error:
        raise InboxError(f"The inbox folder cannot be read ({error}); fix its permissions.") from None

    for sub in deep:
        ignored_all[sub] = "sub-folder more than one level deep; move its files up to be scanned"
    groups, extras = _group(root, candidates)
    ignored_all.update(extras)
    observed: Observed = dict.fromkeys(ignored_all)
    # report an ignored file only the first time (a sensor logs it once)
    ignored = {rel: reason for rel, reason in ignored_all.items() if previous.get(rel, _UNSEEN) is not None}

    ready: list[InboxGroup] = []
    pending: list[InboxGroup] = []
    settled: list[InboxGroup] = []
    for group in groups:
        states = [(rel, candidates[rel], previous.get(rel)) for rel in group.files]
        stable = all(_same(stat, before) for _, stat, before in states)
        reported = stable and all(before is not None and len(before) > 2 and before[2] for _, _, before in states)
        if not stable:
            pending.append(group)
        elif reported:
            settled.append(group)
        else:
            ready.append(group)
        for rel, (size, mtime), _ in states:
            observed[rel] = [size, mtime, 1] if stable else [size, mtime]
    return InboxScan(ready=ready, pending=pending, settled=settled, ignored=ignored, observed=observed)


def _same(stat: tuple[int, float], before: Sequence[int | float] | None) -> bool:
    return before is not None and len(before) >= 2 and before[0] == stat[0] and before[1] == stat[1]


def _list_files(root: Path) -> tuple[dict[str, tuple[int, float]], dict[str, str], list[str]]:
    """Candidate files with (size, mtime), ignored files with reasons, too-deep folders."""
    candidates: dict[str, tuple[int, float]] = {}
    ignored: dict[str, str] = {}
    deep: list[str] = []
    folders: list[tuple[str, str]] = [(str(root), "")]
    depth_of = {"": 0}
    while folders:
        path, prefix = folders.pop()
        try:
            entries = os.scandir(path)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            if prefix == "":
                raise
            continue  # a sub-folder removed or locked mid-scan: try again next tick
        with entries:
            for entry in entries:
                name = entry.name
                rel = prefix + name
                try:
                    if entry.is_dir():
                        if name.startswith("."):
                            continue
                        if depth_of[prefix] == 0:
                            depth_of[rel + "/"] = 1
                            folders.append((entry.path, rel + "/"))
                        else:
                            deep.append(rel + "/")
                        continue
                    if not entry.is_file():
                        continue
                    reason = ignore_reason(name)
                    if reason:
                        ignored[rel] = reason
                        continue
                    stat = entry.stat()
                except FileNotFoundError:
                    continue  # deleted between listing and stat
                candidates[rel] = (stat.st_size, stat.st_mtime)
    return candidates, ignored, deep


def _group(root: Path, candidates: Mapping[str, tuple[int, float]]) -> tuple[list[InboxGroup], dict[str, str]]:
    """Pair media and subtitles per folder; extra files for the same stem are set aside."""
    media_by_key: dict[str, list[str]] = {}
    subtitles: list[str] = []
    for rel in candidates:
        if file_kind(rel) == "media":
            folder, _, name = rel.rpartition("/")
            media_by_key.setdefault(_key(folder, Path(name).stem), []).append(rel)
        else:
            subtitles.append(rel)
    subtitles_by_key: dict[str, list[str]] = {}
    for rel in subtitles:
        folder, _, name = rel.rpartition("/")
        full = _key(folder, Path(name).stem)
        key = full if full in media_by_key else _key(folder, pairing_stem(name))
        subtitles_by_key.setdefault(key, []).append(rel)

    groups: list[InboxGroup] = []
    extras: dict[str, str] = {}
    for key in sorted(media_by_key.keys() | subtitles_by_key.keys()):
        media = sorted(media_by_key.get(key, []), key=media_preference)
        subs = sorted(subtitles_by_key.get(key, []), key=subtitle_preference)
        for rel in media[1:]:
            extras[rel] = f"another media file for the same recording is used: {media[0]}"
        for rel in subs[1:]:
            extras[rel] = f"another subtitle for the same recording is used: {subs[0]}"
        groups.append(
            InboxGroup(
                key=key,
                media=root / media[0] if media else None,
                subtitle=root / subs[0] if subs else None,
                files=tuple(media[:1] + subs[:1]),
            )
        )
    return groups, extras


def _key(folder: str, stem: str) -> str:
    return f"{folder}/{stem}" if folder else stem
