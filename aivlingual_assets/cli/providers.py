"""``aivlingual providers`` (the provider catalogue) and ``aivlingual usage`` (the usage ledger)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

def _core():
    from ..ai import AICore

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
        print(f"{'provider':8s} {'model':28s} {'kind':13s} {'tier':8s} {'in/1M':>7s} {'out/1M':>7s} {'other':>17s} "
              f"{'q':>3s}  flags")
        for r in rows:
            other = (f"{r['per_minute']}/min" if r["per_minute"] else f"{r['per_1m_chars']}/1Mch" if r["per_1m_chars"]
                     else f"{r['cached_input_per_1m']}/1M cached" if r.get("cached_input_per_1m") is not None else "")
            flags = [f for f, on in (("active", r["active"]), ("default", r["is_default"]),
                                     ("configured", r["provider"] in configured),
                                     ("diarises", "speakers" in r["capabilities"])) if on]
            if r["default_for"]:
                flags.append("default for " + ",".join(r["default_for"]))
            print(f"{r['provider']:8s} {r['model']:28s} {r['kind']:13s} {r['tier']:8s} {r['input_per_1m']:7.3f} "
                  f"{r['output_per_1m']:7.3f} {other:>17s} {r['quality']:3d}  {' '.join(flags)}")
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
        for name in ("input_per_1m", "output_per_1m", "per_request", "per_minute", "per_1m_chars",
                     "cached_input_per_1m"):
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


def cmd_usage(args: argparse.Namespace) -> int:
    from ..ai.usage_report import format_report, usage_report

    report = usage_report(_core().ledger, days=args.days)
    print(json.dumps(report.as_dict(), indent=2) if args.json else format_report(report))
    return 0
