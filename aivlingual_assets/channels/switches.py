"""Feature switches and limits per channel: whether an output runs, and why not.

The assets ask these plain functions and, when an output is switched off, skip it with the
:class:`Decision`'s reason in their metadata instead of failing. Per-recording outputs (Shorts)
follow the recording's channel; outputs of the shared vocabulary stock (Notion, Anki, its TTS audio,
training exports) leave out the rows that only recordings of switched-off channels contributed,
and are skipped when no row is left.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..analysis.stock_columns import nested
from .cascade import OUTPUTS, resolve
from .store import Channel, ChannelError


@dataclass(frozen=True)
class Decision:
    run: bool
    reason: str

    def metadata(self) -> dict[str, Any]:
        """What a skipped output says in its MaterializeResult metadata (nothing when it runs)."""
        return {} if self.run else {"skipped": True, "skip_reason": self.reason}


def _label(channel: Channel | None) -> str:
    return f"channel {channel.name}" if channel else "recordings without a channel"


def output_decision(output: str, channel: Channel | None, *, env: Mapping[str, str] | None = None) -> Decision:
    """Whether ``output`` runs for a recording of ``channel`` (the cascade of ``outputs.<output>``)."""
    if output not in OUTPUTS:
        raise ChannelError(f"Unknown output {output!r}; outputs are {', '.join(OUTPUTS)}.")
    switch = resolve(f"outputs.{output}", channel, env=env)
    if switch.value:
        return Decision(True, f"outputs.{output} is on ({switch.origin})")
    fix = (f"`aivlingual channels set {channel.name} outputs.{output} on`" if channel and switch.source == "channel"
           else f"unset AIVLINGUAL_OUTPUTS_{output.upper()}")
    return Decision(False, f"{output} is switched off for {_label(channel)} (outputs.{output}=off, from "
                           f"{switch.origin}); to turn it on: {fix}")


def recording_length_decision(duration_seconds: float | None, channel: Channel | None, *,
                              env: Mapping[str, str] | None = None) -> Decision:
    """Refuses a recording longer than the channel's ``max_recording_minutes`` (unknown lengths pass)."""
    limit = resolve("max_recording_minutes", channel, env=env)
    if limit.value is None or duration_seconds is None or duration_seconds <= limit.value * 60:
        return Decision(True, "within max_recording_minutes" if limit.value is not None else "no length limit")
    return Decision(False, f"the recording lasts {duration_seconds / 60:.1f} min, over max_recording_minutes="
                           f"{limit.value:g} of {_label(channel)} (from {limit.origin}); raise it with `aivlingual "
                           f"channels set {channel.name if channel else 'CHANNEL'} max_recording_minutes N`")


def recordings_of_row(occurrences: Any) -> list[str]:
    """The recordings a stock row was said in (its ``occurrences`` column, read by
    :func:`~aivlingual_assets.analysis.stock_columns.nested`)."""
    return [o["recording"] for o in nested(occurrences, ()) if isinstance(o, dict) and o.get("recording")]


def stock_rows_for_output(rows: Iterable[Any], output: str, channel_of: Callable[[str], Channel | None], *,
                          env: Mapping[str, str] | None = None) -> tuple[list[bool], Decision]:
    """Per stock row (its ``occurrences``), whether ``output`` publishes it, and the output's decision.

    A row is published when at least one recording it was said in belongs to a channel (or to no
    channel) with the output on. The decision is to skip when rows exist and none is published.
    """
    return rows_for_output(([channel_of(r) for r in recordings_of_row(occurrences)] for occurrences in rows),
                           output, env=env, what="row of the stock", source="recordings")


def rows_for_output(row_channels: Iterable[Iterable[Channel | None]], output: str, *,
                    env: Mapping[str, str] | None = None, what: str = "row",
                    source: str = "recordings") -> tuple[list[bool], Decision]:
    """Per row (the channels it came from; None: no channel), whether ``output`` takes it, and its decision.

    A row is taken when at least one channel it came from (or no channel) has the output on; a row that
    came from nowhere known is taken. The decision is to skip when rows exist and none is taken.
    """
    decisions: dict[str | None, Decision] = {}
    off: set[str] = set()
    keep: list[bool] = []
    for channels in row_channels:
        published, seen = False, False
        for channel in channels:
            seen = True
            name = channel.name if channel else None
            if name not in decisions:
                decisions[name] = output_decision(output, channel, env=env)
            if decisions[name].run:
                published = True
                break
            off.add(_label(channel))
        keep.append(published or not seen and _runs_without_channel(output, decisions, env))
    if not keep or any(keep):
        dropped = keep.count(False)
        return keep, Decision(True, f"{output} takes {keep.count(True)} {what}(s)"
                                    + (f"; {dropped} only from switched-off channels left out" if dropped else ""))
    reasons = sorted({d.reason for d in decisions.values() if not d.run})
    return keep, Decision(False, f"every {what} comes from {source} whose {output} output is switched "
                                 f"off ({', '.join(sorted(off))}): " + "; ".join(reasons))


def _runs_without_channel(output: str, decisions: dict[str | None, Decision], env: Mapping[str, str] | None) -> bool:
    if None not in decisions:
        decisions[None] = output_decision(output, None, env=env)
    return decisions[None].run
