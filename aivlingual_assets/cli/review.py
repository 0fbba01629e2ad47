"""``aivlingual review``: human verdicts on AI outputs."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from .. import settings


def cmd_review(args: argparse.Namespace) -> int:
    """Human verdicts on AI outputs: list, show, approve, reject, rate (see aivlingual_assets.learning.review)."""
    import getpass

    from ..ai.ledger import Ledger
    from ..learning.review import (
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
