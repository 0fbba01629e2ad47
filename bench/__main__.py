"""``python -m bench``: run the benchmarks, print one aligned table, write a JSON file.

    python -m bench                         # full sizes (~4-5 min on 2 cores)
    python -m bench --quick                 # ~1 min
    python -m bench --only cache_sqlite,3   # by name or number (1-7); "partitions" = sensor,stock_update
    python -m bench --set cache_sqlite.entries=50000 --json /tmp/results.json
    python -m bench --list
    python -m bench --only nightly_pg --tiny  # the nightly on PostgreSQL (only when named): 1,000 / 12 / 1 recordings

Every figure is compared with a baseline measured in the same run (ratio = figure / baseline).
The JSON goes to ``$AIVLINGUAL_HOME/bench/results.json`` when AIVLINGUAL_HOME is set, else to
``<tmp>/aivlingual-bench/results.json`` (never into the repository), unless ``--json`` says where.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from .common import ISOLATED_ENV, REPO_ROOT, Row

# (name, module) in run order; numbers follow the benchmark list of the project brief
BENCHMARKS = [
    ("cache_sqlite", "bench.cache_hit"),
    ("router", "bench.router"),
    ("cache_pg", "bench.cache_pg"),
    ("pipeline", "bench.pipeline_throughput"),
    ("sensor", "bench.sensor_tick"),
    ("stock_update", "bench.stock_update"),
    ("faiss_merge", "bench.faiss_merge"),
    ("quality", "bench.quality"),
]
# run only when named with --only: the whole nightly through the daemon takes minutes even at its smallest size
ON_REQUEST = [("nightly_pg", "bench.nightly_pg"), ("process", "bench.process_runs"),
              ("dagster_storage", "bench.dagster_storage")]
ALIASES = {
    "1": ["cache_sqlite"], "2": ["router"], "3": ["cache_pg"], "4": ["pipeline"], "5": ["sensor", "stock_update"],
    "partitions": ["sensor", "stock_update"], "6": ["faiss_merge"], "7": ["quality"],
}


def _select(only: str | None) -> list[str]:
    names = [n for n, _ in BENCHMARKS]
    if not only:
        return names
    names += [n for n, _ in ON_REQUEST]
    wanted: list[str] = []
    for part in (p.strip() for p in only.split(",")):
        if not part:
            continue
        if part in ALIASES:
            wanted += ALIASES[part]
        elif part in names:
            wanted.append(part)
        else:
            raise SystemExit(f"unknown benchmark {part!r}; choose from {', '.join(names)} (or 1-7, partitions)")
    return [n for n in names if n in wanted]


def _sizes(module, mode: str, overrides: dict[str, dict[str, str]], name: str) -> dict[str, Any]:
    sizes = dict(module.SIZES[mode])
    for key, value in overrides.get(name, {}).items():
        if key not in sizes:
            raise SystemExit(f"{name} has no size {key!r} (it has {', '.join(sizes) or 'none'})")
        sizes[key] = type(sizes[key])(float(value)) if isinstance(sizes[key], int) else value
    return sizes


def _parse_sets(items: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for item in items:
        target, _, value = item.partition("=")
        name, _, key = target.partition(".")
        if not value or not key:
            raise SystemExit(f"--set expects NAME.KEY=VALUE, got {item!r}")
        out.setdefault(name, {})[key] = value
    return out


def default_json_path(original_home: str | None) -> Path:
    if original_home:
        return Path(original_home).expanduser() / "bench" / "results.json"
    return Path(tempfile.gettempdir()) / "aivlingual-bench" / "results.json"


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    a = abs(value)
    if unit == "":  # scores 0..1
        text = f"{value:.3f}"
    elif a >= 100:
        text = f"{value:,.0f}"
    elif a >= 10:
        text = f"{value:.1f}"
    elif a >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".rstrip()


def _ratio(r: float | None) -> str:
    if r is None:
        return "-"
    return f"{r:.1f}x" if r >= 10 else (f"{r:.2f}x" if r >= 0.1 else f"{r:.4f}x")


def render(rows: list[Row]) -> str:
    header = ("benchmark", "figure", "value", "baseline (same run)", "baseline", "ratio")
    table = [header]
    for r in rows:
        if r.skipped:
            table.append((r.benchmark, f"SKIPPED: {r.skipped}", "", "", "", ""))
            continue
        base_unit = r.unit if r.baseline_value is not None else ""
        table.append((r.benchmark, r.figure, _fmt(r.value, r.unit), r.baseline,
                      _fmt(r.baseline_value, base_unit) if r.baseline_value is not None else "", _ratio(r.ratio)))
    fixed = [max(len(row[i]) for row in table if not row[1].startswith("SKIPPED")) for i in range(len(header))]
    lines = []
    for i, cells in enumerate(table):
        if cells[1].startswith("SKIPPED"):
            lines.append(f"{cells[0]:<{fixed[0]}}  {cells[1]}")
            continue
        lines.append("  ".join([
            f"{cells[0]:<{fixed[0]}}", f"{cells[1]:<{fixed[1]}}", f"{cells[2]:>{fixed[2]}}",
            f"{cells[3]:<{fixed[3]}}", f"{cells[4]:>{fixed[4]}}", f"{cells[5]:>{fixed[5]}}",
        ]).rstrip())
        if i == 0:
            lines.append("-" * len(lines[0]))
    notes = [f"  {r.benchmark}: {r.note}" for r in rows if r.note and not r.skipped]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def _meta(mode: str, started: float) -> dict[str, Any]:
    versions = {}
    for dist in ("sqlalchemy", "faiss-cpu", "openai", "dagster", "sudachipy", "pydantic", "pandas", "numpy"):
        try:
            from importlib.metadata import version

            versions[dist] = version(dist)
        except Exception:
            versions[dist] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, timeout=5).stdout.strip() or None
    except Exception:
        commit = None
    return {
        "mode": mode, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg_start": os.getloadavg() if hasattr(os, "getloadavg") else None, "versions": versions,
        "git_commit": commit,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="AIVlingual benchmarks (figure vs baseline).")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="smaller sizes, about one minute")
    mode.add_argument("--tiny", action="store_true", help="smallest sizes, seconds (the smoke test uses this)")
    parser.add_argument("--only", metavar="NAME[,NAME]", help="benchmarks to run: names, numbers 1-7, 'partitions'")
    parser.add_argument("--json", metavar="PATH", help="where to write the results JSON")
    parser.add_argument("--set", metavar="NAME.KEY=VALUE", action="append", default=[],
                        help="override a size, e.g. cache_sqlite.entries=50000 (see --list)")
    parser.add_argument("--list", action="store_true", help="list benchmarks and their sizes, then exit")
    args = parser.parse_args(argv)
    size_mode = "quick" if args.quick else "tiny" if args.tiny else "full"
    overrides = _parse_sets(args.set)
    selected = _select(args.only)
    modules = {name: importlib.import_module(path) for name, path in [*BENCHMARKS, *ON_REQUEST]
               if name in selected or args.list}
    if args.list:
        for name, _ in [*BENCHMARKS, *ON_REQUEST]:
            m = modules[name]
            print(f"{name:<13} {m.TITLE}")
            for mode_name in ("full", "quick", "tiny"):
                print(f"{'':<13}   {mode_name:<5} {m.SIZES[mode_name]}")
        return 0

    all_sizes = {name: _sizes(modules[name], size_mode, overrides, name) for name in selected}
    unknown = set(overrides) - set(all_sizes)
    if unknown:
        raise SystemExit(f"--set names benchmarks that are not selected or do not exist: {', '.join(sorted(unknown))}")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        import dagster

        warnings.filterwarnings("ignore", category=dagster.BetaWarning)
        warnings.filterwarnings("ignore", category=dagster.PreviewWarning)
    except Exception:
        pass
    original_home = os.environ.get("AIVLINGUAL_HOME")
    for name in ISOLATED_ENV:  # never call a real provider or touch a configured database
        os.environ.pop(name, None)
    json_path = Path(args.json) if args.json else default_json_path(original_home)
    started = time.time()
    meta = _meta(size_mode, started)
    print(f"AIVlingual benchmarks ({size_mode} sizes): {', '.join(selected)}", flush=True)
    rows: list[Row] = []
    durations: dict[str, float] = {}
    used_sizes: dict[str, Any] = {}
    failed = False
    for name in selected:
        module = modules[name]
        sizes = used_sizes[name] = all_sizes[name]
        shown = ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in sizes.items())
        print(f"  {name:<13} {module.TITLE} [{shown}] ...", end=" ", flush=True)
        t0 = time.perf_counter()
        try:
            result = module.run(sizes)
        except Exception as exc:  # one broken benchmark never hides the others' figures
            failed = True
            traceback.print_exc()
            result = [Row(name, "error", None, "", skipped=f"error: {exc.__class__.__name__}: {exc}"[:300])]
        durations[name] = round(time.perf_counter() - t0, 2)
        rows.extend(result)
        print(f"{durations[name]:.1f} s", flush=True)
    meta.update(loadavg_end=os.getloadavg() if hasattr(os, "getloadavg") else None,
                total_seconds=round(time.time() - started, 1), sizes=used_sizes, durations_s=durations)
    print()
    print(render(rows))
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps({"meta": meta, "results": [r.as_dict() for r in rows]}, indent=1,
                                    ensure_ascii=False, default=str), encoding="utf-8")
    load = meta["loadavg_start"]
    print(f"\ntotal {meta['total_seconds']} s; load average at start {load[0]:.2f} on {meta['cpus']} CPUs"
          if load else f"\ntotal {meta['total_seconds']} s")
    print(f"results JSON: {json_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
