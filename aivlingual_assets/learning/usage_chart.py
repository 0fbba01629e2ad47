"""The AI cost dashboard: last 7 and 30 days of usage as numbers, markdown tables and a PNG chart.

The numbers come from :func:`aivlingual_assets.ai.usage_report.usage_report` (the same
report as ``aivlingual usage``).  :func:`dashboard_metadata` flattens two reports into
numeric metadata with stable names (``cost_usd_7d``, ``hit_rate_30d``, ...) so the Dagster
UI can plot each over time, plus markdown tables.  :func:`render_usage_chart` draws the
daily cost (bars) and cache hit rate (line) with matplotlib's object API on the Agg
canvas (no pyplot global state, safe in threads) and writes the PNG atomically;
:func:`chart_markdown` embeds it as a data: URI image, which the UI's markdown renders in place.
"""

from __future__ import annotations

import base64
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..ai.usage_report import UsageReport

__all__ = [
    "WINDOWS",
    "chart_markdown",
    "daily_series",
    "daily_table",
    "dashboard_markdown",
    "dashboard_metadata",
    "render_usage_chart",
    "usage_chart_figure",
]

WINDOWS = (7, 30)
CHART_DPI = 80  # 800x336 px: readable in the UI, ~20 kB inside the metadata
_FIELDS = (
    ("requests", "Requests", "{:,}"),
    ("provider_calls", "Provider calls", "{:,}"),
    ("cache_hits", "Cache hits", "{:,}"),
    ("hit_rate", "Cache hit rate", "{:.1%}"),
    ("failures", "Failures", "{:,}"),
    ("input_tokens", "Input tokens", "{:,}"),
    ("output_tokens", "Output tokens", "{:,}"),
    ("cost_usd", "Cost (USD)", "${:,.4f}"),
    ("saved_usd", "Saved by the cache (USD)", "${:,.4f}"),
    ("cached_input_tokens", "Input tokens from the providers' prompt caches", "{:,}"),
    ("prompt_cache_saved_usd", "Saved by prompt caching (USD)", "${:,.4f}"),
)


def daily_series(report: UsageReport, *, now: float | None = None) -> list[dict[str, Any]]:
    """One entry per UTC day of the window (days without usage as zeros), oldest first."""
    now = now if now is not None else report.since + report.days * 86400
    by_day = {d["day"]: d for d in report.daily}
    first = int(report.since // 86400)
    last = int(now // 86400)
    series = []
    for day in range(first, last + 1):
        label = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
        row = by_day.get(label, {})
        requests = int(row.get("requests", 0))
        hits = int(row.get("cache_hits", 0))
        series.append({
            "day": label, "requests": requests, "cache_hits": hits,
            "cost_usd": float(row.get("cost_usd", 0.0)), "saved_usd": float(row.get("saved_usd", 0.0)),
            "hit_rate": hits / requests if requests else None,
        })
    return series


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return "_none_"
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    for row in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    return "\n".join(out)


def dashboard_markdown(reports: dict[int, UsageReport]) -> str:
    windows = sorted(reports)
    rows = [[label, *(fmt.format(getattr(reports[w], name)) for w in windows)] for name, label, fmt in _FIELDS]
    rows.append(["Training examples ready", *(f"{reports[w].training_examples_ready:,}" for w in windows)])
    parts = ["### AI usage\n", _table(["", *(f"last {w} days" for w in windows)], rows)]
    for window in reversed(windows):  # the longest window first: this week's tables then show what changed
        report = reports[window]
        parts += [
            f"\n\n### Top providers / models (last {report.days} days)\n",
            _table(["provider", "model", "requests", "cache hits", "cost (USD)"],
                   [[r["provider"], r["model"], r["requests"], r["cache_hits"], f"${r['cost_usd']:.4f}"]
                    for r in report.top_models]),
            f"\n\n### Top request types (last {report.days} days)\n",
            _table(["request type", "requests", "cache hits", "cost (USD)"],
                   [[r["request_type"], r["requests"], r["cache_hits"], f"${r['cost_usd']:.4f}"]
                    for r in report.top_request_types]),
            f"\n\n### Top endpoints (last {report.days} days)\n",
            _table(["endpoint", "requests", "cache hits", "cost (USD)"],
                   [[r["endpoint"], r["requests"], r["cache_hits"], f"${r['cost_usd']:.4f}"]
                    for r in report.top_endpoints]),
            f"\n\n### Per channel (last {report.days} days)\n",
            _table(["channel", "requests", "provider calls", "cache hits", "cost (USD)", "saved (USD)"],
                   [[r["channel"], r["requests"], r["provider_calls"], r["cache_hits"], f"${r['cost_usd']:.4f}",
                     f"${r['saved_usd']:.4f}"] for r in report.channels]),
        ]
    return "".join(parts)


def dashboard_metadata(reports: dict[int, UsageReport]) -> dict[str, float | int]:
    """Flat numeric values, one name per window (``cost_usd_7d``, ``hit_rate_30d``, ...)."""
    values: dict[str, float | int] = {}
    for window, report in sorted(reports.items()):
        for name, _, _ in _FIELDS:
            value = getattr(report, name)
            values[f"{name}_{window}d"] = float(value) if isinstance(value, float) else int(value)
    longest = reports[max(reports)]
    values["training_examples_ready"] = int(longest.training_examples_ready)
    for row in longest.channels:  # every channel's spend, plotted per materialisation
        values[f"cost_usd_{max(reports)}d/channel/{row['channel']}"] = float(row["cost_usd"])
    for row in longest.top_models:
        values[f"cost_usd_{max(reports)}d/{row['provider']}"] = round(
            float(values.get(f"cost_usd_{max(reports)}d/{row['provider']}", 0.0)) + float(row["cost_usd"]), 6)
    return values


def usage_chart_figure(report: UsageReport, *, now: float | None = None, title: str | None = None):
    """Daily cost (bars, USD) and cache hit rate (line, %) over the report's window, as a matplotlib Figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    series = daily_series(report, now=now)
    labels = [s["day"][5:] for s in series]
    xs = list(range(len(series)))
    figure = Figure(figsize=(10, 4.2), dpi=CHART_DPI)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(1, 1, 1)
    ax.bar(xs, [s["cost_usd"] for s in series], color="#4C72B0", label="cost (USD)")
    ax.set_ylabel("cost per day (USD)")
    ax.set_ylim(bottom=0)
    rate = figure.axes[0].twinx()
    rate_x = [x for x, s in zip(xs, series) if s["hit_rate"] is not None]
    rate_y = [s["hit_rate"] for s in series if s["hit_rate"] is not None]
    rate.plot(rate_x, rate_y, color="#DD8452", marker="o", markersize=3, linewidth=1.5, label="cache hit rate")
    rate.set_ylim(0, 1.05)
    rate.yaxis.set_major_formatter(PercentFormatter(1.0))
    rate.set_ylabel("cache hit rate")
    step = max(1, len(xs) // 10)
    ax.set_xticks(xs[::step])
    ax.set_xticklabels(labels[::step], rotation=0, fontsize=8)
    ax.set_xlim(-0.6, len(xs) - 0.4)
    ax.grid(axis="y", alpha=0.3)
    handles = ax.get_legend_handles_labels()[0] + rate.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], loc="upper left", fontsize=8, frameon=False)
    # parse_math=False: the dollar signs are amounts, not mathtext delimiters (no TeX involved either way)
    ax.set_title(title or (f"AI cost and cache hit rate, last {report.days} days — total ${report.cost_usd:.4f}, "
                           f"saved ${report.saved_usd:.4f}, hit rate {report.hit_rate:.1%}"), fontsize=10,
                 parse_math=False)
    figure.tight_layout()
    return figure


def render_usage_chart(report: UsageReport, path: Path | str, *, now: float | None = None,
                       title: str | None = None) -> Path:
    """:func:`usage_chart_figure` as a PNG file, written atomically."""
    path = Path(path)
    figure = usage_chart_figure(report, now=now, title=title)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        figure.savefig(tmp, format="png")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def chart_markdown(png: Path | str, *, alt: str = "AI cost and cache hit rate") -> str:
    """The PNG as a markdown image with a data: URI, which the Dagster UI renders in place (no file access needed)."""
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    return f"![{alt}](data:image/png;base64,{data})"


def daily_table(report: UsageReport, *, now: float | None = None):
    """The chart's numbers, one row per day, as a Dagster table (shown as a table in the UI)."""
    import dagster as dg

    columns = [dg.TableColumn("day", "string"), dg.TableColumn("requests", "int"),
               dg.TableColumn("cache_hits", "int"), dg.TableColumn("cost_usd", "float"),
               dg.TableColumn("saved_usd", "float")]
    rows = [dg.TableRecord({"day": s["day"], "requests": s["requests"], "cache_hits": s["cache_hits"],
                            "cost_usd": round(s["cost_usd"], 6), "saved_usd": round(s["saved_usd"], 6)})
            for s in daily_series(report, now=now)]
    return dg.MetadataValue.table(rows, schema=dg.TableSchema(columns))
