"""Publishing the stock to several Notion databases: each channel's own, and the service default.

A channel with its own ``notion_database`` gets its rows there, through its own Notion key when it
stored one (else the service's ``NOTION_TOKEN``); every other row goes to the service's database
(see ``channels.destinations``). Each database is synced on its own by :func:`sync_vocabulary`, so
the sync store's idempotency (key -> page, per data source) holds per database: a rerun writes
nothing, a row that moves to another database is archived in the old one and created in the new one.
Targets that resolve to the same data source are synced once, with their rows together. A channel's
own database none of whose rows is published any more (its Notion output switched off, its recordings
gone) is synced empty on purpose, so its pages are archived as they would be in a shared database.

A target that cannot be reached (access, schema, Notion failing) does not stop the others; the
errors are reported together after every other target was synced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..channels.destinations import Destination
from .notion_api import describe_error
from .notion_schema import NotionAccessError, NotionSchemaError, resolve_data_source_id
from .notion_sync import ARCHIVED, SyncReport, sync_vocabulary
from .rate_limit import LogLike
from .sync_store import SyncStore

SUMMED = ("created", "updated", "unchanged", "failed", "adopted", "archived", "restored")


@dataclass
class NotionTarget:
    """One database to publish to: ``label`` says whose it is (never the key)."""

    label: str
    database_id: str | None
    data_source_id: str | None
    token: str | None = field(repr=False)
    stock: pd.DataFrame = field(repr=False)
    emptied: bool = False  # a channel's own database that gets no row now: its recorded pages are archived

    def configured(self) -> bool:
        return bool(self.token and (self.database_id or self.data_source_id))


def notion_targets(stock: pd.DataFrame, destinations: Mapping[str | None, Destination], *,
                   service_database: str | None, service_data_source: str | None, service_token: str | None,
                   key_for: Callable[[str], str | None],
                   own_databases: Mapping[str, str] | None = None) -> list[NotionTarget]:
    """A target per destination: a channel's own database (its own key, else the service's), or the service's;
    then, emptied, the channels' own databases (``own_databases``: channel -> database) that get no row."""
    targets = []
    for value, destination in destinations.items():
        rows = stock.iloc[destination.rows]
        if value is None:
            targets.append(NotionTarget("service default", service_database, service_data_source, service_token, rows))
            continue
        owner = destination.owner
        token = (key_for(owner) if owner else None) or service_token
        targets.append(NotionTarget(destination.label(), value, None, token, rows))
    for channel, database in sorted((own_databases or {}).items()):
        if database not in destinations:
            targets.append(NotionTarget(f"channel {channel}", database, None, key_for(channel) or service_token,
                                        stock.iloc[0:0], emptied=True))
    return targets


@dataclass
class TargetsReport:
    synced: list[tuple[NotionTarget, SyncReport]] = field(default_factory=list)
    not_configured: list[NotionTarget] = field(default_factory=list)
    errors: list[tuple[NotionTarget, Exception]] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        return {name: sum(getattr(report, name) for _, report in self.synced) for name in SUMMED}

    def must_act(self) -> bool:
        """An error the user must fix (access, schema), not one a rerun may get past."""
        return any(isinstance(exc, (NotionAccessError, NotionSchemaError)) for _, exc in self.errors)

    def error_text(self) -> str:
        if len(self.errors) == 1 and not self.synced:
            return _message(self.errors[0][1])
        return "; ".join(f"{target.label}: {_message(exc)}" for target, exc in self.errors)

    def table(self) -> str:
        lines = ["| target | database | rows | created | updated | unchanged | archived | failed |",
                 "|---|---|---|---|---|---|---|---|"]
        for target, report in self.synced:
            lines.append(f"| {target.label} | {report.database_url or report.data_source_id} | {len(target.stock)} | "
                         f"{report.created} | {report.updated} | {report.unchanged} | {report.archived} | "
                         f"{report.failed} |")
        for target in self.not_configured:
            lines.append(f"| {target.label} | not sent: no Notion token or database | {len(target.stock)} | | | | | |")
        for target, exc in self.errors:
            lines.append(f"| {target.label} | failed: {type(exc).__name__} | {len(target.stock)} | | | | | |")
        return "\n".join(lines)


def _live_pages(store: SyncStore, data_source: str) -> bool:
    return any(record.content_hash != ARCHIVED for record in store.load(data_source).values())


def _message(exc: Exception) -> str:
    return str(exc) if isinstance(exc, (NotionAccessError, NotionSchemaError)) else describe_error(exc)


def sync_targets(targets: list[NotionTarget], *, client_for: Callable[[str], Any], store: SyncStore,
                 log: LogLike) -> TargetsReport:
    """Syncs every configured target (targets on one data source together); errors are collected per target."""
    report = TargetsReport()
    resolved: dict[str, tuple[NotionTarget, Any]] = {}
    for target in targets:
        if not target.configured():
            if not target.emptied:
                report.not_configured.append(target)
            continue
        client = client_for(str(target.token))
        try:
            data_source = resolve_data_source_id(client, database_id=target.database_id,
                                                 data_source_id=target.data_source_id)
        except Exception as exc:  # noqa: BLE001 - reported with the target, the others still go out
            if target.emptied:  # nothing to publish there: a database it cannot reach is only worth a warning
                log.warning(f"{target.label}: its Notion database could not be reached to archive its pages: "
                            f"{_message(exc)}")
            else:
                report.errors.append((target, exc))
            continue
        if target.emptied and (data_source in resolved or not _live_pages(store, data_source)):
            continue  # another target syncs it, or nothing recorded there is left to archive
        if data_source in resolved:  # a channel's own database that is also the service's: one sync
            first, first_client = resolved[data_source]
            merged = pd.concat([first.stock, target.stock]).drop_duplicates(subset="key", keep="first")
            resolved[data_source] = (NotionTarget(f"{first.label}, {target.label}", first.database_id,
                                                  first.data_source_id, first.token, merged), first_client)
        else:
            resolved[data_source] = (target, client)
    for data_source, (target, client) in resolved.items():
        try:
            synced = sync_vocabulary(target.stock, client=client, data_source_id=data_source, store=store, log=log,
                                     empty_on_purpose=target.emptied)
        except Exception as exc:  # noqa: BLE001 - as above
            report.errors.append((target, exc))
            continue
        report.synced.append((target, synced))
        if synced.failed:
            log.warning(f"{target.label}: {synced.failed} row(s) failed to sync; they are retried on the next run")
    return report
