"""Helm charts rendered by Helm's own engine, with findings on template and values lines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, lint, run, write

SHOP = FIXTURES / "charts" / "shop"

pytestmark = pytest.mark.skipif(
    __import__("celerylint.carriers.helm", fromlist=["engine"]).engine() is None,
    reason="no Helm engine: install the test extras (helm-python-sdk) or helm")


def diagnostics(root: Path, *args: str) -> tuple[list[dict], str, int]:
    result = run("check", "--format", "json", *args, ".", cwd=root)
    return json.loads(result.stdout)["diagnostics"], result.stderr, result.returncode


def copy(tmp_path: Path) -> Path:
    shutil.copytree(SHOP, tmp_path / "shop")
    (tmp_path / ".git").mkdir()
    return tmp_path


def test_findings_land_on_template_lines_with_the_values_keys_they_read(tmp_path):
    found, stderr, code = diagnostics(copy(tmp_path))
    assert code == 1 and "parse-error" not in {d["name"] for d in found}
    assert sorted({(d["name"], d["path"], d["line"], d["column"]) for d in found}) == [
        ("beat-rolling-update", "shop/templates/beat.yaml", 8, 3),
        ("credentials-in-manifest", "shop/templates/flower.yaml", 18, 11),  # flower.basicAuth
        ("prefork-default-concurrency", "shop/templates/worker.yaml", 23, 64),  # "worker"
        ("probe-http-auth", "shop/templates/flower.yaml", 23, 21),
        ("signal-not-forwarded", "shop/templates/beat.yaml", 20, 62),  # "celery"
    ]
    # one missing dependency, one notice; the chart's own templates still render
    assert stderr.count("chart dependencies missing from charts/ (redis)") == 1


def test_a_value_from_a_values_file_is_named_and_located(tmp_path):
    root = copy(tmp_path)
    (root / "shop/templates/beat.yaml").write_text(
        (root / "shop/templates/beat.yaml").read_text().replace(
            "  replicas: {{ .Values.beat.replicas }}",
            "  replicas: {{ .Values.beat.replicas }}\n  strategy: {type: Recreate}"))
    found, _, _ = diagnostics(root, "--helm-set", "beat.replicas=3")
    [beats] = [d for d in found if d["name"] == "multiple-beats"]
    assert (beats["path"], beats["line"]) == ("shop/templates/beat.yaml", 8)
    assert [(r["path"], r["line"], r["message"]) for r in beats["related"]] == [
        ("shop/values.yaml", 25, "the value of beat.replicas")]


def test_value_sets_are_each_rendered_and_a_finding_says_which_set_when_they_differ(tmp_path):
    root = copy(tmp_path)
    write(root, {".celerylint.toml": '''[helm.charts]
"shop" = [{name = "staging", values = ["shop/values-staging.yaml"]},
          {name = "production", values = ["shop/values-production.yaml"]}]
'''})
    found, _, _ = diagnostics(root)
    by_name = {}
    for d in found:
        by_name.setdefault(d["name"], []).append(d["message"])
    assert all(m.endswith("(values: production)") for m in by_name["multiple-beats"])
    assert all(m.endswith("(values: production)") for m in by_name["replicas-with-hpa"])
    assert all(m.endswith("(values: staging)") for m in by_name["beat-rolling-update"])
    assert not any("(values:" in m for m in by_name["probe-http-auth"])  # both sets


def test_fixes_edit_the_template_or_one_values_key_and_the_chart_renders_clean(tmp_path):
    root = copy(tmp_path)
    production = root / "shop/values-production.yaml"
    result = run("check", "--fix", "--unsafe-fixes", "--helm-values", str(production), ".",
                 cwd=root)
    assert result.returncode == 1  # beat's rolling update and the HPA's replicas need a person
    assert "exec celery -A" in (root / "shop/templates/beat.yaml").read_text()
    assert "path: /healthcheck" in (root / "shop/templates/flower.yaml").read_text()
    assert '"worker", "--concurrency=1", "-Q"' in (root / "shop/templates/worker.yaml").read_text()
    assert "beat:\n  replicas: 1\n" in production.read_text()  # the one key behind replicas
    left, _, _ = diagnostics(root, "--helm-values", str(production))
    assert {d["name"] for d in left} <= {"beat-rolling-update", "replicas-with-hpa",
                                         "credentials-in-manifest"}  # no fix: a person moves it
    rolling = [d for d in left if d["name"] == "beat-rolling-update"]
    assert all("the template computes this text" in d["hint"] for d in rolling)


def test_templates_that_cannot_be_rendered_are_notices_unless_strict(tmp_path):
    write(tmp_path, {
        "k8s/worker.yaml.tpl": "kind: {{ .Kind }}\n",
        "k8s/worker.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Values.name }}\n",
        "ansible/pod.yml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {% if x %}a{% endif %}\n",
        ".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: echo ${{ x }}: y\n",
    })
    result = run("check", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert "k8s/worker.yaml: a Helm/Go template, not rendered: not checked" in result.stderr
    assert "a Jinja template, not rendered" in result.stderr
    assert "a GitHub Actions workflow" in result.stderr
    strict = run("check", "--strict-parse", ".", cwd=tmp_path)
    assert strict.returncode == 1 and strict.stdout.count("parse-error") == 3


def test_helm_template_output_on_stdin_maps_to_the_template_in_the_tree(tmp_path):
    root = copy(tmp_path)
    rendered = "\n".join(f"---\n# Source: shop/templates/{name}\n" +
                         (SHOP / "templates" / name).read_text()
                         .replace('{{ include "shop.fullname" . }}', "shop")
                         .replace("{{ .Values.celery.app }}", "shop")
                         .replace('"{{ .Values.image.repository }}:{{ .Values.image.tag }}"', "x/y:1")
                         .replace("{{ .Values.beat.replicas }}", "1")
                         .replace('    {{- include "shop.labels" . | nindent 4 }}\n', "")
                         .replace('            {{- include "shop.env" . | nindent 12 }}\n', "")
                         for name in ("beat.yaml",))
    result = run("check", "--format", "json", "-", ".", cwd=root, stdin=rendered)
    paths = {(d["path"], d["line"]) for d in json.loads(result.stdout)["diagnostics"]}
    assert ("shop/templates/beat.yaml", 20) in paths and not any(p == "<stdin>" for p, _ in paths)
    elsewhere = run("check", "--format", "json", "-", cwd=tmp_path / "shop" / "templates",
                    stdin=rendered.replace("shop/templates", "other/templates"))
    assert {d["path"] for d in json.loads(elsewhere.stdout)["diagnostics"]} == {
        "other/templates/beat.yaml"}


def test_without_an_engine_a_chart_is_a_notice_not_an_error(tmp_path, monkeypatch):
    from celerylint.carriers import helm

    monkeypatch.setattr(helm, "engine", lambda: None)
    root = copy(tmp_path)
    result = run("check", ".", cwd=root)
    assert result.returncode == 0 and "a Helm chart, not rendered" in result.stderr


def test_an_inline_suppression_in_a_template_applies(tmp_path):
    root = copy(tmp_path)
    flower = root / "shop/templates/flower.yaml"
    flower.write_text(flower.read_text().replace(
        "              path: /\n", "              # celerylint: ignore[probe-http-auth] -- the "
        "kubelet sends credentials\n              path: /\n"))
    found, _, _ = diagnostics(root)
    assert "probe-http-auth" not in {d["name"] for d in found}


def test_a_chart_given_as_a_path_or_through_one_of_its_files_is_rendered(tmp_path):
    root = copy(tmp_path)
    for target in ("shop", "shop/templates/flower.yaml", "shop/values.yaml"):
        result = run("check", "--format", "json", target, cwd=root)
        assert "probe-http-auth" in {d["name"] for d in json.loads(result.stdout)["diagnostics"]}
    assert [d.name for d in lint(SHOP / "templates" / "flower.yaml")].count("probe-http-auth") == 1
