"""``aivlingual batches``: what the nightly catch-up sent to the Batch API and what still waits (from the ledger)."""

from __future__ import annotations

import argparse
import json
import time


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batches", help="Batch API jobs of the nightly catch-up: status, requests, who waits")
    p.add_argument("--json", action="store_true", help="machine-readable")
    p.add_argument("--limit", type=int, default=20, help="newest batches shown (default 20)")
    p.set_defaults(func=cmd_batches)


def cmd_batches(args: argparse.Namespace) -> int:
    from .. import settings
    from ..ai.batching import BatchStore
    from ..ai.ledger import Ledger

    overview = BatchStore(Ledger(settings.database_url())).overview()
    overview["batches"] = overview["batches"][: max(args.limit, 0)]
    if args.json:
        print(json.dumps(overview, indent=2, ensure_ascii=False))
        return 0
    print(format_overview(overview))
    return 0


def format_overview(overview: dict) -> str:
    lines = []
    if overview["queued"]:
        lines.append(f"{overview['queued']} request(s) queued, not yet in a batch (batch_results_sensor submits "
                     f"them); waiting: {', '.join(overview['queued_for']) or '-'}")
    if not overview["batches"]:
        lines.append("No batch sent yet (AIVLINGUAL_BATCH=1 or a channel's `batch` setting turns it on for the "
                     "nightly catch-up).")
    for b in overview["batches"]:
        states = ", ".join(f"{n} {state}" for state, n in sorted(b["states"].items())) or "-"
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(b["created_at"]))
        lines.append(f"{when} UTC  {b['remote_id'] or '(not created yet)'}  {b['provider']}/{b['model']}  "
                     f"{b['status']}  {b['requests']} request(s): {states}")
        if b["waiting"]:
            lines.append(f"    waiting: {', '.join(b['waiting'])}")
        if b["error"]:
            lines.append(f"    {b['error']}")
    return "\n".join(lines)
