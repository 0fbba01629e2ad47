"""Talking to Notion: the client, token-free error descriptions, and finding pages by Key.

Looking up pages for keys without a local record is a hybrid, chosen for cost: a few keys
(the daily case: new expressions) are looked up with ``or`` filters on Key, 20 keys per query,
so cost follows the number of new rows; many keys (first sync, lost store) use one paginated
scan of the data source (100 pages per request), so cost follows the database size instead of
thousands of queries.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Sequence

import httpx
from notion_client import Client
from notion_client.constants import DEFAULT_BASE_URL
from notion_client.errors import HTTPResponseError

from aivlingual_assets.publishing.notion_payload import page_key
from aivlingual_assets.publishing.notion_schema import KEY_PROPERTY, NOTION_VERSION
from aivlingual_assets.publishing.rate_limit import RateLimiter

__all__ = [
    "LOOKUP_BATCH",
    "SCAN_THRESHOLD",
    "RedactingClient",
    "client_secret",
    "describe_error",
    "find_pages_by_key",
    "is_gone",
    "make_client",
    "query_all_pages",
    "redact",
    "redact_error",
]


class RedactingClient(Client):
    """A notion-client whose errors never carry the integration token.

    A server (or proxy) may repeat the Authorization header in an error message or body; the
    error then travels into logs, run storage, compute logs and the CLI's output.  Every error
    built from a response is redacted here, where it is created, so no caller has to remember.
    """

    def _parse_response(self, response: Any) -> Any:
        try:
            return super()._parse_response(response)
        except HTTPResponseError as exc:
            raise redact_error(exc, client_secret(self)) from None


def redact_error(exc: HTTPResponseError, secret: str | None) -> HTTPResponseError:
    """``exc`` with ``secret`` removed from its message, raw body, extra data and headers (in place)."""
    if not secret:
        return exc
    exc.args = tuple(redact(a, secret) if isinstance(a, str) else a for a in exc.args)
    exc.body = redact(exc.body or "", secret)
    if exc.additional_data is not None:
        exc.additional_data = json.loads(redact(json.dumps(exc.additional_data, ensure_ascii=False), secret))
    if exc.headers is not None:
        exc.headers = httpx.Headers([(k, redact(v, secret)) for k, v in exc.headers.items()])
    return exc


def make_client(token: str, *, base_url: str | None = None, timeout_ms: int = 30_000) -> Client:
    """A notion-client pinned to API 2025-09-03, with its own retries off (RateLimiter retries).

    Its errors are redacted (:class:`RedactingClient`): the token never appears in them.
    """
    if not token:
        raise ValueError("a Notion token is required (NOTION_TOKEN); use preview_rows() without one")
    return RedactingClient(
        auth=token,
        base_url=(base_url or DEFAULT_BASE_URL).rstrip("/"),
        notion_version=NOTION_VERSION,
        retry=False,
        timeout_ms=timeout_ms,
        logger=logging.getLogger("aivlingual.notion_client"),
        log_level=logging.ERROR,
    )


def client_secret(client: Any) -> str | None:
    auth = getattr(getattr(client, "options", None), "auth", None)
    return auth if isinstance(auth, str) and len(auth) >= 4 else None


def redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def describe_error(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    prefix = f"{type(exc).__name__}" + (f" {status}" if status else "")
    return f"{prefix}: {exc}"[:1000]


LOOKUP_BATCH = 20  # keys per `or` filter
SCAN_THRESHOLD = 60  # more unknown keys than this: scan the whole data source instead


def query_all_pages(client: Any, limiter: RateLimiter, data_source_id: str, filter_: dict | None) -> list[dict]:
    """Every page of a data source matching ``filter_`` (all of them when None), following cursors."""
    pages: list[dict] = []
    cursor: str | None = None
    while True:
        kwargs: dict[str, Any] = {"data_source_id": data_source_id, "page_size": 100}
        if filter_ is not None:
            kwargs["filter"] = filter_
        if cursor:
            kwargs["start_cursor"] = cursor
        response = limiter.call(client.data_sources.query, **kwargs)
        pages.extend(r for r in response.get("results", []) if r.get("object") == "page")
        cursor = response.get("next_cursor")
        if not response.get("has_more") or not cursor:
            return pages


def find_pages_by_key(
    client: Any, data_source_id: str, keys: Sequence[str], *, limiter: RateLimiter
) -> dict[str, list[dict]]:
    """Existing (non-trashed) pages per Key, oldest first; see the module docstring for the strategy."""
    wanted = set(keys)
    if not wanted:
        return {}
    if len(wanted) > SCAN_THRESHOLD:
        pages = query_all_pages(client, limiter, data_source_id, None)
    else:
        ordered = sorted(wanted)
        pages = []
        for start in range(0, len(ordered), LOOKUP_BATCH):
            batch = ordered[start : start + LOOKUP_BATCH]
            conditions = [{"property": KEY_PROPERTY, "rich_text": {"equals": k}} for k in batch]
            filter_ = conditions[0] if len(conditions) == 1 else {"or": conditions}
            pages.extend(query_all_pages(client, limiter, data_source_id, filter_))
    found: dict[str, list[dict]] = {}
    seen: set[str] = set()
    for page in pages:
        if page.get("in_trash") or page.get("archived") or page.get("id") in seen:
            continue
        key = page_key(page)
        if key in wanted:  # `equals` may be looser than exact; we compare exactly here
            seen.add(page["id"])
            found.setdefault(key, []).append(page)
    for group in found.values():
        group.sort(key=lambda p: (p.get("created_time") or "", p.get("id") or ""))
    return found



def is_gone(exc: BaseException) -> bool:
    """The recorded page was deleted or trashed in Notion."""
    if not isinstance(exc, HTTPResponseError):
        return False
    code = str(getattr(exc.code, "value", exc.code) or "")
    return exc.status == 404 or code == "object_not_found" or (
        exc.status == 400 and "archived" in str(exc).lower()
    )

