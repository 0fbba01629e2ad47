"""The offline engine's analysis of a recording on every core, its data loaded once (#14).

``ExtractExpressions`` sends a transcript to the offline engine in chunks (``tasks.chunk_lines``), one
cached request each; a one-hour stream is ~27 of them, ~1 s of analysis on one core after ~0.4 s of
loading the engine (the JMdict phrase index, Sudachi, lexicon, grammar and collocation tables). Here one
child process loads the engine (:func:`warm_engine`), freezes it for the collector and forks its workers,
which share that data copy-on-write; the chunks of a recording go to them in one batch and their answers
come back in the chunks' order. Each answer is ``extract_expressions(chunk)``, computed by the same code on
the same data as in the calling process, so the expressions are the same as the serial path's
(``aivlingual_tests/analysis/test_engine_workers.py``); only where the work runs changes.

The serial path stays: on one core, where ``fork`` is unavailable, when other work keeps a core busy
(:data:`IDLE_CORES`: the split costs CPU, so it pays only with both cores free), with ``AIVLINGUAL_ENGINE_WORKERS=1``
(or 0; ``=2`` asks for two workers whatever the load), for a recording of one chunk when no workers are running,
and whenever the workers fail (the chunk is then analysed in the calling process, which raises what the engine
raises).

``aivlingual process`` starts the workers before its first run (:func:`running`) when no language model is
configured, so the engine loads while the command creates Dagster's instance and runs the first steps;
otherwise they start when a recording's second chunk would need the engine (:func:`lookahead`).
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .schemas import Expression, LevelAssessment, TranscriptLine

__all__ = ["ENV", "EngineWorkers", "Lookahead", "lookahead", "running", "warm_engine", "worker_count"]

ENV = "AIVLINGUAL_ENGINE_WORKERS"  # how many worker processes; 0 or 1: the serial path
POLL_S = 1.0  # how often a wait for an answer checks that the child is still alive
MAX_WORKERS = 2  # the development machine's cores; more would only split the same chunks finer
# Workers only when this many cores are idle (:func:`busy_cores`): split across two processes the analysis costs
# ~1.5x its CPU on one (each worker fills its own caches: tokens, dictionary entries, grammar matches of lines
# said again), so it pays only when both workers have a core; on a busy machine (others' jobs on both cores,
# load 5) the command took 14.2 s with them against 11.1 s without (#14, README "Performance").
IDLE_CORES = 2.0

# Lines that take the engine through every family it loads lazily (lexicon, collocations, JMdict phrases,
# grammar, mistakes, vocabulary with its dictionary and kanji tables), so its workers inherit them loaded.
WARM_LINES = (
    "草生える、ガチで神回だったわ。推しのスパチャ読みが尊い",
    "見れるかどうか分からないけど、明日の配信も楽しみにしてて下さいね",
    "猫の手も借りたいくらい忙しくて、結局徹夜しちゃった",
)


def worker_count() -> int:
    """Worker processes to use: ``AIVLINGUAL_ENGINE_WORKERS`` when set, else the usable cores up to
    ``MAX_WORKERS`` when enough of them are idle (:data:`IDLE_CORES`); below 2 (or without ``fork``) the calling
    process analyses every chunk itself."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    text = os.environ.get(ENV, "").strip()
    if text:
        try:
            return max(int(text), 1)
        except ValueError:
            return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    if cores - busy_cores() < IDLE_CORES:
        return 1
    return max(1, min(cores, MAX_WORKERS))


def busy_cores(loadavg: str = "/proc/loadavg") -> float:
    """How many cores other work keeps busy now: the tasks running or waiting to run besides this one (Linux's
    /proc/loadavg), else the last minute's load average. A load average would count the previous commands of a
    script that runs them one after another (a benchmark) as if they were still running."""
    try:
        with open(loadavg, encoding="ascii") as fh:
            running = int(fh.read().split()[3].split("/")[0])
        return float(max(running - 1, 0))
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def warm_engine() -> None:
    """Loads what the offline engine loads on first use, by analysing :data:`WARM_LINES`."""
    from .offline_extractor import extract_expressions

    extract_expressions([TranscriptLine(start=float(i), end=float(i) + 1, text=text)
                         for i, text in enumerate(WARM_LINES)])


def _extract(chunk: list[TranscriptLine]) -> list[Expression]:
    from .offline_extractor import extract_expressions

    return extract_expressions(chunk)


def _levels(batch: list[Expression]) -> list[LevelAssessment]:
    from .dictionary import lookup
    from .levels import assess_level

    return [assess_level(e, lookup(e.lemma, e.reading)) for e in batch]


# what the workers answer: the offline twins of ExtractExpressions (a chunk) and AssessLevels (a batch)
JOBS: dict[str, Callable[[Any], Any]] = {"expressions": _extract, "levels": _levels}
# whether a recording's inputs of a kind start the workers when none are running: a chunk's analysis is most
# of the engine's work; assessing levels is not worth loading the whole engine in another process
STARTS = {"expressions": True, "levels": False}


def _run(job: tuple[str, Any]) -> Any:
    kind, task_input = job
    return JOBS[kind](task_input)


def _serve(conn: Any, parent_end: Any, processes: int) -> None:
    """The child: loads the engine, forks ``processes`` workers, answers batches of chunks until told to stop
    (``None``) or its parent is gone (end of file on the pipe)."""
    parent_end.close()  # else the pipe would never report the parent's end
    # signals are the command's to handle (it stops us by closing the pipe); a signal here must not reach
    # the parent's wake-up socket either (cli.interrupts)
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        warm_engine()
    except BaseException as exc:  # noqa: BLE001 - said to the parent, which then analyses serially
        _send(conn, ("failed", f"warming the engine: {exc!r}"))
        return
    gc.freeze()  # the engine's objects: no collection in a worker touches (and so copies) their pages
    with multiprocessing.get_context("fork").Pool(processes, initializer=_close, initargs=(conn,)) as pool:
        if not _send(conn, ("ready", os.getpid())):
            return
        while True:
            try:
                batch = conn.recv()
            except (EOFError, OSError):
                return
            if batch is None:
                return
            kind, inputs = batch
            try:
                for result in pool.imap(_run, [(kind, x) for x in inputs]):
                    if not _send(conn, ("ok", result)):
                        return  # the parent stopped listening (it was interrupted, or it ended)
            except Exception as exc:  # noqa: BLE001 - the parent computes the rest itself
                _send(conn, ("failed", repr(exc)))
                return


def _send(conn: Any, message: tuple[str, Any]) -> bool:
    try:
        conn.send(message)
    except OSError:  # the parent closed its end
        return False
    return True


def _close(conn: Any) -> None:
    """A worker's copy of the child's end of the pipe: closed, so the parent sees it end when the child does."""
    conn.close()


class EngineWorkers:
    """A child process holding the loaded engine and its forked workers; used from one thread at a time."""

    def __init__(self, processes: int):
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        # not a daemon: a daemon process may not have children (its pool); it ends when its pipe closes
        self._process = ctx.Process(target=_serve, args=(child, self._conn, processes), name="aivlingual-engine")
        self._process.start()
        child.close()
        self._lock = threading.Lock()
        self._pending = 0  # answers of the last batch not read yet
        self._batch = 0  # batches sent
        self._ready = False
        self.broken: str | None = None

    def _receive(self) -> tuple[str, Any]:
        try:
            while not self._conn.poll(POLL_S):
                if not self._process.is_alive():
                    raise EOFError(f"exit code {self._process.exitcode}")
            kind, value = self._conn.recv()
        except (EOFError, OSError) as exc:
            kind, value = "failed", f"the engine's workers ended: {exc!r}"
        if kind == "failed":
            self.broken = str(value)
            self._pending = 0
        return kind, value

    def _wait_ready(self) -> bool:
        if not self._ready and self.broken is None:
            kind, _ = self._receive()
            self._ready = kind == "ready"
        return self._ready and self.broken is None

    def submit(self, kind: str, inputs: Sequence[Any]) -> Iterator[Any]:
        """Sends ``inputs`` of a :data:`JOBS` kind; yields their answers in order, stopping at a failure."""
        with self._lock:
            while self._pending and self.broken is None:  # an earlier batch left unread (its step failed)
                self._pending -= 1
                self._receive()
            if not self._wait_ready():
                return iter(())
            try:
                self._conn.send((kind, list(inputs)))
            except OSError as exc:  # the child is gone
                self.broken = f"the engine's workers ended: {exc!r}"
                return iter(())
            self._pending = len(inputs)
            self._batch += 1
            return self._answers(self._batch, len(inputs))

    def _answers(self, batch: int, count: int) -> Iterator[Any]:
        for _ in range(count):
            with self._lock:
                if self.broken is not None or batch != self._batch:  # failed, or a later batch was sent
                    return
                kind, value = self._receive()
                if kind != "ok":
                    return
                self._pending -= 1
            yield value

    def close(self) -> None:
        """Stops the child: told to when it is idle; otherwise its next answer finds the pipe closed."""
        if not self._pending and self._ready and self.broken is None:
            _send(self._conn, None)
        self._conn.close()
        self._process.join(timeout=10)
        if self._process.is_alive():  # pragma: no cover - a worker stuck in the engine
            self._process.terminate()
            self._process.join()


_workers: EngineWorkers | None = None
_workers_lock = threading.Lock()


def _shared(start: bool) -> EngineWorkers | None:
    """This process's workers, started when ``start`` and the machine has the cores; None otherwise."""
    global _workers
    with _workers_lock:
        if _workers is not None and _workers.broken is not None:
            _workers.close()
            _workers = None
        if _workers is None and start:
            processes = worker_count()
            if processes < 2:
                return None
            _workers = EngineWorkers(processes)
            atexit.register(_stop, _workers)
        return _workers


def _forget_after_fork() -> None:
    """A forked child (the engine's own child, a step's process forked by an executor) does not talk to its
    parent's workers: their pipe is the parent's. The lock is new too: the fork may have come while it was held."""
    global _workers, _workers_lock
    _workers, _workers_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def _stop(workers: EngineWorkers) -> None:
    global _workers
    with _workers_lock:
        if _workers is workers:
            _workers = None
    workers.close()


@contextmanager
def running(start: bool = True) -> Iterator[EngineWorkers | None]:
    """Starts this process's workers (when ``start`` and there are the cores) for the block; stops them after."""
    workers = _shared(start)
    try:
        yield workers
    finally:
        if workers is not None:
            _stop(workers)


class Lookahead:
    """A recording's task inputs (chunks of lines, batches of expressions), answered by the workers in one batch
    on the first request for one of them.

    ``get(task_input)`` is the engine's answer for it, or None (then the caller computes it itself): for an input
    that is not one of these, one before the first requested (their answers were cached), or after the workers
    failed. Inputs are requested in order, as ``extract_recording_expressions`` and ``assess_levels`` do."""

    def __init__(self, kind: str, inputs: Sequence[Sequence[Any]]):
        self.kind = kind
        self.inputs = [list(x) for x in inputs]
        self._answers: Iterator[Any] | None = None
        self._next = 0  # index of the input the next answer is for

    def get(self, task_input: Sequence[Any]) -> Any | None:
        wanted = list(task_input)
        index = next((i for i in range(self._next, len(self.inputs)) if self.inputs[i] == wanted), None)
        if index is None:
            return None
        if self._answers is None:
            workers = _shared(start=STARTS[self.kind] and len(self.inputs) - index >= 2)  # one alone: no fork
            if workers is None:
                return None
            self._answers = workers.submit(self.kind, self.inputs[index:])
            self._next = index
        answer = None
        while self._next <= index:
            answer = next(self._answers, None)
            self._next += 1
            if answer is None:
                self._next = len(self.inputs)  # the workers failed: every later input is computed here
                return None
        return answer


def lookahead(kind: str, inputs: Sequence[Sequence[Any]]) -> Lookahead | None:
    """A :class:`Lookahead` over ``inputs`` when they may go to workers, else None (the serial path)."""
    if not inputs or (_shared(start=False) is None
                      and (not STARTS[kind] or len(inputs) < 2 or worker_count() < 2)):
        return None
    return Lookahead(kind, inputs)
