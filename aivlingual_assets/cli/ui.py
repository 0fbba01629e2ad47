"""``aivlingual ui``: ``dagster dev`` on this project and instance."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from .instance import get_instance


def cmd_ui(args: argparse.Namespace) -> int:
    get_instance().dispose()  # the pools' limits are set before the UI and its daemon first use them
    root = Path(__file__).resolve().parents[2]
    exe = Path(sys.executable).with_name("dagster")
    # An ignored signal stays ignored across exec. A shell starting `aivlingual ui &` without job control ignores
    # SIGINT, and dagster dev maps SIGTERM to SIGINT's disposition: it would stop on neither, leaving its webserver,
    # daemon and code servers running. With both at their default, dagster dev's Python turns either into
    # KeyboardInterrupt and shuts all of them down.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    os.execv(str(exe), [str(exe), "dev", "-w", str(root / "workspace.yaml"), "-p", str(args.port)])
    return 0
