"""One vocabulary stock row as the exact Notion ``properties`` payload, and comparing pages with it.

The payload only holds the properties the sync owns (Review / Rating belong to people in
Notion); its content hash is what "unchanged" means; a page fetched from Notion is compared
with a payload by what a reader sees.  :func:`preview_rows` shows what a sync would send.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Iterable, Mapping
from urllib.parse import urlparse

import pandas as pd

from aivlingual_assets.publishing.notion_schema import KEY_PROPERTY, SYNCED_PROPERTIES, TITLE_PROPERTY
from aivlingual_assets.publishing.notion_text import (
    URL_LIMIT,
    clean_option_name,
    clean_text,
    has_forbidden_characters,
    is_missing,
    split_rich_text,
    truncate_text,
    utf16_len,
)

__all__ = [
    "MAX_KEY_CHARS",
    "MAX_MULTI_SELECT",
    "MAX_REQUEST_BYTES",
    "PREVIEW_COLUMNS",
    "PayloadTooLargeError",
    "REQUIRED_COLUMNS",
    "TEXT_BUDGETS",
    "build_properties",
    "check_columns",
    "check_size",
    "content_hash",
    "normalise_value",
    "page_key",
    "page_matches",
    "payload_bytes",
    "preview_rows",
    "row_key",
]

MAX_MULTI_SELECT = 100
MAX_REQUEST_BYTES = 256_000  # well below Notion's 500 KB
MAX_KEY_CHARS = 512

# per-property text budgets (UTF-16 units): generous for real data, and six of them at
# 3 bytes per unit stay far below MAX_REQUEST_BYTES
TEXT_BUDGETS: Mapping[str, int] = {
    TITLE_PROPERTY: 2000,
    "Reading": 2000,
    "English": 6000,
    "Context": 6000,
    "Source": 4000,
}

REQUIRED_COLUMNS = ("key", "expression")


class PayloadTooLargeError(ValueError):
    """A page payload would exceed our request-size budget."""


def check_columns(stock: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in stock.columns]
    if missing:
        raise ValueError(f"vocabulary stock lacks columns: {', '.join(missing)}")


def row_key(row: Mapping[str, Any], position: int) -> str:
    """The row's key as text (a placeholder naming its position when it has none)."""
    raw = row.get("key")
    return f"<row {position}>" if is_missing(raw) else str(raw)


# ----------------------------------------------------------------------------- row values


def _get(row: Any, column: str) -> Any:
    try:
        return row.get(column)
    except AttributeError:
        return getattr(row, column, None)


def _plain(value: Any) -> str:
    """A scalar cell as text (3.0 → "3": levels and counts arrive as floats after NaN)."""
    if is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(value)


def _occurrences(value: Any) -> list[dict[str, Any]]:
    if is_missing(value):
        return []
    if isinstance(value, (str, bytes)):
        if not value.strip():
            return []
        try:
            items = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"occurrences is not valid JSON ({exc.msg})") from None
    else:
        items = value.tolist() if hasattr(value, "tolist") else value
    if not isinstance(items, (list, tuple)):
        raise ValueError("occurrences must be a JSON list")
    return [item for item in items if isinstance(item, Mapping)]


def _http_url(value: Any) -> str | None:
    text = clean_text(value)
    if not text or utf16_len(text) > URL_LIMIT:
        return None
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return None
    return text


def _count(value: Any, fallback: int) -> int:
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        return fallback
    try:
        number = float(value)
    except (TypeError, ValueError):
        return fallback
    return int(number) if math.isfinite(number) else fallback


def _rich(text: str, budget: int) -> list[dict[str, Any]]:
    return split_rich_text(truncate_text(text, budget))


def _select(name: str) -> dict[str, str] | None:
    return {"name": name} if name else None


def build_properties(row: Mapping[str, Any] | pd.Series) -> dict[str, Any]:
    """The exact Notion ``properties`` payload for one stock row (sync-owned properties only).

    Review / Rating are not included: people own them in Notion.
    """
    key = _get(row, "key")
    key = "" if is_missing(key) else str(key)
    if not key.strip():
        raise ValueError("row has no key")
    if len(key) > MAX_KEY_CHARS or has_forbidden_characters(key):
        raise ValueError(f"key must be ≤ {MAX_KEY_CHARS} printable characters")
    expression = clean_text(_get(row, "expression"))
    if not expression:
        raise ValueError("row has no expression")

    occurrences = _occurrences(_get(row, "occurrences"))
    titles = list(dict.fromkeys(t for t in (clean_text(o.get("recording_title")) for o in occurrences) if t))
    first_url = next((u for u in (_http_url(o.get("url")) for o in occurrences) if u), None)
    category = clean_option_name(_plain(_get(row, "category")))
    level = clean_option_name(_plain(_get(row, "level")))
    theme = clean_option_name(_plain(_get(row, "theme")))
    tags = list(dict.fromkeys(t for t in (theme, category) if t))[:MAX_MULTI_SELECT]

    return {
        TITLE_PROPERTY: {"title": _rich(expression, TEXT_BUDGETS[TITLE_PROPERTY])},
        "Reading": {"rich_text": _rich(clean_text(_get(row, "reading")), TEXT_BUDGETS["Reading"])},
        "English": {"rich_text": _rich(clean_text(_get(row, "meaning")), TEXT_BUDGETS["English"])},
        "Category": {"select": _select(category)},
        "Level": {"select": _select(level)},
        "Context": {"rich_text": _rich(clean_text(_get(row, "example")), TEXT_BUDGETS["Context"])},
        "Source": {"rich_text": _rich("\n".join(titles), TEXT_BUDGETS["Source"])},
        "Timestamp": {"url": first_url},
        "Tags": {"multi_select": [{"name": t} for t in tags]},
        "Occurrences": {"number": _count(_get(row, "count"), len(occurrences))},
        KEY_PROPERTY: {"rich_text": split_rich_text(key)},
    }


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(properties: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a properties payload (what "unchanged" means)."""
    return hashlib.sha256(_canonical_json(properties).encode("utf-8")).hexdigest()


def payload_bytes(body: Mapping[str, Any]) -> int:
    """Request body size as httpx sends it (compact JSON, UTF-8)."""
    return len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def check_size(body: Mapping[str, Any]) -> None:
    size = payload_bytes(body)
    if size > MAX_REQUEST_BYTES:
        raise PayloadTooLargeError(f"page payload is {size} bytes (limit {MAX_REQUEST_BYTES})")



# ----------------------------------------------------------------------------- comparing pages


def text_of(items: Iterable[Mapping[str, Any]] | None) -> str:
    parts = []
    for item in items or []:
        text = item.get("plain_text")
        if text is None:
            text = (item.get("text") or {}).get("content", "")
        parts.append(text)
    return "".join(parts)


def normalise_value(value: Mapping[str, Any] | None) -> Any:
    """A property value (request or response form) reduced to what a reader sees."""
    if not value:
        return None
    kind = value.get("type") or next((k for k in value if k in _VALUE_KINDS), None)
    raw = value.get(kind) if kind else None
    if kind in ("title", "rich_text"):
        return text_of(raw)
    if kind == "select":
        return (raw or {}).get("name") or None
    if kind == "multi_select":
        return [item.get("name") for item in raw or []]
    if kind == "number":
        return None if raw is None else float(raw)
    if kind == "url":
        return raw or None
    return raw


_VALUE_KINDS = ("title", "rich_text", "select", "multi_select", "number", "url")


def page_matches(page: Mapping[str, Any], properties: Mapping[str, Any]) -> bool:
    """True if the page already shows exactly these property values."""
    current = page.get("properties") or {}
    return all(normalise_value(current.get(name)) == normalise_value(value) for name, value in properties.items())


def page_key(page: Mapping[str, Any]) -> str:
    return text_of(((page.get("properties") or {}).get(KEY_PROPERTY) or {}).get("rich_text"))


# ----------------------------------------------------------------------------- preview

PREVIEW_COLUMNS = ("key", *SYNCED_PROPERTIES, "content_hash", "payload_bytes", "error")


def _display(value: Mapping[str, Any]) -> Any:
    normalised = normalise_value(value)
    if isinstance(normalised, list):
        return ", ".join(str(v) for v in normalised)
    if isinstance(normalised, float) and normalised.is_integer():
        return int(normalised)
    return normalised


def preview_rows(stock: pd.DataFrame) -> pd.DataFrame:
    """What a sync would send, one row per expression (used when no Notion token is set)."""
    check_columns(stock)
    rows: list[dict[str, Any]] = []
    for position, row in enumerate(stock.to_dict("records")):
        out: dict[str, Any] = {c: None for c in PREVIEW_COLUMNS}
        out["key"] = row_key(row, position)
        try:
            properties = build_properties(row)
            body = {"properties": properties}
            check_size(body)
        except ValueError as exc:
            out["error"] = str(exc)
            rows.append(out)
            continue
        for name in SYNCED_PROPERTIES:
            out[name] = _display(properties[name])
        out["content_hash"] = content_hash(properties)
        out["payload_bytes"] = payload_bytes(body)
        rows.append(out)
    frame = pd.DataFrame(rows, columns=list(PREVIEW_COLUMNS))
    frame["Occurrences"] = frame["Occurrences"].astype("Int64")
    frame["payload_bytes"] = frame["payload_bytes"].astype("Int64")
    return frame

