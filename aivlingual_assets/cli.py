"""``aivlingual``: process recordings headlessly, manage providers, read usage, review AI outputs."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from . import settings

# the run's full event log is in the instance (dagster dev); the terminal gets progress lines
_QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
POOL_LIMITS = {"openai": 4, "gemini": 4, "notion": 1}
_REPO_DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"


def dagster_home() -> Path:
    """``DAGSTER_HOME`` or ``$AIVLINGUAL_HOME/dagster``, created with the project's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.aivlingual_home() / "dagster").expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    config = home / "dagster.yaml"
    if not config.exists() and _REPO_DAGSTER_YAML.exists():
        shutil.copyfile(_REPO_DAGSTER_YAML, config)
    return home


def get_instance():
    import dagster as dg

    dagster_home()
    instance = dg.DagsterInstance.get()
    storage = instance.event_log_storage
    known = storage.get_concurrency_keys()
    for pool, limit in POOL_LIMITS.items():
        if pool not in known:
            storage.set_concurrency_slots(pool, limit)
    return instance


# ---- process --------------------------------------------------------------------------------
def resolve_recording(arg: str):
    """A path (media or subtitle file) or a YouTube URL/id -> Recording."""
    from .ingestion.recording import recording_from_source

    return recording_from_source(arg)


def _run_summary(result) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        md = {k: v.value for k, v in mat.metadata.items()}
        key = mat.asset_key.to_user_string()
        summary[key] = md
    return summary


def _failure_messages(result) -> list[str]:
    messages = []
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            text = data.user_failure_data.description if data.user_failure_data else None
            if not text and data.error is not None:
                text = data.error.message.strip().splitlines()[-1] if data.error.message else str(data.error)
                cause = data.error.cause
                while cause is not None:
                    text = cause.message.strip().splitlines()[-1]
                    cause = cause.cause
            messages.append(f"{event.step_key}: {text}")
    return messages


def cmd_process(args: argparse.Namespace) -> int:
    from .definitions import defs
    from .storage.recording_registry import RecordingRegistry

    instance = get_instance()
    registry = RecordingRegistry(settings.database_url())
    recording_job = defs.resolve_job_def("recording_job")
    totals = {"recordings": 0, "failed": 0, "segments": 0, "expressions": 0, "api_calls": 0, "cache_hits": 0,
              "cost_usd": 0.0}
    keys: list[str] = []
    print(f"Dagster instance: {os.environ['DAGSTER_HOME']}")
    for arg in args.sources:
        try:
            recording = resolve_recording(arg)
        except Exception as exc:  # one bad input fails only itself
            print(f"✗ {arg}: {exc}")
            totals["failed"] += 1
            continue
        registry.register(recording)
        if not instance.has_dynamic_partition("recordings", recording.partition_key):
            instance.add_dynamic_partitions("recordings", [recording.partition_key])
        keys.append(recording.partition_key)
        print(f"→ {recording.partition_key}  {recording.title}  ({recording.source})")
        started = time.perf_counter()
        result = recording_job.execute_in_process(
            instance=instance, partition_key=recording.partition_key, raise_on_error=False,
            tags={"aivlingual/trigger": "cli"}, run_config=_QUIET,
        )
        summary = _run_summary(result)
        _add_ai(totals, summary)
        seconds = time.perf_counter() - started
        if result.success:
            totals["recordings"] += 1
            segments = summary.get("transcripts", {}).get("segments", 0)
            expressions = summary.get("expressions", {}).get("expressions", 0)
            totals["segments"] += int(segments or 0)
            totals["expressions"] += int(expressions or 0)
            steps = ", ".join(summary)
            print(f"  ✓ {seconds:.1f}s  materialised: {steps}")
        else:
            totals["failed"] += 1
            for message in _failure_messages(result) or ["run failed (see the Dagster UI for the log)"]:
                print(f"  ✗ {message}")
    if keys and "stock_job" in {j.name for j in defs.resolve_all_job_defs()} and not args.skip_stock:
        print("→ vocabulary stock and publications")
        result = defs.resolve_job_def("stock_job").execute_in_process(instance=instance, raise_on_error=False,
                                                                 tags={"aivlingual/trigger": "cli"}, run_config=_QUIET)
        summary = _run_summary(result)
        _add_ai(totals, summary)
        if result.success:
            rows = summary.get("vocabulary", {}).get("rows")
            print(f"  ✓ materialised: {', '.join(summary)}" + (f" (vocabulary: {rows} expressions)" if rows else ""))
        else:
            totals["failed"] += 1
            for message in _failure_messages(result):
                print(f"  ✗ {message}")
    print(
        f"\nSummary: {totals['recordings']} recording(s) processed, {totals['failed']} failed; "
        f"{totals['segments']} segments, {totals['expressions']} expressions; "
        f"AI: {totals['api_calls']} calls, {totals['cache_hits']} cache hits, ${totals['cost_usd']:.4f}"
    )
    print(f"See runs and lineage: DAGSTER_HOME={os.environ['DAGSTER_HOME']} dagster dev  (or: aivlingual ui)")
    return 0 if totals["failed"] == 0 else 1


def _add_ai(totals: dict[str, Any], summary: dict[str, Any]) -> None:
    for md in summary.values():
        totals["api_calls"] += int(md.get("ai/api_calls", 0) or 0)
        totals["cache_hits"] += int(md.get("ai/cache_hits", 0) or 0)
        totals["cost_usd"] += float(md.get("ai/cost_usd", 0.0) or 0.0)


# ---- providers ------------------------------------------------------------------------------
def _core():
    from .ai import AICore

    return AICore()


def cmd_providers(args: argparse.Namespace) -> int:
    core = _core()
    ledger = core.ledger
    action = args.action
    if action == "list":
        rows = ledger.models(kind=args.kind)
        configured = set(core.configured_providers()) | {"offline"}
        if args.json:
            print(json.dumps(rows, indent=2, default=str))
            return 0
        print(f"{'provider':8s} {'model':28s} {'kind':13s} {'tier':8s} {'in/1M':>7s} {'out/1M':>7s} {'other':>12s} "
              f"{'q':>3s}  flags")
        for r in rows:
            other = (f"{r['per_minute']}/min" if r["per_minute"] else f"{r['per_1m_chars']}/1Mch" if r["per_1m_chars"]
                     else "")
            flags = [f for f, on in (("active", r["active"]), ("default", r["is_default"]),
                                     ("configured", r["provider"] in configured)) if on]
            if r["default_for"]:
                flags.append("default for " + ",".join(r["default_for"]))
            print(f"{r['provider']:8s} {r['model']:28s} {r['kind']:13s} {r['tier']:8s} {r['input_per_1m']:7.3f} "
                  f"{r['output_per_1m']:7.3f} {other:>12s} {r['quality']:3d}  {' '.join(flags)}")
        print(f"\nPrices: see each row's source ({', '.join(sorted({r['price_source'] for r in rows}))}).")
        return 0
    values: dict[str, Any] = {}
    if action == "activate":
        values["active"] = True
    elif action == "deactivate":
        values["active"] = False
    elif action == "set-tier":
        values["tier"] = args.tier
    elif action == "set-price":
        for name in ("input_per_1m", "output_per_1m", "per_request", "per_minute", "per_1m_chars"):
            value = getattr(args, name)
            if value is not None:
                values[name] = value
        values["price_source"] = args.source or "set by hand"
        values["price_date"] = time.strftime("%Y-%m-%d")
    elif action == "set-default":
        kind = args.kind or "text"
        for r in ledger.models(kind=kind):
            if r["provider"] == args.provider and r["is_default"]:
                ledger.update_model(r["provider"], r["model"], kind, is_default=False)
        values["is_default"] = True
    changed = ledger.update_model(args.provider, args.model, args.kind, **values)
    if not changed:
        print(f"No model {args.provider}/{args.model} in the catalogue (see `aivlingual providers list`).",
              file=sys.stderr)
        return 2
    print(f"Updated {changed} row(s) of {args.provider}/{args.model}: {values}")
    return 0


# ---- usage ----------------------------------------------------------------------------------
def cmd_usage(args: argparse.Namespace) -> int:
    from .ai.usage_report import format_report, usage_report

    report = usage_report(_core().ledger, days=args.days)
    print(json.dumps(report.as_dict(), indent=2) if args.json else format_report(report))
    return 0


# ---- similar --------------------------------------------------------------------------------
def cmd_similar(args: argparse.Namespace) -> int:
    """"Expressions similar to X" from the stock's persisted FAISS index."""
    from .analysis.vocabulary_store import similar_expressions
    from .storage.frame_store import FrameStore

    frames = FrameStore(settings.storage_url())
    if not frames.exists("vocabulary"):
        print("No vocabulary stock yet: process a recording first (`aivlingual process PATH_OR_URL`).", file=sys.stderr)
        return 1
    stock = frames.read("vocabulary")
    core = _core()
    found = similar_expressions(
        stock, settings.data_dir("vocabulary_index"), args.text,
        lambda texts: core.embed(texts, request_type="vocabulary.embed", endpoint="similar"), k=args.k,
    )
    found = [(key, expr, score) for key, expr, score in found if score > 0]
    rows = stock.set_index("key")
    hits = [{"expression": expr, "reading": str(rows.at[key, "reading"]), "meaning": str(rows.at[key, "meaning"]),
             "level": str(rows.at[key, "level"]), "count": int(rows.at[key, "count"]), "similarity": round(score, 3)}
            for key, expr, score in found]
    if args.json:
        print(json.dumps(hits, ensure_ascii=False, indent=2))
    elif not hits:
        print(f"Nothing in the stock ({len(stock)} expressions) is similar to {args.text!r}.")
    for h in [] if args.json else hits:
        print(f"{h['similarity']:.3f}  {h['expression']} ({h['reading']})  {h['meaning']}  [{h['level']}, seen {h['count']}x]")
    return 0


# ---- review ---------------------------------------------------------------------------------
def cmd_review(args: argparse.Namespace) -> int:
    """Human verdicts on AI outputs: list, show, approve, reject, rate (see aivlingual_assets.learning.review)."""
    import getpass

    from .ai.ledger import Ledger
    from .learning.review import (
        ReviewError,
        UnknownMemoryError,
        get_item,
        pick_for_review,
        record_rating,
        record_verdict,
        review_counts,
        review_history,
    )

    ledger = Ledger(settings.database_url())
    action = args.review_action
    reviewer = getattr(args, "reviewer", None) or os.environ.get("USER") or os.environ.get("USERNAME")
    if not reviewer and action in ("approve", "reject", "rate"):
        try:
            reviewer = getpass.getuser()
        except (KeyError, OSError):
            print("Cannot tell who you are: pass --reviewer NAME (or set USER).", file=sys.stderr)
            return 2

    def when(ts: float | None) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "-"

    try:
        if action == "list":
            items = pick_for_review(ledger, limit=args.limit)
            if args.json:
                print(json.dumps([item.as_row() for item in items], indent=2, ensure_ascii=False))
                return 0
            counts = review_counts(ledger)
            print(f"{counts['unreviewed']} output(s) without a verdict, {counts['verified']} verified, "
                  f"{counts['rejected']} rejected, {counts['ready_for_training']} ready for training.")
            if not items:
                print("Nothing to review.")
                return 0
            print(f"{'id':>6s}  {'request type':24s} {'uses':>4s} {'rate':>4s}  {'why':28s} output")
            for item in items:
                print(f"{item.id:6d}  {item.request_type[:24]:24s} {item.usage_count:4d} "
                      f"{item.rating if item.rating is not None else '-':>4}  {','.join(item.reasons)[:28]:28s} "
                      f"{item.preview(item.output_text, 60)}")
            print("\nShow one with `aivlingual review show ID`; then approve / reject / rate it.")
            return 0
        if action == "show":
            item = get_item(ledger, args.id)
            if args.json:
                print(json.dumps({**item.__dict__, "reasons": list(item.reasons)}, indent=2, ensure_ascii=False))
                return 0
            print(f"#{item.id}  {item.request_type}  ({item.kind}, {item.provider}/{item.model})")
            print(f"status: {item.status}   rating: {item.rating if item.rating is not None else '-'}   "
                  f"uses: {item.usage_count}   for training: {'yes' if item.use_for_training else 'no'}")
            print(f"created {when(item.created_at)}, last used {when(item.last_used_at)}; reviewed by "
                  f"{item.reviewed_by or '-'} at {when(item.reviewed_at)}")
            for title, text in (("system", item.system), ("prompt", item.prompt), ("output", item.output_text)):
                print(f"\n--- {title} ---\n{text if text else '(none)'}")
            history = review_history(ledger, item.id)
            if history:
                print("\n--- history ---")
                for h in history:
                    extra = f" rating {h['rating']}" if h["rating"] is not None else ""
                    reason = f" ({h['reason']})" if h["reason"] else ""
                    print(f"{when(h['ts'])}  {h['action']}{extra} by {h['reviewer']} [{h['source']}]{reason}")
            return 0
        if action == "approve":
            item = record_verdict(ledger, args.id, "verified", reviewer, rating=args.rating,
                                  use_for_training=False if args.no_training else None, source="cli")
            print(f"#{item.id} verified by {item.reviewed_by}" + (f", rating {item.rating}" if item.rating else "")
                  + ("" if item.use_for_training else ", not used for training"))
            return 0
        if action == "reject":
            item = record_verdict(ledger, args.id, "rejected", reviewer, reason=args.reason, source="cli")
            print(f"#{item.id} rejected by {item.reviewed_by}" + (f": {args.reason}" if args.reason else ""))
            return 0
        if action == "rate":
            item = record_rating(ledger, args.id, args.rating, reviewer, source="cli")
            print(f"#{item.id} rated {item.rating} by {reviewer} (status: {item.status})")
            return 0
    except UnknownMemoryError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except ReviewError as exc:
        print(f"Not recorded: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(f"unknown review action {action!r}")


def cmd_ui(args: argparse.Namespace) -> int:
    get_instance().dispose()  # the pools' limits are set before the UI and its daemon first use them
    root = Path(__file__).resolve().parents[1]
    exe = Path(sys.executable).with_name("dagster")
    os.execv(str(exe), [str(exe), "dev", "-w", str(root / "workspace.yaml"), "-p", str(args.port)])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aivlingual", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("process", help="register recordings and materialise their assets")
    p.add_argument("sources", nargs="+", help="media/subtitle files, YouTube URLs or video ids")
    p.add_argument("--skip-stock", action="store_true", help="do not refresh the vocabulary stock afterwards")
    p.set_defaults(func=cmd_process)

    p = sub.add_parser("providers", help="list and edit the provider catalogue")
    p.add_argument("action", choices=["list", "activate", "deactivate", "set-tier", "set-price", "set-default"])
    p.add_argument("provider", nargs="?")
    p.add_argument("model", nargs="?")
    p.add_argument("--kind", choices=["text", "embedding", "transcription", "audio"])
    p.add_argument("--tier", choices=["cheap", "normal", "premium"])
    p.add_argument("--input-per-1m", dest="input_per_1m", type=float)
    p.add_argument("--output-per-1m", dest="output_per_1m", type=float)
    p.add_argument("--per-request", dest="per_request", type=float)
    p.add_argument("--per-minute", dest="per_minute", type=float)
    p.add_argument("--per-1m-chars", dest="per_1m_chars", type=float)
    p.add_argument("--source", help="where the new price was read")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_providers)

    p = sub.add_parser("usage", help="requests, cache hits, cost and savings")
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_usage)

    p = sub.add_parser("similar", help="expressions in the stock similar to TEXT (FAISS index)")
    p.add_argument("text")
    p.add_argument("-k", type=int, default=5, help="how many (default 5)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("review", help="review AI outputs: list, show, approve, reject, rate")
    review_sub = p.add_subparsers(dest="review_action", required=True)
    r = review_sub.add_parser("list", help="outputs worth a look (most reused, highest rated, newest per type)")
    r.add_argument("--limit", type=int, default=20)
    r.add_argument("--json", action="store_true")
    r = review_sub.add_parser("show", help="one output in full, with its review history")
    r.add_argument("id", type=int)
    r.add_argument("--json", action="store_true")
    r = review_sub.add_parser("approve", help="mark an output verified (used for training unless --no-training)")
    r.add_argument("id", type=int)
    r.add_argument("--rating", type=int, choices=range(1, 6), metavar="1-5")
    r.add_argument("--reviewer", help="your name (default: $USER)")
    r.add_argument("--no-training", dest="no_training", action="store_true", help="verified, but not for training")
    r = review_sub.add_parser("reject", help="mark an output rejected (never used for training)")
    r.add_argument("id", type=int)
    r.add_argument("--reason", help="what is wrong with it (kept in the review history)")
    r.add_argument("--reviewer", help="your name (default: $USER)")
    r = review_sub.add_parser("rate", help="rate an output 1-5 without a verdict")
    r.add_argument("id", type=int)
    r.add_argument("rating", type=int, choices=range(1, 6), metavar="RATING")
    r.add_argument("--reviewer", help="your name (default: $USER)")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("ui", help="start the Dagster UI on this project and instance")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "providers" and args.action != "list" and not (args.provider and args.model):
        parser.error(f"providers {args.action} needs PROVIDER MODEL")
    if args.command == "providers" and args.action == "set-tier" and not args.tier:
        parser.error("providers set-tier needs --tier")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
