"""Budget reservations in the ledger: reserve a call's worst case under a row lock, release it (mixed into ``Ledger``)."""

from __future__ import annotations

import time
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .ledger_engines import owner_is_dead
from .ledger_schema import budget_lock, budget_reservations, usage_log


class BudgetStore:
    """Needs ``self.engine`` and ``self._release_reservation_stmt``."""

    def reserve_budget(
        self,
        *,
        estimate: float,
        channel: str | None,
        limits: list[tuple[str, str | None, float]],
        month_start: float,
        owner: str,
        lease_seconds: float,
    ) -> str | None:
        """Atomically checks every applicable budget and reserves ``estimate`` against them.

        ``limits`` holds (scope name, channel or None for global, budget). The row lock on
        ``aiv_budget_lock`` serialises reservers across processes on SQLite and PostgreSQL,
        so concurrent callers can never together pass a budget. Reservations of processes
        found dead (killed before they could release them) are freed first.
        """
        from .errors import BudgetExceededError

        if estimate <= 0 or not limits:
            return None
        now = time.time()
        reservation_id = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(
                budget_lock.update().where(budget_lock.c.scope == "global").values(version=budget_lock.c.version + 1)
            )
            self._free_stale_reservations(conn, now)
            for scope, scope_channel, budget in limits:
                spent_q = sa.select(sa.func.coalesce(sa.func.sum(usage_log.c.cost_usd), 0.0)).where(
                    usage_log.c.ts >= month_start
                )
                held_q = sa.select(sa.func.coalesce(sa.func.sum(budget_reservations.c.amount), 0.0))
                if scope_channel is not None:
                    spent_q = spent_q.where(usage_log.c.channel == scope_channel)
                    held_q = held_q.where(budget_reservations.c.channel == scope_channel)
                spent = float(conn.execute(spent_q).scalar_one())
                held = float(conn.execute(held_q).scalar_one())
                if spent + held + estimate > budget + 1e-12:
                    raise BudgetExceededError(scope, budget, spent, held, estimate)
            conn.execute(
                budget_reservations.insert().values(
                    id=reservation_id, channel=channel, amount=estimate, owner=owner, expires_at=now + lease_seconds
                )
            )
        return reservation_id

    @staticmethod
    def _free_stale_reservations(conn: Connection, now: float) -> None:
        """Expired reservations, and those of processes that died holding them (as for single-flight claims)."""
        conn.execute(budget_reservations.delete().where(budget_reservations.c.expires_at < now))
        owners = conn.execute(sa.select(budget_reservations.c.owner).distinct()).scalars().all()
        dead = [owner for owner in owners if owner_is_dead(owner)]
        if dead:
            conn.execute(budget_reservations.delete().where(budget_reservations.c.owner.in_(dead)))

    def release_reservation(self, reservation_id: str | None) -> None:
        if reservation_id:
            with self.engine.begin() as conn:
                conn.execute(self._release_reservation_stmt, {"r_id": reservation_id})

    def month_spend(self, month_start: float, channel: str | None = None) -> float:
        q = sa.select(sa.func.coalesce(sa.func.sum(usage_log.c.cost_usd), 0.0)).where(usage_log.c.ts >= month_start)
        if channel is not None:
            q = q.where(usage_log.c.channel == channel)
        with self.engine.connect() as conn:
            return float(conn.execute(q).scalar_one())
