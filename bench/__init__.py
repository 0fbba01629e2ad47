"""AIVlingual benchmarks: every figure next to a baseline timed in the same run.

Run everything from the repository root (or ``python3 make.py bench``)::

    python -m bench                 # full sizes, about 4-5 minutes on two cores
    python -m bench --quick         # smaller sizes, about a minute
    python -m bench --only cache_sqlite,router --json /tmp/r.json
    python -m bench --list          # benchmark names and the sizes they use

One module per benchmark; each exposes ``NAME``, ``TITLE`` and ``run(sizes) -> list[Row]``
and works in a throwaway ``AIVLINGUAL_HOME`` of its own (see :mod:`bench.common`).
"""
