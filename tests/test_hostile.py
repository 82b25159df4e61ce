"""A hostile pull request cannot read, write, hang or leak through celerylint (issue 12).

Each test builds the tree an attacker could commit and proves the property: nothing outside the
checked tree is opened or written, every input under the size limit costs bounded time and
memory (shown as the growth from one size to eight times it, not as a wall-clock limit), and
odd files give notices or findings, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
import time
import tracemalloc
from pathlib import Path


from conftest import cli, lint, run, write

W = """apiVersion: v1
kind: Pod
metadata: {name: w}
spec:
  containers:
    - name: w
      image: python:3.11-slim
      command: ["sh", "-c", "pip install celery[redis]==5.3.4 redis==5.0.1 && celery -A proj worker -B"]
"""


def check_json(root: Path, *args: str) -> tuple[dict, str]:
    result = run("check", "--format", "json", *args, ".", cwd=root)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout), result.stderr


def growth(make, measure, small: int, factor: int = 8) -> float:
    """How much dearer ``measure(make(factor * small))`` is than ``measure(make(small))``, in
    CPU time, best of three each: about ``factor`` when linear, ``factor ** 2`` when quadratic."""
    def cost(n: int) -> float:
        data = make(n)
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            measure(data)
            best = min(best, time.process_time() - start)
        return max(best, 1e-4)
    return cost(factor * small) / cost(small)


# -- nothing is read outside the checked tree ----------------------------------------------------

def outside_tree(tmp_path: Path) -> tuple[Path, Path]:
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    write(outside, {"reqs.txt": "celery[redis]==5.3.4\nredis==5.0.1\n",
                    "evil.sh": "#!/bin/sh\ncelery -A SECRET worker --detach\n",
                    "evilapp.py": "from celery import Celery\napp = Celery('x')\n"
                                  "app.conf.beat_schedule_filename = '/SECRET/schedule'\n",
                    "target.yaml": W})
    write(tree, {
        "requirements.txt": f"-r ../outside/reqs.txt\n-r {outside}/reqs.txt\n-c /etc/passwd\n"
                            "-r /proc/self/environ\nkombu==5.3.4\n",
        "Dockerfile": f"FROM python:3.12-slim\nCOPY ../../outside/evil.sh /evil.sh\n"
                      f"COPY {outside}/evil.sh /evil2.sh\nCMD [\"/evil.sh\"]\n",
        "k8s/beat.yaml": W.replace("name: w}", "name: b}").replace(
            "celery -A proj worker -B", f"celery -A {outside}/evilapp beat"),
        "k8s/image.yaml": W.replace("name: w}", "name: i}").replace(
            "python:3.11-slim", "registry.example.com/team/tree:1"),
    })
    (tree / "link.yaml").symlink_to(outside / "target.yaml")
    return tree, outside


def test_nothing_outside_the_checked_tree_is_read(tmp_path):
    tree, outside = outside_tree(tmp_path)
    data, stderr = check_json(tree)
    assert "outside the checked tree, not read" in stderr
    assert not any(str(outside) in d["path"] or "SECRET" in d["message"] or d["path"] == "link.yaml"
                   for d in data["diagnostics"]), data["diagnostics"]
    notices = [s for s in data["summary"]["skipped"] if "outside the checked tree" in s["reason"]]
    assert {s["path"] for s in notices} >= {"link.yaml", "requirements.txt"}
    assert not any("root:" in s["reason"] for s in data["summary"]["skipped"])  # never quoted


AUDIT = r"""
import json, os, sys
opened = []
def hook(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes)):
        opened.append(os.fsdecode(args[0]))
sys.addaudithook(hook)
from celerylint.cli import main
try:
    main(["check", "--format", "json", "--fix", "."])
except SystemExit:
    pass
json.dump(opened, open(os.environ["AUDIT_OUT"], "w"))
"""


def test_an_audit_of_every_open_finds_nothing_outside_the_tree(tmp_path):
    """Every ``open`` the interpreter makes (audit hook), while checking and fixing a tree full of
    outward symlinks and includes, is inside the tree or part of Python and celerylint."""
    import subprocess

    tree, outside = outside_tree(tmp_path)
    out = tmp_path / "opened.json"
    env = dict(os.environ, AUDIT_OUT=str(out))
    subprocess.run([sys.executable, "-c", AUDIT], cwd=tree, env=env, timeout=300,
                   capture_output=True, check=True)
    allowed = [str(tree.resolve()), sys.prefix, sys.base_prefix, sys.exec_prefix,
               os.path.dirname(os.path.dirname(__file__)), "/dev/null", "/dev/urandom",
               "/sys/fs/cgroup/"]  # the CPU quota --jobs reads (the system's, not the tree's)
    opened = [p for p in json.loads(out.read_text())
              if not any(os.path.realpath(p).startswith(a) or p.startswith(a) for a in allowed)
              and not p.endswith((".py", ".pyc", ".so", ".pth", ".json", ".typed"))]
    assert opened == [] and not any(str(outside) in p for p in json.loads(out.read_text()))


def test_only_regular_files_are_opened_and_the_limit_holds_on_the_bytes_read(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")
    os.mkfifo(tmp_path / "requirements.txt")
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    (tmp_path / "Dockerfile").symlink_to("/dev/urandom")
    result = cli("check", "--format", "json", ".", cwd=tmp_path)  # a hang would time out
    assert result.returncode == 0 and "Traceback" not in result.stderr
    skipped = {s["path"]: s["reason"] for s in json.loads(result.stdout)["summary"]["skipped"]}
    assert set(skipped) == {"pipe.yaml", "requirements.txt", "zero.yaml", "Dockerfile"}
    explicit = cli("check", "/dev/zero", str(tmp_path / "pipe.yaml"), cwd=tmp_path)
    assert explicit.returncode == 0 and "not a regular file" in explicit.stderr


def test_the_size_limit_counts_bytes_read_not_stat(tmp_path, monkeypatch):
    from celerylint import sources

    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 5000 + "\n")
    real = os.fstat
    monkeypatch.setattr(os, "fstat", lambda fd: os.stat_result(
        (real(fd).st_mode,) + (0,) * 9))  # a file that claims to be empty
    assert "limit" in sources.read_bytes(str(big), 1000)


# -- nothing is written outside, nothing is written badly ---------------------------------------

def test_fix_never_writes_through_a_symlink_or_a_hard_link(tmp_path):
    tree, outside = outside_tree(tmp_path)
    write(tree, {"inner/a.yaml": W})
    (tree / "alias.yaml").symlink_to(tree / "inner" / "a.yaml")
    os.link(tree / "inner" / "a.yaml", outside / "hard.yaml")
    before = {p: p.read_bytes() for p in outside.iterdir()}
    result = run("check", "--fix", ".", cwd=tree)
    assert {p: p.read_bytes() for p in outside.iterdir()} == before
    assert (tree / "inner" / "a.yaml").read_text() == W  # two links: not split
    assert "hard links" in result.stderr


def test_fix_keeps_owner_group_mode_and_refuses_what_the_user_cannot_write(tmp_path, monkeypatch):
    write(tmp_path, {"w.yaml": W, "ro.yaml": W.replace("name: w}", "name: r}")})
    os.chmod(tmp_path / "w.yaml", 0o640)
    if os.geteuid() == 0:
        os.chown(tmp_path / "w.yaml", 1234, 4321)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: False if str(p).endswith("ro.yaml")
                        else real_access(p, mode, **k))
    result = run("check", "--fix", ".", cwd=tmp_path)
    info = os.stat(tmp_path / "w.yaml")
    assert (tmp_path / "w.yaml").read_text() != W and oct(info.st_mode & 0o777) == "0o640"
    if os.geteuid() == 0:
        assert (info.st_uid, info.st_gid) == (1234, 4321)
    assert (tmp_path / "ro.yaml").read_text() == W.replace("name: w}", "name: r}")
    assert "ro.yaml: read-only for you; not fixed" in result.stderr


def test_an_edit_made_while_the_fix_writes_is_never_lost(tmp_path, monkeypatch):
    write(tmp_path, {"w.yaml": W})
    real_fsync = os.fsync

    def fsync(fd):  # the user saves the file while celerylint writes its temporary file
        real_fsync(fd)
        with open(tmp_path / "w.yaml", "a") as f:
            f.write("# saved by the user\n")

    monkeypatch.setattr(os, "fsync", fsync)
    result = run("check", "--fix", ".", cwd=tmp_path)
    assert (tmp_path / "w.yaml").read_text() == W + "# saved by the user\n"
    assert "changed on disk since it was read" in result.stderr
    assert not list(tmp_path.glob(".celerylint-*"))


def test_fix_keeps_mixed_and_cr_only_line_ends_line_by_line(tmp_path):
    lines = W.split("\n")
    mixed = "".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(lines[:-1]))
    (tmp_path / "mixed.yaml").write_bytes(mixed.encode())
    (tmp_path / "cr.yaml").write_bytes(W.replace("name: w}", "name: c}").replace("\n", "\r").encode())
    assert [d.name for d in lint(tmp_path / "cr.yaml")] == [d.name for d in lint(tmp_path / "mixed.yaml")]
    run("check", "--fix", ".", cwd=tmp_path)
    fixed = (tmp_path / "mixed.yaml").read_bytes().decode()
    assert fixed != mixed
    for old in mixed.splitlines(keepends=True):
        if old.rstrip("\r\n") in fixed:
            assert old in fixed, repr(old)  # every untouched line keeps its own end
    assert b"\n" not in (tmp_path / "cr.yaml").read_bytes()


def test_a_fix_that_would_break_a_file_is_undone_and_reported_as_a_bug(tmp_path, monkeypatch):
    from celerylint.diagnostics import Edit, Fix
    from celerylint.rules import beat_rolling_update

    write(tmp_path, {"beat.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: beat}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers: [{name: b, image: x/y:1, args: ["celery", "-A", "p", "beat"]}]
"""})
    real = beat_rolling_update.check

    def broken(context):
        for finding in real(context):
            edit = finding.fix.edits[0]
            finding.fix = Fix("break it", [Edit(edit.path, 0, 0, "a: [\n", edit.span)])
            yield finding

    monkeypatch.setattr(beat_rolling_update, "check", broken)
    before = (tmp_path / "beat.yaml").read_text()
    result = run("check", "--fix", ".", cwd=tmp_path)
    assert (tmp_path / "beat.yaml").read_text() == before
    assert "celerylint bug: the fix 'break it' (CL103) would break this file" in result.stderr


# -- bounded time and memory --------------------------------------------------------------------

def test_regular_expressions_stay_linear_on_whitespace_runs():
    from celerylint import discover
    from celerylint.parse import dockerfile, requirements
    from celerylint.sources import SourceFile

    assert growth(lambda n: "\n" * n, lambda t: discover.sniff("blank", t), 5000) < 25
    assert growth(lambda n: "celery" + " " * n + "x\n",
                  lambda t: requirements.read_file(t), 5000) < 25
    assert growth(lambda n: "celery==5.4 \\\n" + "    \\\n" * n + "  --hash=sha256:ab\n",
                  lambda t: requirements.read_file(t), 2000) < 25
    assert growth(lambda n: SourceFile("Dockerfile", "dockerfile",
                                       "# syntax=a" + " " * n + "b\nFROM python:3.12\n", None),
                  dockerfile.parse, 5000) < 25


def test_a_run_with_many_continuation_lines_and_many_fixable_findings_stays_linear(tmp_path):
    from celerylint.parse import dockerfile
    from celerylint.sources import SourceFile

    def docker(n: int) -> SourceFile:
        body = "".join(f"    pkg{i} \\\n" for i in range(n))
        return SourceFile("Dockerfile", "dockerfile",
                          f"FROM python:3.12\nRUN pip install \\\n{body}    celery==5.4.0\n", None)

    def positions(parsed):
        run_ = parsed.stages[0].instructions[-1]
        for offset in range(0, len(run_.text), 7):
            run_.position(offset)

    assert growth(docker, lambda s: positions(dockerfile.parse(s)), 1000) < 25

    from celerylint.fixes import apply

    def manifests(n: int) -> Path:
        root = tmp_path / f"n{n}"
        write(root, {"many.yaml": "---\n".join(W.replace("name: w}", f"name: w{i}}}")
                                               for i in range(n))})
        return root

    def diffs(root: Path):
        deployment, _ = __import__("celerylint.model.build", fromlist=["load"]).load([str(root)])
        from celerylint.engine import Settings, run as analyse
        sources = {s.path: s for s in deployment.sources}
        for d in analyse(deployment, Settings()):
            if d.fix is not None:
                apply.fix_diff(d.fix, sources)

    assert growth(manifests, diffs, 25) < 25


def test_constant_folding_and_expansion_are_bounded(tmp_path):
    app = "\n".join(["from celery import Celery", "app = Celery('p')", "A0 = 'x' * 1 + 'xxxxxxxx'"]
                    + [f"A{i} = A{i - 1} + A{i - 1}" for i in range(1, 40)]
                    + ["B0 = 99999999999999999999"] + [f"B{i} = B{i - 1} * B{i - 1}" for i in range(1, 40)]
                    + ["app.conf.broker_url = A39", "app.conf.worker_concurrency = B39"]) + "\n"
    references = ", ".join(['"$(A)$(A)"'] * 2000)  # 2,000 items of 200 KB each: 400 MB
    write(tmp_path, {"proj/__init__.py": "", "proj/celery.py": app, "w.yaml": f"""apiVersion: v1
kind: Pod
metadata: {{name: w}}
spec:
  containers:
    - name: w
      image: x/y:1
      args: ["celery", "-A", "proj", "worker", {references}]
      env:
        - {{name: A, value: "{'x' * 100_000}"}}
"""})
    tracemalloc.start()
    try:
        data, stderr = check_json(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200_000_000
    assert "expansion" in stderr and "treated as unknown" in stderr


def test_deep_chains_end_in_a_notice_or_unknown_never_a_recursion_error(tmp_path):
    stages = "FROM python:3.11-slim AS s0\n" + "".join(f"FROM s{i - 1} AS s{i}\n" for i in range(1, 1500))
    hops = ", ".join(['"sh", "-c", "\\"$@\\"", "x"'] * 600)
    write(tmp_path, {"Dockerfile": stages + "CMD celery -A p worker\n", "w.yaml": f"""apiVersion: v1
kind: Pod
metadata: {{name: w}}
spec:
  containers:
    - name: w
      image: x/y:1
      command: [{hops}, "celery", "-A", "proj", "worker"]
"""})
    result = cli("check", ".", cwd=tmp_path)
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr + result.stdout


def test_document_and_alias_counts_are_bounded(tmp_path):
    containers = "\n".join(["apiVersion: v1", "kind: Pod", "metadata: {name: w}", "spec:",
                            "  containers:", "    - &c {name: w, image: x/y:1, args: [celery, -A, p, worker]}"]
                           + ["    - *c"] * 20000) + "\n"
    write(tmp_path, {"many.yaml": "---\n" * 1_000_001, "aliases.yaml": containers})
    data, stderr = check_json(tmp_path)
    assert "more than 100,000 YAML documents" in stderr
    [bomb] = [d for d in data["diagnostics"] if d["path"] == "aliases.yaml"]
    assert bomb["name"] == "parse-error" and "aliases expand" in bomb["message"]


# -- odd files: notices, never a crash ----------------------------------------------------------

def test_odd_files_and_names_never_crash_any_format(tmp_path):
    write(tmp_path, {"w.yaml": W, "sep.yaml": W.replace("name: w}", "name: s}").replace(
        "spec:", "spec: # \u2028 line separator\n", 1).replace("image:", "image:\u0085", 0)})
    (tmp_path / f"{os.fsdecode(b'bad-')}\udcff.yaml".encode("utf-8", "surrogateescape").decode(
        "utf-8", "surrogateescape")).write_text(W)
    (tmp_path / "esc\x1b[31mred\nx.yaml").write_text(W)
    (tmp_path / "utf16.yaml").write_bytes(W.encode("utf-16-le"))
    (tmp_path / "loop.yaml").symlink_to("loop.yaml")
    for fmt in ("text", "concise", "json", "github", "sarif", "junit", "gitlab"):
        result = run("check", "--format", fmt, ".", cwd=tmp_path)
        assert result.returncode == 1, (fmt, result.stderr)
        if fmt in ("text", "concise"):
            assert "\x1b[31m" not in result.stdout and "esc\\x1b[31mred\\nx.yaml:" in result.stdout
    assert "UTF-16 without a byte-order mark" in run("check", ".", cwd=tmp_path).stderr
    assert run("check", "loop.yaml", cwd=tmp_path).returncode in (0, 1)
    [sep] = [d for d in lint(tmp_path / "sep.yaml") if d.name == "signal-not-forwarded"]
    assert sep.span.line == 9  # the editor's line: U+2028 is not a line break there


def test_an_unreadable_directory_is_a_notice(tmp_path, monkeypatch):
    write(tmp_path, {"ok/w.yaml": W, "secret/x.yaml": W})
    real = os.scandir

    def scandir(path="."):
        if str(path).endswith("secret"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    data, stderr = check_json(tmp_path)
    assert "cannot read directory: Permission denied" in stderr
    assert {d["path"] for d in data["diagnostics"]} == {"ok/w.yaml"}


def test_a_foreign_broken_pyproject_above_is_not_ours(tmp_path):
    write(tmp_path, {"pyproject.toml": "[project\nname =", "deploy/w.yaml": W})
    result = run("check", "deploy", cwd=tmp_path)
    assert result.returncode == 1 and "invalid TOML" not in result.stderr


def test_parse_error_positions_are_inside_the_file(tmp_path):
    write(tmp_path, {"x.yaml": "a:\n  - b\n  c: [1, 2"})
    [problem] = lint(tmp_path)
    assert problem.span.line <= 3


# -- whole-deployment rules and partial input ---------------------------------------------------

def test_a_kustomize_patch_checked_alone_is_not_an_invalid_manifest(tmp_path):
    write(tmp_path, {
        "overlays/dev/kustomization.yaml": "resources: [../../base]\npatches:\n  - path: replicas.yaml\n",
        "overlays/dev/replicas.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\n"
                                      "spec:\n  replicas: 3\n",
    })
    assert lint(tmp_path / "overlays/dev/replicas.yaml") == []


def test_two_projects_checked_together_never_mix(tmp_path):
    redis = """apiVersion: v1
kind: Service
metadata: {name: redis}
spec: {selector: {app: redis}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME}
spec:
  selector: {matchLabels: {app: redis}}
  template:
    metadata: {labels: {app: redis}}
    spec:
      containers: [{name: redis, image: redis:7}]
"""
    worker = W.replace("command:", 'env: [{name: CELERY_BROKER_URL, value: "redis://redis:6379/0"}]\n'
                                   "      command:")
    write(tmp_path, {"a/.git/HEAD": "", "a/redis.yaml": redis.replace("NAME", "one"),
                     "a/w.yaml": worker,
                     "b/.git/HEAD": "", "b/redis.yaml": redis.replace("NAME", "two")})
    assert "broker-on-replica-service" not in {d.name for d in lint(tmp_path / "a", tmp_path / "b")}
    assert "broker-on-replica-service" not in {d.name for d in lint(tmp_path)}
