"""The OpenAI Batch API of the fake provider server (mixed into :class:`ProviderServer`).

Endpoints (request kind ``openai.batches``): ``POST /v1/batches``, ``GET /v1/batches``,
``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``. The input file is uploaded with
``POST /v1/files`` (purpose ``batch``) and results are read with ``GET /v1/files/{id}/content``,
as for real.

A batch is created ``validating``. Its input file is checked as the real API does (JSON lines
with ``custom_id``, ``method`` POST, ``url`` equal to the batch's endpoint, a ``body``; unique
custom ids; one model): a bad file makes the batch ``failed`` with ``errors``. Then the test
moves it:

* ``server.set_batch_status(id, "in_progress")`` (or ``"finalizing"``, ``"cancelling"``);
* ``server.complete_batch(id)`` answers every line as ``POST /v1/chat/completions`` would (the
  ``openai.chat`` responders give the content), writes the ``output_file_id`` (status 200
  lines) and the ``error_file_id`` (lines that failed), status ``completed``;
* ``server.expire_batch(id, answered=0)`` answers the first ``answered`` lines and writes the
  rest to the error file with code ``batch_expired``, status ``expired``;
* ``server.fail_batch(id, message)``: status ``failed``, nothing answered;
* ``server.forget_batch(id)``: the batch is gone (``GET /v1/batches/{id}`` answers 404);
* ``server.set_batch_progression("in_progress", "completed")`` instead advances every batch one
  status per ``batches.retrieve`` (the last may be ``completed``, ``expired`` or ``failed``).

One line can be made to fail on its own: ``server.inject("openai.batch_line", Fault.status(500))``
(queued faults are consumed one per answered line, in file order; ``invalid_content`` gives the
line that content). Batch lines are not in ``server.requests`` (the batch requests are);
``server.batch_lines_answered`` counts them. ``server.batches()`` / ``get_batch(id)`` show the state.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

OPENAI_BATCHES = "openai.batches"
OPENAI_BATCH_LINE = "openai.batch_line"  # a fault kind only: one line of a batch being answered

BATCH_ENDPOINTS = ("/v1/chat/completions", "/v1/embeddings", "/v1/responses", "/v1/completions")
_FINAL = ("completed", "expired", "failed", "cancelled")


class BatchesMixin:
    """State, test controls and routes of the Batch API; ``ProviderServer`` inherits them."""

    def _init_batch_state(self) -> None:
        self._batches: dict[str, dict] = {}
        self._batch_lines: dict[str, list[dict]] = {}
        self._batch_progression: tuple[str, ...] | None = None
        self._batch_progress_index: dict[str, int] = {}
        self.batch_lines_answered = 0

    # ---- test controls -------------------------------------------------------------------------
    def batches(self) -> list[dict]:
        with self._lock:
            return [json.loads(json.dumps(b)) for b in self._batches.values()]

    def get_batch(self, batch_id: str) -> dict:
        with self._lock:
            return json.loads(json.dumps(self._batch(batch_id)))

    def set_batch_status(self, batch_id: str, status: str) -> dict:
        if status not in ("validating", "in_progress", "finalizing", "cancelling"):
            raise ValueError("use complete_batch()/expire_batch()/fail_batch() for final states, got " + repr(status))
        with self._lock:
            batch = self._batch(batch_id)
            batch["status"] = status
            batch[f"{status}_at"] = int(time.time())
            return json.loads(json.dumps(batch))

    def complete_batch(self, batch_id: str) -> dict:
        return self._finish_batch(batch_id, "completed", answered=None)

    def expire_batch(self, batch_id: str, answered: int = 0) -> dict:
        return self._finish_batch(batch_id, "expired", answered=answered)

    def fail_batch(self, batch_id: str, message: str = "The batch failed due to an internal error.",
                   code: str = "internal_error") -> dict:
        with self._lock:
            batch = self._batch(batch_id)
            batch.update(status="failed", failed_at=int(time.time()),
                         errors={"object": "list", "data": [{"code": code, "message": message, "param": None,
                                                             "line": None}]})
            return json.loads(json.dumps(batch))

    def forget_batch(self, batch_id: str) -> None:
        """The provider no longer knows the batch (``batches.retrieve`` answers 404)."""
        with self._lock:
            self._batches.pop(batch_id)
            self._batch_lines.pop(batch_id, None)

    def set_batch_progression(self, *statuses: str) -> None:
        """Advance every batch one status per ``batches.retrieve``; no arguments switches it off."""
        for status in statuses:
            if status not in ("validating", "in_progress", "finalizing", "completed", "expired", "failed"):
                raise ValueError(f"unknown batch status {status!r}")
        with self._lock:
            self._batch_progression = tuple(statuses) or None
            self._batch_progress_index = {}

    # ---- internals -----------------------------------------------------------------------------
    def _batch(self, batch_id: str) -> dict:
        try:
            return self._batches[batch_id]
        except KeyError:
            raise KeyError(f"no batch {batch_id!r}") from None

    def _finish_batch(self, batch_id: str, status: str, *, answered: int | None) -> dict:
        with self._lock:
            batch = self._batch(batch_id)
            if batch["status"] in _FINAL:
                raise ValueError(f"batch {batch_id} is already {batch['status']}")
            lines = self._batch_lines[batch_id]
        outputs: list[dict] = []
        errors: list[dict] = []
        for number, line in enumerate(lines):
            if answered is not None and number >= answered:
                errors.append({"id": self._new_id("batch_req_", 24), "custom_id": line["custom_id"], "response": None,
                               "error": {"code": "batch_expired", "message": "This request could not be executed "
                                         "before the completion window expired."}})
                continue
            status_code, body = self._answer_batch_line(line)
            row = {"id": self._new_id("batch_req_", 24), "custom_id": line["custom_id"],
                   "response": {"status_code": status_code, "request_id": self._new_id("req_", 24), "body": body},
                   "error": None}
            (outputs if status_code == 200 else errors).append(row)
        now = int(time.time())
        with self._lock:
            if outputs:
                batch["output_file_id"] = self._store_file(f"batch_{batch_id}_output.jsonl", "batch_output",
                                                           _jsonl(outputs))["id"]
            if errors:
                batch["error_file_id"] = self._store_file(f"batch_{batch_id}_error.jsonl", "batch_output",
                                                          _jsonl(errors))["id"]
            batch["request_counts"] = {"total": len(lines), "completed": len(outputs), "failed": len(errors)}
            batch.update(status=status, finalizing_at=now)
            batch[f"{status}_at"] = now
            return json.loads(json.dumps(batch))

    def _answer_batch_line(self, line: dict) -> tuple[int, dict]:
        """What ``POST /v1/chat/completions`` answers to the line's body (responders and line faults apply)."""
        from .provider_server import (
            OPENAI_CHAT,
            ProviderRequest,
            _ClientError,
            _parse_openai,
        )

        raw = json.dumps(line["body"]).encode()
        with self._lock:
            self._seq += 1
            seq = self._seq
            self.batch_lines_answered += 1
        req = ProviderRequest(seq=seq, protocol="openai", kind=OPENAI_CHAT, method="POST", path=line["url"],
                              query={}, headers={"content-type": "application/json"}, raw_body=raw,
                              body=line["body"])
        _parse_openai(req, line["body"])
        fault = self._take_fault(OPENAI_BATCH_LINE)
        override = None
        if fault is not None and fault.action == "invalid_content":
            override = fault.text or ""
        elif fault is not None:
            response = self._error(req, fault.status_code if fault.action == "status" else 500, fault.message)
            return response.status, json.loads(response.body)
        try:
            response = self._openai_chat(req, {}, override)
        except _ClientError as exc:
            response = self._error(req, exc.status, exc.message, param=exc.param, code=exc.code)
        return response.status, json.loads(response.body)

    def _advance_batch(self, batch_id: str) -> None:
        with self._lock:
            if self._batch_progression is None or self._batches[batch_id]["status"] in _FINAL:
                return
            index = self._batch_progress_index.get(batch_id, 0)
            if index >= len(self._batch_progression):
                return
            self._batch_progress_index[batch_id] = index + 1
            status = self._batch_progression[index]
        if status == "completed":
            self.complete_batch(batch_id)
        elif status == "expired":
            self.expire_batch(batch_id)
        elif status == "failed":
            self.fail_batch(batch_id)
        else:
            self.set_batch_status(batch_id, status)

    # ---- routes --------------------------------------------------------------------------------
    def _openai_batch_create(self, req: Any, params: dict, override: str | None) -> Any:
        from .provider_server import _ClientError, _dumps, _Response

        body = req.body or {}
        for name in ("input_file_id", "endpoint", "completion_window"):
            if not body.get(name):
                raise _ClientError(400, f"Missing required parameter: '{name}'.", param=name,
                                   code="missing_required_parameter")
        if body["endpoint"] not in BATCH_ENDPOINTS:
            raise _ClientError(400, f"Invalid value: '{body['endpoint']}'. Supported values are: "
                               + ", ".join(f"'{e}'" for e in BATCH_ENDPOINTS) + ".", param="endpoint")
        if body["completion_window"] != "24h":
            raise _ClientError(400, "Invalid value for 'completion_window': only '24h' is supported.",
                               param="completion_window")
        with self._lock:
            file_obj = self._files.get(body["input_file_id"])
            data = self._file_data.get(body["input_file_id"], b"")
        if file_obj is None:
            raise _ClientError(404, f"No such File object: {body['input_file_id']}", param="input_file_id")
        if file_obj["purpose"] != "batch":
            raise _ClientError(400, "The input file must be uploaded with purpose 'batch'.", param="input_file_id")
        lines, problems = _read_input(data, body["endpoint"])
        now = int(time.time())
        batch = {
            "id": self._new_id("batch_", 24), "object": "batch", "endpoint": body["endpoint"], "errors": None,
            "input_file_id": body["input_file_id"], "completion_window": "24h", "status": "validating",
            "output_file_id": None, "error_file_id": None, "created_at": now, "in_progress_at": None,
            "expires_at": now + 24 * 3600, "finalizing_at": None, "completed_at": None, "failed_at": None,
            "expired_at": None, "cancelling_at": None, "cancelled_at": None,
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            "metadata": body.get("metadata") or None,
        }
        if problems:
            batch.update(status="failed", failed_at=now, errors={"object": "list", "data": problems})
        with self._lock:
            self._batches[batch["id"]] = batch
            self._batch_lines[batch["id"]] = lines
        return _Response(200, _dumps(batch))

    def _openai_batch_list(self, req: Any, params: dict, override: str | None) -> Any:
        from .provider_server import _cursor_page, _dumps, _Response

        with self._lock:
            items = [json.loads(json.dumps(b)) for b in reversed(list(self._batches.values()))]  # newest first
        return _Response(200, _dumps(_cursor_page(items, req.query)))

    def _openai_batch_get(self, req: Any, params: dict, override: str | None) -> Any:
        from .provider_server import _ClientError, _dumps, _Response

        batch_id = params["batch_id"]
        with self._lock:
            known = batch_id in self._batches
        if not known:
            raise _ClientError(404, f"No batch found with id '{batch_id}'.", param="batch_id")
        self._advance_batch(batch_id)
        return _Response(200, _dumps(self.get_batch(batch_id)))

    def _openai_batch_cancel(self, req: Any, params: dict, override: str | None) -> Any:
        from .provider_server import _ClientError, _dumps, _Response

        with self._lock:
            batch = self._batches.get(params["batch_id"])
            if batch is None:
                raise _ClientError(404, f"No batch found with id '{params['batch_id']}'.", param="batch_id")
            if batch["status"] not in _FINAL:
                now = int(time.time())
                batch.update(status="cancelled", cancelling_at=now, cancelled_at=now)
            snapshot = json.loads(json.dumps(batch))
        return _Response(200, _dumps(snapshot))


def _read_input(data: bytes, endpoint: str) -> tuple[list[dict], list[dict]]:
    """The input file's lines and, as the real API reports them, what is wrong with it."""
    problems: list[dict] = []
    lines: list[dict] = []
    seen: set[str] = set()
    models: set[str] = set()

    def problem(number: int, code: str, message: str) -> None:
        problems.append({"code": code, "line": number, "message": message, "param": None})

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [], [{"code": "invalid_json_line", "line": 1, "message": "The file is not UTF-8.", "param": None}]
    for number, raw in enumerate((t for t in text.splitlines() if t.strip()), 1):
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            problem(number, "invalid_json_line", "This line is not parseable as valid JSON.")
            continue
        if not isinstance(line, dict) or not isinstance(line.get("body"), dict) or not line.get("custom_id"):
            problem(number, "missing_required_parameter", "Each line needs custom_id, method, url and body.")
            continue
        if line.get("method") != "POST":
            problem(number, "invalid_method", "The method must be POST.")
        if line.get("url") != endpoint:
            problem(number, "mismatched_endpoint", f"The url must be the batch's endpoint {endpoint}.")
        if line["custom_id"] in seen:
            problem(number, "duplicate_custom_id", f"The custom_id '{line['custom_id']}' is not unique.")
        seen.add(line["custom_id"])
        models.add(str(line["body"].get("model")))
        lines.append(line)
    if len(models) > 1:
        problem(len(lines), "mismatched_model", "All requests of a batch must use the same model.")
    if not lines and not problems:
        problem(1, "empty_file", "The input file is empty.")
    return lines, problems


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def batch_routes(server_cls: Any) -> list[tuple[str, re.Pattern[str], str, Any]]:
    """The Batch API's entries for the server's OpenAI route table."""
    return [
        ("POST", re.compile(r"^/batches$"), OPENAI_BATCHES, server_cls._openai_batch_create),
        ("GET", re.compile(r"^/batches$"), OPENAI_BATCHES, server_cls._openai_batch_list),
        ("GET", re.compile(r"^/batches/(?P<batch_id>[^/]+)$"), OPENAI_BATCHES, server_cls._openai_batch_get),
        ("POST", re.compile(r"^/batches/(?P<batch_id>[^/]+)/cancel$"), OPENAI_BATCHES,
         server_cls._openai_batch_cancel),
    ]
