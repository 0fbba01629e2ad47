"""Which channel a recording belongs to: its registry row, set from ``process --channel``, the inbox
sub-folder it was dropped in, or the YouTube feed it came from."""

from __future__ import annotations

import os
import threading

from .store import ChannelStore, check_name

_registries: dict[str, object] = {}
_lock = threading.Lock()


def _registry(database_url: str):
    from ..settings import normalise_database_url
    from ..storage.recording_registry import RecordingRegistry

    key = f"{os.getpid()}:{normalise_database_url(database_url)}"
    with _lock:
        registry = _registries.get(key)
        if registry is None:
            registry = _registries[key] = RecordingRegistry(database_url)
        return registry


def recording_channel(database_url: str, partition_key: str) -> str | None:
    """The channel of a registered recording (None: it belongs to no channel, or is not registered)."""
    return _registry(database_url).channel_of(partition_key)


def inbox_channel(group_key: str, store: ChannelStore) -> str | None:
    """The channel of an inbox group: its sub-folder's name when a channel of that name exists.

    ``group_key`` is the inbox's ``[folder/]stem``; a sub-folder that names no channel is only a way to
    organise drops (the recording then belongs to no channel).
    """
    folder, slash, _ = group_key.partition("/")
    if not slash:
        return None
    return folder if store.get(folder) is not None else None


def feed_channel(feed: str, store: ChannelStore) -> str | None:
    """The channel whose ``youtube_feed`` is this feed (a channel id or feed URL), if any."""
    return store.feed_owners().get(feed)


def checked_channel(name: str | None, store: ChannelStore) -> str | None:
    """``process --channel NAME``: the name of an existing channel (a clear error otherwise)."""
    if name is None:
        return None
    return store.require(check_name(name)).name
