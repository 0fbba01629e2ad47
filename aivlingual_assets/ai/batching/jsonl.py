"""The Batch API's file formats: the input lines we write and the output/error lines we read."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .store import RequestRow


def batch_line(row: RequestRow, endpoint: str) -> dict[str, Any]:
    """One request of an input file; its ``custom_id`` is the request's cache key."""
    return {"custom_id": row.cache_key, "method": "POST", "url": endpoint, "body": row.body}


def batch_file(rows: Iterable[RequestRow], endpoint: str) -> bytes:
    """The JSONL input file: one line per request, UTF-8."""
    return "".join(json.dumps(batch_line(r, endpoint), ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


@dataclass
class LineResult:
    """One line of an output or error file."""

    custom_id: str
    status_code: int | None  # None when the request was never run (batch_expired, ...)
    body: dict[str, Any] | None  # the chat completion (status 200) or the error body
    error: str | None  # why the line has no answer

    @property
    def answered(self) -> bool:
        return self.status_code == 200 and self.body is not None and self.error is None


def read_lines(text: str) -> Iterator[LineResult]:
    """The lines of an output or error file; a line that is not JSON is skipped (its request falls back)."""
    for raw in text.splitlines():
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            continue
        custom_id = line.get("custom_id")
        if not custom_id:
            continue
        response = line.get("response") or {}
        status = response.get("status_code")
        body = response.get("body")
        error = None
        if line.get("error"):
            error = _error_text(line["error"])
        elif status != 200:
            error = f"HTTP {status}: {_error_text((body or {}).get('error') or body)}"
        yield LineResult(custom_id, status, body if isinstance(body, dict) else None, error)


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message")
        return f"{code}: {message}" if code else str(message)
    return str(error)
