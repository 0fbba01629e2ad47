"""Shared pieces: result rows, throwaway homes, timing statistics."""

from __future__ import annotations

import gc
import math
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

# Variables that would route benchmark calls to real providers or to another database/home.
# They are removed for the whole run (a benchmark that needs one sets it itself).
ISOLATED_ENV = (
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL",
    "AIVLINGUAL_LOCAL_BASE_URL", "AIVLINGUAL_MONTHLY_BUDGET_USD", "AIVLINGUAL_CHANNEL_BUDGETS",
    "AIVLINGUAL_DATABASE_URL", "AIVLINGUAL_STORAGE_URL", "AIVLINGUAL_INBOX", "DAGSTER_HOME",
)


@dataclass
class Row:
    """One figure of a benchmark and the baseline it is compared with."""

    benchmark: str
    figure: str  # what was measured, e.g. "generate_text hit p50"
    value: float | None
    unit: str
    baseline: str = ""  # what the baseline is ("" = none)
    baseline_value: float | None = None
    ratio: float | None = None  # value / baseline_value
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None  # reason, when the benchmark could not run

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def row(benchmark: str, figure: str, value: float, unit: str, baseline: str = "",
        baseline_value: float | None = None, **extra: Any) -> Row:
    ratio = value / baseline_value if baseline_value else None
    return Row(benchmark, figure, value, unit, baseline, baseline_value, ratio, **extra)


def skipped(benchmark: str, reason: str) -> Row:
    return Row(benchmark, "skipped", None, "", skipped=reason)


@contextmanager
def isolated_home(name: str, *, keep: bool = False) -> Iterator[Path]:
    """A fresh ``AIVLINGUAL_HOME`` (and ``DAGSTER_HOME`` inside it) for one benchmark.

    The previous environment is restored afterwards; the folder is removed unless ``keep``.
    """
    root = Path(tempfile.mkdtemp(prefix=f"aiv-bench-{name}-"))
    home = root / "home"
    home.mkdir()
    saved = {k: os.environ.get(k) for k in ("AIVLINGUAL_HOME", "DAGSTER_HOME", *ISOLATED_ENV)}
    for k in ISOLATED_ENV:
        os.environ.pop(k, None)
    os.environ["AIVLINGUAL_HOME"] = str(home)
    try:
        yield home
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        gc.collect()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'ledger.sqlite3'}"


def dispose_engine(url: str) -> None:
    """Write the buffered hit bookkeeping and close the ledger's connections for ``url`` (before its files go)."""
    from aivlingual_assets.ai import ledger

    ledger.dispose_engine(url)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in 0..100), as numpy's default."""
    data = sorted(values)
    if not data:
        return math.nan
    pos = (len(data) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000.0 for s in seconds]
    return {
        "n": len(ms),
        "mean_ms": statistics.fmean(ms) if ms else math.nan,
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "min_ms": min(ms) if ms else math.nan,
        "max_ms": max(ms) if ms else math.nan,
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def best_of(fn: Callable[[], Any], repeats: int, setup: Callable[[], Any] | None = None) -> tuple[list[float], Any]:
    """Runs ``fn`` ``repeats`` times (``setup`` untimed before each); returns all times and the last output."""
    times: list[float] = []
    out = None
    for _ in range(max(1, repeats)):
        if setup is not None:
            setup()
        gc.collect()
        t, out = timed(fn)
        times.append(t)
    return times, out
