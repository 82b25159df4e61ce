"""Per-file and per-rule work in worker processes (``--jobs``).

The workers are forked from the main process, so they start with everything it holds (the
scope, the configuration, after the build the whole model) and nothing is sent to them but
numbers; what comes back is small and plain: a parsed file, or a rule's findings. On systems
without a safe ``fork`` (macOS, Windows) a run is serial whatever ``--jobs`` says.

The model itself is built in the main process: cross-file joins need every file, and a model
merged from pieces would have to be pickled whole, which costs more than building it.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any, Callable

#: Below this many items, starting processes costs more than it saves.
MIN_ITEMS = 200

_task: Callable[[int], Any] | None = None  # what a forked worker runs, set before the fork


def available_cpus() -> int:
    """The CPUs this process may use: its affinity mask, capped by a cgroup CPU quota (a
    container limited to two CPUs on a 64-core node has two)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(count, quota) if quota else count)


def _cgroup_quota() -> int | None:
    for path, period_path in (("/sys/fs/cgroup/cpu.max", None),
                              ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
                               "/sys/fs/cgroup/cpu/cpu.cfs_period_us")):
        try:
            with open(path, encoding="ascii") as handle:
                fields = handle.read().split()
            if period_path is not None:
                with open(period_path, encoding="ascii") as handle:
                    fields.append(handle.read().strip())
            if fields[0] in ("max", "-1"):
                return None
            quota, period = int(fields[0]), int(fields[1])
            if quota > 0 and period > 0:
                return max(1, math.ceil(quota / period))
        except (OSError, ValueError, IndexError):
            continue
    return None


def usable(jobs: int, items: int) -> bool:
    return jobs > 1 and items >= MIN_ITEMS and sys.platform.startswith("linux") and \
        hasattr(os, "fork")


def run(task: Callable[[int], Any], count: int, jobs: int, chunks_per_job: int = 4
        ) -> list[Any]:
    """``[task(0), ..., task(count - 1)]``, computed by ``jobs`` forked processes (in order).
    A worker that dies (the OOM killer, a signal) breaks the pool: the work is then done here,
    serially, rather than waited for forever."""
    import gc
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    global _task
    _task = task
    gc.freeze()  # the collector would touch, and so copy, every page the workers share
    size = max(1, math.ceil(count / (jobs * chunks_per_job)))
    chunks = [range(start, min(count, start + size)) for start in range(0, count, size)]
    try:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            return [result for part in pool.map(_chunk, chunks) for result in part]
    except BrokenProcessPool:
        return [task(i) for i in range(count)]
    finally:
        _task = None
        gc.unfreeze()


def _chunk(indexes: range) -> list[Any]:
    assert _task is not None
    return [_task(i) for i in indexes]
