"""The provider catalogue in the ledger: models, their tier, prices and capabilities (mixed into ``Ledger``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from .catalogue import ModelSpec
from .ledger_engines import _catalogue_changed
from .ledger_schema import provider_configs


class CatalogueStore:
    """Needs ``self.engine`` and ``self.is_sqlite``."""

    def seed_catalogue(self, specs: Iterable[ModelSpec]) -> int:
        """Adds catalogue models the ledger does not know yet; never overwrites user edits.

        Capabilities are the one exception (they say what our provider code can do with a model,
        and no command edits them), and a missing cached-input price (see ``_catalogue_updates``).
        """
        from ..storage.schema import first_use_lock

        with first_use_lock(self.engine):
            try:
                return self._seed(list(specs))
            except sa.exc.IntegrityError:  # another host seeded the same rows first
                return self._seed(list(specs))

    def _seed(self, specs: list[ModelSpec]) -> int:
        now = time.time()
        added = updated = 0
        with self.engine.begin() as conn:
            if not self.is_sqlite:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(4242002)"))
            c = provider_configs.c
            existing = {
                (r.provider, r.model, r.kind): r
                for r in conn.execute(sa.select(c.provider, c.model, c.kind, c.capabilities, c.input_per_1m,
                                                c.cached_input_per_1m))
            }
            for spec in specs:
                key = (spec.provider, spec.model, spec.kind)
                if key in existing:
                    changes = _catalogue_updates(existing[key], spec)
                    if changes:
                        updated += 1
                        conn.execute(
                            provider_configs.update()
                            .where(c.provider == spec.provider, c.model == spec.model, c.kind == spec.kind)
                            .values(**changes, updated_at=now)
                        )
                    continue
                conn.execute(
                    provider_configs.insert().values(
                        provider=spec.provider,
                        model=spec.model,
                        kind=spec.kind,
                        tier=spec.tier,
                        input_per_1m=spec.input_per_1m,
                        output_per_1m=spec.output_per_1m,
                        per_request=spec.per_request,
                        per_minute=spec.per_minute,
                        per_1m_chars=spec.per_1m_chars,
                        cached_input_per_1m=spec.cached_input_per_1m,
                        quality=spec.quality,
                        active=True,
                        is_default=spec.is_default,
                        default_for="[]",
                        max_tokens=spec.max_tokens,
                        capabilities=json.dumps(list(spec.capabilities)),
                        price_source=spec.price_source,
                        price_date=spec.price_date,
                        updated_at=now,
                    )
                )
                added += 1
        if added or updated:
            _catalogue_changed()
        return added

    def models(self, *, kind: str | None = None, active_only: bool = False) -> list[dict[str, Any]]:
        query = sa.select(provider_configs)
        if kind:
            query = query.where(provider_configs.c.kind == kind)
        if active_only:
            query = query.where(provider_configs.c.active.is_(True))
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query.order_by(provider_configs.c.provider, provider_configs.c.kind, provider_configs.c.model))]
        for row in rows:
            row["default_for"] = json.loads(row["default_for"] or "[]")
            row["capabilities"] = json.loads(row["capabilities"] or "[]")
        return rows

    def update_model(self, provider: str, model: str, kind: str | None = None, **values: Any) -> int:
        if "default_for" in values and not isinstance(values["default_for"], str):
            values["default_for"] = json.dumps(sorted(set(values["default_for"])))
        values["updated_at"] = time.time()
        stmt = provider_configs.update().where(provider_configs.c.provider == provider, provider_configs.c.model == model)
        if kind:
            stmt = stmt.where(provider_configs.c.kind == kind)
        with self.engine.begin() as conn:
            changed = conn.execute(stmt.values(**values)).rowcount
        _catalogue_changed()
        return changed

    def register_model(self, spec: ModelSpec, *, default_for: Iterable[str] = ()) -> None:
        """Adds (or replaces) one model, e.g. a fine-tuned model being deployed."""
        self.seed_catalogue([spec])
        self.update_model(
            spec.provider,
            spec.model,
            spec.kind,
            tier=spec.tier,
            input_per_1m=spec.input_per_1m,
            output_per_1m=spec.output_per_1m,
            cached_input_per_1m=spec.cached_input_per_1m,
            quality=spec.quality,
            active=True,
            default_for=list(default_for),
            price_source=spec.price_source,
            price_date=spec.price_date,
        )


def _catalogue_updates(row: Any, spec: ModelSpec) -> dict[str, Any]:
    """What seeding changes in a model the ledger knows: its capabilities (what our code can do with it), and a
    cached-input price the row lacks (a ledger older than prompt-cache pricing) while its input price is still
    the catalogue's; prices a user set stay as they are."""
    changes: dict[str, Any] = {}
    if json.loads(row.capabilities or "[]") != list(spec.capabilities):
        changes["capabilities"] = json.dumps(list(spec.capabilities))
    if (row.cached_input_per_1m is None and spec.cached_input_per_1m is not None
            and abs(row.input_per_1m - spec.input_per_1m) < 1e-12):
        changes["cached_input_per_1m"] = spec.cached_input_per_1m
    return changes
