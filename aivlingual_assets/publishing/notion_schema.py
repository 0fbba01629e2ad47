"""The shape of the public vocabulary database in Notion, and checking it.

Notion API 2025-09-03 splits a *database* (the container with a URL) from its
*data sources* (the tables with a property schema).  We sync into one data
source; this module resolves a database id to it, checks that its properties
exist with the right types, and adds the missing ones in a single update —
never changing the type of an existing property, because that can destroy data
people typed in Notion.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlparse

from notion_client.errors import HTTPResponseError

if TYPE_CHECKING:  # pragma: no cover
    from aivlingual_assets.publishing.rate_limit import RateLimiter

__all__ = [
    "KEY_PROPERTY",
    "NotionAccessError",
    "NotionAuthError",
    "NotionSchemaError",
    "PROPERTY_SCHEMA",
    "PropertySpec",
    "RATING_PROPERTY",
    "REVIEW_DEFAULT",
    "REVIEW_OPTIONS",
    "REVIEW_PROPERTY",
    "SYNCED_PROPERTIES",
    "SchemaReport",
    "TITLE_PROPERTY",
    "access_error",
    "ensure_schema",
    "normalise_notion_id",
    "notion_url",
    "resolve_data_source_id",
]

NOTION_VERSION = "2025-09-03"

TITLE_PROPERTY = "Japanese"
KEY_PROPERTY = "Key"
REVIEW_PROPERTY = "Review"
RATING_PROPERTY = "Rating"
REVIEW_OPTIONS = ("Unreviewed", "Verified", "Rejected")
REVIEW_DEFAULT = "Unreviewed"


@dataclass(frozen=True)
class PropertySpec:
    """One property of the data source: its name, type, creation config, and owner."""

    name: str
    type: str
    synced: bool = True  # False: owned by people in Notion (review workflow), never overwritten
    config: Mapping[str, Any] = field(default_factory=dict)

    def create_payload(self) -> dict[str, Any]:
        """The ``properties`` entry that creates this property via data_sources.update."""
        return {self.type: dict(self.config)}


_REVIEW_COLOURS = {"Unreviewed": "gray", "Verified": "green", "Rejected": "red"}

PROPERTY_SCHEMA: Mapping[str, PropertySpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            PropertySpec(TITLE_PROPERTY, "title"),
            PropertySpec("Reading", "rich_text"),
            PropertySpec("English", "rich_text"),
            PropertySpec("Category", "select", config={"options": []}),
            PropertySpec("Level", "select", config={"options": []}),
            PropertySpec("Context", "rich_text"),
            PropertySpec("Source", "rich_text"),
            PropertySpec("Timestamp", "url"),
            PropertySpec("Tags", "multi_select", config={"options": []}),
            PropertySpec("Occurrences", "number", config={"format": "number"}),
            PropertySpec(KEY_PROPERTY, "rich_text"),
            PropertySpec(
                REVIEW_PROPERTY,
                "select",
                synced=False,
                config={"options": [{"name": n, "color": _REVIEW_COLOURS[n]} for n in REVIEW_OPTIONS]},
            ),
            PropertySpec(RATING_PROPERTY, "number", synced=False, config={"format": "number"}),
        )
    }
)

SYNCED_PROPERTIES: tuple[str, ...] = tuple(n for n, s in PROPERTY_SCHEMA.items() if s.synced)


# --------------------------------------------------------------------------- errors


class NotionAccessError(RuntimeError):
    """The integration cannot reach the database (bad token, not shared, wrong id)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class NotionAuthError(NotionAccessError):
    """Notion rejected the token (401) or the integration lacks permission (403)."""


class NotionSchemaError(RuntimeError):
    """The data source lacks properties we need, or has them with the wrong type."""

    def __init__(
        self,
        data_source_id: str,
        *,
        missing: tuple[str, ...] = (),
        wrong_type: Mapping[str, tuple[str, str]] | None = None,
        reason: str = "",
    ) -> None:
        self.data_source_id = data_source_id
        self.missing = tuple(missing)
        self.wrong_type = dict(wrong_type or {})
        parts = []
        if self.missing:
            parts.append(
                "missing properties: "
                + ", ".join(f"{n} ({PROPERTY_SCHEMA[n].type})" if n in PROPERTY_SCHEMA else n for n in self.missing)
            )
        if self.wrong_type:
            parts.append(
                "wrong type: "
                + ", ".join(f"{n} (expected {exp}, found {got})" for n, (exp, got) in self.wrong_type.items())
            )
        message = f"Notion data source {data_source_id}: " + "; ".join(parts or ["schema problem"])
        if reason:
            message += f" ({reason})"
        super().__init__(message)


_SHARE_HINT = (
    "check NOTION_TOKEN and share the database with the integration "
    "(database menu ... > Connections > add the integration)"
)


def access_error(exc: BaseException, what: str) -> NotionAccessError | None:
    """Translate a 401/403/404 from Notion into a clear, token-free error (None for anything else)."""
    if not isinstance(exc, HTTPResponseError):
        return None
    code = str(getattr(exc.code, "value", exc.code) or "")
    if exc.status == 401 or code == "unauthorized":
        return NotionAuthError(
            f"Notion rejected the integration token while accessing {what} (401 unauthorized): {_SHARE_HINT}.",
            status=exc.status,
            code=code,
        )
    if exc.status == 403 or code == "restricted_resource":
        return NotionAuthError(
            f"The Notion integration is not allowed to access {what} (403 {code or 'forbidden'}): "
            f"{_SHARE_HINT}, and give it read, update and insert content capabilities.",
            status=exc.status,
            code=code,
        )
    if exc.status == 404 or code == "object_not_found":
        return NotionAccessError(
            f"Notion could not find {what} (404): check NOTION_DATABASE_ID / NOTION_DATA_SOURCE_ID, "
            f"and {_SHARE_HINT}.",
            status=exc.status,
            code=code,
        )
    return None


# --------------------------------------------------------------------------- ids


_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def normalise_notion_id(value: str) -> str:
    """A dashed UUID from an id or a pasted Notion URL (people copy the browser address)."""
    text = (value or "").strip()
    if not text:
        raise ValueError("empty Notion id")
    if "://" in text or text.startswith(("www.notion.so", "notion.so")):
        parsed = urlparse(text if "://" in text else "https://" + text)
        text = parsed.path  # the id is the last 32-hex run of the path; ?v= is a view id
    candidates = _UUID.findall(text) or _HEX32.findall(text)
    if not candidates:
        raise ValueError("not a Notion id or URL (expected a 32-hex-digit id)")
    return str(uuid.UUID(candidates[-1].replace("-", "")))


def notion_url(object_id: str) -> str:
    """The browser link of a Notion page or database."""
    return "https://www.notion.so/" + object_id.replace("-", "")


def _call(limiter: RateLimiter | None, fn: Any, **kwargs: Any) -> Any:
    return limiter.call(fn, **kwargs) if limiter is not None else fn(**kwargs)


def resolve_data_source_id(
    client: Any,
    *,
    database_id: str | None = None,
    data_source_id: str | None = None,
    limiter: RateLimiter | None = None,
) -> str:
    """The data source to sync into: given directly, or the first one of the database."""
    if data_source_id:
        return normalise_notion_id(data_source_id)
    if not database_id:
        raise ValueError("set NOTION_DATABASE_ID or NOTION_DATA_SOURCE_ID")
    db_id = normalise_notion_id(database_id)
    try:
        database = _call(limiter, client.databases.retrieve, database_id=db_id)
    except Exception as exc:
        translated = access_error(exc, f"database {db_id}")
        if translated is not None:
            raise translated from None
        raise
    sources = database.get("data_sources") or []
    if not sources:
        raise NotionSchemaError(db_id, reason="the database has no data source")
    return str(sources[0]["id"])


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class SchemaReport:
    """What ensure_schema found and changed (safe to put in run metadata)."""

    data_source_id: str
    database_id: str | None
    database_url: str | None
    present: tuple[str, ...]
    added: tuple[str, ...] = ()
    renamed: Mapping[str, str] = field(default_factory=dict)
    extra: tuple[str, ...] = ()  # properties we do not manage (left alone)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.renamed)


@dataclass(frozen=True)
class _Diff:
    missing: tuple[str, ...]
    wrong_type: dict[str, tuple[str, str]]
    rename_title_from: str | None
    extra: tuple[str, ...]


def _diff(properties: Mapping[str, Any]) -> _Diff:
    types = {name: str(p.get("type", "")) for name, p in properties.items()}
    title_names = [n for n, t in types.items() if t == "title"]
    missing: list[str] = []
    wrong: dict[str, tuple[str, str]] = {}
    rename_from: str | None = None
    for name, spec in PROPERTY_SCHEMA.items():
        if name not in types:
            if spec.type == "title" and title_names:
                rename_from = title_names[0]  # a data source has exactly one title: rename it
            else:
                missing.append(name)
        elif types[name] != spec.type:
            wrong[name] = (spec.type, types[name])
    extra = tuple(n for n in types if n not in PROPERTY_SCHEMA and n != rename_from)
    return _Diff(tuple(missing), wrong, rename_from, extra)


def _database_of(data_source: Mapping[str, Any]) -> str | None:
    for key in ("parent", "database_parent"):
        parent = data_source.get(key) or {}
        if parent.get("type") == "database_id" and parent.get("database_id"):
            return str(parent["database_id"])
    return None


def ensure_schema(
    client: Any,
    data_source_id: str,
    *,
    add_missing: bool = True,
    limiter: RateLimiter | None = None,
) -> SchemaReport:
    """Check the data source's properties; add the missing ones in one update call.

    Raises NotionSchemaError naming the missing / wrongly typed properties when
    they cannot be fixed (wrong types are never changed; adding is off or refused).
    """
    what = f"data source {data_source_id}"
    try:
        data_source = _call(limiter, client.data_sources.retrieve, data_source_id=data_source_id)
    except Exception as exc:
        translated = access_error(exc, what)
        if translated is not None:
            raise translated from None
        raise
    properties = data_source.get("properties") or {}
    diff = _diff(properties)
    database_id = _database_of(data_source)
    database_url = notion_url(database_id) if database_id else None

    if diff.wrong_type:
        missing = diff.missing + ((TITLE_PROPERTY,) if diff.rename_title_from else ())
        raise NotionSchemaError(
            data_source_id,
            missing=missing,
            wrong_type=diff.wrong_type,
            reason="change these property types in Notion; the sync never changes an existing type",
        )
    if not diff.missing and not diff.rename_title_from:
        return SchemaReport(
            data_source_id, database_id, database_url, present=tuple(properties), extra=diff.extra
        )
    needed = diff.missing + ((TITLE_PROPERTY,) if diff.rename_title_from else ())
    if not add_missing:
        raise NotionSchemaError(data_source_id, missing=needed, reason="adding properties is disabled")

    update: dict[str, Any] = {name: PROPERTY_SCHEMA[name].create_payload() for name in diff.missing}
    renamed: dict[str, str] = {}
    if diff.rename_title_from:
        update[diff.rename_title_from] = {"name": TITLE_PROPERTY}
        renamed[diff.rename_title_from] = TITLE_PROPERTY
    try:
        updated = _call(limiter, client.data_sources.update, data_source_id=data_source_id, properties=update)
    except HTTPResponseError as exc:
        if exc.status == 401:
            raise access_error(exc, what) from None  # type: ignore[misc]
        code = str(getattr(exc.code, "value", exc.code) or exc.status)
        raise NotionSchemaError(
            data_source_id, missing=needed, reason=f"Notion refused to add them: {code}: {str(exc)[:300]}"
        ) from None
    after = _diff(updated.get("properties") or {})
    if after.missing or after.wrong_type or after.rename_title_from:
        raise NotionSchemaError(
            data_source_id,
            missing=after.missing + ((TITLE_PROPERTY,) if after.rename_title_from else ()),
            wrong_type=after.wrong_type,
            reason="still wrong after the update",
        )
    return SchemaReport(
        data_source_id,
        database_id,
        database_url,
        present=tuple((updated.get("properties") or {}).keys()),
        added=diff.missing,
        renamed=renamed,
        extra=after.extra,
    )
