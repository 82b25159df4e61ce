"""~4,900 files from projects that do not use Celery: no crash, and no Celery rule fires."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.ci
def test_foreign_corpus_is_quiet_and_crash_free(shared):
    corpus = shared / "corpus" / "foreign"
    projects = sorted(p for p in corpus.iterdir() if p.is_dir())
    # the projects in two halves, one run each, side by side (each project is checked whole)
    halves = [projects[0::2], projects[1::2]]
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "FORCE_COLOR")}
    runs = [subprocess.Popen([sys.executable, "-m", "celerylint", "check", "--format", "json",
                              *map(str, half)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env) for half in halves]
    files = skipped = 0
    celery_findings = []
    for process in runs:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode in (0, 1), stderr
        assert "Traceback" not in stderr
        data = json.loads(stdout)
        files += data["summary"]["files"]
        # every file is read: checked as a carrier, or listed as skipped (not one silently)
        skipped += sum(1 for s in data["summary"]["skipped"]
                       if s["reason"].startswith("YAML that is neither"))
        celery_findings += [d for d in data["diagnostics"] if d["name"] not in (
            "parse-error", "invalid-manifest", "invalid-compose-file")]
    assert files > 3000 and files + skipped > 4800
    assert celery_findings == []
