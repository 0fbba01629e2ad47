"""What each recording has cost so far, and reservations against a channel's ``max_cost_per_recording_usd``.

The usage log knows channels, not recordings, so the channel's AI view keeps a recording's spend here
(one row per recording, in the ledger database). Before each paid call (each attempt, through
``ai.budgets.guarded_by``) the call's worst-case cost is reserved against the limit, as the monthly
budgets are: the recording's row is locked, what it has cost and what its calls in flight hold are
added up, and a call that would take the total over the limit is refused before it is sent. Once the
AI view's call is over (or its next attempt reserves: attempts of one call are sequential), what it
really cost is added and its reservations are dropped in one transaction. Reservations of processes
that died, or older than their lease, are freed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..ai.errors import BudgetExceededError
from ..ai.ledger import owner_is_dead
from ..storage.schema import create_tables

metadata = sa.MetaData()

recording_costs_table = sa.Table(
    "aiv_recording_costs",
    metadata,
    sa.Column("partition_key", sa.String(100), primary_key=True),
    sa.Column("cost_usd", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

recording_reservations_table = sa.Table(
    "aiv_recording_reservations",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("partition_key", sa.String(100), nullable=False, index=True),
    sa.Column("amount", sa.Float, nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)


class RecordingCostLimitError(BudgetExceededError):
    """A call that would take a recording over its channel's ``max_cost_per_recording_usd``: it is not sent."""

    def __init__(self, recording: str, channel: str, limit: float, spent: float, origin: str, *,
                 held: float = 0.0, estimate: float = 0.0):
        self.scope, self.budget, self.spent, self.held, self.estimate = (
            f"recording {recording}", limit, spent, held, estimate)
        in_flight = f" and calls in flight hold ${held:.4f}" if held > 0 else ""
        Exception.__init__(
            self,
            f"Recording {recording} has cost ${spent:.4f} in AI calls{in_flight}; this call (up to ${estimate:.4f}) "
            f"would take it over max_cost_per_recording_usd=${limit:.4f} of channel {channel} (from {origin}), so "
            f"it was not sent. Raise it with `aivlingual channels set {channel} max_cost_per_recording_usd N`.",
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

    def held(self, recording: str) -> float:
        """What the recording's calls in flight have reserved."""
        with self.engine.connect() as conn:
            return float(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(recording_reservations_table.c.amount),
                                                                 0.0))
                                      .where(recording_reservations_table.c.partition_key == recording)).scalar_one())

    def reserve(self, recording: str, amount: float, limit: float, *, owner: str, lease_seconds: float,
                channel: str, origin: str, settle_cost: float = 0.0, settle: Sequence[str] = ()) -> str:
        """Reserves ``amount`` against ``limit`` under the recording's row lock; raises RecordingCostLimitError.

        ``settle_cost`` / ``settle``: what earlier attempts of the same call cost and their reservations, charged
        and dropped in the same transaction (undone with it when this reservation is refused).
        """
        now = time.time()
        reservation = uuid.uuid4().hex
        with self.engine.begin() as conn:
            # writes first: the row lock serialises this recording's reservers
            self._add(conn, recording, max(settle_cost, 0.0), now)
            if settle:
                conn.execute(recording_reservations_table.delete()
                             .where(recording_reservations_table.c.id.in_(list(settle))))
            self._free_stale(conn, recording, now)
            spent = float(conn.execute(sa.select(recording_costs_table.c.cost_usd)
                                       .where(recording_costs_table.c.partition_key == recording)).scalar_one())
            held = float(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(recording_reservations_table.c.amount),
                                                                 0.0))
                                      .where(recording_reservations_table.c.partition_key == recording)).scalar_one())
            if spent + held + amount > limit + 1e-12:
                raise RecordingCostLimitError(recording, channel, limit, spent, origin, held=held, estimate=amount)
            conn.execute(recording_reservations_table.insert().values(
                id=reservation, partition_key=recording, amount=amount, owner=owner, expires_at=now + lease_seconds))
        return reservation

    def settle(self, recording: str, cost: float, reservations: Sequence[str] = ()) -> None:
        """Adds what a call really cost and drops its reservations, in one transaction."""
        if cost <= 0 and not reservations:
            return
        with self.engine.begin() as conn:
            if cost > 0:
                self._add(conn, recording, cost, time.time())
            if reservations:
                conn.execute(recording_reservations_table.delete()
                             .where(recording_reservations_table.c.id.in_(list(reservations))))

    @staticmethod
    def _add(conn: Connection, recording: str, cost: float, now: float) -> None:
        if conn.dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        new = insert(recording_costs_table).values(partition_key=recording, cost_usd=cost, updated_at=now)
        conn.execute(new.on_conflict_do_update(
            index_elements=[recording_costs_table.c.partition_key],
            set_={"cost_usd": recording_costs_table.c.cost_usd + new.excluded.cost_usd, "updated_at": now}))

    @staticmethod
    def _free_stale(conn: Connection, recording: str, now: float) -> None:
        table = recording_reservations_table
        conn.execute(table.delete().where(table.c.partition_key == recording, table.c.expires_at < now))
        owners = conn.execute(sa.select(table.c.owner).distinct().where(table.c.partition_key == recording)).scalars()
        dead = [owner for owner in owners if owner_is_dead(owner)]
        if dead:
            conn.execute(table.delete().where(table.c.partition_key == recording, table.c.owner.in_(dead)))
