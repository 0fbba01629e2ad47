"""Which channels an AI output (a cached answer) served, for the outputs made of AI answers (training exports).

Every call that got its answer from the AI memory, or paid for it, is in the usage log with its
``channel`` and ``memory_id``; an answer served the channels of those rows (None: recordings of no
channel, or calls made outside any channel). An answer the log has no row for counts as no channel's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from ..ai.ledger import Ledger, usage_log
from .store import channel_store
from .switches import Decision, rows_for_output

CHUNK = 500  # ids per IN (...) list


def channels_of_outputs(ledger: Ledger, memory_ids: Sequence[int]) -> dict[int, set[str | None]]:
    """AI memory id -> the channels whose calls it answered (each id present; an empty set when none is logged)."""
    served: dict[int, set[str | None]] = {int(i): set() for i in memory_ids}
    ids = list(served)
    with ledger.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            query = (sa.select(usage_log.c.memory_id, usage_log.c.channel).distinct()
                     .where(usage_log.c.memory_id.in_(ids[start:start + CHUNK])))
            for memory_id, channel in conn.execute(query):
                served[int(memory_id)].add(channel)
    return served


class OutputsSwitch:
    """``exclude`` for ``export_training_batch``: leaves out the answers only channels with ``output`` off were
    served; ``decision`` says afterwards whether anything was left (a skip with its reason when not)."""

    def __init__(self, ledger: Ledger, output: str = "training_export", *, env: Mapping[str, str] | None = None):
        self.ledger, self.output, self.env = ledger, output, env
        self.decision = Decision(True, f"{output}: nothing waiting")

    def __call__(self, memory_ids: Sequence[int]) -> set[int]:
        store = channel_store(self.ledger.url)
        served = channels_of_outputs(self.ledger, memory_ids)
        ids = list(served)
        keep, self.decision = rows_for_output(([store.get(name) for name in served[i]] for i in ids), self.output,
                                              env=self.env, what="verified AI output", source="calls of channels")
        return {i for i, kept in zip(ids, keep) if not kept}
