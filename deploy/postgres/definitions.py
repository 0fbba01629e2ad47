"""The PostgreSQL profile's code location: AIVlingual's definitions, each run's steps in the run's own process.

Load it with ``deploy/postgres/workspace.yaml`` (``dagster-daemon run -w deploy/postgres/workspace.yaml`` and
``dagster-webserver -w deploy/postgres/workspace.yaml``, ``DAGSTER_HOME`` holding deploy/postgres/dagster.yaml).

Dagster's default, the multiprocess executor, starts a Python process for every step: it imports Dagster and
the project, loads the job and the instance, then runs a step that takes a second or two on a small recording.
With the nightly's recordings running side by side (the run queue lets 4 heavy runs go at once) those
processes were most of a run's time (``bench/nightly_pg.py``: 85 s in the steps of a 697 s run). Here a run
executes its steps one after another in its own process (Dagster's ``in_process_executor``); recordings
still run in parallel as separate runs, queued by the run coordinator, and the ``openai``/``gemini``/``notion``
pools still limit concurrent API steps across all runs (the in-process executor claims their slots too).
A step that crashes the interpreter (a native analyser's segfault) now fails its whole run, which run
monitoring marks failed and run retries run again; the root ``workspace.yaml`` keeps the multiprocess
executor on the same instance for whoever prefers a process per step.
"""

from __future__ import annotations

import dagster as dg

from aivlingual_assets import definitions as project  # a module: one Definitions object at module scope

defs = dg.Definitions.merge(project.defs, dg.Definitions(executor=dg.in_process_executor))
