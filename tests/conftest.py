"""Shared helpers: run celerylint in-process on fixtures, or as the real console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"


def lint(*paths: str | Path, **settings):
    """Diagnostics for paths, computed in-process with the real loader and rules."""
    from celerylint.engine import Settings, run
    from celerylint.model.build import load

    deployment, _ = load([str(p) for p in paths])
    return run(deployment, Settings(**settings))


def found(*paths: str | Path, **settings) -> list[tuple[str, str, int]]:
    """(rule name, file name, line) of every finding: what the fixture tests compare."""
    return [(d.name, Path(d.path).name, d.span.line) for d in lint(*paths, **settings)]


def cli(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run the installed console script (or ``python -m celerylint`` when it is not on PATH)."""
    script = shutil.which("celerylint", path=os.path.dirname(sys.executable)) or shutil.which("celerylint")
    command = [script] if script else [sys.executable, "-m", "celerylint"]
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "FORCE_COLOR")}
    return subprocess.run(command + list(args), cwd=cwd or ROOT, input=stdin, text=True,
                          capture_output=True, env=env, timeout=300)


def write(root: Path, files: dict[str, str]) -> Path:
    """A small repository: relative path -> text."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run(*args: str, cwd: Path | None = None, stdin: str | None = None) -> Ran:
    """The command line in-process (fast); ``cli`` runs the real console script."""
    from click.testing import CliRunner

    from celerylint.cli import main

    previous = os.getcwd()
    os.chdir(cwd or ROOT)
    try:
        result = CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)
    finally:
        os.chdir(previous)
    return Ran(result.exit_code, result.stdout, result.stderr)


#: The slowest integration tests (a wheel build, pre-commit's try-repo, a 100,000-line input,
#: the foreign corpus, SARIF against the official schema)
#: run where CI is set (CI services and .ci/run set it) or with CELERYLINT_ALL_TESTS=1, so that
#: a local run stays under a minute.
ALL_TESTS = bool(os.environ.get("CI") or os.environ.get("CELERYLINT_ALL_TESTS"))


def pytest_collection_modifyitems(config, items):
    if ALL_TESTS:
        return
    skip = pytest.mark.skip(reason="slow integration test: runs with CI=true or "
                                   "CELERYLINT_ALL_TESTS=1")
    for item in items:
        if "ci" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not next to this checkout")
    return SHARED
