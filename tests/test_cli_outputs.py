"""The command line's outputs: one run, several formats; statistics, quiet, colour; standard
input named after the file it holds; no path means the current directory."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run, write

PROBE = """services:
  worker:
    image: shop:1
    command: celery -A shop worker
    healthcheck:
      test: ["CMD", "celery", "-A", "shop", "inspect", "ping"]
      timeout: 20s
"""


def tree(tmp_path: Path) -> Path:
    return write(tmp_path, {"compose.yaml": PROBE})


def test_no_path_checks_the_current_directory(tmp_path):
    result = run("check", "--format", "concise", cwd=tree(tmp_path))
    assert result.returncode == 1 and result.stdout.startswith("compose.yaml:6:")


def test_a_second_format_is_an_error_not_the_last_one_silently(tmp_path):
    result = run("check", "--format", "json", "--format", "sarif", ".", cwd=tree(tmp_path))
    assert result.returncode == 2 and "--format given 2 times" in result.stderr


def test_one_run_writes_annotations_sarif_and_json(tmp_path):
    result = run("check", "--format", "github", "--output", "sarif:out.sarif",
                 "--output", "json:out.json", ".", cwd=tree(tmp_path))
    assert result.stdout.startswith("::warning file=compose.yaml,line=6")
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    report = json.loads((tmp_path / "out.json").read_text())
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["CL304"]
    assert [d["code"] for d in report["diagnostics"]] == ["CL304"]
    bad = run("check", "--output", "yaml:x", ".", cwd=tmp_path)
    assert bad.returncode == 2 and "FORMAT:PATH" in bad.stderr


def test_statistics_count_findings_per_rule(tmp_path):
    write(tmp_path, {"other/compose.yaml": PROBE})
    result = run("check", "--statistics", ".", cwd=tree(tmp_path))
    assert result.stdout == "2  CL304  probe-inspect-ping  [fixable]\n"
    data = json.loads(run("check", "--statistics", "--format", "json", ".", cwd=tmp_path).stdout)
    assert data == [{"code": "CL304", "name": "probe-inspect-ping", "count": 2, "fixable": True}]


def test_quiet_prints_the_findings_only(tmp_path):
    write(tmp_path, {"notes.yaml": "{{ .Values.x }}\n"})
    loud = run("check", ".", cwd=tree(tmp_path))
    quiet = run("check", "-q", ".", cwd=tmp_path)
    assert "Found 1 problem" in loud.stdout and "Found" not in quiet.stdout
    assert quiet.stdout.startswith("compose.yaml:6:") and quiet.returncode == 1


def test_colour_follows_the_flag_and_the_environment(tmp_path, monkeypatch):
    tree(tmp_path)
    assert "\033[" in run("check", "--color", "always", ".", cwd=tmp_path).stdout
    assert "\033[" not in run("check", "--color", "never", ".", cwd=tmp_path).stdout
    assert "\033[" not in run("check", ".", cwd=tmp_path).stdout  # not a terminal
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\033[" in run("check", ".", cwd=tmp_path).stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\033[" not in run("check", ".", cwd=tmp_path).stdout


def test_standard_input_is_checked_as_the_file_it_names(tmp_path):
    tree(tmp_path)
    fixed = PROBE.replace('"ping"]', '"ping", "-t", "10"]')
    # the file on disk has the problem; the buffer piped in has not: the buffer wins
    clean = run("check", "--stdin-filename", "compose.yaml", "-", ".", cwd=tmp_path, stdin=fixed)
    assert clean.returncode == 0, clean.stdout
    named = run("check", "--format", "concise", "--stdin-filename", "new/compose.yaml",
                cwd=tmp_path, stdin=PROBE)
    assert named.stdout.startswith("new/compose.yaml:6:") and "<stdin>" not in named.stdout
    refused = run("check", "--stdin-filename", "compose.yaml", ".", cwd=tmp_path, stdin=PROBE)
    assert refused.returncode == 2 and "give `-`" in refused.stderr


def test_context_links_other_files_and_reports_only_the_paths_given(tmp_path):
    """pre-commit passes the staged files: with --context . the Service in an unchanged file
    still exposes the Flower being committed, and findings in other files are not reported."""
    source = (Path(__file__).parent.parent / "fixtures/rules/flower-no-auth/fires/k8s/flower.yaml")
    deployment, service = source.read_text().split("---\n", 2)[:2]
    write(tmp_path, {"k8s/flower.yaml": deployment, "k8s/service.yaml": service,
                     "compose.yaml": PROBE})
    alone = run("check", "--format", "concise", "k8s/flower.yaml", cwd=tmp_path)
    assert "CL701" not in alone.stdout  # the Service is not seen
    staged = run("check", "--format", "concise", "--context", ".", "k8s/flower.yaml",
                 cwd=tmp_path)
    assert staged.stdout.splitlines()[0].startswith("k8s/flower.yaml:20:")
    assert "compose.yaml" not in staged.stdout and "in 1 file" in staged.stdout


def test_unwritable_outputs_and_odd_statistics_are_usage_errors_before_any_fix(tmp_path):
    tree(tmp_path)
    for args in (["-o", "missing/x.json"], ["--output", "sarif:missing/a.sarif"],
                 ["--statistics", "--format", "sarif"]):
        result = run("check", "--fix", *args, ".", cwd=tmp_path)
        assert result.returncode == 2, args
    assert '"ping"]' in (tmp_path / "compose.yaml").read_text()  # nothing was fixed


def test_context_keeps_what_came_from_standard_input(tmp_path):
    tree(tmp_path)
    piped = run("check", "--format", "concise", "-", "--context", ".", cwd=tmp_path,
                stdin=PROBE)
    assert piped.stdout.startswith("<stdin>:6:") and "compose.yaml" not in piped.stdout
