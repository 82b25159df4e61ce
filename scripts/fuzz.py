#!/usr/bin/env python3
"""Fuzz celerylint end to end for as long as you like: ``python scripts/fuzz.py --minutes 10``.

The generators and invariants are those of ``tests/fuzzing.py`` (real workload shapes, the hostile
shapes of issue 12, random mutations of the fixtures), run here without a bound on the number of
examples and with a new seed each time. A failing repository is written to
``tests/fuzz-corpus/<hash>/``, where the test suite replays it from then on: commit it with the fix.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import fuzzing  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    args = parser.parse_args()
    deadline = time.monotonic() + args.minutes * 60
    runs = 0
    while time.monotonic() < deadline:
        @settings(max_examples=200, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(fuzzing.repositories)
        def one(files):
            fuzzing.check(files)

        one()
        runs += 200
        print(f"{runs} repositories, no failure", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
