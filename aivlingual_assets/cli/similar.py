"""``aivlingual similar TEXT``: expressions in the stock similar to TEXT."""

from __future__ import annotations

import argparse
import json
import sys

from .. import settings
from .providers import _core


def cmd_similar(args: argparse.Namespace) -> int:
    """"Expressions similar to X" from the stock's persisted FAISS index."""
    from ..analysis.vocabulary_store import similar_expressions
    from ..storage.frame_store import FrameStore

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
