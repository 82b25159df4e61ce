"""--fix and --diff: findings disappear, files still parse and validate, nothing else moves."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, run as cli

BROKEN_TREES = [
    FIXTURES / "seed-002-stratdata" / "broken",
    FIXTURES / "seed-000-jewelry-shop" / "broken",
    *sorted(p / "fires" if (p / "fires").is_dir() else p
            for p in (FIXTURES / "rules").iterdir() if p.is_dir()),
    *sorted(p for p in (FIXTURES / "compose").iterdir() if p.is_dir()),
]


def copy(tree: Path, tmp_path: Path) -> Path:
    target = tmp_path / tree.name
    shutil.copytree(tree, target)
    return target


def diagnostics(cwd: Path, *args: str) -> list[dict]:
    result = cli("check", "--format", "json", *args, ".", cwd=cwd)
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)["diagnostics"]


def changed_lines(diff: str) -> set[tuple[str, int]]:
    """(file, line) of every original line that a diff removes or replaces."""
    lines, path, old = set(), "", 0
    for row in diff.splitlines():
        if row.startswith("--- a/"):
            path = row[6:]
        elif row.startswith("@@"):
            old = int(re.match(r"@@ -(\d+)", row).group(1))
        elif row.startswith("-") and not row.startswith("---"):
            lines.add((path, old))
            old += 1
        elif row.startswith(" "):
            old += 1
    return lines


@pytest.mark.parametrize("tree", BROKEN_TREES, ids=[str(p.relative_to(FIXTURES)) for p in BROKEN_TREES])
def test_fix_removes_the_fixed_findings_and_breaks_nothing(tree: Path, tmp_path: Path):
    work = copy(tree, tmp_path)
    before = diagnostics(work)
    fixable = [d for d in before if d["fix"] and d["fix"]["applicability"] == "safe"]
    edited_lines = {(e["path"], line) for d in fixable for e in d["fix"]["edits"]
                    for line in range(e["line"], e["end_line"] + 1) if e["end_column"] > 1 or line == e["line"]}

    diff = cli("check", "--diff", ".", cwd=work).stdout
    assert changed_lines(diff) <= edited_lines  # no other line changes

    fixed = cli("check", "--fix", ".", cwd=work)
    assert "Traceback" not in fixed.stderr, fixed.stderr
    after = diagnostics(work)
    key = lambda d: (d["name"], d["path"], d["message"].split(":")[0])  # noqa: E731
    assert not {key(d) for d in fixable} & {key(d) for d in after}
    # the files still parse and Kubernetes objects still pass schema validation
    invalid = ("parse-error", "invalid-manifest", "invalid-compose-file")
    new_problems = [d for d in after if d["name"] in invalid]
    old_problems = [d for d in before if d["name"] in invalid]
    assert len(new_problems) == len(old_problems)
    # a second --fix has nothing left to do
    assert cli("check", "--diff", ".", cwd=work).stdout == ""


@pytest.mark.parametrize("seed", ["seed-002-stratdata", "seed-000-jewelry-shop"])
def test_seed_diff_is_the_golden_one_and_applies_with_git_and_patch(seed: str, tmp_path: Path):
    work = copy(FIXTURES / seed / "broken", tmp_path)
    diff = cli("check", "--diff", ".", cwd=work).stdout
    golden = ROOT / "tests" / "golden" / f"{seed}.diff"
    if os.environ.get("CELERYLINT_UPDATE_GOLDEN"):
        golden.write_text(diff)
    assert diff == golden.read_text()
    (tmp_path / "fix.diff").write_text(diff)
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q"], cwd=work, check=True)
        check = subprocess.run(["git", "apply", "--check", str(tmp_path / "fix.diff")], cwd=work,
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
    if shutil.which("patch"):
        applied = subprocess.run(["patch", "-p1", "-i", str(tmp_path / "fix.diff")], cwd=work,
                                 capture_output=True, text=True)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert {d["name"] for d in diagnostics(work)} <= {"pip-install-at-start",
                                                          "broker-service-undefined",
                                                          "replicas-with-hpa"}  # unsafe fix


def test_fix_leaves_only_what_needs_a_person_and_reports_what_it_did(tmp_path: Path):
    work = copy(FIXTURES / "seed-002-stratdata" / "broken", tmp_path)
    result = cli("check", "--fix", ".", cwd=work)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == \
        "Fixed 12 problems. 3 problems remain (3 warnings) in 1 file."
    # installing at start needs a new image: that one is for a person
    assert {d["name"] for d in diagnostics(work)} == {"pip-install-at-start"}
    work = copy(FIXTURES / "seed-000-jewelry-shop" / "broken", tmp_path / "seed-000")
    # the undefined broker Service needs a person too, and removing replicas beside the HPA
    # needs a kubectl apply migration first (an unsafe fix)
    assert cli("check", "--fix", ".", cwd=work).stdout.splitlines()[-1] == \
        "Fixed 3 problems. 3 problems remain (2 errors, 1 warning) in 7 files."


def test_overlapping_fixes_are_applied_in_later_passes(tmp_path: Path):
    # worker -B on a read-only root: the beat fix and the /tmp fix both add the first
    # volumeMount and the first volume at the same places
    (tmp_path / "worker.yaml").write_text("""apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  selector:
    matchLabels: {app: worker}
  strategy:
    type: Recreate
  template:
    metadata:
      labels: {app: worker}
    spec:
      containers:
        - name: worker
          image: example/app:1.0
          args: ["celery", "-A", "proj", "worker", "-B", "-c", "2"]
          securityContext:
            readOnlyRootFilesystem: true
""")
    assert {d["name"] for d in diagnostics(tmp_path)} == {
        "beat-schedule-read-only", "prefork-no-writable-tmp"}
    result = cli("check", "--fix", ".", cwd=tmp_path)
    assert result.stdout.strip() == "Fixed 2 problems. No problems remain in 1 file."
    text = (tmp_path / "worker.yaml").read_text()
    # the second pass finds the new /tmp emptyDir and reuses it for the schedule
    assert '"-s", "/tmp/celerybeat-schedule"' in text and text.count("- name: tmp") == 2


def test_fix_keeps_crlf_mode_and_leaves_unparseable_files_alone(tmp_path: Path):
    worker = (FIXTURES / "rules/prefork-default-concurrency/fires/k8s.yaml").read_text()
    (tmp_path / "worker.yaml").write_bytes(worker.replace("\n", "\r\n").encode())
    os.chmod(tmp_path / "worker.yaml", 0o640)
    broken = "celery[redis]==5.3.4\nredis==5.0.1\ncelery[redis==\n"
    (tmp_path / "requirements.txt").write_text(broken)
    result = cli("check", "--fix", ".", cwd=tmp_path)
    assert "Fixed 2 problems" in result.stdout
    data = (tmp_path / "worker.yaml").read_bytes()
    assert b"--concurrency=2" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert os.stat(tmp_path / "worker.yaml").st_mode & 0o777 == 0o640
    assert (tmp_path / "requirements.txt").read_text() == broken  # it had a parse error
    assert not list(tmp_path.glob(".celerylint-*"))  # no temporary file left behind


def test_fix_refuses_a_file_changed_since_it_was_read(tmp_path: Path):
    from celerylint.engine import Settings, run
    from celerylint.fixes import apply
    from celerylint.model.build import load

    shutil.copy(FIXTURES / "rules/prefork-default-concurrency/fires/k8s.yaml", tmp_path / "w.yaml")

    def lint(overlay):
        deployment, skipped = load([str(tmp_path)], overlay=overlay)
        return deployment, skipped, run(deployment, Settings())

    outcome = apply.fix_all(lint, unsafe=False)
    assert outcome.fixed == 2
    (tmp_path / "w.yaml").write_text("# edited by someone else\n")
    problems = apply.write(outcome)
    assert problems == [f"{outcome.originals and next(iter(outcome.edited))}: changed on disk "
                        "since it was read; not fixed"]
    assert (tmp_path / "w.yaml").read_text() == "# edited by someone else\n"


def test_hashed_requirements_get_an_unsafe_fix_only(tmp_path: Path):
    (tmp_path / "requirements.txt").write_text(
        "celery[redis]==5.3.4 \\\n    --hash=sha256:" + "a" * 64 + "\n"
        "redis==5.0.1 --hash=sha256:" + "b" * 64 + "  # pinned by ops\n")
    [finding] = diagnostics(tmp_path)
    assert finding["fix"]["applicability"] == "unsafe"
    assert "--hash values on this line must be regenerated" in finding["fix"]["title"]
    assert cli("check", "--fix", ".", cwd=tmp_path).returncode == 1  # safe only: nothing applied
    result = cli("check", "--fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert result.returncode == 0
    assert "redis==4.6.0 --hash=sha256:" in (tmp_path / "requirements.txt").read_text()
    assert "# pinned by ops" in (tmp_path / "requirements.txt").read_text()


def test_fix_and_diff_together_is_a_usage_error():
    result = cli("check", "--fix", "--diff", str(FIXTURES))
    assert result.returncode == 2 and "cannot be used together" in result.stderr
