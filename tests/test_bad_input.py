"""Hostile and broken input: a finding or a notice with file and line, never a traceback."""

from __future__ import annotations

import json
import os
import sys

import pytest

from conftest import run as cli

GOOD_BEAT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: beat}
spec:
  selector: {matchLabels: {app: beat}}
  strategy: {type: Recreate}
  template:
    metadata: {labels: {app: beat}}
    spec:
      containers:
        - name: beat
          image: example/app:1.0
          workingDir: /app
          args: ["celery", "-A", "proj", "beat"]
          securityContext: {readOnlyRootFilesystem: true}
"""

ALIAS_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]" for p, c in zip("abcdefgh", "bcdefghi")]
) + "\n"


def run_on(tmp_path, files: dict[str, bytes | str]):
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    (tmp_path / "k8s").mkdir(exist_ok=True)
    (tmp_path / "k8s" / "beat.yaml").write_text(GOOD_BEAT)
    result = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    # the good file next to the bad one is still checked
    assert any(d["name"] == "beat-schedule-read-only" for d in data["diagnostics"])
    return data, result.stderr


def parse_errors(data):
    return [(d["path"], d["line"], d["message"]) for d in data["diagnostics"]
            if d["name"] == "parse-error"]


def test_invalid_yaml_reports_line_and_column(tmp_path):
    data, _ = run_on(tmp_path, {"bad.yaml": "a: [1, 2\nb: 3\n"})
    [(path, line, message)] = parse_errors(data)
    assert path == "bad.yaml" and line == 2 and message.startswith("invalid YAML")


def test_alias_bomb_is_refused_quickly(tmp_path):
    data, _ = run_on(tmp_path, {"bomb.yaml": ALIAS_BOMB})
    [(_, _, message)] = parse_errors(data)
    assert "alias bomb" in message


@pytest.mark.parametrize("depth", [600, 1500])
def test_deep_block_nesting_is_a_parse_error_where_it_gets_too_deep(tmp_path, depth):
    """Whichever refuses it (our guard at 400 levels, libyaml's own at 1,000), the user gets one
    parse-error on a line of the nested block, not a traceback and not line 1."""
    text = "".join("  " * i + "a:\n" for i in range(depth)) + "  " * depth + "b\n"
    data, _ = run_on(tmp_path, {"deep.yaml": text})
    [(path, line, message)] = parse_errors(data)
    assert path == "deep.yaml" and 300 < line <= 1001 and message


def test_deep_flow_nesting_is_refused_in_bounded_memory():
    import tracemalloc

    from celerylint.parse import yamlnodes
    from celerylint.sources import ParseProblem, SourceFile

    source = SourceFile("deep.yaml", "yaml", "[" * 100_000 + "]" * 100_000, None)
    tracemalloc.start()
    try:
        [problem] = list(yamlnodes.load(source))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(problem, ParseProblem) and problem.line == 1
    assert peak < 20_000_000  # the 200 KB input is refused, never expanded


def test_binary_and_oversized_files_are_skipped_with_a_notice(tmp_path):
    big = b"a: " + b"x" * (11 * 1024 * 1024) + b"\n"
    data, stderr = run_on(tmp_path, {"blob.yaml": b"\x00\x01\x02binary", "huge.yaml": big})
    assert "skipped blob.yaml: binary file" in stderr
    assert "skipped huge.yaml:" in stderr and "--max-file-size" in stderr
    assert {s["path"] for s in data["summary"]["skipped"]} == {"blob.yaml", "huge.yaml"}


def test_not_utf8_is_a_parse_error_at_its_line(tmp_path):
    data, _ = run_on(tmp_path, {"latin1.yaml": "a: 1\nb: caf\xe9\n".encode("latin-1")})
    [(path, line, message)] = parse_errors(data)
    assert (path, line) == ("latin1.yaml", 2) and "not UTF-8" in message


def test_utf16_and_bom_are_read(tmp_path):
    text = GOOD_BEAT.replace("name: beat}", "name: beat2}")
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "utf16.yaml").write_bytes(text.encode("utf-16"))
    (tmp_path / "k8s" / "bom.yaml").write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = cli("check", "--format", "json", ".", cwd=tmp_path)
    lines = {(d["path"], d["line"]) for d in json.loads(result.stdout)["diagnostics"]}
    assert lines == {("k8s/utf16.yaml", 14), ("k8s/bom.yaml", 14)}


def test_crlf_positions_are_unchanged(tmp_path):
    (tmp_path / "beat.yaml").write_bytes(GOOD_BEAT.replace("\n", "\r\n").encode())
    result = cli("check", "--format", "json", "beat.yaml", cwd=tmp_path)
    [d] = json.loads(result.stdout)["diagnostics"]
    assert (d["line"], d["column"]) == (14, 43)  # the word beat, inside its quotes


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="root can read any file")
def test_unreadable_file_is_a_notice(tmp_path):
    path = tmp_path / "secret.yaml"
    path.write_text("a: 1\n")
    path.chmod(0)
    _, stderr = run_on(tmp_path, {})
    assert "skipped secret.yaml: cannot read" in stderr


def test_a_helm_template_outside_a_chart_is_a_notice_and_strict_parse_makes_it_an_error(tmp_path):
    data, stderr = run_on(tmp_path, {"templates/worker.yaml": "metadata:\n  name: {{ .Release.Name }}-w\n"})
    assert parse_errors(data) == [] and "a Helm/Go template, not rendered" in stderr
    strict = cli("check", "--format", "json", "--strict-parse", ".", cwd=tmp_path)
    [(_, _, message)] = parse_errors(json.loads(strict.stdout))
    assert "unrendered Helm/Go template" in message


def test_unknown_kinds_and_other_yaml_are_quiet(tmp_path):
    data, _ = run_on(tmp_path, {
        "crd.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {x: 1}\n",
        "ci.yml": "on: [push]\njobs: {test: {runs-on: ubuntu-latest}}\n",
        "empty.yaml": "",
        "Dockerfile": "",
    })
    assert [d["name"] for d in data["diagnostics"]] == ["beat-schedule-read-only"]


def test_directory_named_like_a_dockerfile_and_symlink_loop(tmp_path):
    (tmp_path / "Dockerfile").mkdir()
    (tmp_path / "loop").mkdir()
    os.symlink(tmp_path / "loop", tmp_path / "loop" / "again")
    data, _ = run_on(tmp_path, {})
    assert [d["name"] for d in data["diagnostics"]] == ["beat-schedule-read-only"]


def test_recursive_alias_is_refused_not_a_hang(tmp_path):
    data, _ = run_on(tmp_path, {"loop.yaml": "a: &x [*x]\n", "meta.yaml": "metadata: &m {labels: *m}\n"})
    assert sorted(m for _, _, m in parse_errors(data)) == [
        "an alias refers to a node that contains it (recursive alias)"] * 2


def test_values_of_the_wrong_type_are_not_a_crash(tmp_path):
    data, _ = run_on(tmp_path, {"odd.yaml": """apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: {a: b}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: 7}
spec:
  template:
    spec:
      volumes: {}
      containers:
        - name: [x]
          command: "celery worker"
          env: "x"
          envFrom: [{configMapRef: {name: [x]}}]
          volumeMounts: [{mountPath: 5}, {name: v}]
          livenessProbe: {periodSeconds: "10", failureThreshold: -1}
"""})
    assert all(d["name"] in ("invalid-manifest", "beat-schedule-read-only") for d in data["diagnostics"])


def test_a_bad_size_is_a_usage_error(tmp_path):
    for size in ("inf", "1e400", "-5", "lots"):
        result = cli("check", "--max-file-size", size, ".", cwd=tmp_path)
        assert result.returncode == 2 and "--max-file-size" in result.stderr


def test_explicit_files_that_are_not_ours_are_skipped_with_a_notice(tmp_path):
    (tmp_path / "README.md").write_text("# Title\n\n- a: [b\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    result = cli("check", "README.md", "pyproject.toml", cwd=tmp_path)
    assert result.returncode == 0
    assert "skipped README.md: not a Kubernetes manifest" in result.stderr


def test_a_failing_rule_is_reported_and_the_others_still_run():
    from types import SimpleNamespace

    from celerylint.engine import Rule, Settings, all_rules, run
    from celerylint.model.build import load
    from conftest import FIXTURES

    def broken_check(context):
        raise ValueError("boom")
        yield  # pragma: no cover

    broken = Rule(SimpleNamespace(CODE="CL999", NAME="broken-rule", SEVERITY=None, SUMMARY="",
                                  check=broken_check, __doc__=""))
    deployment, _ = load([str(FIXTURES / "seed-000-jewelry-shop" / "broken")])
    errors: list[str] = []
    found = run(deployment, Settings(), [broken, *all_rules()], errors=errors)
    assert errors == ["internal error in rule broken-rule: ValueError: boom"]
    assert len(found) == 6


def test_one_parse_error_per_file_even_with_several_bad_documents(tmp_path):
    data, _ = run_on(tmp_path, {"two.yaml": ALIAS_BOMB + "---\n" + ALIAS_BOMB + "---\na: [\n"})
    assert len(parse_errors(data)) == 1


def test_tabs_empty_files_and_a_50_mb_file(tmp_path):
    tabbed = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n"
    data, stderr = run_on(tmp_path, {"tabs.yaml": tabbed, "empty.yaml": "", "blank.yml": "\n\n",
                                     "big.yaml": b"# " + b"x" * (50 * 1024 * 1024) + b"\n"})
    [(path, line, message)] = parse_errors(data)
    assert (path, line) == ("tabs.yaml", 4) and "cannot start any token" in message
    assert "skipped big.yaml: 50.0 MiB is above the 10.0 MiB limit" in stderr


@pytest.mark.ci
def test_100000_line_requirements_and_env_substitutions(tmp_path):
    lines = [f"package-{i}=={i % 50}.0" for i in range(100_000)]
    lines[77_000] = "celery[redis]==5.3.4"
    lines[88_000] = "redis==5.0.1"
    lines[99_000] = "kombu==${KOMBU_VERSION}"
    data, _ = run_on(tmp_path, {"requirements.txt": "\n".join(lines) + "\n"})
    conflicts = [d for d in data["diagnostics"] if d["name"] == "dependency-conflict"]
    assert [(d["path"], d["line"]) for d in conflicts] == [("requirements.txt", 88_001)]
    assert parse_errors(data) == []


def test_unreadable_file_is_a_notice_even_as_root(tmp_path, monkeypatch):
    import os

    secret = tmp_path / "secret.yaml"
    secret.write_text("a: 1\n")
    real = os.open

    def opener(path, flags, *args, **kwargs):
        if str(path).endswith("secret.yaml"):
            raise PermissionError(13, "Permission denied")
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", opener)
    _, stderr = run_on(tmp_path, {})
    assert "skipped secret.yaml: cannot read: Permission denied" in stderr


def test_nested_merge_keys_without_anchors_are_bounded():
    """``<<:`` with inline maps needs no anchor: 300 nested merges of 2,000 keys would copy
    600,000 keys (gigabytes at the size limit); the copies count against the alias budget."""
    from celerylint.parse import yamlnodes
    from celerylint.sources import ParseProblem, SourceFile

    doc = "{" + ", ".join(f"k{i}: v" for i in range(2000)) + "}"
    for _ in range(300):
        doc = "{<<: " + doc + "}"
    [problem] = list(yamlnodes.load(SourceFile("bomb.yaml", "yaml", "a: " + doc + "\n", None)))
    assert isinstance(problem, ParseProblem) and "merge keys" in problem.message
    small = SourceFile("ok.yaml", "yaml", "base: &b {x: 1}\nsvc: {<<: *b, y: 2}\n", None)
    [document] = list(yamlnodes.load(small))
    assert document.data["svc"] == {"x": 1, "y": 2}
