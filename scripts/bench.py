#!/usr/bin/env python3
"""Measure celerylint's speed: ``python scripts/bench.py [PATH ...]``.

Runs the real console script several times over each path (default: the fixtures, and the foreign
corpus in ../shared when it is there) and prints the best and median wall time, files per second,
and the start-up cost (``celerylint --version``). Timings belong here, not in tests.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def command() -> list[str]:
    script = shutil.which("celerylint")
    return [script] if script else [sys.executable, "-m", "celerylint"]


def timed(args: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command() + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def count_files(path: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from celerylint.discover import walk

    return sum(1 for _, kind, _ in walk([str(path)]) if kind)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    paths = args.paths or [ROOT / "fixtures"] + [
        p for p in [ROOT.parent / "shared" / "corpus" / "foreign"] if p.is_dir()]
    startup = timed(["--version"], args.repeat)
    print(f"start-up (--version): best {min(startup) * 1000:.0f} ms")
    for path in paths:
        files = count_files(path)
        times = timed(["check", "--format", "json", str(path)], args.repeat)
        best = min(times)
        print(f"{path}: {files} files, best {best:.2f} s, median {statistics.median(times):.2f} s, "
              f"{files / best:,.0f} files/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
