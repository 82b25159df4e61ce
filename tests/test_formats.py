"""Output formats: every one produced from the same diagnostics, each exactly as its consumer reads it."""

from __future__ import annotations

import os

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

from conftest import FIXTURES, ROOT, run

SEEDS = [FIXTURES / "seed-002-stratdata" / "broken", FIXTURES / "seed-000-jewelry-shop" / "broken"]
ALL_FIRES = sorted(p for p in (FIXTURES / "rules").glob("*/fires"))


def diagnostics(*paths) -> list[dict]:
    return json.loads(run("check", "--format", "json", *map(str, paths)).stdout)["diagnostics"]


# -- SARIF -------------------------------------------------------------------------------------

@pytest.mark.ci
def test_sarif_validates_against_the_official_schema_with_fixes_and_regions():
    from jsonschema import Draft4Validator

    schema = json.loads((ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text())
    result = run("check", "--format", "sarif", *map(str, SEEDS + ALL_FIRES))
    sarif = json.loads(result.stdout)
    errors = sorted(Draft4Validator(schema).iter_errors(sarif), key=str)
    assert errors == []
    [the_run] = sarif["runs"]
    driver = the_run["tool"]["driver"]
    assert driver["name"] == "celerylint" and driver["version"] and driver["informationUri"]
    rule_ids = [r["id"] for r in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids)) and "CL101" in rule_ids
    beat = next(r for r in driver["rules"] if r["id"] == "CL101")
    assert "Read-only file system" in beat["help"]["markdown"] and beat["fullDescription"]["text"]
    results = the_run["results"]
    assert len(results) == len(diagnostics(*SEEDS, *ALL_FIRES))
    for r in results:
        region = r["locations"][0]["physicalLocation"]["region"]
        assert set(region) == {"startLine", "startColumn", "endLine", "endColumn"}
        assert not r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith(("/", "./"))
        assert r["partialFingerprints"]["celerylint/v1"]
        assert driver["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
    assert any("fixes" in r for r in results)
    assert all(r["helpUri"].startswith("https://") and r["helpUri"].endswith(f"/{r['name']}.md")
               for r in driver["rules"])
    force_root = next(r for r in driver["rules"] if r["name"] == "force-root")
    assert float(force_root["properties"]["security-severity"]) > 0
    assert "security" in force_root["properties"]["tags"]


def test_sarif_uris_are_percent_encoded_relative_references(tmp_path: Path):
    from urllib.parse import unquote

    source = (FIXTURES / "rules/probe-too-early/fires/k8s.yaml").read_text()
    names = ["with space.yaml", "worker:v2.yaml", "ünïcode.yaml", "weird,name 50%.yaml"]
    for name in names:
        (tmp_path / name).write_text(source)
    sarif = json.loads(run("check", "--format", "sarif", ".", cwd=tmp_path).stdout)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in sarif["runs"][0]["results"]}
    assert {unquote(u) for u in uris} == set(names)
    reference = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=@/%]*$")  # RFC 3986 path characters
    assert all(reference.match(u) and ":" not in u for u in uris), uris


def test_sarif_fingerprints_survive_lines_moving(tmp_path: Path):
    import shutil

    shutil.copytree(SEEDS[0], tmp_path / "seed")
    before = json.loads(run("check", "--format", "sarif", ".", cwd=tmp_path).stdout)
    manifest = tmp_path / "seed/kubernetes/celery/celery-deployment.yaml"
    manifest.write_text("# moved\n# down\n" + manifest.read_text())
    after = json.loads(run("check", "--format", "sarif", ".", cwd=tmp_path).stdout)

    def prints(sarif):
        return sorted(r["partialFingerprints"]["celerylint/v1"] for r in sarif["runs"][0]["results"])

    assert prints(before) == prints(after) and len(prints(before)) == 15
    assert len(set(prints(before))) == 15


# -- GitHub annotations -------------------------------------------------------------------------

def parse_workflow_command(line: str) -> tuple[str, dict[str, str], str]:
    """The runner's parser (actions/runner ActionCommand.TryParseV2), rewritten from its rules."""
    line = line.strip()
    assert line.startswith("::")
    end = line.index("::", 2)
    head, data = line[2:end], line[end + 2:]
    command, _, props = head.partition(" ")
    properties = {}
    for pair in filter(None, props.split(",")):
        key, _, value = pair.partition("=")
        properties[key] = unescape(value, property_value=True)
    return command, properties, unescape(data)


def unescape(text: str, property_value: bool = False) -> str:
    table = [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if property_value else [])
    for escaped, plain in table + [("%25", "%")]:
        text = text.replace(escaped, plain)
    return text


def test_github_annotations_round_trip_through_the_runner_rules(tmp_path: Path):
    odd = tmp_path / "odd, dir: 100%"
    odd.mkdir()
    (odd / "w,1:x.yaml").write_text((FIXTURES / "rules/prefork-default-concurrency/fires/k8s.yaml").read_text())
    expected = json.loads(run("check", "--format", "json", ".", cwd=tmp_path).stdout)["diagnostics"]
    result = run("check", "--format", "github", ".", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == len(expected)
    for line, d in zip(lines, expected):
        command, props, message = parse_workflow_command(line)
        assert command == {"error": "error", "warning": "warning", "info": "notice"}[d["severity"]]
        assert props["file"] == d["path"] == "odd, dir: 100%/w,1:x.yaml"
        assert (int(props["line"]), int(props["endLine"])) == (d["line"], d["end_line"])
        assert (int(props["col"]), int(props["endColumn"])) == (d["column"], d["end_column"])
        assert props["title"] == f"{d['code']} {d['name']}"
        assert message.startswith(f"{d['path']}:{d['line']}:{d['column']}: {d['code']} {d['message']}")


def test_github_format_orders_by_severity_and_drops_columns_on_multiline_spans():
    from celerylint.diagnostics import Diagnostic, Severity, Span
    from celerylint.report import Result
    from celerylint.report.github import annotation, render
    import io

    info = Diagnostic("CL301", "probe-too-early", Severity.INFO, Span("./a.yaml", 3, 1, 3, 4), "i")
    error = Diagnostic("CL101", "beat-schedule-read-only", Severity.ERROR,
                       Span("b.yaml", 5, 2, 7, 1), "e\nsecond line 100%")
    stream = io.StringIO()
    render(Result([info, error], 2), stream)
    first, second = stream.getvalue().splitlines()
    assert first.startswith("::error file=b.yaml,line=5,endLine=7,title=")  # no col/endColumn
    assert "e%0Asecond line 100%25" in first
    assert second.startswith("::notice file=a.yaml,line=3,endLine=3,col=1,endColumn=4,")
    assert annotation(info).endswith("::a.yaml:3:1: CL301 i")


def test_github_format_is_chosen_inside_github_actions(monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = run("check", str(SEEDS[1]))
    assert result.stdout.startswith("::error file=")
    assert run("check", "--format", "concise", str(SEEDS[1])).stdout.startswith("fixtures/")


# -- problem matcher ----------------------------------------------------------------------------

def matchers() -> list[dict]:
    return json.loads(run("problem-matcher").stdout)["problemMatcher"]


def test_problem_matcher_follows_the_runner_rules():
    owners = [m["owner"].lower() for m in matchers()]
    assert len(owners) == len(set(owners))
    for matcher in matchers():
        assert matcher.get("severity", "error") in ("error", "warning")
        patterns = matcher["pattern"]
        assert all("loop" not in p for p in patterns[:-1])
        for pattern in patterns:
            regexp = re.compile(pattern["regexp"], re.ASCII)
            groups = regexp.groups
            for key in ("file", "line", "column", "severity", "code", "message"):
                if key in pattern:
                    assert 0 < pattern[key] <= groups, key
            assert "message" in pattern
            assert "(?P<" not in pattern["regexp"] and "(?<" not in pattern["regexp"]


def test_problem_matcher_reads_the_concise_output_exactly(tmp_path: Path):
    spaced = tmp_path / "deploy dir" / "k8s:prod"
    spaced.mkdir(parents=True)
    for source in [*SEEDS[0].rglob("*.yaml"), FIXTURES / "rules/probe-too-early/fires/k8s.yaml"]:
        (spaced / source.name).write_text(source.read_text())
    expected = json.loads(run("check", "--format", "json", ".", cwd=tmp_path).stdout)["diagnostics"]
    lines = run("check", "--format", "concise", ".", cwd=tmp_path).stdout.splitlines()[:-1]
    assert len(lines) == len(expected) and any(d["severity"] == "info" for d in expected)
    compiled = [(m, re.compile(m["pattern"][0]["regexp"], re.ASCII)) for m in matchers()]
    for line, d in zip(lines, expected):
        hits = [(m, r.search(line)) for m, r in compiled if r.search(line)]
        assert len(hits) == 1, line
        matcher, match = hits[0]
        pattern = matcher["pattern"][0]
        assert match.group(pattern["file"]) == d["path"] == "deploy dir/k8s:prod/" + Path(d["path"]).name
        assert int(match.group(pattern["line"])) == d["line"]
        assert int(match.group(pattern["column"])) == d["column"]
        assert match.group(pattern["code"]) == d["code"]
        severity = match.group(pattern["severity"]) if "severity" in pattern else matcher["severity"]
        assert severity == ("warning" if d["severity"] == "info" else d["severity"])
        assert match.group(pattern["message"]) == f"{d['message']} ({d['name']})"


# -- JUnit, GitLab, files ------------------------------------------------------------------------

#: What Jenkins' junit-10.xsd allows (element -> attributes, required ones first), as the
#: schema's own element declarations state them.
JUNIT_10 = {
    "testsuites": ({"name", "time", "tests", "failures", "errors"}, set()),
    "testsuite": ({"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp",
                   "hostname", "id", "package", "file", "log", "url", "version"},
                  {"name", "tests", "failures", "errors"}),
    "testcase": ({"name", "time", "classname", "group"}, {"name"}),
    "failure": ({"type", "message"}, set()),
}


def test_junit_follows_the_junit_10_schema_with_one_failure_per_test_case():
    tree = ElementTree.fromstring(run("check", "--format", "junit", str(SEEDS[1])).stdout)
    for element in tree.iter():
        allowed, required = JUNIT_10[element.tag]
        assert set(element.attrib) <= allowed and required <= set(element.attrib), element.tag
    cases = tree.findall(".//testcase")
    found = diagnostics(SEEDS[1])
    assert all(len(c.findall("failure")) <= 1 for c in cases)
    assert sum(len(c.findall("failure")) for c in cases) == len(found) == int(tree.get("failures"))
    suites = tree.findall("testsuite")
    assert {s.get("name") for s in suites} >= {d["path"] for d in found}
    assert int(tree.get("tests")) == len(cases)


def test_gitlab_code_quality_report():
    issues = json.loads(run("check", "--format", "gitlab", str(SEEDS[0])).stdout)
    assert len(issues) == len(diagnostics(SEEDS[0]))
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    for issue in issues:
        assert set(issue) == {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] in ("info", "minor", "major", "critical", "blocker")
        assert issue["location"]["lines"]["begin"] >= 1


@pytest.mark.parametrize("name", ["text", "concise", "json", "github", "sarif", "junit", "gitlab"])
def test_output_file_gets_the_report_and_stdout_stays_empty(name: str, tmp_path: Path):
    target = tmp_path / f"report.{name}"
    result = run("check", "--format", name, "--output-file", str(target), str(SEEDS[1]))
    assert result.returncode == 1 and result.stdout == ""
    assert target.read_text().strip()


# -- shipped integrations ------------------------------------------------------------------------

def test_action_is_a_composite_that_runs_once_and_splices_no_input():
    import yaml

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    scripts = [step["run"] for step in action["runs"]["steps"]]
    assert sum(s.count("celerylint\" check") for s in scripts) == 1  # one analysis
    assert all("${{" not in s for s in scripts)  # inputs only through env: (zizmor)
    assert set(action["inputs"]) >= {"paths", "sarif-file", "args"}
    assert set(action["outputs"]) == {"findings", "sarif-file"}


def test_the_action_check_step_runs_with_hostile_inputs_as_data(tmp_path):
    """The Check step's script, run by bash as the runner would (Linux): annotations, the SARIF
    file and the outputs from one run; a path holding `$(...)` is a file name, not a command."""
    import shutil
    import subprocess
    import sys

    import yaml

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    [step] = [s for s in action["runs"]["steps"] if s.get("id") == "check"]
    work = tmp_path / "repo"
    shutil.copytree(SEEDS[1], work / "seed")
    marker = tmp_path / "pwned"
    outputs = tmp_path / "outputs"
    env = dict(os.environ, CELERYLINT_BIN=os.path.dirname(sys.executable),
               RUNNER_TEMP=str(tmp_path), GITHUB_OUTPUT=str(outputs), PATHS="seed",
               ARGS="--kubernetes-version 1.30", SARIF="out.sarif")

    def check(**changed: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], cwd=work,
                              env={**env, **changed}, capture_output=True, text=True, timeout=300)

    hostile = check(PATHS=f"seed $(touch {marker})", ARGS=f"`touch {marker}`")
    assert hostile.returncode == 2 and "`touch" in hostile.stderr and not marker.exists()
    result = check()
    assert result.returncode == 1 and result.stdout.startswith("::")
    lines = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert int(lines["findings"]) == result.stdout.count("\n::") + 1
    assert lines["sarif-file"] == "out.sarif" and (work / "out.sarif").is_file()


def test_pre_commit_hook_selects_the_files_celerylint_reads():
    import yaml

    from celerylint.discover import classify

    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "celerylint" and hook["language"] == "python"
    files = re.compile(hook["files"])
    names = ["k8s/worker.yaml", "a.yml", "Dockerfile", "docker/Dockerfile.worker", "app.Dockerfile",
             "Containerfile", "requirements.txt", "requirements/prod.txt", "constraints-dev.in",
             "README.md", "setup.py", "docs/requirements.md", "Dockerfile.md"]
    for name in names:
        assert bool(files.search(name)) == (classify(Path(name)) is not None or
                                             name == "Dockerfile.md"), name


@pytest.mark.ci
def test_pre_commit_try_repo_runs_the_hook(tmp_path: Path):
    import shutil
    import subprocess
    import sys

    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    if pre_commit is None or shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("pre-commit (a test extra), git, or a git checkout of celerylint is missing")
    target = tmp_path / "deploy"
    target.mkdir()
    env = {"PRE_COMMIT_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}
    subprocess.run(["git", "init", "-q"], cwd=target, check=True, env=env)
    (target / "worker.yaml").write_text(
        (FIXTURES / "seed-002-stratdata/broken/kubernetes/celery/celery-deployment.yaml").read_text())
    (target / "README.md").write_text("- a: [unbalanced\n")  # not ours: must not be passed
    subprocess.run(["git", "add", "-A"], cwd=target, check=True, env=env)
    result = subprocess.run([pre_commit, "try-repo", str(ROOT), "celerylint", "--all-files",
                             "--verbose"], cwd=target, capture_output=True, text=True, env=env,
                            timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "worker.yaml:45:63: CL401 error:" in result.stdout
    assert "README.md" not in result.stdout.split("celerylint...")[-1]
