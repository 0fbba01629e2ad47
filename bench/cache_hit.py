"""Benchmark 1: AI cache-hit latency with a large AI memory (SQLite).

The ``aiv_ai_memory`` table is filled by bulk insert with rows shaped like the pipeline's
own (the two analysis tasks' prompts, system prompts and JSON outputs, realistic sizes),
keyed exactly as ``AICore`` keys them. Then ``AICore.generate_text`` is timed on random
cached prompts (every call must be a hit: the offline handler raises), interleaved with
the baseline: a bare SQLAlchemy SELECT of the same columns by the unique ``cache_key``
index on the same table, one pooled connection checkout per query (as the ledger does).

A hit costs more than the lookup: cache-key hashing (prompt normalisation, schema
fingerprint), candidate selection, JSON-schema validation of the cached output and the
hit bookkeeping (usage_count update + usage-log insert, one committed transaction).
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


def _fake_expression(rng: random.Random, line: SimpleNamespace, words: list[str]) -> dict[str, Any]:
    from aivlingual_assets.analysis.schemas import Category

    word = rng.choice(words)
    return {
        "expression": word, "lemma": word, "reading": "よみかた" + word[:1],
        "meaning": rng.choice(("cute", "tired", "amazing", "to watch", "live stream", "collab", "viewer")),
        "category": rng.choice(list(Category)).value,
        "explanation": "Casual streaming language; a learner hears it in almost every stream of this kind.",
        "example": line.text, "start": line.start, "end": line.end, "source_url": None,
    }


def fill_memory(core, n: int, *, sample: int, seed: int = 1) -> list[Call]:
    """Bulk-inserts ``n`` realistic AI-memory rows; returns ``sample`` of them as callable prompts."""
    from aivlingual_assets.ai import cache_key as ck
    from aivlingual_assets.ai.ledger import ai_memory
    from aivlingual_assets.analysis.schemas import Category, Level

    from .synthetic import source_lines

    rng = random.Random(seed)
    extract, levels = _tasks()
    lines = list(source_lines())
    words = sorted({w for t in lines for w in t.replace("、", " ").replace("！", " ").split() if 1 < len(w) < 8})
    schema_dicts = {t.request_type: t.output_schema.model_json_schema() for t in (extract, levels)}
    chosen = {c.provider + "/" + c.model for c in core.candidates(kind="text", request_type=extract.request_type,
                                                                  tier="cheap", provider=None, model=None,
                                                                  selection_mode="auto")[:1]}
    provider, model = next(iter(chosen)).split("/", 1)
    sample_at = set(rng.sample(range(n), min(sample, n)))
    calls: list[Call] = []
    now = time.time()
    batch: list[dict[str, Any]] = []
    levels_list = list(Level)
    for i in range(n):
        t0 = rng.uniform(0, 10_800)
        if rng.random() < 0.6:
            task = extract
            chunk = []
            for j in range(rng.randint(3, 8)):
                text = rng.choice(lines)
                chunk.append(SimpleNamespace(start=round(t0 + 3 * j, 2), end=round(t0 + 3 * j + 2.5, 2), text=text))
            prompt = task.prompt(chunk)
            items = [_fake_expression(rng, rng.choice(chunk), words) for _ in range(rng.randint(1, 3))]
            output = json.dumps({"items": items}, ensure_ascii=False)
        else:
            task = levels
            batch_items = []
            for _ in range(rng.randint(3, 10)):
                w = rng.choice(words)
                batch_items.append(SimpleNamespace(expression=w, lemma=w, reading="よみ" + w[:1], meaning="meaning",
                                                   category=rng.choice(list(Category))))
            prompt = task.prompt(batch_items)
            output = json.dumps({"items": [
                {"expression": e.expression, "lemma": e.lemma, "reading": e.reading,
                 "level": rng.choice(levels_list).value, "score": round(rng.random(), 2),
                 "method": "offline:jmdict-priority", "reason": "Frequent in casual speech; JMdict marks it common."}
                for e in batch_items]}, ensure_ascii=False)
        options = {"task_version": task.version}
        key = ck.text_cache_key(request_type=task.request_type, prompt=prompt, system=task.system,
                                schema=schema_dicts[task.request_type],  # same fingerprint as the model class
                                provider=provider, model=model, options=options)
        created = now - rng.uniform(0, 90 * 86_400)
        batch.append({
            "cache_key": key, "request_type": task.request_type, "kind": "text",
            "prompt_hash": ck.sha256_text(ck.normalise_prompt(prompt)), "prompt": prompt, "system": task.system,
            "options": json.dumps(options), "output_text": output, "audio_path": None, "provider": provider,
            "model": model, "input_tokens": len(prompt.encode()) // 3, "output_tokens": len(output.encode()) // 3,
            "cost_usd": 0.0, "latency_ms": rng.uniform(5, 50), "verified": False, "rejected": False,
            "rating": None, "use_for_training": False, "reviewed_by": None, "reviewed_at": None,
            "usage_count": 1, "created_at": created, "last_used_at": created,
        })
        if i in sample_at:
            calls.append(Call(task.request_type, prompt, task.system, task.output_schema, options, key))
        if len(batch) >= INSERT_BATCH:
            with core.ledger.begin() as conn:
                conn.execute(ai_memory.insert(), batch)
            batch = []
    if batch:
        with core.ledger.begin() as conn:
            conn.execute(ai_memory.insert(), batch)
    rng.shuffle(calls)
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
    """Interleaves, per iteration and per database, one baseline SELECT and one ``generate_text`` hit."""
    from aivlingual_assets.ai.ledger import Ledger, ai_memory

    stmt = sa.select(*Ledger._memory_cols).where(ai_memory.c.cache_key == sa.bindparam("k"))
    out: dict[str, dict[str, Any]] = {}
    times: dict[str, tuple[list[float], list[float]]] = {p.label: ([], []) for p in preps}
    n_hits = min(n_hits, min(len(p.calls) for p in preps) // 2 - warmup // 2)
    for p in preps:  # warm the pool, the compiled-statement cache and the schema caches
        for call in p.calls[-warmup:]:
            _hit(p.core, call)
            with p.core.ledger.engine.connect() as conn:
                conn.execute(stmt, {"k": call.key}).first()
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
                if found is None:
                    raise AssertionError("baseline SELECT found no row")
                times[p.label][0].append(t1 - t0)
                times[p.label][1].append(t2 - t1)
            if i % 200 == 199:
                gc.collect()
    finally:
        gc.enable()
    for p in preps:
        base, hit = times[p.label]
        out[p.label] = {"select": summary_ms(base), "hit": summary_ms(hit), "rows": p.rows,
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
    ]
