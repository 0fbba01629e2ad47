"""``aivlingual ui``: ``dagster dev`` on this project and instance."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .instance import get_instance


def cmd_ui(args: argparse.Namespace) -> int:
    get_instance().dispose()  # the pools' limits are set before the UI and its daemon first use them
    root = Path(__file__).resolve().parents[2]
    exe = Path(sys.executable).with_name("dagster")
    os.execv(str(exe), [str(exe), "dev", "-w", str(root / "workspace.yaml"), "-p", str(args.port)])
    return 0
