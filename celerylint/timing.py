"""Where a run's time goes, stage by stage (``scripts/bench.py`` prints it).

Off unless ``enable()`` is called: a stage is then a ``perf_counter`` pair, nothing more. Stages
do not nest; each is wall time in the main process (with ``--jobs``, the parse stage is the wait
for the workers).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

totals: dict[str, float] | None = None


def enable() -> dict[str, float]:
    global totals
    totals = {}
    return totals


@contextmanager
def stage(name: str) -> Iterator[None]:
    if totals is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        totals[name] = totals.get(name, 0.0) + time.perf_counter() - start
