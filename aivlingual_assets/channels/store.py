"""The channel registry: which channels (tenants) exist and their own settings, in the ledger database.

A channel is a Vtuber channel, a class or a customer that owns recordings. Its row holds the
settings it sets itself (a JSON object of setting name -> value; what it does not set cascades to
the service default, see :mod:`.cascade`). Its API keys live encrypted in their own table
(:mod:`.vault`). Tables are created on first use, safely under concurrency (``storage.schema``),
on SQLite and PostgreSQL alike.

Reads are cached per process for a few seconds (the AI core asks for a channel's budget and keys
on every paid call); a write in this process is seen at once, one in another process within
:data:`CACHE_SECONDS`.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..ai.ledger import make_engine
from ..storage.schema import create_tables

CACHE_SECONDS = 5.0
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")

metadata = sa.MetaData()

channels_table = sa.Table(
    "aiv_channels",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("settings", sa.Text, nullable=False),  # JSON object: only what the channel sets itself
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

channel_keys_table = sa.Table(
    "aiv_channel_keys",
    metadata,
    sa.Column("channel", sa.String(100), primary_key=True),
    sa.Column("provider", sa.String(20), primary_key=True),
    sa.Column("token", sa.Text, nullable=False),  # Fernet token: the key encrypted under the master key
    sa.Column("updated_at", sa.Float, nullable=False),
)


class ChannelError(ValueError):
    """A channel command or setting that cannot be done as asked; the message says how to fix it."""


@dataclass(frozen=True)
class Channel:
    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    key_providers: tuple[str, ...] = ()  # providers it has a stored key for (never the keys themselves)


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name or ""):
        raise ChannelError(f"{name!r} is not a channel name: use letters, digits, '_', '-' or '.' (at most 100), "
                           "starting with a letter or digit; it is also the channel's inbox sub-folder name.")
    return name


_changes = 0  # bumped by every write of this process: its cached reads are then stale at once
_changes_lock = threading.Lock()


def _changed() -> None:
    global _changes
    with _changes_lock:
        _changes += 1


class ChannelStore:
    """Channels and their own settings; ``engine`` is the ledger database's."""

    def __init__(self, engine_or_url: Engine | str):
        self.engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
        create_tables(self.engine, metadata)
        self._cache: tuple[float, int, dict[str, Channel]] | None = None
        self._lock = threading.Lock()

    # ---- reading ------------------------------------------------------------------------
    def all(self) -> dict[str, Channel]:
        """Every channel by name (cached for a few seconds; see the module's docstring)."""
        with self._lock:
            cached = self._cache
            if cached is not None and cached[1] == _changes and time.monotonic() - cached[0] <= CACHE_SECONDS:
                return cached[2]
            seen = _changes
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(channels_table.c.name, channels_table.c.settings)
                                    .order_by(channels_table.c.name)).all()
                keys = conn.execute(sa.select(channel_keys_table.c.channel, channel_keys_table.c.provider)
                                    .order_by(channel_keys_table.c.provider)).all()
            providers: dict[str, list[str]] = {}
            for channel, provider in keys:
                providers.setdefault(channel, []).append(provider)
            channels = {r.name: Channel(r.name, json.loads(r.settings), tuple(providers.get(r.name, ())))
                        for r in rows}
            self._cache = (time.monotonic(), seen, channels)
            return channels

    def get(self, name: str | None) -> Channel | None:
        return self.all().get(name) if name else None

    def require(self, name: str) -> Channel:
        channel = self.get(name)
        if channel is None:
            known = ", ".join(self.all()) or "none yet"
            raise ChannelError(f"No channel named {name!r} (known: {known}); add it with "
                               f"`aivlingual channels add {name}`.")
        return channel

    def feed_owners(self) -> dict[str, str]:
        """YouTube feed (channel id or feed URL) -> the channel whose ``youtube_feed`` it is."""
        return {c.settings["youtube_feed"]: c.name for c in self.all().values() if c.settings.get("youtube_feed")}

    # ---- writing ------------------------------------------------------------------------
    def add(self, name: str, settings: dict[str, Any] | None = None) -> Channel:
        check_name(name)
        now = time.time()
        try:
            with self.engine.begin() as conn:
                conn.execute(channels_table.insert().values(
                    name=name, settings=json.dumps(settings or {}, sort_keys=True), created_at=now, updated_at=now))
        except sa.exc.IntegrityError:
            raise ChannelError(f"A channel named {name!r} exists already (`aivlingual channels show {name}`).") \
                from None
        _changed()
        return self.require(name)

    def update_settings(self, name: str, changes: dict[str, Any]) -> Channel:
        """Sets the given settings (a value of None removes the channel's own value: it cascades again)."""
        with self.engine.begin() as conn:
            current = conn.execute(sa.select(channels_table.c.settings).where(channels_table.c.name == name)
                                   .with_for_update()).scalar()
            if current is None:
                raise ChannelError(f"No channel named {name!r}; add it with `aivlingual channels add {name}`.")
            settings = json.loads(current)
            for key, value in changes.items():
                if value is None:
                    settings.pop(key, None)
                else:
                    settings[key] = value
            conn.execute(channels_table.update().where(channels_table.c.name == name)
                         .values(settings=json.dumps(settings, sort_keys=True), updated_at=time.time()))
        _changed()
        return self.require(name)

    def remove(self, name: str) -> bool:
        """Forgets a channel and its stored keys; its recordings stay (they then belong to no channel)."""
        with self.engine.begin() as conn:
            conn.execute(channel_keys_table.delete().where(channel_keys_table.c.channel == name))
            deleted = conn.execute(channels_table.delete().where(channels_table.c.name == name)).rowcount
        _changed()
        return deleted > 0


_stores: dict[str, ChannelStore] = {}
_stores_lock = threading.Lock()


def channel_store(database: str | Engine) -> ChannelStore:
    """This process's store for a database URL or engine (its tables created once)."""
    from ..settings import normalise_database_url

    where = normalise_database_url(database) if isinstance(database, str) else database
    key = f"{os.getpid()}:{where if isinstance(where, str) else id(where)}"  # a forked process gets its own
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = ChannelStore(where)
        return store


def mark_changed() -> None:
    """For the key vault: a key was stored or removed, so cached channel rows are stale."""
    _changed()
