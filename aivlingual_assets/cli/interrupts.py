"""Ctrl-C (SIGINT) and SIGTERM stop a whole command, not just the Dagster run it is in.

Outside a run, the signal raises :class:`Interrupted` where the command is. Inside
``execute_in_process`` Dagster installs its own handler for both signals: it stops the current
step (the run ends failed, its finished steps kept) and returns normally, so the command could
not tell an interrupted run from a failed one, nor SIGINT from SIGTERM. Python's wakeup fd sees
every signal whatever handler is installed, so :meth:`StopSignals.check` reads it after each run
and raises :class:`Interrupted` for the signal that arrived.
"""

from __future__ import annotations

import signal
import socket
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)
NAMES = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}


class Interrupted(KeyboardInterrupt):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM

    @property
    def name(self) -> str:
        return NAMES.get(self.signum, f"signal {self.signum}")


class StopSignals:
    """While active: SIGINT and SIGTERM raise :class:`Interrupted`, and :meth:`check` reports those Dagster caught."""

    def __init__(self) -> None:
        self._active = threading.current_thread() is threading.main_thread()  # signals are the main thread's
        self._received: int | None = None

    def __enter__(self) -> StopSignals:
        if not self._active:
            return self
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._previous = {s: signal.signal(s, self._raise) for s in SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        if not self._active:
            return
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._reader.close()
        self._writer.close()

    def _raise(self, signum: int, _frame) -> None:
        if self._received is not None:
            return  # already stopping: a second Ctrl-C must not break the report of the first
        self._received = signum
        raise Interrupted(signum)

    def received(self) -> int | None:
        """The first stop signal received so far (None if none)."""
        if self._active:
            try:
                while data := self._reader.recv(64):
                    for signum in data:
                        if signum in SIGNALS and self._received is None:
                            self._received = signum
            except BlockingIOError:
                pass
        return self._received

    def check(self) -> None:
        """Raises :class:`Interrupted` if a stop signal arrived, even one that Dagster's handler took."""
        signum = self.received()
        if signum is not None:
            raise Interrupted(signum)
