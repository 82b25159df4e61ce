"""kustomize overlays built by kustomize (or kubectl kustomize), findings in the file that
writes the text: a patch, the kustomization's transformers, or the base."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, run

TREE = FIXTURES / "kustomize"


def copy(tmp_path: Path) -> Path:
    shutil.copytree(TREE, tmp_path / "deploy")
    (tmp_path / ".git").mkdir()
    return tmp_path


def found(root: Path) -> tuple[set[tuple[str, str, int]], str]:
    result = run("check", "--format", "json", ".", cwd=root)
    data = json.loads(result.stdout)["diagnostics"]
    return {(d["name"], d["path"], d["line"]) for d in data}, result.stderr


@pytest.mark.skipif(__import__("celerylint.carriers.kustomize", fromlist=["engine"]).engine() is None,
                    reason="neither kustomize nor kubectl is on PATH")
def test_overlays_are_built_and_findings_land_in_the_file_that_writes_the_text(tmp_path):
    root = copy(tmp_path)
    names, _ = found(root)
    assert names == {
        ("multiple-beats", "deploy/overlays/prod/kustomization.yaml", 6),  # replicas: count: 3
        ("signal-not-forwarded", "deploy/overlays/prod/command.yaml", 10),  # the patched command
    }  # the staging overlay changes only the name: its base beat is fine
    result = run("check", "--fix", "--unsafe-fixes", ".", cwd=root)
    assert "count: 1" in (root / "deploy/overlays/prod/kustomization.yaml").read_text()
    assert "&& exec celery" in (root / "deploy/overlays/prod/command.yaml").read_text()
    assert found(root)[0] == set() and result.returncode == 0


def test_without_kustomize_the_bases_are_checked_and_a_notice_says_so(tmp_path, monkeypatch):
    from celerylint.carriers import kustomize

    monkeypatch.setattr(kustomize, "engine", lambda: None)
    names, stderr = found(copy(tmp_path))
    assert names == set() and stderr.count("kustomize overlays were not applied") == 1
