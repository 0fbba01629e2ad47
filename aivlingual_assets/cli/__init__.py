"""``aivlingual``: process recordings headlessly, list or remove them, manage providers, read usage, review AI outputs."""

from __future__ import annotations

import argparse
import sys

from .instance import POOL_LIMITS, dagster_home, get_instance
from . import batches, channels, ledger, recordings
from .process import cmd_process, resolve_recording
from .providers import cmd_providers, cmd_usage
from .review import cmd_review
from .similar import cmd_similar
from .ui import cmd_ui

__all__ = ["POOL_LIMITS", "build_parser", "dagster_home", "get_instance", "main", "resolve_recording"]


# argument types: a bad value is a usage error (exit 2, with the reason) before anything runs
def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def port_number(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 1-65535, not {value}")
    return value


def price(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):  # also rejects nan
        raise argparse.ArgumentTypeError(f"a price is a finite number of USD, 0 or more, not {text}")
    return value


def non_blank(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aivlingual", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("process", help="register recordings and materialise their assets")
    p.add_argument("sources", nargs="+", help="media/subtitle files, YouTube URLs or video ids")
    p.add_argument("--skip-stock", action="store_true", help="do not refresh the vocabulary stock afterwards")
    p.add_argument("--channel", help="the channel (tenant) the recordings belong to (see `aivlingual channels`)")
    p.set_defaults(func=cmd_process)

    p = sub.add_parser("providers", help="list and edit the provider catalogue")
    p.add_argument("action", choices=["list", "activate", "deactivate", "set-tier", "set-price", "set-default"])
    p.add_argument("provider", nargs="?")
    p.add_argument("model", nargs="?")
    p.add_argument("--kind", choices=["text", "embedding", "transcription", "audio"])
    p.add_argument("--tier", choices=["cheap", "normal", "premium"])
    p.add_argument("--input-per-1m", dest="input_per_1m", type=price)
    p.add_argument("--output-per-1m", dest="output_per_1m", type=price)
    p.add_argument("--per-request", dest="per_request", type=price)
    p.add_argument("--per-minute", dest="per_minute", type=price)
    p.add_argument("--per-1m-chars", dest="per_1m_chars", type=price)
    p.add_argument("--cached-input-per-1m", dest="cached_input_per_1m", type=price,
                   help="USD per 1M input tokens read from the provider's prompt cache")
    p.add_argument("--source", help="where the new price was read")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_providers)

    p = sub.add_parser("usage", help="requests, cache hits, cost and savings")
    p.add_argument("--days", type=positive_int, default=30)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_usage)

    p = sub.add_parser("similar", help="expressions in the stock similar to TEXT (FAISS index)")
    p.add_argument("text", type=non_blank)
    p.add_argument("-k", type=positive_int, default=5, help="how many (default 5)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("review", help="review AI outputs: list, show, approve, reject, rate")
    review_sub = p.add_subparsers(dest="review_action", required=True)
    r = review_sub.add_parser("list", help="outputs worth a look (most reused, highest rated, newest per type)")
    r.add_argument("--limit", type=positive_int, default=20)
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

    recordings.add_parser(sub)
    channels.add_parser(sub)
    ledger.add_parser(sub)
    batches.add_parser(sub)

    p = sub.add_parser("ui", help="start the Dagster UI on this project and instance")
    p.add_argument("--port", type=port_number, default=3000)
    p.set_defaults(func=cmd_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "providers" and args.action != "list" and not (args.provider and args.model):
        parser.error(f"providers {args.action} needs PROVIDER MODEL")
    if args.command == "providers" and args.action == "set-tier" and not args.tier:
        parser.error("providers set-tier needs --tier")
    from ..storage.schema import DamagedDatabaseError

    try:
        return int(args.func(args) or 0)
    except DamagedDatabaseError as exc:  # an empty or unreadable ledger: say how to restore or reset it
        print(f"✗ {exc}", file=sys.stderr)
        return 1

