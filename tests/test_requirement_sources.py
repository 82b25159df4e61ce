"""Requirement sources beyond requirements.txt (issue 15): pyproject.toml (PEP 621, PEP 735,
Poetry), setup.cfg, Pipfile, and the lock files poetry.lock, uv.lock and Pipfile.lock."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from conftest import lint, run, write

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

WORKER = """apiVersion: apps/v1
kind: Deployment
metadata: {name: worker}
spec:
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec:
      containers:
        - name: worker
          image: shop/app:1.0
          command: ["celery", "worker", "-A", "proj", "--loglevel=info"]
"""

PEP621_CONFLICT = """[project]
name = "shop"
version = "1.0"
dependencies = [
    "Django>=4.2,<5",
    "celery[redis]==5.3.4",
    "redis>=5",  # the cache client
]
"""

POETRY_CONFLICT = """[tool.poetry]
name = "shop"
version = "0.1.0"

[tool.poetry.dependencies]
python = "^3.11"
Django = "^4.2"
celery = {version = "5.3.4", extras = ["redis"]}
redis = "^5.0"
"""


def loaded(root: Path):
    from celerylint.model.build import load

    deployment, skipped = load([str(root)])
    return deployment, skipped


def written(span) -> str:
    """The text a span covers in its file."""
    line = Path(span.path).read_text().split("\n")[span.line - 1]
    return line[span.column - 1:span.end_column - 1]


def string_leaves(value, path=()):
    """The path of every string in parsed TOML or JSON data."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_leaves(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from string_leaves(item, path + (index,))


def conflicts(root: Path) -> list[tuple[str, int]]:
    return [(Path(d.path).name, d.span.line) for d in lint(root) if d.name == "dependency-conflict"]


# -- Poetry constraints ---------------------------------------------------------------------------

@pytest.mark.parametrize("constraint, specifier", [
    ("^1.2", ">=1.2,<2.0"), ("^1.2.3", ">=1.2.3,<2.0.0"), ("^0.2.3", ">=0.2.3,<0.3.0"),
    ("^0.0.3", ">=0.0.3,<0.0.4"), ("^0", ">=0,<1"), ("^0.0", ">=0.0,<0.1"),
    ("~1.2", ">=1.2,<1.3"), ("~1.2.3", ">=1.2.3,<1.3.0"), ("~1", ">=1,<2"),
    ("*", ""), ("", ""), ("1.2.3", "==1.2.3"), ("=1.2.3", "==1.2.3"), ("1.2.*", "==1.2.*"),
    (">=1.2,<1.5", ">=1.2,<1.5"), (">= 1.2, < 1.5", ">=1.2,<1.5"), (">=1.2 <1.5", ">=1.2,<1.5"),
    ("~=1.2", "~=1.2"), ("!=1.5", "!=1.5"), ("^4.4 || ^5.0", ""), ("^5.3.0b1", ">=5.3.0b1,<6.0.0"),
])
def test_poetry_constraints_become_pep440(constraint, specifier):
    from celerylint.parse.pyproject import poetry_specifier

    assert poetry_specifier(constraint) == specifier


@pytest.mark.parametrize("constraint", ["^abc", ">>1", "~1.x", "==", "^"])
def test_invalid_poetry_constraints_are_none(constraint):
    from celerylint.parse.pyproject import poetry_specifier

    assert poetry_specifier(constraint) is None


@pytest.mark.parametrize("constraint, specifier", [
    ("*", ""), ("==5.3.4", "==5.3.4"), ("5.3.4", "==5.3.4"), (">=5,<6", ">=5,<6"), ("~=4.2", "~=4.2")])
def test_pipfile_versions(constraint, specifier):
    from celerylint.parse.pyproject import pipfile_specifier

    assert pipfile_specifier(constraint) == specifier


# -- positions ------------------------------------------------------------------------------------

def test_toml_positions_match_what_tomllib_reads():
    from celerylint.parse.datapos import load_toml

    doc = ('# top\ntitle = "x" # c\n"quoted key" = \'lit\'\na.b . "c" = """\nmulti "line"\n'
           '  end""""\ndate = 1979-05-27 07:32:00Z\narr = [ "one", # comment\n  \'two\',\n'
           '  [ "n1", {k = "v", m.n = \'w\'} ],\n  3, ]\n[[package]]\nname = "celery"\n'
           '[package.deps]\nkombu = ">=5"\n[[package]]\nname = "kombu"\nlit = \'\'\'a\'b\'\'\'\'\'\n')
    data, positions = load_toml(doc, lambda path: True)
    for path, (start, end) in positions.strings.items():
        value = data
        for part in path:
            value = value[part]
        assert doc[start:end] == value, path
    assert set(positions.strings) == set(string_leaves(data)) and len(positions.strings) == 12
    assert positions.strings[("package", 1, "name")] == (doc.rindex('"kombu"') + 1,
                                                         doc.rindex('"kombu"') + 6)
    assert doc[positions.keys[("package", 0, "deps", "kombu")]:].startswith("kombu =")


EVERY_TOML_SHAPE = r'''1234 = "num key"
"" = "empty key"
a."b.c".d = "dotted"
inl = {a = {b = [1, {c = "d"}]}, e = 'f'}
arr = [
  { name = "x", v = "1" },  # c1
  # c2
  { name = "y", v = "2" }
]
s1 = "x # y ] , }"
s2 = 'C:\path\'
s3 = """a QQQ b \" c"""
s4 = QQQ x """ y QQQ
nums = [+inf, -nan, 0x1F, 1_000, 1979-05-27, 07:32:00, true, 1e10, 1979-05-27 07:32:00-08:00]
	tabbed	=	"tab"
[ t1 . "b c" ]
k = "v1"
[[ aot ]]
k = "v2"
[aot.sub]
k = "v3"
[[aot.list]]
k = "v4"
[[aot]]
k = "v5"
[[aot.list]]
k = "v6"
[[aot.list]]
k = "v7"
empty = []
emptyt = {}
last = "end"
'''.replace("QQQ", "\'" * 3)


def test_toml_positions_on_every_shape_of_key_value_and_table():
    from celerylint.parse.datapos import load_toml

    data, positions = load_toml(EVERY_TOML_SHAPE, lambda path: True)
    assert set(positions.strings) == set(string_leaves(data)) and len(positions.strings) == 22
    for path, (start, end) in positions.strings.items():
        value = data
        for part in path:
            value = value[part]
        raw = EVERY_TOML_SHAPE[start:end]
        assert raw == value or ("\\" in raw and path == ("s3",)), path
    assert positions.strings[("aot", 1, "list", 1, "k")] == (EVERY_TOML_SHAPE.index('"v7"') + 1,
                                                              EVERY_TOML_SHAPE.index('"v7"') + 3)


def test_json_positions_match_what_json_reads():
    from celerylint.parse.datapos import load_json

    doc = '{"a": [1, {"b\\"c": "d"}], "e": "f g", "h": {"i": "j"}}'
    data, positions = load_json(doc, lambda path: True)
    for path, (start, end) in positions.strings.items():
        value = data
        for part in path:
            value = value[part]
        assert doc[start:end] == value
    assert set(positions.strings) == set(string_leaves(data)) == {("a", 1, 'b"c'), ("e",),
                                                                  ("h", "i")}


def test_spans_point_at_the_requirement_as_written(tmp_path):
    write(tmp_path, {
        "pyproject.toml": PEP621_CONFLICT + '\n[project.optional-dependencies]\nsqs = [\n'
                          "  'kombu[sqs]>=5.3', \"boto3\"]\n\n[dependency-groups]\n"
                          'dev = ["pytest>=8", {include-group = "lint"}]\nlint = ["ruff"]\n',
        "setup.cfg": "[options]\ninstall_requires =\n    celery==5.3.4\n    redis==5.0.1  # c\n",
        "Pipfile": '[packages]\ncelery = {extras = ["redis"], version = "==5.3.4"}\n'
                   'redis = ">=5"\n',
    })
    deployment, _ = loaded(tmp_path)
    seen = {}
    for requirement_set in deployment.requirement_sets:
        for p in requirement_set.requirements:
            name = Path(p.span.path).name
            seen[(name, p.name)] = written(p.span)
            assert p.project == str(tmp_path.resolve())
    assert seen[("pyproject.toml", "celery")] == "celery[redis]==5.3.4"
    assert seen[("pyproject.toml", "redis")] == "redis>=5"
    assert seen[("pyproject.toml", "kombu")] == "kombu[sqs]>=5.3"
    assert seen[("pyproject.toml", "ruff")] == "ruff"  # through include-group
    assert seen[("setup.cfg", "redis")] == "redis==5.0.1"
    assert seen[("Pipfile", "celery")] == "==5.3.4"  # the version string: what a fix rewrites
    assert seen[("Pipfile", "redis")] == ">=5"
    labels = sorted(s.label.split("/")[-1] for s in deployment.requirement_sets)
    assert labels == ["Pipfile", "pyproject.toml", "pyproject.toml [dependency-groups] dev",
                      "pyproject.toml [dependency-groups] lint",
                      "pyproject.toml [project.optional-dependencies] sqs", "setup.cfg"]
    dev = next(s for s in deployment.requirement_sets if s.label.endswith("groups] dev"))
    assert [p.name for p in dev.requirements] == ["django", "celery", "redis", "pytest", "ruff"]


def test_poetry_entries_keep_the_version_string_and_build_pep508(tmp_path):
    write(tmp_path, {"pyproject.toml": POETRY_CONFLICT + """gevent = { version = "*", optional = true }
kombu = [{version = "^5.2", python = "<3.8"}, {version = "^5.3", python = ">=3.8"}]
vine = {git = "https://example.com/vine.git"}
billiard = {version = "^4.2", python = "^3.8", markers = "sys_platform == 'linux'"}

[tool.poetry.group.dev.dependencies]
pytest = "^8.0"
"""})
    deployment, _ = loaded(tmp_path)
    [only] = deployment.requirement_sets  # Poetry resolves every group together
    texts = {p.name: (p.text, written(p.span)) for p in only.requirements}
    assert texts["django"] == ("Django>=4.2,<5.0", "^4.2")
    assert texts["celery"] == ("celery[redis]==5.3.4", "5.3.4")
    assert texts["redis"] == ("redis>=5.0,<6.0", "^5.0")
    assert texts["gevent"] == ("gevent", "*")
    assert texts["pytest"] == ("pytest>=8.0,<9.0", "^8.0")
    assert "python" not in texts and "kombu" not in texts and "vine" not in texts
    billiard = next(p for p in only.requirements if p.name == "billiard")
    assert billiard.requirement.marker.evaluate({"python_full_version": "3.11.0",
                                                 "sys_platform": "linux"})
    assert not billiard.requirement.marker.evaluate({"python_full_version": "3.7.0",
                                                     "sys_platform": "linux"})


def test_lock_files_are_constraints_at_the_version_string(tmp_path):
    write(tmp_path, {
        "poetry.lock": '[[package]]\nname = "celery"\nversion = "5.3.6"\nfiles = [\n'
                       '  {file = "celery.whl", hash = "sha256:00"},\n]\n\n[package.dependencies]\n'
                       'kombu = ">=5.3.4,<6.0"\n\n[[package]]\nname = "Kombu"\nversion = "5.3.4"\n'
                       '\n[metadata]\nlock-version = "2.0"\n',
        "uv/uv.lock": 'version = 1\n\n[[package]]\nname = "shop"\nversion = "0.1.0"\n'
                      'source = { editable = "." }\n\n[[package]]\nname = "redis"\nversion = "4.6.0"\n'
                      '\n[[package]]\nname = "redis"\nversion = "5.0.1"\n\n[[package]]\n'
                      'name = "vine"\nversion = "5.1.0"\n',
        "pipenv/Pipfile.lock": json.dumps({"_meta": {"requires": {"python_version": "3.11"}},
                                           "default": {"celery": {"version": "==5.3.4"},
                                                       "tasks": {"path": "."}},
                                           "develop": {"pytest": {"version": "==8.0.0"}}},
                                          indent=4),
    })
    deployment, _ = loaded(tmp_path)
    by_name = {Path(s.label).name: [(p.text, p.constraint, written(p.span)) for p in s.requirements]
               for s in deployment.requirement_sets}
    assert by_name["poetry.lock"] == [("celery==5.3.6", True, "5.3.6"), ("kombu==5.3.4", True, "5.3.4")]
    # the project itself (editable) and redis, locked at two versions (a fork), are left out
    assert by_name["uv.lock"] == [("vine==5.1.0", True, "5.1.0")]
    assert by_name["Pipfile.lock"] == [("celery==5.3.4", True, "==5.3.4"),
                                       ("pytest==8.0.0", True, "==8.0.0")]


# -- dependency-conflict ----------------------------------------------------------------------------

def test_conflicts_in_pyproject_setup_cfg_and_pipfile(tmp_path):
    write(tmp_path, {"a/pyproject.toml": PEP621_CONFLICT, "b/pyproject.toml": POETRY_CONFLICT,
                     "c/setup.cfg": "[options]\ninstall_requires =\n    celery[redis]==5.3.4\n"
                                    "    redis==5.0.1\n",
                     "d/Pipfile": '[packages]\ncelery = "==5.3.4"\n[requires]\n'
                                  'python_version = "3.7"\n',
                     "e/pyproject.toml": '[project]\nname = "w"\ndependencies = ["celery==5.4.0"]\n'
                                         '[project.optional-dependencies]\nsqs = ["kombu==5.2.4"]\n',
                     "f/pyproject.toml": '[project]\nname = "u"\ndependencies = ["celery[redis]==5.3.4"]'
                                         '\n[tool.uv]\ndev-dependencies = ["redis==5.0.1"]\n'})
    found = {(Path(d.path).parent.name, d.span.line): d.message for d in lint(tmp_path)
             if d.name == "dependency-conflict"}
    assert set(found) == {("a", 7), ("b", 9), ("c", 4), ("d", 2), ("e", 5), ("f", 5)}
    assert "redis>=5 is pinned" in found[("a", 7)]
    assert "redis>=5.0,<6.0 is pinned" in found[("b", 9)]
    assert "does not include Python 3.7" in found[("d", 2)]
    assert "kombu==5.2.4 is pinned" in found[("e", 5)]


def test_no_false_conflicts(tmp_path):
    write(tmp_path, {
        # ranges that resolve (celery 5.3.5+ allows redis 5), a || constraint, per-Python lists
        "a/pyproject.toml": """[tool.poetry.dependencies]
python = "^3.11"
celery = {version = "^5.3.4", extras = ["redis"]}
redis = "^5.0"
kombu = [{version = "^5.2", python = "<3.8"}, {version = "^5.3", python = ">=3.8"}]
billiard = "^3.6 || ^4.2"
""",
        # two extras that disagree are never installed together
        "b/pyproject.toml": '[project]\nname = "b"\ndependencies = ["celery[redis]>=5.3.6,<5.5"]\n'
                            '[project.optional-dependencies]\nold = ["redis>=4.6,<5"]\n'
                            'new = ["redis>=5.0.1,<5.1"]\n',
        # a marker that is false on Linux
        "c/Pipfile": '[packages]\ncelery = {extras = ["redis"], version = "==5.3.4"}\n'
                     'redis = {version = "==5.0.1", sys_platform = "== \'win32\'"}\n',
        # lock files: pins our metadata calls inconsistent, and a fork, are never a conflict
        "d/poetry.lock": '[[package]]\nname = "celery"\nversion = "5.4.0"\n\n[[package]]\n'
                         'name = "kombu"\nversion = "5.2.4"\n',
        "e/uv.lock": 'version = 1\n[[package]]\nname = "celery"\nversion = "5.4.0"\n'
                     '[[package]]\nname = "kombu"\nversion = "5.2.4"\n',
        "f/Pipfile.lock": json.dumps({"default": {"celery": {"version": "==5.3.4"},
                                                  "redis": {"version": "==5.0.1"}}}),
    })
    assert conflicts(tmp_path) == []


@pytest.mark.parametrize("files, name, expected", [
    ({"pyproject.toml": PEP621_CONFLICT}, "pyproject.toml", '"redis>=4.5.2,<5.0.0,!=4.5.5",  # the cache'),
    ({"pyproject.toml": POETRY_CONFLICT}, "pyproject.toml", 'redis = ">=4.5.2,<5.0.0,!=4.5.5"'),
    ({"pyproject.toml": "[project]\nname = 's'\ndependencies = ['celery[redis]==5.3.4', "
                        "'redis==5.0.1; python_version >= \"3.8\"']\n"},
     "pyproject.toml", "'redis==4.6.0; python_version >= \"3.8\"']"),
    ({"Pipfile": '[packages]\ncelery = {extras = ["redis"], version = "==5.3.4"}\n'
                 "redis = '==5.0.1'\n"}, "Pipfile", "redis = '==4.6.0'"),
    ({"setup.cfg": "[options]\ninstall_requires =\n    celery[redis]==5.3.4\n    redis>=5  # c\n"},
     "setup.cfg", "    redis>=4.5.2,<5.0.0,!=4.5.5  # c"),
])
def test_fix_rewrites_the_requirement_and_the_file_still_parses(tmp_path, files, name, expected):
    write(tmp_path, files)
    result = run("check", "--fix", ".", cwd=tmp_path)
    text = (tmp_path / name).read_text()
    assert expected in text, (result.stdout, result.stderr, text)
    if name != "setup.cfg":
        tomllib.loads(text)  # still TOML
    assert conflicts(tmp_path) == []
    assert "celerylint bug" not in result.stderr


def test_an_inline_suppression_in_toml_is_honoured(tmp_path):
    write(tmp_path, {"pyproject.toml": PEP621_CONFLICT.replace(
        '    "redis>=5",', '    # celerylint: ignore[dependency-conflict] -- pinned by ops\n    "redis>=5",')})
    result = run("check", "--format", "json", ".", cwd=tmp_path)
    data = json.loads(result.stdout)
    assert data["diagnostics"] == []
    assert [s["name"] for s in data["suppressed"]] == ["dependency-conflict"]


def test_no_fix_where_the_string_holds_escapes(tmp_path):
    write(tmp_path, {"pyproject.toml": '[project]\nname = "s"\ndependencies = [\n'
                                       '  "celery[redis]==5.3.4",\n  "redis\\u003e=5",\n]\n'})
    [finding] = [d for d in lint(tmp_path) if d.name == "dependency-conflict"]
    assert (finding.span.line, finding.span.column) == (5, 4) and finding.fix is None


def test_still_valid_refuses_an_edit_that_breaks_toml():
    from celerylint.model.requirement_sets import still_valid
    from celerylint.sources import SourceFile

    source = SourceFile("pyproject.toml", "packaging", '[project]\ndependencies = ["redis>=5"]\n',
                        None)
    start = source.text.index("redis")
    assert still_valid(source, start, start + 8, "redis==4.6.0")
    assert not still_valid(source, start, start + 8, 'redis"==4.6.0')


# -- the Celery version ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, text", [
    ("pyproject.toml", '[project]\nname = "shop"\ndependencies = ["celery>=4.4,<5"]\n'),
    ("pyproject.toml", '[tool.poetry.dependencies]\npython = "^3.8"\ncelery = "^4.4"\n'),
    ("pyproject.toml", '[dependency-groups]\nworker = ["celery==4.4.7"]\n'),
    ("setup.cfg", "[options]\ninstall_requires =\n    celery==4.4.7\n"),
    ("Pipfile", '[packages]\ncelery = "~=4.4"\n'),
    ("poetry.lock", '[[package]]\nname = "celery"\nversion = "4.4.7"\n'),
    ("uv.lock", 'version = 1\n[[package]]\nname = "celery"\nversion = "4.4.7"\n'),
    ("Pipfile.lock", '{"default": {"celery": {"version": "==4.4.7"}}, "develop": {}}'),
])
def test_celery4_declared_anywhere_silences_celery4_cli_order(tmp_path, name, text):
    write(tmp_path, {".git/HEAD": "", "k8s/worker.yaml": WORKER, name: text})
    assert [d for d in lint(tmp_path) if d.name == "celery4-cli-order"] == []


def test_celery5_in_pyproject_keeps_celery4_cli_order_through_the_cli(tmp_path):
    write(tmp_path, {".git/HEAD": "", "k8s/worker.yaml": WORKER,
                     "pyproject.toml": '[tool.poetry.dependencies]\ncelery = "^5.3"\n'})
    result = run("check", "--format", "json", ".", cwd=tmp_path)
    names = [(d["name"], d["path"]) for d in json.loads(result.stdout)["diagnostics"]]
    assert ("celery4-cli-order", "k8s/worker.yaml") in names
    (tmp_path / "pyproject.toml").write_text('[tool.poetry.dependencies]\ncelery = "^4.4"\n')
    result = run("check", "--format", "json", ".", cwd=tmp_path)
    assert "celery4-cli-order" not in {d["name"] for d in json.loads(result.stdout)["diagnostics"]}


def test_the_celery_version_counts_per_project(tmp_path):
    write(tmp_path, {"a/.git/HEAD": "", "a/k8s/worker.yaml": WORKER,
                     "a/pyproject.toml": '[project]\nname = "a"\ndependencies = ["celery>=5.3"]\n',
                     "b/.git/HEAD": "", "b/pyproject.toml":
                         '[project]\nname = "b"\ndependencies = ["celery==4.4.7"]\n'})
    found = [(d.name, Path(d.path).parts[-3]) for d in lint(tmp_path / "a", tmp_path / "b")]
    assert ("celery4-cli-order", "a") in found


# -- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, text, line, words", [
    ("pyproject.toml", '[project]\nname = "x"\ndependencies = ["celery"\n', 4, "invalid TOML"),
    ("pyproject.toml", "a = " + "[" * 3000 + "]" * 3000 + "\n", 1, "nested too deeply"),
    ("pyproject.toml", '[project]\nname = "x"\ndependencies = {celery = "5"}\n', 3,
     "must be an array of requirement strings, not a table"),
    ("pyproject.toml", '[project]\nname = "x"\ndependencies = [\n  "celery",\n  3,\n]\n', 5,
     "must hold requirement strings, not an integer"),
    ("pyproject.toml", '[project]\nname = "x"\ndependencies = ["celery ~~ 5"]\n', 3,
     "invalid requirement"),
    ("pyproject.toml", 'project = 3\n', 1, "[project] must be a table"),
    ("pyproject.toml", '[project.optional-dependencies]\nx = "celery"\n', 2, "must be an array"),
    ("pyproject.toml", '[tool.poetry.dependencies]\ncelery = 5\n', 2,
     "must be a version string or a table, not an integer"),
    ("pyproject.toml", '[tool.poetry.dependencies]\ncelery = "^^5"\n', 2,
     "invalid version constraint"),
    ("pyproject.toml", '[tool.poetry]\ndependencies = ["celery"]\n', 2, "must be a table"),
    ("pyproject.toml", '[dependency-groups]\na = [{include-group = "b"}]\nb = [{include-group = "a"}]\n',
     3, "includes itself"),
    ("Pipfile", '[packages]\ncelery = true\n', 2, "not a boolean"),
    ("setup.cfg", "[options]\ninstall_requires =\n    celery ~~ 5\n", 3, "invalid requirement"),
    ("poetry.lock", '[[package]]\nname = 3\nversion = "1.0"\n', 2, "string name and version"),
    ("poetry.lock", 'package = "x"\n', 1, "array of tables"),
    ("uv.lock", "version = 1\n[[package]\n", 2, "invalid TOML"),
    ("Pipfile.lock", '{"default": [1, 2]}', 1, "must map package names"),
    ("Pipfile.lock", '{"default": {\n', 2, "invalid JSON"),
])
def test_bad_input_is_a_parse_error_at_its_line(tmp_path, name, text, line, words):
    write(tmp_path, {name: text})
    problems = [d for d in lint(tmp_path) if d.name == "parse-error"]
    assert len(problems) == 1, problems
    assert problems[0].path.endswith(name) and problems[0].span.line == line
    assert words in problems[0].message


def test_a_file_over_the_size_limit_is_a_notice(tmp_path):
    write(tmp_path, {"pyproject.toml": "[project]\ndependencies = [\n" + '  "celery",\n' * 5000 + "]\n"})
    result = run("check", "--max-file-size", "10K", ".", cwd=tmp_path)
    assert result.returncode == 0 and "above the" in result.stderr and "Traceback" not in result.stderr


def _cost(make, measure, small: int, factor: int = 8) -> float:
    def best(n: int) -> float:
        data = make(n)
        times = []
        for _ in range(3):
            start = time.process_time()
            measure(data)
            times.append(time.process_time() - start)
        return max(min(times), 1e-4)
    return best(factor * small) / best(small)


def test_reading_stays_linear():
    from celerylint.parse import lockfiles, pyproject
    from celerylint.sources import SourceFile

    def project(n: int) -> SourceFile:
        return SourceFile("pyproject.toml", "packaging", "[project]\ndependencies = [\n" +
                          "".join(f'  "pkg{i}>=1.0",  # c\n' for i in range(n)) + "]\n", None)

    def lock(n: int) -> SourceFile:
        return SourceFile("poetry.lock", "packaging", "".join(
            f'[[package]]\nname = "p{i}"\nversion = "1.{i}"\nfiles = [{{file = "a", hash = "b"}}]\n'
            f'[package.dependencies]\nx = "^1.0"\n\n' for i in range(n)), None)

    def escapes(n: int) -> SourceFile:  # backslash runs and quotes inside one long string
        return SourceFile("uv.lock", "packaging", 'x = "' + '\\\\\\"' * n + '"\n', None)

    assert _cost(project, pyproject.read_pyproject, 500) < 25
    assert _cost(lock, lockfiles.read, 500) < 25
    assert _cost(escapes, lockfiles.read, 20000) < 25


# -- discovery -------------------------------------------------------------------------------------

def test_classify_recognises_the_files_by_name():
    from celerylint.discover import classify
    from celerylint.sources import PACKAGING

    for name in ("pyproject.toml", "setup.cfg", "Pipfile", "Pipfile.lock", "poetry.lock", "uv.lock"):
        assert classify(Path("app") / name) == PACKAGING
    for name in ("pyproject.toml.bak", "Pipfile.txt", "package-lock.json", "Cargo.lock", "tox.ini"):
        assert classify(Path(name)) != PACKAGING


def test_a_packaging_file_without_dependencies_is_not_checked(tmp_path):
    write(tmp_path, {"pyproject.toml": '[tool.black]\nline-length = 100\n',
                     "setup.cfg": "[flake8]\nmax-line-length = 100\n"})
    deployment, skipped = loaded(tmp_path)
    assert deployment.sources == [] and deployment.requirement_sets == []
    assert {(Path(s.path).name, s.verbose) for s in skipped} == {("pyproject.toml", True),
                                                                ("setup.cfg", True)}


def test_a_project_without_celery_stays_quiet(tmp_path):
    write(tmp_path, {"pyproject.toml": """[project]
name = "science"
version = "1.0"
dependencies = ["numpy>=1.26", "pandas~=2.1", "requests[socks]>=2.31; python_version >= '3.8'"]
[project.optional-dependencies]
plot = ["matplotlib>=3.8"]
[tool.poetry.dependencies]
python = "^3.10"
scipy = {version = "^1.11", allow-prereleases = true}
""", "uv.lock": 'version = 1\n[[package]]\nname = "numpy"\nversion = "1.26.4"\n'})
    assert lint(tmp_path) == []
