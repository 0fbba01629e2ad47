"""A local stand-in for Notion's REST API (version 2025-09-03), for tests.

It speaks enough of the real wire protocol that the *real* notion-client can be
pointed at it through ``base_url``: databases with data sources, data source
schema retrieve / update, paginated filtered queries, page create / retrieve /
update, Notion's error JSON, header checks (Notion-Version, Bearer token) and
Notion's payload limits.  Pages live in memory.  Requests are counted per
endpoint, and faults can be injected (429 with Retry-After, 5xx, dropped
connections after N creates) to test retrying and idempotency.

    with FakeNotionServer() as server:
        client = notion_client.Client(auth=server.token, base_url=server.url)
        ...
        assert server.count("POST /v1/pages") == 3
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable, Mapping

__all__ = ["FakeNotionServer", "NotionFault"]

NOTION_VERSION = "2025-09-03"
TEXT_CONTENT_LIMIT = 2000
RICH_TEXT_ARRAY_LIMIT = 100
OPTION_NAME_LIMIT = 100
MULTI_SELECT_LIMIT = 100
URL_LIMIT = 2000
PAGE_SIZE_LIMIT = 100
BODY_LIMIT = 500 * 1000
COMPOUND_LIMIT = 100

_TEXT_TYPES = ("title", "rich_text")
_PROPERTY_TYPES = {
    "title",
    "rich_text",
    "number",
    "select",
    "multi_select",
    "status",
    "date",
    "url",
    "email",
    "phone_number",
    "checkbox",
    "people",
    "files",
    "relation",
    "formula",
    "rollup",
    "created_time",
    "last_edited_time",
}


def _js_len(text: str) -> int:
    """String length as JavaScript (and so Notion) counts it: UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class NotionFault(Exception):
    """An error response in Notion's format (raised inside handlers)."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def _validation(message: str) -> NotionFault:
    return NotionFault(400, "validation_error", message)


def _not_found(kind: str, object_id: str) -> NotionFault:
    return NotionFault(
        404,
        "object_not_found",
        f"Could not find {kind} with ID: {object_id}. "
        "Make sure the relevant pages and databases are shared with your integration.",
    )


@dataclass
class _Injected:
    remaining: int
    status: int
    code: str
    message: str
    route: str | None
    headers: dict[str, str]


@dataclass
class _CrashAfter:
    creates_left: int
    commit: bool
    times: int | None  # None: every create after the threshold fails


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"^/v1/databases/(?P<id>[^/]+)$"), "GET /v1/databases/{id}"),
    ("GET", re.compile(r"^/v1/data_sources/(?P<id>[^/]+)$"), "GET /v1/data_sources/{id}"),
    ("PATCH", re.compile(r"^/v1/data_sources/(?P<id>[^/]+)$"), "PATCH /v1/data_sources/{id}"),
    ("POST", re.compile(r"^/v1/data_sources/(?P<id>[^/]+)/query$"), "POST /v1/data_sources/{id}/query"),
    ("POST", re.compile(r"^/v1/pages$"), "POST /v1/pages"),
    ("GET", re.compile(r"^/v1/pages/(?P<id>[^/]+)$"), "GET /v1/pages/{id}"),
    ("PATCH", re.compile(r"^/v1/pages/(?P<id>[^/]+)$"), "PATCH /v1/pages/{id}"),
]

PAGE_WRITES = ("POST /v1/pages", "PATCH /v1/pages/{id}")


class FakeNotionServer:
    """In-memory Notion API on 127.0.0.1 (random port); use as a context manager."""

    def __init__(
        self,
        *,
        token: str = "secret_fake_notion_token_0123456789",
        notion_version: str = NOTION_VERSION,
        properties: Mapping[str, str | Mapping[str, Any]] | None = None,
        database_title: str = "AIVlingual vocabulary",
        allow_schema_changes: bool = True,
        echo_token: bool = False,
    ) -> None:
        self.token = token
        # a careless server: every error message repeats the Authorization header it was sent
        self.echo_token = echo_token
        self.notion_version = notion_version
        self.allow_schema_changes = allow_schema_changes
        self.database_id = str(uuid.uuid4())
        self.data_source_id = str(uuid.uuid4())
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._clock = datetime.now(timezone.utc).replace(microsecond=0)
        self._databases: dict[str, dict[str, Any]] = {}
        self._data_sources: dict[str, dict[str, Any]] = {}
        self._pages: dict[str, dict[str, Any]] = {}
        self._faults: list[_Injected] = []
        self._crash: _CrashAfter | None = None
        self.requests: Counter[str] = Counter()
        self.responses: Counter[tuple[str, int]] = Counter()
        self.max_body_seen = 0
        self.dropped = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

        self._caller = threading.local()  # the token of the request being handled
        self.seen: Counter[tuple[str, str]] = Counter()  # (database id, token) of every request that reached it
        self._new_database(self.database_id, self.data_source_id, database_title, properties, token=None)

    def add_database(self, title: str = "Channel vocabulary", *, token: str | None = None,
                     properties: Mapping[str, str | Mapping[str, Any]] | None = None) -> tuple[str, str]:
        """Another database (and its data source), shared only with the integration of ``token`` (None: the
        server's ``token``); returns (database id, data source id). Other tokens get Notion's 404 for it."""
        database_id, data_source_id = str(uuid.uuid4()), str(uuid.uuid4())
        with self._lock:
            self._new_database(database_id, data_source_id, title, properties, token=token)
        return database_id, data_source_id

    def tokens_seen(self, database_id: str | None = None) -> set[str]:
        """The tokens of the requests that reached a database (its data source and pages included)."""
        with self._lock:
            return {token for (db, token) in self.seen if db == (database_id or self.database_id)}

    def _new_database(self, database_id: str, data_source_id: str, title: str,
                      properties: Mapping[str, str | Mapping[str, Any]] | None, *, token: str | None) -> None:
        schema = properties if properties is not None else {"Name": "title"}
        self._databases[database_id] = {
            "id": database_id,
            "title": title,
            "data_sources": [data_source_id],
            "created_time": self._now(),
            "token": token,
        }
        self._data_sources[data_source_id] = {
            "id": data_source_id,
            "database_id": database_id,
            "title": title,
            "properties": {},
            "created_time": self._now(),
            "last_edited_time": self._now(),
        }
        for name, spec in schema.items():
            if isinstance(spec, str):
                spec = {spec: {}}
            self._add_property(self._data_sources[data_source_id], name, dict(spec))

    def _shared_with_caller(self, database_id: str) -> bool:
        """Whether the request's token may see the database (as Notion: only if shared with its integration)."""
        database = self._databases[database_id]
        token = getattr(self._caller, "token", None)
        if token != (database["token"] or self.token):
            return False
        with self._lock:
            self.seen[(database_id, token)] += 1
        return True

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "FakeNotionServer":
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-notion", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "FakeNotionServer":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("server not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ------------------------------------------------------------------ faults & counters

    def inject_429(self, n: int, retry_after: float | int | None = 1, *, route: str | None = None) -> None:
        """The next ``n`` requests (optionally only to ``route``) get 429 rate_limited."""
        headers = {} if retry_after is None else {"Retry-After": _header_number(retry_after)}
        with self._lock:
            self._faults.append(
                _Injected(n, 429, "rate_limited", "You have been rate limited. Please try again in a few minutes.", route, headers)
            )

    def inject_500(self, n: int, *, status: int = 500, route: str | None = None) -> None:
        """The next ``n`` requests (optionally only to ``route``) fail with a 5xx."""
        code = {503: "service_unavailable", 504: "gateway_timeout"}.get(status, "internal_server_error")
        self.inject_error(n, status, code, "Unexpected error occurred.", route=route)

    def inject_error(
        self,
        n: int,
        status: int,
        code: str,
        message: str = "Injected error.",
        *,
        route: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """The next ``n`` requests (optionally only to ``route``) get this Notion error."""
        with self._lock:
            self._faults.append(_Injected(n, status, code, message, route, dict(headers or {})))

    def fail_after(self, n_creates: int, *, commit: bool = False, times: int | None = None) -> None:
        """After ``n_creates`` more successful page creates, drop the connection on creates.

        ``commit=True`` stores the page before dropping (the response is lost, the write
        is not: the nastiest case for idempotency).  ``times`` limits how many creates
        fail; None means all of them until :meth:`clear_faults`.
        """
        with self._lock:
            self._crash = _CrashAfter(n_creates, commit, times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._crash = None

    def count(self, route: str | None = None) -> int:
        """Requests received for one route template (e.g. "POST /v1/pages"), or in total."""
        with self._lock:
            return sum(self.requests.values()) if route is None else self.requests[route]

    def page_writes(self) -> int:
        return sum(self.count(r) for r in PAGE_WRITES)

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.responses.clear()
            self.dropped = 0

    # ------------------------------------------------------------------ inspection helpers

    def pages(self, *, include_trashed: bool = False) -> list[dict[str, Any]]:
        """Copies of the stored page objects (as the API returns them), oldest first."""
        with self._lock:
            return [copy.deepcopy(p) for p in self._pages.values() if include_trashed or not p["in_trash"]]

    def page(self, page_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._pages[self._norm_id(page_id, "page")])

    def values(self, page_id: str) -> dict[str, Any]:
        """A page's properties as plain Python values (text, option names, numbers)."""
        with self._lock:
            page = self._pages[self._norm_id(page_id, "page")]
            return {name: simple_value(prop) for name, prop in page["properties"].items()}

    def keys(self, key_property: str = "Key") -> list[str]:
        """The Key of every live page (duplicates show up as repeated entries)."""
        return [simple_value(p["properties"].get(key_property, {"type": "rich_text", "rich_text": []})) for p in self.pages()]

    def properties(self, data_source_id: str | None = None) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._data_sources[data_source_id or self.data_source_id]["properties"])

    def set_property(self, page_id: str, name: str, value: Any) -> None:
        """Edit a page as a person in Notion would (plain value, or a raw API property value)."""
        with self._lock:
            page = self._pages[self._norm_id(page_id, "page")]
            source = self._data_sources[page["parent"]["data_source_id"]]
            prop = source["properties"].get(name)
            if prop is None:
                raise KeyError(f"no property {name!r}")
            raw = value if isinstance(value, Mapping) and prop["type"] in value else _raw_value(prop["type"], value)
            page["properties"][name] = self._property_value(source, name, prop, raw)
            page["last_edited_time"] = self._now()

    def add_page(self, values: Mapping[str, Any], *, data_source_id: str | None = None) -> str:
        """Create a page directly (as if a person had made it); returns its id."""
        with self._lock:
            source = self._data_sources[data_source_id or self.data_source_id]
            raw = {}
            for name, value in values.items():
                prop = source["properties"][name]
                raw[name] = value if isinstance(value, Mapping) and prop["type"] in value else _raw_value(prop["type"], value)
            return self._create_page(source, raw)["id"]

    def trash_page(self, page_id: str) -> None:
        with self._lock:
            page = self._pages[self._norm_id(page_id, "page")]
            page["in_trash"] = page["archived"] = True

    # ------------------------------------------------------------------ request handling

    def _now(self) -> str:
        with self._lock:
            self._clock += timedelta(milliseconds=1)
            return self._clock.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _norm_id(self, raw: str, kind: str) -> str:
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            raise _validation(f"path failed validation: path.{kind}_id should be a valid uuid, instead was `\"{raw}\"`.") from None

    def handle(self, method: str, path: str, headers: Mapping[str, str], raw_body: bytes) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        """Answer one request: (status, JSON body, extra headers), or None to drop the connection."""
        path = path.split("?", 1)[0]
        route, params = self._route(method, path)
        with self._lock:
            self.requests[route] += 1
            self.max_body_seen = max(self.max_body_seen, len(raw_body))
        try:
            self._check_headers(headers)
            self._maybe_fault(route)
            if len(raw_body) > BODY_LIMIT:
                raise NotionFault(413, "validation_error", f"Request body too large: {len(raw_body)} bytes (limit {BODY_LIMIT}).")
            body = self._parse_body(raw_body)
            if route == "POST /v1/pages":
                with self._lock:
                    crash = self._crash
                    if crash is not None and crash.creates_left <= 0 and (crash.times is None or crash.times > 0):
                        if crash.times is not None:
                            crash.times -= 1
                        if crash.commit:
                            self._create_from_request(body)
                        self.dropped += 1
                        return None
                    result = self._dispatch(route, params, body)
                    if crash is not None:
                        crash.creates_left -= 1
            else:
                result = self._dispatch(route, params, body)
            status, payload, extra = 200, result, {}
        except NotionFault as fault:
            status = fault.status
            message = fault.message
            if self.echo_token:
                message += f" (request sent with Authorization: {headers.get('authorization')})"
            payload = {
                "object": "error",
                "status": fault.status,
                "code": fault.code,
                "message": message,
                "request_id": str(uuid.uuid4()),
            }
            extra = fault.headers
        with self._lock:
            self.responses[(route, status)] += 1
        return status, payload, extra

    def _route(self, method: str, path: str) -> tuple[str, dict[str, str]]:
        for verb, pattern, template in _ROUTES:
            match = pattern.match(path)
            if match and verb == method:
                return template, match.groupdict()
        return f"{method} {path}", {}

    def _check_headers(self, headers: Mapping[str, str]) -> None:
        version = headers.get("notion-version")
        if not version:
            raise NotionFault(
                400,
                "missing_version",
                "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.",
            )
        if version != self.notion_version:
            raise _validation(f"Notion-Version header failed validation: expected `{self.notion_version}`, instead was `{version}`.")
        auth = headers.get("authorization") or ""
        known = {self.token} | {d["token"] for d in self._databases.values() if d["token"]}
        if auth not in {f"Bearer {token}" for token in known}:
            raise NotionFault(401, "unauthorized", "API token is invalid.")
        self._caller.token = auth.removeprefix("Bearer ")

    def _maybe_fault(self, route: str) -> None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and (fault.route is None or fault.route == route):
                    fault.remaining -= 1
                    raise NotionFault(fault.status, fault.code, fault.message, fault.headers)

    @staticmethod
    def _parse_body(raw: bytes) -> dict[str, Any]:
        if not raw:
            return {}
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise NotionFault(400, "invalid_json", "Error parsing JSON body.") from None
        if not isinstance(body, dict):
            raise _validation("body failed validation: body should be an object.")
        return body

    def _dispatch(self, route: str, params: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if route == "GET /v1/databases/{id}":
                return self._database_object(self._norm_id(params["id"], "database"))
            if route == "GET /v1/data_sources/{id}":
                return self._data_source_object(self._source(params["id"]))
            if route == "PATCH /v1/data_sources/{id}":
                return self._update_data_source(self._source(params["id"]), body)
            if route == "POST /v1/data_sources/{id}/query":
                return self._query(self._source(params["id"]), body)
            if route == "POST /v1/pages":
                return copy.deepcopy(self._create_from_request(body))
            if route == "GET /v1/pages/{id}":
                return copy.deepcopy(self._page_or_404(params["id"]))
            if route == "PATCH /v1/pages/{id}":
                return copy.deepcopy(self._update_page(self._page_or_404(params["id"]), body))
        raise NotionFault(400, "invalid_request_url", "Invalid request URL.")

    # ------------------------------------------------------------------ databases & data sources

    def _source(self, raw_id: str) -> dict[str, Any]:
        source_id = self._norm_id(raw_id, "data_source")
        source = self._data_sources.get(source_id)
        if source is None or not self._shared_with_caller(source["database_id"]):
            raise _not_found("data_source", source_id)
        return source

    def _database_object(self, database_id: str) -> dict[str, Any]:
        database = self._databases.get(database_id)
        if database is None or not self._shared_with_caller(database_id):
            raise _not_found("database", database_id)
        return {
            "object": "database",
            "id": database_id,
            "created_time": database["created_time"],
            "title": [_response_text({"text": {"content": database["title"]}})],
            "description": [],
            "parent": {"type": "workspace", "workspace": True},
            "is_inline": False,
            "in_trash": False,
            "is_locked": False,
            "data_sources": [
                {"id": ds, "name": self._data_sources[ds]["title"]} for ds in database["data_sources"]
            ],
            "url": "https://www.notion.so/" + database_id.replace("-", ""),
            "public_url": None,
        }

    def _data_source_object(self, source: dict[str, Any]) -> dict[str, Any]:
        return {
            "object": "data_source",
            "id": source["id"],
            "created_time": source["created_time"],
            "last_edited_time": source["last_edited_time"],
            "title": [_response_text({"text": {"content": source["title"]}})],
            "description": [],
            "properties": copy.deepcopy(source["properties"]),
            "parent": {"type": "database_id", "database_id": source["database_id"]},
            "database_parent": {"type": "workspace", "workspace": True},
            "archived": False,
            "in_trash": False,
        }

    def _add_property(self, source: dict[str, Any], name: str, spec: dict[str, Any]) -> None:
        kinds = [k for k in spec if k in _PROPERTY_TYPES]
        if len(kinds) != 1:
            raise _validation(f"body failed validation: body.properties.{name} should define exactly one property type.")
        kind = kinds[0]
        if kind == "title" and any(p["type"] == "title" for p in source["properties"].values()):
            raise _validation("Cannot create new title property. A data source can only have one title property.")
        config = copy.deepcopy(spec[kind] or {})
        if kind in ("select", "multi_select", "status"):
            config = {"options": [self._option(o.get("name", ""), o.get("color")) for o in config.get("options", [])]}
        if kind == "number":
            config = {"format": config.get("format", "number")}
        prop_id = "title" if kind == "title" else f"p{next(self._ids):04d}"
        source["properties"][name] = {"id": prop_id, "name": name, "type": kind, kind: config}

    def _option(self, name: str, color: str | None = None) -> dict[str, Any]:
        _check_option_name(name, "option")
        return {"id": str(uuid.uuid4()), "name": name, "color": color or "default", "description": None}

    def _update_data_source(self, source: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        changes = body.get("properties") or {}
        if changes and not self.allow_schema_changes:
            raise NotionFault(403, "restricted_resource", "Insufficient permissions for this endpoint.")
        staged = copy.deepcopy(source)
        for name, change in changes.items():
            existing_name = self._property_name(staged, name)
            if change is None:
                if existing_name is None:
                    raise _validation(f"{name} is not a property that exists.")
                if staged["properties"][existing_name]["type"] == "title":
                    raise _validation("Cannot delete the title property.")
                del staged["properties"][existing_name]
                continue
            if not isinstance(change, Mapping):
                raise _validation(f"body failed validation: body.properties.{name} should be an object.")
            if existing_name is not None:
                prop = staged["properties"].pop(existing_name)
                new_name = change.get("name", existing_name)
                kinds = [k for k in change if k in _PROPERTY_TYPES]
                if kinds and kinds[0] != prop["type"]:
                    if prop["type"] == "title" or kinds[0] == "title":
                        raise _validation("Cannot change the type of the title property.")
                    self._add_property(staged, new_name, {kinds[0]: change[kinds[0]]})
                else:
                    prop["name"] = new_name
                    staged["properties"][new_name] = prop
            else:
                self._add_property(staged, change.get("name", name), dict(change))
        if "title" in body:
            staged["title"] = "".join(_plain_text(body["title"]))
        staged["last_edited_time"] = self._now()
        source.clear()
        source.update(staged)
        return self._data_source_object(source)

    @staticmethod
    def _property_name(source: dict[str, Any], name_or_id: str) -> str | None:
        if name_or_id in source["properties"]:
            return name_or_id
        for name, prop in source["properties"].items():
            if prop["id"] == name_or_id:
                return name
        return None

    # ------------------------------------------------------------------ query

    def _query(self, source: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        page_size = body.get("page_size", PAGE_SIZE_LIMIT)
        if not isinstance(page_size, int) or isinstance(page_size, bool) or page_size < 1:
            raise _validation(f"body failed validation: body.page_size should be a positive integer, instead was `{page_size}`.")
        if page_size > PAGE_SIZE_LIMIT:
            raise _validation(f"body failed validation: body.page_size should be ≤ `{PAGE_SIZE_LIMIT}`, instead was `{page_size}`.")
        filter_ = body.get("filter")
        want_trash = bool(body.get("in_trash") or body.get("archived"))
        matches = [
            page
            for page in self._pages.values()
            if page["parent"]["data_source_id"] == source["id"]
            and page["in_trash"] == want_trash
            and (filter_ is None or self._matches(source, page, filter_, depth=0))
        ]
        start = 0
        cursor = body.get("start_cursor")
        if cursor is not None:
            ids = [p["id"] for p in matches]
            if cursor not in ids:
                raise _validation("start_cursor provided is invalid: " + str(cursor))
            start = ids.index(cursor)
        window = matches[start : start + page_size]
        has_more = start + page_size < len(matches)
        return {
            "object": "list",
            "results": [copy.deepcopy(p) for p in window],
            "next_cursor": matches[start + page_size]["id"] if has_more else None,
            "has_more": has_more,
            "type": "page_or_data_source",
            "page_or_data_source": {},
            "request_id": str(uuid.uuid4()),
        }

    def _matches(self, source: dict[str, Any], page: dict[str, Any], filter_: Any, *, depth: int) -> bool:
        if not isinstance(filter_, Mapping):
            raise _validation("body failed validation: body.filter should be an object.")
        for compound in ("and", "or"):
            if compound in filter_:
                if depth >= 2:
                    raise _validation("body failed validation: compound filters can be nested at most two levels deep.")
                parts = filter_[compound]
                if not isinstance(parts, list) or len(parts) > COMPOUND_LIMIT:
                    raise _validation(f"body failed validation: body.filter.{compound} should be an array of at most {COMPOUND_LIMIT} filters.")
                results = [self._matches(source, page, part, depth=depth + 1) for part in parts]
                return all(results) if compound == "and" else any(results)
        name = filter_.get("property")
        if not isinstance(name, str):
            raise _validation("body failed validation: body.filter should define a property or a compound filter.")
        prop_name = self._property_name(source, name)
        if prop_name is None:
            raise _validation(f"Could not find property with name or id: {name}")
        prop = source["properties"][prop_name]
        value = page["properties"].get(prop_name)
        kinds = [k for k in filter_ if k != "property"]
        if len(kinds) != 1:
            raise _validation("body failed validation: body.filter should define exactly one filter type.")
        kind, condition = kinds[0], filter_[kinds[0]]
        if not isinstance(condition, Mapping) or len(condition) != 1:
            raise _validation(f"body failed validation: body.filter.{kind} should define one condition.")
        (op, operand), = condition.items()
        if kind in _TEXT_TYPES:
            if prop["type"] not in _TEXT_TYPES:
                raise _validation(f"body failed validation: {prop_name} is a {prop['type']} property, not text.")
            text = simple_value(value) if value else ""
            ops = {
                "equals": lambda: text == operand,
                "does_not_equal": lambda: text != operand,
                "contains": lambda: str(operand) in text,
                "does_not_contain": lambda: str(operand) not in text,
                "starts_with": lambda: text.startswith(str(operand)),
                "ends_with": lambda: text.endswith(str(operand)),
                "is_empty": lambda: text == "",
                "is_not_empty": lambda: text != "",
            }
        elif kind in ("select", "status"):
            if prop["type"] != kind:
                raise _validation(f"body failed validation: {prop_name} is a {prop['type']} property.")
            name_value = simple_value(value) if value else None
            ops = {
                "equals": lambda: name_value == operand,
                "does_not_equal": lambda: name_value != operand,
                "is_empty": lambda: name_value is None,
                "is_not_empty": lambda: name_value is not None,
            }
        elif kind == "number":
            if prop["type"] != "number":
                raise _validation(f"body failed validation: {prop_name} is a {prop['type']} property.")
            number = simple_value(value) if value else None
            ops = {
                "equals": lambda: number == operand,
                "does_not_equal": lambda: number != operand,
                "greater_than": lambda: number is not None and number > operand,
                "less_than": lambda: number is not None and number < operand,
                "greater_than_or_equal_to": lambda: number is not None and number >= operand,
                "less_than_or_equal_to": lambda: number is not None and number <= operand,
                "is_empty": lambda: number is None,
                "is_not_empty": lambda: number is not None,
            }
        else:
            raise _validation(f"body failed validation: unsupported filter type `{kind}` in this fake.")
        if op not in ops:
            raise _validation(f"body failed validation: body.filter.{kind}.{op} is not a valid condition.")
        return bool(ops[op]())

    # ------------------------------------------------------------------ pages

    def _page_or_404(self, raw_id: str) -> dict[str, Any]:
        page_id = self._norm_id(raw_id, "page")
        page = self._pages.get(page_id)
        if page is None or not self._shared_with_caller(page["parent"]["database_id"]):
            raise _not_found("page", page_id)
        return page

    def _create_from_request(self, body: dict[str, Any]) -> dict[str, Any]:
        parent = body.get("parent")
        if not isinstance(parent, Mapping):
            raise _validation("body failed validation: body.parent should be defined, instead was `undefined`.")
        if "data_source_id" in parent:
            source = self._source(str(parent["data_source_id"]))
        elif "database_id" in parent:
            database_id = self._norm_id(str(parent["database_id"]), "database")
            database = self._databases.get(database_id)
            if database is None or not self._shared_with_caller(database_id):
                raise _not_found("database", database_id)
            if len(database["data_sources"]) != 1:
                raise _validation("Databases with multiple data sources need a data_source_id parent.")
            source = self._data_sources[database["data_sources"][0]]
        else:
            raise _validation("body failed validation: body.parent should have a data_source_id.")
        return self._create_page(source, body.get("properties") or {})

    def _create_page(self, source: dict[str, Any], raw_properties: Mapping[str, Any]) -> dict[str, Any]:
        values = self._validate_properties(source, raw_properties)
        page_id = str(uuid.uuid4())
        now = self._now()
        properties = {}
        for name, prop in source["properties"].items():
            properties[name] = values.get(name) or _empty_value(prop)
        page = {
            "object": "page",
            "id": page_id,
            "created_time": now,
            "last_edited_time": now,
            "created_by": {"object": "user", "id": "fake-integration"},
            "last_edited_by": {"object": "user", "id": "fake-integration"},
            "cover": None,
            "icon": None,
            "parent": {"type": "data_source_id", "data_source_id": source["id"], "database_id": source["database_id"]},
            "archived": False,
            "in_trash": False,
            "is_locked": False,
            "properties": properties,
            "url": "https://www.notion.so/" + page_id.replace("-", ""),
            "public_url": None,
        }
        self._pages[page_id] = page
        return page

    def _update_page(self, page: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        trash = body.get("in_trash", body.get("archived"))
        if page["in_trash"] and trash is not False and body.get("properties"):
            raise _validation("Can't edit block that is archived. You must unarchive the block before editing.")
        source = self._data_sources[page["parent"]["data_source_id"]]
        values = self._validate_properties(source, body.get("properties") or {})
        page["properties"].update(values)
        if trash is not None:
            page["in_trash"] = page["archived"] = bool(trash)
        page["last_edited_time"] = self._now()
        return page

    def _validate_properties(self, source: dict[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            raise _validation("body failed validation: body.properties should be an object.")
        out = {}
        for key, value in raw.items():
            name = self._property_name(source, key)
            if name is None:
                raise _validation(f"{key} is not a property that exists.")
            out[name] = self._property_value(source, name, source["properties"][name], value)
        return out

    def _property_value(self, source: dict[str, Any], name: str, prop: dict[str, Any], value: Any) -> dict[str, Any]:
        kind = prop["type"]
        where = f"body.properties.{name}"
        if not isinstance(value, Mapping) or kind not in value:
            raise _validation(f"{name} is expected to be {kind}.")
        raw = value[kind]
        if kind in _TEXT_TYPES:
            if not isinstance(raw, list):
                raise _validation(f"body failed validation: {where}.{kind} should be an array.")
            if len(raw) > RICH_TEXT_ARRAY_LIMIT:
                raise _validation(
                    f"body failed validation: {where}.{kind}.length should be ≤ `{RICH_TEXT_ARRAY_LIMIT}`, instead was `{len(raw)}`."
                )
            items = []
            for i, item in enumerate(raw):
                if not isinstance(item, Mapping) or item.get("type", "text") != "text" or not isinstance(item.get("text"), Mapping):
                    raise _validation(f"body failed validation: {where}.{kind}[{i}] should be a text object.")
                content = item["text"].get("content")
                if not isinstance(content, str):
                    raise _validation(f"body failed validation: {where}.{kind}[{i}].text.content should be a string.")
                length = _js_len(content)
                if length > TEXT_CONTENT_LIMIT:
                    raise _validation(
                        f"body failed validation: {where}.{kind}[{i}].text.content.length should be ≤ `{TEXT_CONTENT_LIMIT}`, instead was `{length}`."
                    )
                items.append(_response_text(item))
            return {"id": prop["id"], "type": kind, kind: items}
        if kind == "select" or kind == "status":
            if raw is None:
                return {"id": prop["id"], "type": kind, kind: None}
            if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
                raise _validation(f"body failed validation: {where}.{kind}.name should be a string.")
            return {"id": prop["id"], "type": kind, kind: self._ensure_option(prop, raw["name"], where)}
        if kind == "multi_select":
            if not isinstance(raw, list):
                raise _validation(f"body failed validation: {where}.multi_select should be an array.")
            if len(raw) > MULTI_SELECT_LIMIT:
                raise _validation(
                    f"body failed validation: {where}.multi_select.length should be ≤ `{MULTI_SELECT_LIMIT}`, instead was `{len(raw)}`."
                )
            options = []
            for i, item in enumerate(raw):
                if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                    raise _validation(f"body failed validation: {where}.multi_select[{i}].name should be a string.")
                options.append(self._ensure_option(prop, item["name"], f"{where}.multi_select[{i}]"))
            return {"id": prop["id"], "type": kind, kind: options}
        if kind == "number":
            if raw is not None and (isinstance(raw, bool) or not isinstance(raw, (int, float))):
                raise _validation(f"body failed validation: {where}.number should be a number or `null`.")
            return {"id": prop["id"], "type": kind, kind: raw}
        if kind == "url":
            if raw is not None and not isinstance(raw, str):
                raise _validation(f"body failed validation: {where}.url should be a string or `null`.")
            if raw is not None and _js_len(raw) > URL_LIMIT:
                raise _validation(f"body failed validation: {where}.url.length should be ≤ `{URL_LIMIT}`, instead was `{_js_len(raw)}`.")
            return {"id": prop["id"], "type": kind, kind: raw}
        if kind == "checkbox":
            if not isinstance(raw, bool):
                raise _validation(f"body failed validation: {where}.checkbox should be a boolean.")
            return {"id": prop["id"], "type": kind, kind: raw}
        return {"id": prop["id"], "type": kind, kind: copy.deepcopy(raw)}

    def _ensure_option(self, prop: dict[str, Any], name: str, where: str) -> dict[str, Any]:
        _check_option_name(name, where)
        options = prop[prop["type"]].setdefault("options", [])
        for option in options:
            if option["name"] == name:
                return {"id": option["id"], "name": name, "color": option["color"]}
        option = self._option(name)  # Notion adds unknown options on write
        options.append(option)
        return {"id": option["id"], "name": name, "color": option["color"]}


def _check_option_name(name: str, where: str) -> None:
    if "," in name:
        raise _validation(f"body failed validation: {where}.name should not contain commas, instead was `{name}`.")
    if _js_len(name) > OPTION_NAME_LIMIT:
        raise _validation(
            f"body failed validation: {where}.name.length should be ≤ `{OPTION_NAME_LIMIT}`, instead was `{_js_len(name)}`."
        )


def _header_number(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


_DEFAULT_ANNOTATIONS = {
    "bold": False,
    "italic": False,
    "strikethrough": False,
    "underline": False,
    "code": False,
    "color": "default",
}


def _response_text(item: Mapping[str, Any]) -> dict[str, Any]:
    text = item["text"]
    link = text.get("link")
    return {
        "type": "text",
        "text": {"content": text["content"], "link": copy.deepcopy(link)},
        "annotations": {**_DEFAULT_ANNOTATIONS, **dict(item.get("annotations") or {})},
        "plain_text": text["content"],
        "href": (link or {}).get("url") if isinstance(link, Mapping) else None,
    }


def _plain_text(items: Iterable[Mapping[str, Any]]) -> list[str]:
    return [i.get("plain_text", (i.get("text") or {}).get("content", "")) for i in items or []]


def _empty_value(prop: dict[str, Any]) -> dict[str, Any]:
    kind = prop["type"]
    empty: Any = {"title": [], "rich_text": [], "multi_select": [], "people": [], "files": [], "relation": []}.get(kind)
    if kind == "checkbox":
        empty = False
    return {"id": prop["id"], "type": kind, kind: empty}


def simple_value(prop: Mapping[str, Any]) -> Any:
    """A property value (API response form) as a plain Python value."""
    kind = prop.get("type")
    raw = prop.get(kind) if kind else None
    if kind in _TEXT_TYPES:
        return "".join(_plain_text(raw))
    if kind in ("select", "status"):
        return raw["name"] if raw else None
    if kind == "multi_select":
        return [o["name"] for o in raw or []]
    return raw


def _raw_value(kind: str, value: Any) -> dict[str, Any]:
    """A plain Python value as an API request property value."""
    if kind in _TEXT_TYPES:
        text = "" if value is None else str(value)
        chunks = [text[i : i + TEXT_CONTENT_LIMIT] for i in range(0, len(text), TEXT_CONTENT_LIMIT)]
        return {kind: [{"type": "text", "text": {"content": c}} for c in chunks]}
    if kind in ("select", "status"):
        return {kind: None if value is None else {"name": str(value)}}
    if kind == "multi_select":
        return {kind: [{"name": str(v)} for v in value or []]}
    return {kind: value}


def _make_handler(server: FakeNotionServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeNotion/1.0"
        disable_nagle_algorithm = True  # headers and body go out in separate writes

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            outcome = server.handle(self.command, self.path, headers, raw)
            if outcome is None:  # simulated crash: no response at all
                self.close_connection = True
                return
            status, payload, extra = outcome
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

    return Handler
