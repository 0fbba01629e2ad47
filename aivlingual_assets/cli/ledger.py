"""``aivlingual ledger``: check the SQLite ledger, or move a damaged one aside to start an empty one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ledger", help="check the ledger, or move a damaged one aside (reset)")
    ledger_sub = p.add_subparsers(dest="ledger_action", required=True)
    ledger_sub.add_parser("check", help="say whether the ledger file is readable")
    r = ledger_sub.add_parser("reset", help="move a damaged (empty or unreadable) ledger aside; a new one is "
                                            "created on next use. Never deletes it; refuses a readable ledger.")
    r.add_argument("--yes", action="store_true", help="really move it aside")
    p.set_defaults(func=cmd_ledger)


def cmd_ledger(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from ..storage.schema import DamagedDatabaseError, damage, file_lock, move_aside

    url = sa.engine.make_url(settings.database_url())
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        print(f"The ledger is the database {url.render_as_string(hide_password=True)}, not a SQLite file: check "
              "and restore it with that database's own tools (a backup, or pg_restore).", file=sys.stderr)
        return 2
    path = Path(url.database)
    if not path.exists():
        print(f"No ledger at {path} yet: it is created on first use.")
        return 0
    with file_lock(path):  # no command creates or opens it meanwhile
        problem = damage(path)
        if problem is None:
            if args.ledger_action == "check":
                print(f"✓ The ledger {path} is readable.")
                return 0
            print(f"The ledger {path} is readable: nothing to reset (reset only moves a damaged ledger aside).",
                  file=sys.stderr)
            return 1
        if args.ledger_action == "check" or not args.yes:
            print(f"✗ {DamagedDatabaseError(path, problem)}", file=sys.stderr)
            return 1
        moved = move_aside(path)
    print(f"Moved the damaged ledger to {moved} (kept, not deleted). A new, empty ledger is created at {path} on "
          "next use.")
    return 0
