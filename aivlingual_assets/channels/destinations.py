"""Where a stock output publishes each row: a channel's own destination, else the service default.

A channel can have its own Notion database (``notion_database``) and Anki deck name (``anki_deck_name``).
A stock row goes to the destination of every channel, among those of the recordings it was said in,
that has the output on: the channel's own value when it set one itself, the service default otherwise
(recordings of no channel, and channels that set none). So a row two channels said can be in two
databases; each database gets exactly its channels' rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .cascade import resolve
from .store import Channel
from .switches import (
    Decision,
    output_decision,
    recordings_of_row,
    stock_rows_for_output,
)


@dataclass
class Destination:
    """One destination: ``value`` is a channel's own setting (None: the service default)."""

    value: str | None
    rows: list[int] = field(default_factory=list)  # positions of the rows it gets
    owners: set[str] = field(default_factory=set)  # channels that set this value themselves

    @property
    def owner(self) -> str | None:
        """The channel whose own keys and AI serve it (the first by name of those that set it; None: the service)."""
        return min(self.owners) if self.owners else None

    def label(self) -> str:
        return f"channel {', '.join(sorted(self.owners))}" if self.owners else "service default"


def stock_destinations(rows: Iterable[Any], output: str, setting: str, channel_of: Callable[[str], Channel | None],
                       *, env: Mapping[str, str] | None = None) -> tuple[dict[str | None, Destination], Decision]:
    """Destinations by value (None: the service default) with the rows each gets, and the output's decision."""
    rows = list(rows)
    keep, decision = stock_rows_for_output(rows, output, channel_of, env=env)
    switches: dict[str | None, bool] = {}
    destinations: dict[str | None, Destination] = {}
    for position, (occurrences, kept) in enumerate(zip(rows, keep)):
        if not kept:
            continue
        targets: dict[str | None, set[str]] = {}  # value -> the channels that set it (none: the service default)
        for recording in recordings_of_row(occurrences):
            channel = channel_of(recording)
            name = channel.name if channel else None
            if name not in switches:
                switches[name] = output_decision(output, channel, env=env).run
            if not switches[name]:
                continue
            own = resolve(setting, channel, env=env)
            value = str(own.value) if own.source == "channel" else None
            targets.setdefault(value, set()).update([name] if value is not None and name else [])
        for value, owners in (targets or {None: set()}).items():
            destination = destinations.setdefault(value, Destination(value))
            destination.rows.append(position)
            destination.owners.update(owners)
    return destinations, decision
