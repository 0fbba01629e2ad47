"""Long-running Dagster processes started by the deployment tests, stopped with their children."""

from __future__ import annotations

import os
import signal
import subprocess
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def background(command: list[str], *, log_path: Path, **popen_kwargs):
    """Runs ``command`` in its own process group with output to ``log_path``; stops the whole group after."""
    with open(log_path, "wb") as log:  # a pipe would fill up and block the process
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                **popen_kwargs)
        try:
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
