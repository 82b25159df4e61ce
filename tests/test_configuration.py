"""Configuration, suppressions, the baseline, and the rules/explain commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, run

CONFIGURED = FIXTURES / "configured"


def report(*args: str, cwd: Path = CONFIGURED) -> dict:
    result = run("check", "--format", "json", *args, ".", cwd=cwd)
    assert "Traceback" not in result.stderr
    data = json.loads(result.stdout)
    data["exit"] = result.returncode
    return data


def test_every_key_of_the_configured_fixture_takes_effect():
    data = report()
    found = [(d["name"], d["path"], d["line"], d["severity"]) for d in data["diagnostics"]]
    assert found == [
        ("unused-suppression", "k8s/beat.yaml", 22, "warning"),   # extend-select
        ("beat-rolling-update", "k8s/beat.yaml", 29, "info"),     # severity override
    ]
    suppressed = {(d["name"], d["suppression"]["kind"]) for d in data["suppressed"]}
    assert suppressed == {
        ("signal-not-forwarded", "inline"),      # in docker/start-worker.sh, reached through
                                                 # the images mapping to docker/Dockerfile
        ("prefork-default-concurrency", "per-file-ignores"),   # k8s/legacy-*.yaml
        ("multiple-beats", "annotation"),
        ("probe-too-early", "inline"),
    }
    names = {d["name"] for d in data["diagnostics"]} | {d["name"] for d, in
                                                        [(x,) for x in data["suppressed"]]}
    assert "pip-install-at-start" not in names             # ignore = ["CL503"]
    assert not any(d["path"].startswith("vendor/") for d in data["diagnostics"])  # exclude
    assert data["exit"] == 1  # fail-on = "warning": the unused suppression fails the run


def test_suppression_reasons_reach_json_and_sarif():
    data = report()
    inline = next(d for d in data["suppressed"] if d["name"] == "signal-not-forwarded")
    assert inline["suppression"]["justification"] == \
        "tini is added by the platform's admission webhook"
    assert inline["suppression"]["where"] == "docker/start-worker.sh:2"
    sarif = json.loads(run("check", "--format", "sarif", ".", cwd=CONFIGURED).stdout)
    justifications = [s["justification"] for r in sarif["runs"][0]["results"]
                      for s in r.get("suppressions", [])]
    assert "the chart's values set a startupProbe in prod" in justifications
    assert "tini is added by the platform's admission webhook" in justifications


def test_command_line_flags_mirror_the_configuration():
    assert report("--exit-zero")["exit"] == 0
    assert report("--fail-on", "error")["exit"] == 0          # only a warning and an info left
    assert [d["name"] for d in report("--select", "CL1")["diagnostics"]] == ["beat-rolling-update"]
    assert report("--ignore", "unused-suppression,beat-rolling-update")["diagnostics"] == []
    everything = report("--no-inline-suppressions")
    kinds = {d["suppression"]["kind"] for d in everything["suppressed"]}
    assert kinds == {"per-file-ignores"}  # config ignores still apply; comments do not
    assert "signal-not-forwarded" in {d["name"] for d in everything["diagnostics"]}


@pytest.mark.parametrize("text, message", [
    ("selct = []\n", "unknown key 'selct'"),
    ("ignore = ['beat-schedule-readonly']\n", "unknown rule 'beat-schedule-readonly'"),
    ("fail-on = 'fatal'\n", "'fail-on' must be one of error, warning, info"),
    ("severity = 3\n", "'severity' must be a table"),
    ("select = [\n", "invalid TOML"),
])
def test_bad_configuration_is_exit_2_naming_file_and_key(tmp_path: Path, text: str, message: str):
    (tmp_path / ".celerylint.toml").write_text(text)
    result = run("check", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert ".celerylint.toml" in result.stderr and message in result.stderr


def test_configuration_is_found_walking_up_and_config_overrides(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.celerylint]\nignore = ['CL202']\n")
    deep = tmp_path / "deploy" / "k8s"
    deep.mkdir(parents=True)
    shutil.copy(FIXTURES / "rules/prefork-default-concurrency/fires/k8s.yaml", deep / "w.yaml")
    assert run("check", "deploy/k8s", cwd=tmp_path).returncode == 0
    (tmp_path / "other.toml").write_text("select = ['ALL']\n")
    assert run("check", "--config", "other.toml", "deploy/k8s", cwd=tmp_path).returncode == 1


def test_baseline_still_matches_after_lines_are_inserted_above(tmp_path: Path):
    work = tmp_path / "repo"
    shutil.copytree(FIXTURES / "seed-000-jewelry-shop" / "broken", work)
    written = run("check", "--write-baseline", "baseline.json", ".", cwd=work)
    assert written.returncode == 0 and "recorded 6 findings" in written.stderr
    worker = work / "k8s" / "celery-worker-deployment.yaml"
    worker.write_text("# moved down by a new header\n# and another line\n" + worker.read_text())
    data = report("--baseline", "baseline.json", cwd=work)
    assert data["diagnostics"] == [] and data["summary"]["baselined"] == 6 and data["exit"] == 0
    # a new finding is still reported
    beat = work / "k8s" / "celery-beat-deployment.yaml"
    beat.write_text(beat.read_text().replace("replicas: 1", "replicas: 2"))
    assert [d["name"] for d in report("--baseline", "baseline.json", cwd=work)["diagnostics"]] == \
        ["multiple-beats"]


def test_unused_suppression_fix_deletes_the_comment(tmp_path: Path):
    shutil.copytree(CONFIGURED, tmp_path / "c")
    result = run("check", "--fix", ".", cwd=tmp_path / "c")
    assert result.returncode == 0
    text = (tmp_path / "c/k8s/beat.yaml").read_text()
    assert "ignore[worker-detached]" not in text
    assert "celerylint.io/ignore" in text and "ignore[probe-too-early]" in text  # used ones stay


def test_rules_command_lists_every_rule():
    rows = json.loads(run("rules", "--format", "json").stdout)
    assert {"code", "name", "severity", "fixable", "summary"} <= set(rows[0])
    assert [r["code"] for r in rows] == sorted(r["code"] for r in rows)
    text = run("rules").stdout
    assert "CL101  beat-schedule-read-only" in text


@pytest.mark.parametrize("query, code", [
    ("CL101", "CL101"),
    ("prefork-no-writable-tmp", "CL201"),
    ("OSError: [Errno 30] Read-only file system: 'celerybeat-schedule'", "CL101"),
    ("Unrecoverable error: FileNotFoundError(2, \"No usable temporary directory found in ['/tmp']\")",
     "CL201"),
    ("ImproperlyConfigured: -B option doesn't work with eventlet/gevent pools", "CL104"),
    ("Last State: Terminated, Reason: Completed, Exit Code: 0", "CL501"),
    ("ERROR: Cannot install celery[redis]==5.3.4 and redis==5.0.1", "CL401"),
    ("Liveness probe failed: HTTP probe failed with statuscode: 401", "CL302"),
    ("ReadOnlyError: You can't write against a read only replica", "CL603"),
    ("Running a worker with superuser privileges when the worker accepts messages serialized "
     "with pickle is a very bad idea!", "CL507"),
    ("Exit Code: 137, and no worker: Warm shutdown line in the logs", "CL502"),
    ("ResolutionImpossible", "CL401"),
])
def test_explain_finds_the_rule_from_a_code_a_name_or_a_pasted_error(query: str, code: str):
    result = run("explain", query)
    assert result.returncode == 0 and result.stdout.startswith(code + " ")
    assert "## Symptoms" in result.stdout


@pytest.mark.parametrize("query", ["zzzz qqqq", "my dog ate the server",
                                   "Received unregistered task of type 'proj.tasks.add'",
                                   "ImportError: cannot import name 'Celery' from partially "
                                   "initialized module"])
def test_explain_says_when_nothing_matches_well(query: str):
    result = run("explain", query)
    assert result.returncode == 2 and "no rule explains" in result.stderr and not result.stdout


def test_inline_suppressions_in_requirements_and_dockerfiles(tmp_path: Path):
    (tmp_path / "requirements.txt").write_text(
        "celery[redis]==5.3.4\nredis==5.0.1  # celerylint: ignore[CL401] -- upgrading celery next\n")
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.12-slim\n# celerylint: ignore[signal-not-forwarded] -- run under tini by the platform\n"
        "CMD celery -A proj worker\n")
    data = report(cwd=tmp_path)
    assert data["diagnostics"] == []
    assert {(d["name"], d["suppression"]["justification"]) for d in data["suppressed"]} == {
        ("dependency-conflict", "upgrading celery next"),
        ("signal-not-forwarded", "run under tini by the platform")}


def test_the_readme_configuration_example_is_valid(tmp_path: Path):
    from conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    examples = [block.split("```", 1)[0] for block in readme.split("```toml\n")[1:]]
    assert len(examples) >= 2
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\nCMD [\"celery\", \"-A\", \"p\", \"worker\"]\n")
    for example in examples:
        text = "\n".join(line[2:] if line.startswith("  ") else line for line in example.splitlines())
        (tmp_path / "pyproject.toml").write_text(text.replace("docker/Dockerfile", "Dockerfile"))
        result = run("check", ".", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
