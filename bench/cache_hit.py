"""Benchmark 1: AI cache-hit latency with a large AI memory (SQLite).

The ``aiv_ai_memory`` table is filled by bulk insert with rows shaped like the pipeline's
own (the two analysis tasks' prompts, system prompts and JSON outputs, realistic sizes),
keyed exactly as ``AICore`` keys them. Then ``AICore.generate_text`` is timed on random
cached prompts (every call must be a hit: the offline handler raises), interleaved with
two baselines on the same table: a bare SQLAlchemy SELECT of the same columns by the unique
``cache_key`` index (one pooled connection checkout per query) and the same SELECT on a bare
driver connection (the floor a hit can approach).

A hit costs more than the lookup: cache-key hashing (prompt normalisation, schema
fingerprint, once for all candidate models), candidate selection, JSON-schema validation of
the cached output and buffering the hit bookkeeping (written behind by a background thread).
"""

from __future__ import annotations

import gc
import json
import random
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from .common import Row, dispose_engine, isolated_home, row, sqlite_url, summary_ms

NAME = "cache_sqlite"
TITLE = "AI cache hit, SQLite"
SIZES = {
    "full": {"entries": 100_000, "hits": 2_000},
    "quick": {"entries": 20_000, "hits": 400},
    "tiny": {"entries": 300, "hits": 20},
}
INSERT_BATCH = 2_000


class _MustHit(Exception):
    pass


def _offline_miss():
    raise _MustHit("cache miss: the benchmark only times hits")


@dataclass
class Call:
    request_type: str
    prompt: str
    system: str
    schema: Any
    options: dict[str, Any]
    key: str


@dataclass
class Prepared:
    label: str
    url: str
    core: Any
    calls: list[Call]  # cached prompts to time (hits)
    fill_seconds: float
    rows: int
    db_bytes: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _tasks():
    from aivlingual_assets.analysis.tasks import AssessLevels, ExtractExpressions

    return ExtractExpressions(), AssessLevels()


def _level_fragment(item: dict[str, Any]) -> str:
    """One expression as ``AssessLevels.prompt`` renders it (``json.dumps(indent=1)`` inside a list)."""
    d = {k: item[k] for k in ("expression", "lemma", "reading", "category", "meaning")}
    return " " + json.dumps(d, ensure_ascii=False, indent=1).replace("\n", "\n ")


class _RowFactory:
    """Builds AI-memory rows for the two analysis tasks, fast enough for 100k rows.

    Prompts are assembled from pre-rendered pieces in exactly the tasks' formats and keys
    are computed as ``cache_key.text_cache_key`` does; sampled rows are re-derived with the
    real ``task.prompt`` / ``text_cache_key`` and compared, and every timed call must hit.
    """

    def __init__(self, core, seed: int) -> None:
        from aivlingual_assets.ai import cache_key as ck
        from aivlingual_assets.analysis.schemas import Level

        from .synthetic import source_lines, vocabulary

        self.ck = ck
        self.rng = random.Random(seed)
        self.extract, self.levels = _tasks()
        cand = core.candidates(kind="text", request_type=self.extract.request_type, tier="cheap", provider=None,
                               model=None, selection_mode="auto")[0]
        self.provider, self.model = cand.provider, cand.model
        self.lines = list(source_lines())
        self.vocab = vocabulary(3_000, seed=seed)
        for item in self.vocab:
            item["expression"] = item["lemma"]
        self.fragments = [_level_fragment(v) for v in self.vocab]
        self.level_names = [lv.value for lv in Level]
        self.schema = {t.request_type: t.output_schema.model_json_schema() for t in (self.extract, self.levels)}
        for t in (self.extract, self.levels):  # the dict's fingerprint is the model class's
            assert ck.schema_fingerprint(self.schema[t.request_type]) == ck.schema_fingerprint(t.output_schema)
        self.fingerprint = {k: ck.schema_fingerprint(v) for k, v in self.schema.items()}
        self.system = {t.request_type: ck.normalise_prompt(t.system) for t in (self.extract, self.levels)}

    def key(self, task, normalised_prompt: str, options: dict[str, Any]) -> str:
        payload = {
            "request_type": task.request_type, "prompt": normalised_prompt, "system": self.system[task.request_type],
            "schema": self.fingerprint[task.request_type], "provider": self.provider, "model": self.model,
            "options": options,
        }
        return self.ck.sha256_text(json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                                              default=str))

    def make(self, now: float, check: bool) -> tuple[dict[str, Any], Call]:
        rng = self.rng
        if rng.random() < 2 / 3:  # a transcript chunk -> expressions (2 of 3 requests in a run)
            task = self.extract
            t0 = rng.uniform(0, 10_800)
            chunk = []
            for j in range(rng.randint(6, 24)):
                chunk.append(SimpleNamespace(start=round(t0 + 2.1 * j, 2), end=round(t0 + 2.1 * j + 1.9, 2),
                                             text=rng.choice(self.lines)))
            prompt = task.prompt(chunk)
            items = []
            for _ in range(rng.randint(1, 6)):
                v, line = rng.choice(self.vocab), rng.choice(chunk)
                items.append({"expression": v["lemma"], "lemma": v["lemma"], "reading": v["reading"],
                              "meaning": v["meaning"], "category": v["category"], "explanation": v["explanation"],
                              "example": line.text, "start": line.start, "end": line.end, "source_url": None})
            output = json.dumps({"items": items}, ensure_ascii=False)
        else:  # a batch of expressions -> levels
            task = self.levels
            picks = rng.sample(range(len(self.vocab)), rng.randint(5, 20))
            prompt = "Assess each expression:\n[\n" + ",\n".join(self.fragments[i] for i in picks) + "\n]"
            if check:
                assert prompt == task.prompt([SimpleNamespace(**{**self.vocab[i], "category": _Cat(
                    self.vocab[i]["category"])}) for i in picks])
            output = json.dumps({"items": [
                {"expression": self.vocab[i]["lemma"], "lemma": self.vocab[i]["lemma"],
                 "reading": self.vocab[i]["reading"], "level": rng.choice(self.level_names),
                 "score": round(rng.random(), 2), "method": "offline:jmdict-priority",
                 "reason": "Frequent in casual speech; JMdict marks it as common."} for i in picks]},
                ensure_ascii=False)
        options = {"task_version": task.version}
        normalised = self.ck.normalise_prompt(prompt)
        key = self.key(task, normalised, options)
        if check:
            assert key == self.ck.text_cache_key(request_type=task.request_type, prompt=prompt, system=task.system,
                                                 schema=self.schema[task.request_type], provider=self.provider,
                                                 model=self.model, options=options)
        created = now - rng.uniform(0, 90 * 86_400)
        record = {
            "cache_key": key, "request_type": task.request_type, "kind": "text",
            "prompt_hash": self.ck.sha256_text(normalised), "prompt": prompt, "system": task.system,
            "options": json.dumps(options), "output_text": output, "audio_path": None, "provider": self.provider,
            "model": self.model, "input_tokens": len(prompt.encode()) // 3, "output_tokens": len(output.encode()) // 3,
            "cost_usd": 0.0, "latency_ms": rng.uniform(5, 50), "verified": False, "rejected": False,
            "rating": None, "use_for_training": False, "reviewed_by": None, "reviewed_at": None,
            "usage_count": 1, "created_at": created, "last_used_at": created,
        }
        return record, Call(task.request_type, prompt, task.system, task.output_schema, options, key)


def _Cat(value: str):
    from aivlingual_assets.analysis.schemas import Category

    return Category(value)


_COPY_COLUMNS = (
    "request_type", "kind", "prompt_hash", "prompt", "system", "options", "output_text", "audio_path", "provider",
    "model", "input_tokens", "output_tokens", "cost_usd", "latency_ms", "verified", "rejected", "rating",
    "use_for_training", "reviewed_by", "reviewed_at", "usage_count", "created_at", "last_used_at",
)


def _copy_rows(conn, lo: int, hi: int, copies: int, is_sqlite: bool) -> None:
    """``copies`` copies of rows ``lo..hi`` under fresh random 64-hex keys (SHA-256-like spread)."""
    random_key = ("lower(hex(randomblob(32)))" if is_sqlite
                  else "md5(random()::text || clock_timestamp()::text) || md5(random()::text)")
    cols = ", ".join(_COPY_COLUMNS)
    sql = sa.text(f"INSERT INTO aiv_ai_memory (cache_key, {cols}) SELECT {random_key}, {cols} "
                  "FROM aiv_ai_memory WHERE id BETWEEN :lo AND :hi")
    for _ in range(copies):
        conn.execute(sql, {"lo": lo, "hi": hi})


def fill_memory(core, n: int, *, sample: int, seed: int = 1, generated: int | None = None) -> list[Call]:
    """Bulk-inserts ``n`` realistic AI-memory rows; returns ``sample`` of them as callable prompts.

    ``generated`` rows (default: a tenth, at least ``sample`` + 1,000) are built in Python with
    their real cache keys; the rest are SQL-side copies of them under random 64-hex keys, so the
    table and its unique index have the full size without paying Python per row. The generated
    rows are spread through the table (each batch is followed by its copies).
    """
    from aivlingual_assets.ai.ledger import ai_memory

    generated = min(n, generated or max(n // 10, sample + 1_000))
    factory = _RowFactory(core, seed)
    sample_at = set(random.Random(seed + 1).sample(range(generated), min(sample, generated)))
    calls: list[Call] = []
    now = time.time()
    n_batches = -(-generated // INSERT_BATCH)
    copies_left = n - generated
    i = 0
    for b in range(n_batches):
        batch: list[dict[str, Any]] = []
        while len(batch) < INSERT_BATCH and i < generated:
            record, call = factory.make(now, check=i in sample_at or i < 20)
            batch.append(record)
            if i in sample_at:
                calls.append(call)
            i += 1
        with core.ledger.begin() as conn:
            ids = conn.execute(ai_memory.insert().returning(ai_memory.c.id), batch).scalars().all()
            share = copies_left // (n_batches - b)
            full, rest = divmod(share, len(batch))
            lo, hi = min(ids), max(ids)
            _copy_rows(conn, lo, hi, full, core.ledger.is_sqlite)
            if rest:
                _copy_rows(conn, lo, lo + rest - 1, 1, core.ledger.is_sqlite)
            copies_left -= share
    random.Random(seed + 2).shuffle(calls)
    return calls


def prepare(label: str, url: str, home, n: int, sample: int) -> Prepared:
    from aivlingual_assets.ai.core import AICore, AISettings

    core = AICore(AISettings.from_env(database_url=url, home=home))
    start = time.perf_counter()
    calls = fill_memory(core, n, sample=sample)
    if core.ledger.is_sqlite:
        with core.ledger.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with core.ledger.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE aiv_ai_memory")
    fill = time.perf_counter() - start
    with core.ledger.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM aiv_ai_memory")).scalar_one()
        if core.ledger.is_sqlite:
            size = conn.exec_driver_sql("PRAGMA page_count").scalar_one() * conn.exec_driver_sql(
                "PRAGMA page_size").scalar_one()
        else:
            size = conn.execute(sa.text("SELECT pg_total_relation_size('aiv_ai_memory')")).scalar_one()
    return Prepared(label, url, core, calls, fill, int(rows), int(size))


def _hit(core, call: Call) -> None:
    result = core.generate_text(call.request_type, call.prompt, system=call.system, schema=call.schema,
                                options=call.options, offline=_offline_miss)
    if not result.cache_hit or result.cache_key != call.key:
        raise AssertionError("expected a cache hit on a pre-filled key")


def measure(preps: list[Prepared], n_hits: int, *, warmup: int = 30) -> dict[str, dict[str, Any]]:
    """Interleaves, per iteration and per database, two baseline SELECTs and one ``generate_text`` hit.

    The baselines read the same columns by ``cache_key``: through SQLAlchemy (one pooled
    checkout per query, as the ledger once did) and on a bare driver connection (the floor).
    """
    from aivlingual_assets.ai.ledger import Ledger, ai_memory
    from aivlingual_assets.ai.memory_lookup import MEMORY_COLUMNS

    stmt = sa.select(*Ledger._memory_cols).where(ai_memory.c.cache_key == sa.bindparam("k"))
    drivers = {}
    for p in preps:
        raw = p.core.ledger.engine.raw_connection()
        if not p.core.ledger.is_sqlite:
            raw.driver_connection.autocommit = True
        mark = "?" if p.core.ledger.is_sqlite else "%s"
        drivers[p.label] = (raw, f"SELECT {', '.join(MEMORY_COLUMNS)} FROM aiv_ai_memory WHERE cache_key = {mark}")

    def bare(label: str, key: str) -> Any:
        raw, sql = drivers[label]
        cur = raw.driver_connection.cursor()
        cur.execute(sql, (key,))
        found = cur.fetchall()
        cur.close()
        return found

    out: dict[str, dict[str, Any]] = {}
    times: dict[str, tuple[list[float], list[float], list[float]]] = {p.label: ([], [], []) for p in preps}
    n_hits = min(n_hits, min(len(p.calls) for p in preps) // 2 - warmup // 2)
    for p in preps:  # warm the pool, the compiled-statement cache and the schema caches
        for call in p.calls[-warmup:]:
            _hit(p.core, call)
            with p.core.ledger.engine.connect() as conn:
                conn.execute(stmt, {"k": call.key}).first()
            bare(p.label, call.key)
    gc.collect()
    gc.disable()
    try:
        for i in range(n_hits):
            for p in preps:
                base_call, hit_call = p.calls[2 * i], p.calls[2 * i + 1]
                engine = p.core.ledger.engine
                t0 = time.perf_counter()
                with engine.connect() as conn:
                    found = conn.execute(stmt, {"k": base_call.key}).first()
                t1 = time.perf_counter()
                _hit(p.core, hit_call)
                t2 = time.perf_counter()
                driver_found = bare(p.label, base_call.key)
                t3 = time.perf_counter()
                if found is None or not driver_found:
                    raise AssertionError("baseline SELECT found no row")
                times[p.label][0].append(t1 - t0)
                times[p.label][1].append(t2 - t1)
                times[p.label][2].append(t3 - t2)
            if i % 200 == 199:
                gc.collect()
    finally:
        gc.enable()
        for raw, _ in drivers.values():
            raw.close()
    for p in preps:
        p.core.ledger.flush_usage()
        base, hit, driver = times[p.label]
        out[p.label] = {"select": summary_ms(base), "hit": summary_ms(hit), "driver_select": summary_ms(driver),
                        "rows": p.rows,
                        "fill_seconds": round(p.fill_seconds, 2), "table_bytes": p.db_bytes}
    return out


def run(sizes: dict[str, Any]) -> list[Row]:
    n, hits = int(sizes["entries"]), int(sizes["hits"])
    with isolated_home(NAME) as home:
        url = sqlite_url(home)
        try:
            prep = prepare("sqlite", url, home, n, sample=2 * hits + 40)
            stats = measure([prep], hits)["sqlite"]
        finally:
            dispose_engine(url)
    details = {**stats, "entries": n}
    base = "bare SQLAlchemy SELECT by cache_key"
    return [
        row(NAME, f"generate_text hit p50 ({n:,} entries)", stats["hit"]["p50_ms"], "ms", f"{base} p50",
            stats["select"]["p50_ms"], details=details),
        row(NAME, f"generate_text hit p99 ({n:,} entries)", stats["hit"]["p99_ms"], "ms", f"{base} p99",
            stats["select"]["p99_ms"], note=f"{stats['hit']['n']} hits; fill {stats['fill_seconds']} s"),
        row(NAME, f"generate_text hit p50 ({n:,} entries)", stats["hit"]["p50_ms"], "ms",
            "bare sqlite3 SELECT by cache_key p50", stats["driver_select"]["p50_ms"]),
    ]
