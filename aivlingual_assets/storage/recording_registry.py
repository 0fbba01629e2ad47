"""Which recording each partition key stands for, so any run (sensor, CLI, UI) can rebuild it."""

from __future__ import annotations

import json
import time

import sqlalchemy as sa

from ..ai.ledger import make_engine
from .schema import create_tables

_metadata = sa.MetaData()

recordings_table = sa.Table(
    "aiv_recordings",
    _metadata,
    sa.Column("partition_key", sa.String(100), primary_key=True),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("spec", sa.Text, nullable=False),  # Recording as JSON
    sa.Column("registered_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("channel", sa.String(100), nullable=True),  # the channel (tenant) it belongs to, see channels/
)


def _add_channel_column(engine) -> None:
    """Registries made before channels existed get the column (under the first-use lock, once)."""
    from .schema import first_use

    if "channel" in {c["name"] for c in sa.inspect(engine).get_columns("aiv_recordings")}:
        return
    with first_use(engine) as conn:
        if "channel" not in {c["name"] for c in sa.inspect(conn).get_columns("aiv_recordings")}:
            conn.execute(sa.text("ALTER TABLE aiv_recordings ADD COLUMN channel VARCHAR(100)"))


class RecordingRegistry:
    def __init__(self, database_url: str):
        self.engine = make_engine(database_url)
        create_tables(self.engine, _metadata)  # safe when two commands start together on a fresh home
        _add_channel_column(self.engine)

    def register(self, recording, *, channel: str | None = None) -> bool:
        """Stores the recording; True when the key is new.

        Re-registering updates paths and keeps the key, but never forgets known facts: a bare
        re-add (no title, channel or duration) keeps those of the earlier registration. ``channel``
        assigns it to a channel (tenant); without it the recording keeps the channel it had.
        """
        from ..ingestion.recording import Recording, merge_known

        now = time.time()
        spec = recording.model_dump_json()
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(recordings_table.c.spec, recordings_table.c.channel)
                .where(recordings_table.c.partition_key == recording.partition_key)
            ).first()
            if row is None:
                try:
                    conn.execute(recordings_table.insert().values(
                        partition_key=recording.partition_key, source=recording.source, spec=spec,
                        registered_at=now, updated_at=now, channel=channel))
                except sa.exc.IntegrityError:
                    return False
                return True
            spec = merge_known(Recording.model_validate_json(row.spec), recording).model_dump_json()
            owner = channel or row.channel
            if row.spec != spec or row.channel != owner:
                conn.execute(recordings_table.update()
                             .where(recordings_table.c.partition_key == recording.partition_key)
                             .values(spec=spec, channel=owner, updated_at=now))
            return False

    def get(self, partition_key: str):
        from ..ingestion.recording import Recording

        with self.engine.connect() as conn:
            spec = conn.execute(
                sa.select(recordings_table.c.spec).where(recordings_table.c.partition_key == partition_key)
            ).scalar()
        if spec is None:
            return None
        return Recording.model_validate(json.loads(spec))

    def channel_of(self, partition_key: str) -> str | None:
        """The channel the recording belongs to (None: no channel, the service's own settings apply)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(recordings_table.c.channel)
                                .where(recordings_table.c.partition_key == partition_key)).scalar()

    def channels(self) -> dict[str, str]:
        """Every recording that belongs to a channel -> its channel (one query, for the stock's outputs)."""
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(recordings_table.c.partition_key, recordings_table.c.channel)
                                     .where(recordings_table.c.channel.is_not(None))).all())

    def remove(self, partition_key: str) -> bool:
        """Forgets the recording; True when it was registered."""
        with self.engine.begin() as conn:
            deleted = conn.execute(recordings_table.delete().where(recordings_table.c.partition_key == partition_key))
        return deleted.rowcount > 0

    def keys(self) -> list[str]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.select(recordings_table.c.partition_key).order_by(recordings_table.c.registered_at))]
