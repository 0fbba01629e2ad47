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
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:  # the whole group has already ended (and was waited for)
                pass
            else:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)


def session_members(session_id: int) -> list[int]:
    """Live (not zombie) processes of a session: a command started with ``start_new_session`` and all it started."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, pgrp, session, ...
        if int(fields[3]) == session_id and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members
