"""The wheel carries the top-level rules/ and the package data, and runs from a fresh venv."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT


@pytest.mark.ci
def test_wheel_installs_and_finds_its_rules(tmp_path: Path):
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(dist), str(ROOT)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    [wheel] = dist.glob("celerylint-*.whl")

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # the runtime dependencies come from this test environment; celerylint itself from the wheel
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                             capture_output=True, text=True)
    assert install.returncode == 0, install.stderr

    where = subprocess.run([str(python), "-c", "import celerylint.rules as r; print(r.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, check=True).stdout
    assert where.startswith(site), where
    result = subprocess.run([str(env_dir / "bin" / "celerylint"), "check", "--format", "json",
                             str(FIXTURES / "seed-002-stratdata" / "broken")],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    names = sorted({d["name"] for d in json.loads(result.stdout)["diagnostics"]})
    assert names == ["beat-rolling-update", "beat-schedule-read-only", "dependency-conflict",
                     "pip-install-at-start", "probe-http-auth", "probe-too-early",
                     "signal-not-forwarded"]


def test_every_package_directory_is_listed_in_pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "celerylint").rglob("__init__.py")}
    assert found | {"celerylint.rules", "celerylint.data"} == listed
