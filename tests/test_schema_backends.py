"""Both schema backends (jsonschema-rs, the ``fast`` extra, and jsonschema) report the same findings.

A finding's message feeds its SARIF/GitLab fingerprint, so "the same" means byte for byte: code,
span, message, hint and fingerprint from a real CLI run with ``CELERYLINT_SCHEMA_BACKEND`` set
each way. The jsonschema-rs tests skip where it is not installed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, cli, lint

from celerylint import kubeschema

try:
    import jsonschema_rs
except ImportError:
    jsonschema_rs = None
RS = jsonschema_rs is not None
needs_rs = pytest.mark.skipif(not RS, reason="jsonschema-rs (the fast extra) is not installed")

#: Keys that are not strings once YAML reads them (5, True, None, 1.5), and two keys that JSON
#: writes alike (jsonschema-rs sees one of them, so jsonschema judges that object).
ODD_KEYS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: odd
  5: x
  on: y
data:
  5: five
  true: yes
  null: nothing
  1.5: float
  plain: 7
---
apiVersion: v1
kind: ConfigMap
metadata: {name: same-key-as-json}
data: {5: 1, "5": 2}
"""

#: .inf/.nan: jsonschema reads them as numbers, jsonschema-rs as no JSON type at all.
NON_FINITE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: w}
spec:
  replicas: .inf
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - {name: w, image: x, resources: {limits: {memory: .inf, cpu: .nan}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {a: -.inf}
"""


def _nested(depth: int, leaf: str = "x") -> str:
    return "{a: " * depth + leaf + "}" * depth


def _deep_properties(depth: int) -> str:
    props = "{type: object, descriptionn: 1}"
    for _ in range(depth):
        props = "{type: object, descriptionn: 1, properties: {p: " + props + "}}"
    return props


#: A label value nested 390 deep (jsonschema judges it without descending: one finding), and a
#: CRD schema whose validation nests deeper than either validator follows (not judged).
DEEP = f"""\
apiVersion: v1
kind: ConfigMap
metadata: {{name: c, labels: {_nested(390)}}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: a}}
spec:
  group: g
  names: {{kind: K, plural: ks}}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {_deep_properties(190)}
"""


@pytest.fixture(autouse=True)
def fresh_backend():
    """Each test chooses the backend anew, and leaves no validator compiled under a patch."""
    def clear() -> None:
        kubeschema.reset()
        if "celerylint.kubeschema_rs" in sys.modules:
            sys.modules["celerylint.kubeschema_rs"].validator.cache_clear()
            sys.modules["celerylint.kubeschema_rs"]._registry.cache_clear()
    clear()
    yield
    clear()


def diagnostics(path: Path | str, backend: str, monkeypatch) -> list[tuple]:
    """Every diagnostic of a CLI JSON run with the given backend (the fields a user sees)."""
    monkeypatch.setenv(kubeschema.BACKEND_ENV, backend)
    result = cli("check", "--format", "json", str(path))
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr
    return [(d["code"], d["path"], d["line"], d["column"], d["end_line"], d["end_column"],
             d["message"], d["hint"], d["fingerprint"])
            for d in json.loads(result.stdout)["diagnostics"]]


def in_process(path: Path, backend: str, monkeypatch) -> list[tuple]:
    monkeypatch.setenv(kubeschema.BACKEND_ENV, backend)
    kubeschema.reset()
    return [(d.code, d.span, d.message, d.hint) for d in lint(path)]


def test_the_variable_chooses_the_backend(monkeypatch):
    monkeypatch.setenv(kubeschema.BACKEND_ENV, "jsonschema")
    assert kubeschema.backend() == "jsonschema"
    monkeypatch.delenv(kubeschema.BACKEND_ENV)
    kubeschema.reset()
    assert kubeschema.backend() == ("jsonschema-rs" if RS else "jsonschema")


@needs_rs
def test_the_fast_path_does_not_import_jsonschema(monkeypatch):
    def imported(backend: str) -> set[str]:
        monkeypatch.setenv(kubeschema.BACKEND_ENV, backend)
        result = cli_importtime("check", "--select", "invalid-manifest",
                                str(FIXTURES / "rules" / "invalid-manifest"))
        return {line.rpartition("|")[2].strip() for line in result.splitlines()
                if line.startswith("import time:")}

    fast, slow = imported("jsonschema-rs"), imported("jsonschema")
    assert "jsonschema_rs" in fast and not {"jsonschema", "referencing"} & fast
    assert "jsonschema" in slow and "jsonschema_rs" not in slow


def cli_importtime(*args: str) -> str:
    """stderr of ``python -X importtime -m celerylint ...``: one line per module imported."""
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "FORCE_COLOR")}
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "celerylint", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300).stderr


@needs_rs
def test_both_backends_report_the_same_fixture_findings(monkeypatch):
    path = FIXTURES / "rules" / "invalid-manifest"
    fast = diagnostics(path, "jsonschema-rs", monkeypatch)
    assert sum(d[0] == "CL002" for d in fast) == 6
    assert fast == diagnostics(path, "jsonschema", monkeypatch)


@needs_rs
@pytest.mark.ci
def test_both_backends_report_the_same_foreign_corpus_findings(shared, monkeypatch):
    path = shared / "corpus" / "foreign"
    fast = diagnostics(path, "jsonschema-rs", monkeypatch)
    assert sum(d[0] == "CL002" for d in fast) > 100
    assert fast == diagnostics(path, "jsonschema", monkeypatch)


@needs_rs
def test_odd_keys_non_finite_numbers_and_deep_nesting_match_jsonschema(tmp_path, monkeypatch):
    for name, text in (("keys.yaml", ODD_KEYS), ("inf.yaml", NON_FINITE), ("deep.yaml", DEEP)):
        (tmp_path / name).write_text(text)
    fast = diagnostics(tmp_path, "jsonschema-rs", monkeypatch)
    assert fast == diagnostics(tmp_path, "jsonschema", monkeypatch)
    messages = {(Path(d[1]).name, d[6].partition(": ")[2][:40]) for d in fast if d[0] == "CL002"}
    assert messages == {(name, message[:40]) for name, message in (
        ("keys.yaml", "metadata[5]: unknown field '5'"),
        ("keys.yaml", "metadata[True]: unknown field 'True'"),
        ("keys.yaml", "data[True]: True is not of type 'string', 'null'"),
        ("keys.yaml", "data.plain: 7 is not of type 'string', 'null'"),
        ("keys.yaml", "data[5]: 1 is not of type 'string', 'null'"),
        ("keys.yaml", "data.5: 2 is not of type 'string', 'null'"),
        ("inf.yaml", "spec.replicas: inf is not of type 'integer', 'null'"),  # memory: .inf is
        ("inf.yaml", "data.a: -inf is not of type 'string', 'null'"),  # a number to jsonschema
        ("deep.yaml", "metadata.labels.a: {'a': {'a': {'a': {'a"),
    )}


@needs_rs
def test_no_network_even_for_a_reference_that_is_not_bundled(tmp_path, monkeypatch):
    from celerylint import kubeschema_rs

    def refuse(*args, **kwargs):
        raise AssertionError("celerylint opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    (tmp_path / "app.yaml").write_text((FIXTURES / "rules" / "invalid-manifest" / "fires.yaml")
                                       .read_text())
    found = in_process(tmp_path, "jsonschema-rs", monkeypatch)  # Deployment: $refs into _defs
    assert kubeschema.backend() == "jsonschema-rs"
    assert any("'selector' is a required property" in f[2] for f in found)
    # what jsonschema-rs does with a reference the registry lacks: asks our retriever, which refuses
    registry, _ = kubeschema_rs._registry(kubeschema.resolve_version(None), True)
    with pytest.raises(ValueError, match="celerylint does not fetch schemas"):
        jsonschema_rs.Draft202012Validator({"$ref": "https://example.com/other.json"},
                                           registry=registry)


class _Broken:
    """A jsonschema-rs validator from a release whose errors look different."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def is_valid(self, data) -> bool:
        return False

    def iter_errors(self, data):
        yield object()  # no kind, no instance_path


def _raise(exc: type[Exception]):
    def constructor(*args, **kwargs):
        raise exc("jsonschema-rs changed")
    return constructor


@needs_rs
@pytest.mark.parametrize("name, replacement", [
    ("Draft202012Validator", _raise(TypeError)),
    ("Registry", _raise(AttributeError)),
    ("Draft202012Validator", _Broken),
])
def test_a_changed_jsonschema_rs_api_falls_back_to_jsonschema(name, replacement, monkeypatch):
    path = FIXTURES / "rules" / "invalid-manifest"
    expected = in_process(path, "jsonschema", monkeypatch)
    monkeypatch.setattr(jsonschema_rs, name, replacement)
    with pytest.warns(RuntimeWarning, match="jsonschema-rs failed"):
        assert in_process(path, "jsonschema-rs", monkeypatch) == expected
    assert kubeschema.backend() == "jsonschema"  # for the rest of the run


@needs_rs
def test_the_fast_backend_stays_quiet_on_valid_objects(monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = in_process(FIXTURES / "rules" / "invalid-manifest", "jsonschema-rs", monkeypatch)
    assert kubeschema.backend() == "jsonschema-rs" and found
