"""Building a batch of records without the cyclic garbage collector stepping in.

A run builds two records per register row (Facts, Verdict) plus their tuples and strings, none of which refer back
to each other in a cycle. CPython's collector still runs every 700 new container objects, and each run of its oldest
generation walks every live object: the reader's rows, the workbook, the records built so far. On a 20,000-row
register that is a third of the time the engine takes to judge (``benchmarks/run.py --engine``: about 80k → 120k
rows/s). Pausing it while a batch is built loses nothing: reference counting frees everything as usual, and any
cycle made meanwhile is collected by the next collection after the pause.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def without_gc_pauses(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` with the cyclic collector paused, restoring it as it was (nested calls are fine)."""

    @wraps(function)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        if not gc.isenabled():
            return function(*args, **kwargs)
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            gc.enable()

    return paused
