"""Work grows linearly with the deployment: ten times the apps cost at most eleven times the
function calls (counted by cProfile in a fresh interpreter, so neither the machine's speed and
load nor earlier tests matter).

A join that compares every workload with every other (the quadratic look-ups issue 17 found)
would make the larger tree cost a hundred times more; the last test shows the count sees one.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SMALL, LARGE = 30, 300

#: Counts the calls of a run over each tree given, after a warm-up run (schemas, release tables
#: and imports are one-time work); ``quadratic`` replaces one rule by a join of all pairs.
COUNT = """
import cProfile, pstats, sys
from celerylint import engine
from celerylint.engine import Settings, run
from celerylint.model.build import load

if sys.argv[1] == "quadratic":
    rule = next(r.module for r in engine.all_rules() if r.name == "beat-rolling-update")

    def same(a, b):  # a join calls something for each pair it compares
        return a.name == b.name

    def pairs(context):
        workloads = context.deployment.workloads
        return iter([a for a in workloads for b in workloads if a is not b and same(a, b)])

    rule.check = pairs

def calls(path):
    profiler = cProfile.Profile()
    profiler.enable()
    deployment, _ = load([path])
    run(deployment, Settings())
    profiler.disable()
    return sum(entry[1] for entry in pstats.Stats(profiler).stats.values())

calls(sys.argv[2])
print(calls(sys.argv[4]) / calls(sys.argv[3]))
"""


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> list[str]:
    spec = importlib.util.spec_from_file_location("bench", ROOT / "scripts" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    base = tmp_path_factory.mktemp("linearity")
    for name, apps in (("warm", 2), ("small", SMALL), ("large", LARGE)):
        bench.generate(base / name, apps)
    return [str(base / name) for name in ("warm", "small", "large")]


def ratio(trees: list[str], mode: str = "plain") -> float:
    out = subprocess.run([sys.executable, "-c", COUNT, mode, *trees], capture_output=True,
                         text=True, check=True, timeout=600)
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.ci
def test_ten_times_the_apps_cost_at_most_eleven_times_the_calls(trees):
    found = ratio(trees)
    assert found <= 11, f"{LARGE} apps cost {found:.1f}x the calls of {SMALL}"


@pytest.mark.ci
def test_the_count_sees_a_join_of_all_pairs(trees):
    """A rule that compares every workload with every other pushes the ratio past 11 (the
    count is of function calls: a loop that calls nothing per step is not seen)."""
    assert ratio(trees, "quadratic") > 11
