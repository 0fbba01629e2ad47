"""AIVlingual: Japanese Vtuber streams into language-learning material, as a Dagster project."""

import atexit
import gc

# Python's cyclic garbage collector and the definitions (#14). Importing them (Dagster, pandas, SQLAlchemy,
# fpdf, ...) makes ~400k objects that live as long as the process, none of them garbage; with the collector on,
# every 700 allocations start a collection and the older generations are scanned again and again: a third of
# the import's CPU (2.9 s -> 1.9 s on the 2-core machine). So the collector is paused while they are imported,
# and what was imported is then frozen (gc.freeze: moved to a generation no collection scans), which also
# spares every later collection of a command's run from scanning it. At exit, what is left is frozen too:
# the interpreter's last collection would scan the whole heap (~1 s after a one-hour stream, whose engine
# holds the JMdict tables) only to free memory the OS takes back anyway; objects are still freed by their
# reference counts as the modules are torn down.
_collecting = gc.isenabled()
gc.disable()
try:
    from .definitions import defs
finally:
    gc.freeze()
    if _collecting:
        gc.enable()
atexit.register(gc.freeze)

__all__ = ["defs"]
