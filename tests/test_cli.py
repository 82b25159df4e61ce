"""The real console script: formats, exit status, stdin, and bad arguments."""

from __future__ import annotations

import json

from conftest import FIXTURES, cli

BROKEN = "fixtures/seed-002-stratdata/broken"
FIXED = "fixtures/seed-002-stratdata/fixed"


def test_text_output_lines_hints_and_summary():
    result = cli("check", BROKEN)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    first = lines[0]
    assert first.startswith(f"{BROKEN}/kubernetes/celery/celery-deployment.yaml:45:15: CL503 warning: ")
    assert first.endswith("(pip-install-at-start)")
    assert lines[1].startswith("    hint: ")
    conflict = lines.index(next(line for line in lines if ":45:63: CL401 error: " in line))
    assert lines[conflict + 2] == "    fix (safe, --fix): pin redis==4.6.0, the newest release that fits"
    assert lines[-1] == ("Found 15 problems (10 errors, 4 warnings, 1 info) in 1 file. "
                         "12 fixable with --fix.")
    assert "\033[" not in result.stdout  # no colour when not a terminal


def test_clean_tree_exits_zero():
    result = cli("check", FIXED)
    assert result.returncode == 0
    assert result.stdout.strip() == "No problems found in 4 files."  # tasks.py is read too


def test_json_output_follows_the_design_conventions():
    result = cli("check", "--format", "json", BROKEN)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["version"]
    assert data["summary"]["error"] == 10 and data["summary"]["info"] == 1
    first = next(d for d in data["diagnostics"] if d["code"] == "CL401")
    path = f"{BROKEN}/kubernetes/celery/celery-deployment.yaml"
    assert first == {
        "code": "CL401", "name": "dependency-conflict", "severity": "error", "path": path,
        "line": 45, "column": 63, "end_line": 45, "end_column": 75,
        "message": first["message"], "hint": first["hint"], "fix": first["fix"],
        "related": [{"path": path, "line": 45, "column": 42, "end_line": 45, "end_column": 62,
                     "message": "celery[redis]==5.3.4 asks for it here"}],
        "fingerprint": first["fingerprint"],
    }
    assert len(first["fingerprint"]) == 64
    fix = first["fix"]
    assert fix["applicability"] == "safe"
    assert fix["edits"] == [{"path": path, "line": 45, "column": 63, "end_line": 45,
                             "end_column": 75, "content": "redis==4.6.0"}]
    assert fix["diff"].startswith(f"--- a/{path}\n+++ b/{path}\n@@ -42,7 +42,7 @@\n")
    assert "+            - pip install --no-cache-dir celery[redis]==5.3.4 redis==4.6.0 &&" in fix["diff"]
    assert data["summary"]["fixable"] == 12 and data["summary"]["fixed"] == 0


def test_paths_are_relative_to_the_working_directory():
    result = cli("check", "--format", "json", ".", cwd=FIXTURES / "seed-002-stratdata" / "broken")
    paths = {d["path"] for d in json.loads(result.stdout)["diagnostics"]}
    assert paths == {"kubernetes/celery/celery-deployment.yaml"}


def test_stdin_reads_yaml():
    text = (FIXTURES / "seed-002-stratdata/broken/kubernetes/celery/celery-deployment.yaml").read_text()
    result = cli("check", "--format", "json", "-", stdin=text)
    assert result.returncode == 1
    diagnostics = json.loads(result.stdout)["diagnostics"]
    assert {d["path"] for d in diagnostics} == {"<stdin>"}
    assert len(diagnostics) == 15


def test_missing_path_is_a_one_line_error_with_exit_2():
    result = cli("check", "no/such/dir")
    assert result.returncode == 2
    assert "path does not exist: no/such/dir" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_kubernetes_version_is_exit_2():
    result = cli("check", "--kubernetes-version", "1.9", FIXED)
    assert result.returncode == 2
    assert "no bundled schemas for 1.9" in result.stderr


def test_python_dash_m_and_version():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "celerylint", "--version"], capture_output=True,
                         text=True)
    assert out.returncode == 0 and out.stdout.startswith("celerylint, version ")


def test_startup_estimate_is_configurable():
    # the seed's liveness deadline is 51 s: with a 45 s estimate for pip install it is enough
    quick = cli("check", "--format", "json", "--startup-estimate", "pip install=45", BROKEN)
    names = [d["name"] for d in json.loads(quick.stdout)["diagnostics"]]
    assert names.count("probe-too-early") == 1  # only the readiness probe (21 s) remains
    bad = cli("check", "--startup-estimate", "pip=ten", BROKEN)
    assert bad.returncode == 2 and "STEP=SECONDS" in bad.stderr


def test_explicit_files_are_read_whatever_their_name(tmp_path):
    manifest = (FIXTURES / "seed-002-stratdata/broken/kubernetes/celery/celery-deployment.yaml")
    (tmp_path / "celery.k8s").write_text(manifest.read_text())
    (tmp_path / "worker.containerfile.txt").write_text(
        "FROM python:3.11-slim\nRUN pip install celery[redis]==5.3.4 redis==5.0.1\n")
    result = cli("check", "--format", "json", "celery.k8s", "worker.containerfile.txt", cwd=tmp_path)
    paths = [d["path"] for d in json.loads(result.stdout)["diagnostics"]]
    assert paths.count("celery.k8s") == 15 and paths.count("worker.containerfile.txt") == 1
