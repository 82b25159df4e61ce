"""--jobs: the same findings, notices and parse problems as a serial run, whatever the split."""

from __future__ import annotations

from pathlib import Path

import pytest

from celerylint import parallel
from celerylint.engine import Settings, analyse
from celerylint.model.build import load

ROOT = Path(__file__).resolve().parent.parent


def outcome(path: Path, jobs: int) -> tuple:
    deployment, skipped = load([str(path)], jobs=jobs)
    errors: list[str] = []
    diagnostics = analyse(deployment, Settings(), errors=errors, jobs=jobs).diagnostics
    return ([(d.code, d.span, d.message, d.hint, d.fix.edits if d.fix else None)
             for d in diagnostics],
            [(s.path, s.reason) for s in skipped],
            [(p.path, p.line, p.message) for p in deployment.problems],
            sorted(s.path for s in deployment.sources), errors)


@pytest.mark.skipif(not parallel.usable(2, parallel.MIN_ITEMS), reason="no fork here")
@pytest.mark.parametrize("tree", ["fixtures/rules", "fixtures/charts", "fixtures"])
def test_two_processes_find_exactly_what_one_finds(tree, monkeypatch):
    monkeypatch.setattr(parallel, "MIN_ITEMS", 0)  # split even a small tree
    forks = []
    real = parallel.run
    monkeypatch.setattr(parallel, "run", lambda *a, **k: forks.append(a[2]) or real(*a, **k))
    serial = outcome(ROOT / tree, 1)
    assert serial[0] and not forks, "the tree should have findings, found in-process"
    assert outcome(ROOT / tree, 2) == serial
    assert outcome(ROOT / tree, 3) == serial
    assert forks == [2, 2, 3, 3]  # files parsed, then rules run, by 2 and by 3 processes


def test_small_trees_and_one_job_stay_in_process():
    assert not parallel.usable(1, 10_000)
    assert not parallel.usable(4, parallel.MIN_ITEMS - 1)


def test_the_cpus_available_are_at_least_one_and_at_most_the_machines():
    import os

    assert 1 <= parallel.available_cpus() <= (os.cpu_count() or 1)


def test_a_cgroup_quota_caps_the_cpus(monkeypatch, tmp_path):
    quota = tmp_path / "cpu.max"
    quota.write_text("150000 100000\n")  # one and a half CPUs: two processes
    real_open = open
    monkeypatch.setattr("builtins.open", lambda path, *a, **k: real_open(
        quota if path == "/sys/fs/cgroup/cpu.max" else path, *a, **k))
    assert parallel._cgroup_quota() == 2
    quota.write_text("max 100000\n")  # no quota
    assert parallel._cgroup_quota() is None


@pytest.mark.skipif(not parallel.usable(2, parallel.MIN_ITEMS), reason="no fork here")
def test_a_worker_killed_midway_does_not_hang_the_run():
    """The OOM killer may take a worker: the pool breaks and the work is done in-process."""
    import os
    import signal

    parent = os.getpid()

    def task(i: int) -> int:
        if i == 5 and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return i * 2

    assert parallel.run(task, 20, 2) == [i * 2 for i in range(20)]
