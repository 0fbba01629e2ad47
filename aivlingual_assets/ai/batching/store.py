"""What was sent to a Batch API and what is still waiting: three tables beside the ledger's.

``aiv_batch_requests`` has one row per cache key ever deferred (the key is the batch line's
``custom_id``), so a request is written into at most one batch: a rerun that meets a key in state
``queued``/``submitted`` waits for it instead of sending it again. ``aiv_batches`` has one row per
batch, written *before* its file is uploaded (state ``preparing``), again once the file is uploaded
(``uploaded``, with the file id) and once the batch exists (``submitted``, with its id); see
``submitter`` for how a crash between those steps is resumed without a second batch.
``aiv_batch_waiters`` names who waits for a request (a recording partition), for the sensor's runs.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..ledger import Ledger

metadata = sa.MetaData()

# request states: queued (in no batch yet) -> submitted (in a batch) -> done (answer cached) or
# fallback (the batch failed or expired, or its line failed: the next call is a normal one)
QUEUED, SUBMITTED, DONE, FALLBACK = "queued", "submitted", "done", "fallback"
WAITING_STATES = (QUEUED, SUBMITTED)
# batch states: ours (preparing, uploaded, refused) then the provider's (see OPEN_REMOTE, FINAL_REMOTE)
PREPARING, UPLOADED = "preparing", "uploaded"
REFUSED = "refused"  # the budget refused it before anything was uploaded
OPEN_REMOTE = ("validating", "in_progress", "finalizing", "cancelling", "submitted")
FINAL_REMOTE = ("completed", "expired", "failed", "cancelled")  # recorded only once the batch was collected

batches = sa.Table(
    "aiv_batches",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("input_file_id", sa.String(200), nullable=True),
    sa.Column("remote_id", sa.String(200), nullable=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("requests", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

batch_requests = sa.Table(
    "aiv_batch_requests",
    metadata,
    sa.Column("cache_key", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(12), nullable=False, index=True),
    sa.Column("batch_id", sa.String(36), nullable=True, index=True),
    sa.Column("request_type", sa.String(100), nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(200), nullable=True),
    sa.Column("endpoint", sa.String(200), nullable=True),
    sa.Column("body", sa.Text, nullable=False),  # the chat completion request, as the batch line sends it
    sa.Column("memory", sa.Text, nullable=False),  # the cache row to write with the answer (no output yet)
    sa.Column("schema_ref", sa.Text, nullable=False, default=""),  # "module:Class", "json" or ""
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

batch_waiters = sa.Table(
    "aiv_batch_waiters",
    metadata,
    sa.Column("cache_key", sa.String(64), primary_key=True),
    sa.Column("waiter", sa.String(300), primary_key=True),
)


@dataclass
class BatchRow:
    id: str
    provider: str
    model: str
    status: str
    input_file_id: str | None
    remote_id: str | None
    owner: str
    requests: int
    error: str | None
    created_at: float
    updated_at: float


@dataclass
class RequestRow:
    cache_key: str
    state: str
    batch_id: str | None
    request_type: str
    provider: str
    model: str
    channel: str | None
    endpoint: str | None
    body: dict[str, Any]
    memory: dict[str, Any]
    schema_ref: str


def _request(row: Any) -> RequestRow:
    m = row._mapping
    return RequestRow(cache_key=m["cache_key"], state=m["state"], batch_id=m["batch_id"],
                      request_type=m["request_type"], provider=m["provider"], model=m["model"],
                      channel=m["channel"], endpoint=m["endpoint"], body=json.loads(m["body"]),
                      memory=json.loads(m["memory"]), schema_ref=m["schema_ref"])


class BatchStore:
    """The batch tables of one ledger database (created on first use, like the ledger's own)."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.engine = ledger.engine
        if not getattr(ledger, "_batch_tables_ready", False):  # once per ledger object
            from ...storage.schema import create_tables

            create_tables(self.engine, metadata)
            ledger._batch_tables_ready = True  # type: ignore[attr-defined]

    # ---- requests ------------------------------------------------------------------------------
    def state(self, cache_key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(batch_requests.c.state)
                                .where(batch_requests.c.cache_key == cache_key)).scalar()

    def enqueue(self, row: dict[str, Any], waiter: str | None) -> str:
        """Queues a request unless its key is known; returns the key's state after the call."""
        now = time.time()
        values = {**row, "body": json.dumps(row["body"], ensure_ascii=False),
                  "memory": json.dumps(row["memory"], ensure_ascii=False), "state": QUEUED, "batch_id": None,
                  "created_at": now, "updated_at": now}
        try:
            with self.engine.begin() as conn:
                conn.execute(batch_requests.insert().values(**values))
                state = QUEUED
        except sa.exc.IntegrityError:  # deferred already (by a rerun, or by another process just now)
            state = self.state(row["cache_key"]) or QUEUED
        if waiter and state in WAITING_STATES:
            self.add_waiter(row["cache_key"], waiter)
        return state

    def add_waiter(self, cache_key: str, waiter: str) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(batch_waiters.insert().values(cache_key=cache_key, waiter=waiter))
        except sa.exc.IntegrityError:
            pass

    def requests(self, *, keys: Iterable[str] | None = None, batch_id: str | None = None,
                 state: str | None = None) -> list[RequestRow]:
        query = sa.select(batch_requests)
        if keys is not None:
            query = query.where(batch_requests.c.cache_key.in_(list(keys)))
        if batch_id is not None:
            query = query.where(batch_requests.c.batch_id == batch_id)
        if state is not None:
            query = query.where(batch_requests.c.state == state)
        with self.engine.connect() as conn:
            return [_request(r) for r in conn.execute(query.order_by(batch_requests.c.created_at,
                                                                     batch_requests.c.cache_key))]

    def set_request_state(self, keys: Iterable[str], state: str, error: str | None = None) -> None:
        keys = list(keys)
        if not keys:
            return
        with self.engine.begin() as conn:
            conn.execute(batch_requests.update().where(batch_requests.c.cache_key.in_(keys))
                         .values(state=state, error=error, updated_at=time.time()))

    def settle(self, cache_key: str, state: str, error: str | None = None) -> bool:
        """Moves a submitted request to its final ``state``; False when it was not submitted any more (settled)."""
        with self.engine.begin() as conn:
            return bool(conn.execute(
                batch_requests.update()
                .where(batch_requests.c.cache_key == cache_key, batch_requests.c.state == SUBMITTED)
                .values(state=state, error=error, updated_at=time.time())
            ).rowcount)

    def waiters(self, keys: Iterable[str]) -> list[str]:
        keys = list(keys)
        if not keys:
            return []
        with self.engine.connect() as conn:
            return sorted(set(conn.execute(sa.select(batch_waiters.c.waiter)
                                           .where(batch_waiters.c.cache_key.in_(keys))).scalars()))

    # ---- batches -------------------------------------------------------------------------------
    def open_batch(self, keys: list[str], *, provider: str, model: str, owner: str) -> BatchRow | None:
        """Records a new batch (state ``preparing``) and moves the still-queued ``keys`` into it, in one transaction.

        Keys another submitter took first are left to it; None when none was left.
        """
        now = time.time()
        batch_id = uuid.uuid4().hex
        with self.engine.begin() as conn:
            taken = conn.execute(
                batch_requests.update()
                .where(batch_requests.c.cache_key.in_(keys), batch_requests.c.state == QUEUED,
                       batch_requests.c.batch_id.is_(None))
                .values(batch_id=batch_id, state=SUBMITTED, updated_at=now)
            ).rowcount
            if not taken:
                return None
            conn.execute(batches.insert().values(id=batch_id, provider=provider, model=model, status=PREPARING,
                                                 owner=owner, requests=taken, created_at=now, updated_at=now))
        return self.batch(batch_id)

    def batch(self, batch_id: str) -> BatchRow:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).one()
        return BatchRow(**row._mapping)

    def batches(self, statuses: Iterable[str] | None = None) -> list[BatchRow]:
        query = sa.select(batches).order_by(batches.c.created_at)
        if statuses is not None:
            query = query.where(batches.c.status.in_(list(statuses)))
        with self.engine.connect() as conn:
            return [BatchRow(**r._mapping) for r in conn.execute(query)]

    def update_batch(self, batch_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(batches.update().where(batches.c.id == batch_id).values(**values, updated_at=time.time()))

    def overview(self) -> dict[str, Any]:
        """What is waiting and what was sent, newest batch first: for ``aivlingual batches``."""
        with self.engine.connect() as conn:
            counts: dict[str | None, dict[str, int]] = {}
            for batch_id, state, n in conn.execute(
                    sa.select(batch_requests.c.batch_id, batch_requests.c.state, sa.func.count())
                    .group_by(batch_requests.c.batch_id, batch_requests.c.state)):
                counts.setdefault(batch_id, {})[state] = n
            waiters: dict[str | None, set[str]] = {}
            for batch_id, waiter in conn.execute(
                    sa.select(batch_requests.c.batch_id, batch_waiters.c.waiter)
                    .join(batch_waiters, batch_waiters.c.cache_key == batch_requests.c.cache_key)):
                waiters.setdefault(batch_id, set()).add(waiter)
        rows = []
        for batch in reversed(self.batches()):
            rows.append({"id": batch.id, "remote_id": batch.remote_id, "provider": batch.provider,
                         "model": batch.model, "status": batch.status, "requests": batch.requests,
                         "states": counts.get(batch.id, {}), "waiting": sorted(waiters.get(batch.id, set())),
                         "created_at": batch.created_at, "error": batch.error})
        return {"queued": counts.get(None, {}).get(QUEUED, 0), "queued_for": sorted(waiters.get(None, set())),
                "batches": rows}

    def take_over(self, batch_id: str, old_owner: str, new_owner: str) -> bool:
        """Makes ``new_owner`` the batch's owner if ``old_owner`` still is (one resumer wins)."""
        with self.engine.begin() as conn:
            return bool(conn.execute(batches.update().where(batches.c.id == batch_id, batches.c.owner == old_owner)
                                     .values(owner=new_owner, updated_at=time.time())).rowcount)
