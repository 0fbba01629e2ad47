"""What each recording has cost so far, for a channel's ``max_cost_per_recording_usd`` limit.

The usage log knows channels, not recordings, so the channel's AI view adds each call's cost here
(one row per recording, in the ledger database) and checks the total before the next call.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..ai.errors import BudgetExceededError
from ..storage.schema import create_tables

metadata = sa.MetaData()

recording_costs_table = sa.Table(
    "aiv_recording_costs",
    metadata,
    sa.Column("partition_key", sa.String(100), primary_key=True),
    sa.Column("cost_usd", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)


class RecordingCostLimitError(BudgetExceededError):
    """A recording reached its channel's ``max_cost_per_recording_usd``: no further paid call is started."""

    def __init__(self, recording: str, channel: str, limit: float, spent: float, origin: str):
        self.scope, self.budget, self.spent, self.estimate = f"recording {recording}", limit, spent, 0.0
        Exception.__init__(
            self,
            f"Recording {recording} has cost ${spent:.4f} in AI calls, reaching max_cost_per_recording_usd="
            f"${limit:.4f} of channel {channel} (from {origin}); nothing more was sent. Raise it with "
            f"`aivlingual channels set {channel} max_cost_per_recording_usd N`.",
        )


class RecordingCosts:
    def __init__(self, engine: Engine):
        self.engine = engine
        create_tables(engine, metadata)

    def spent(self, recording: str) -> float:
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(recording_costs_table.c.cost_usd)
                                 .where(recording_costs_table.c.partition_key == recording)).scalar()
        return float(value or 0.0)

    def add(self, recording: str, cost: float) -> None:
        if cost <= 0:
            return
        if self.engine.url.get_backend_name() == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        now = time.time()
        new = insert(recording_costs_table).values(partition_key=recording, cost_usd=cost, updated_at=now)
        stmt = new.on_conflict_do_update(
            index_elements=[recording_costs_table.c.partition_key],
            set_={"cost_usd": recording_costs_table.c.cost_usd + new.excluded.cost_usd, "updated_at": now})
        with self.engine.begin() as conn:
            conn.execute(stmt)
