"""What a run did, for the terminal: its materialisations' metadata and one line per failed step.

Dagster's console logger would print every failed step's stack trace (130-260 lines for one bad
input). The terminal gets one line per failure instead: the cause, with the fix when the error is
one of ours (their messages say how to fix them), and the run id whose log keeps the full trace.
"""

from __future__ import annotations

from functools import cache
from typing import Any

# the console shows nothing of Dagster's own logging; the full event log stays in the instance
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
UNEXPECTED = ("an unexpected error, not a problem with the input: the full trace is in the run's log "
              "(`aivlingual ui` → Runs); please report it")


def run_summary(result) -> dict[str, dict[str, Any]]:
    """Asset key -> its materialisation metadata, for every asset the run materialised."""
    summary: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        summary[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
    return summary


def failure_lines(result) -> list[str]:
    """One line per failed step: ``step: cause (fix) [run id]``; one line if the run failed outside any step."""
    where = f"[run {result.run_id}]"
    lines = []
    for event in result.all_events:
        if event.is_step_failure:
            lines.append(f"{event.step_key}: {failure_cause(event.step_failure_data)} {where}")
    if not lines and not result.success:
        lines.append(f"the run failed before any step ran: {UNEXPECTED} {where}")
    return lines


def failure_cause(data) -> str:
    """The failure's first line; an error that is not one of ours also says what to do about it."""
    if data.user_failure_data is not None and data.user_failure_data.description:
        return first_line(data.user_failure_data.description)  # a dg.Failure: written for the user
    error = data.error
    if error is None:
        return f"the step failed without an error: {UNEXPECTED}"
    while error.cause is not None:  # Dagster's wrapper -> the exception the code raised
        error = error.cause
    message = first_line(_without_class_prefix(error.message, error.cls_name))
    if error.cls_name in _our_error_names():
        return message
    return f"{error.cls_name}: {message} — {UNEXPECTED}"


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _without_class_prefix(message: str, cls_name: str) -> str:
    """``pkg.mod.SomeError: text`` (how tracebacks show an exception) -> ``text``."""
    head, sep, rest = message.partition(": ")
    return rest if sep and head.rsplit(".", 1)[-1] == cls_name else message


@cache
def _our_error_names() -> frozenset[str]:
    """Names of the project's exception classes: their messages say what is wrong and how to fix it."""
    import aivlingual_assets.definitions  # noqa: F401  (imports every module that defines one)

    names, todo = set(), [BaseException]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("aivlingual_assets."):
            names.add(cls.__name__)
    return frozenset(names)
