"""Regression cases for the start/stop rules, each a small repository of its own."""

from __future__ import annotations

from pathlib import Path

from conftest import lint, run, write


def pod(containers: str, kind: str = "Pod", extra: str = "") -> str:
    return f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: p}}\nspec:\n{extra}  containers:\n{containers}"


def names(root: Path) -> list[tuple[str, str, int]]:
    return [(d.name, Path(d.path).name, d.span.line) for d in lint(root)]


def diff(root: Path, unsafe: bool = False) -> str:
    args = ["check", "--diff"] + (["--unsafe-fixes"] if unsafe else []) + ["."]
    return run(*args, cwd=root).stdout


def test_removing_the_last_item_of_a_wrapped_flow_list_keeps_the_yaml_valid(tmp_path):
    write(tmp_path, {"w.yaml": pod('''    - name: w
      image: example/app:1.0
      command: ["celery", "-A", "proj", "worker", "-c", "1",
                "--detach"]
''')})
    assert run("check", "--fix", ".", cwd=tmp_path).returncode == 0
    assert '"-c", "1"]' in (tmp_path / "w.yaml").read_text()


def test_exec_gosu_dollar_at_in_an_entrypoint_is_followed(tmp_path):
    write(tmp_path, {
        "Dockerfile": 'FROM python:3.12-slim\nCOPY entrypoint.sh /entrypoint.sh\nENTRYPOINT ["/entrypoint.sh"]\n',
        "entrypoint.sh": '#!/bin/sh\nset -e\nexec gosu app "$@"\n',
        "w.yaml": pod('''    - name: w
      image: registry.example.com/team/app:1.0
      args: ["celery", "-A", "proj", "worker", "--detach", "--logfile", "/data/w.log"]
''')})
    assert sorted(n for n, _, _ in names(tmp_path)) == ["logfile-in-container", "worker-detached"]


def test_sh_dash_c_passes_its_arguments_to_dollar_at_and_a_missing_exec_is_fixed_there(tmp_path):
    write(tmp_path, {"w.yaml": pod('''    - name: w
      image: example/app:1.0
      command: ["/bin/sh", "-c", 'python manage.py migrate && "$@"', "--"]
      args: ["celery", "-A", "proj", "worker", "-c", "2"]
''')})
    [finding] = lint(tmp_path)
    assert finding.name == "signal-not-forwarded"
    assert (finding.span.line, finding.span.column) == (8, 63)  # the "$@", where exec belongs
    assert """&& exec "$@"',""" in diff(tmp_path)


def test_bundled_flags_lose_only_their_letter(tmp_path):
    write(tmp_path, {"w.yaml": pod('''    - name: w
      image: example/app:1.0
      args: ["celery", "-A", "proj", "worker", "-BP", "gevent", "-c", "50"]
''')})
    assert '"-P", "gevent"' in diff(tmp_path, unsafe=True)


def test_detach_before_other_commands_is_only_an_unsafe_fix(tmp_path):
    write(tmp_path, {
        "Dockerfile": 'FROM python:3.12-slim\nCOPY run.sh /run.sh\nCMD ["/run.sh"]\n',
        "run.sh": "#!/bin/sh\ncelery -A proj worker --detach\ncelery -A proj beat --detach\nsleep infinity\n",
    })
    findings = [d for d in lint(tmp_path) if d.name == "worker-detached"]
    assert len(findings) == 2 and all(d.fix.applicability.value == "unsafe" for d in findings)
    assert not [d for d in lint(tmp_path) if d.name == "signal-not-forwarded"]


def test_celery4_fix_never_edits_a_shared_entrypoint(tmp_path):
    write(tmp_path, {
        "Dockerfile": 'FROM python:3.12-slim\nENTRYPOINT ["celery"]\n',
        "w.yaml": pod('''    - name: w
      image: registry.example.com/team/app:1.0
      args: ["worker", "-A", "proj"]
    - name: b
      image: registry.example.com/team/app:1.0
      args: ["beat", "-A", "reports"]
''')})
    findings = [d for d in lint(tmp_path) if d.name == "celery4-cli-order"]
    assert len(findings) == 2 and all(d.fix is None for d in findings)


def test_docker_hub_images_are_not_linked_to_the_only_dockerfile(tmp_path):
    write(tmp_path, {
        "Dockerfile": 'FROM python:3.12-slim\nCMD ["celery", "-A", "proj", "beat"]\n',
        "redis.yaml": """apiVersion: apps/v1
kind: StatefulSet
metadata: {name: redis}
spec:
  serviceName: redis
  replicas: 3
  selector: {matchLabels: {a: r}}
  template:
    metadata: {labels: {a: r}}
    spec:
      containers:
        - name: redis
          image: bitnami/redis:7.2
        - name: exporter
          image: oliver006/redis_exporter:v1.62.0
""",
    })
    assert [n for n, _, _ in names(tmp_path)] == []


def test_background_and_wait_without_a_trap_loses_sigterm(tmp_path):
    write(tmp_path, {
        "Dockerfile": 'FROM python:3.12-slim\nCOPY start.sh /\nCMD ["/start.sh"]\n',
        "start.sh": "#!/bin/sh\ncelery -A proj worker -l info &\nwait\n",
    })
    assert names(tmp_path) == [("signal-not-forwarded", "start.sh", 2)]
    (tmp_path / "start.sh").write_text(
        "#!/bin/sh\ncelery -A proj worker -l info &\npid=$!\ntrap 'kill -TERM $pid' TERM\nwait\n")
    assert names(tmp_path) == []


def test_programs_on_path_and_parent_stages(tmp_path):
    write(tmp_path, {
        "Dockerfile": ("FROM python:3.12-slim AS base\nCOPY start-worker /usr/local/bin/\n"
                       'ENTRYPOINT ["start-worker"]\nFROM base AS production\nRUN true\n'),
        "start-worker": "#!/bin/bash\ncelery -A proj worker -c 2 | tee /tmp/log\n",
    })
    assert names(tmp_path) == [("signal-not-forwarded", "start-worker", 2)]


def test_null_strategy_is_replaced_not_duplicated(tmp_path):
    write(tmp_path, {"beat.yaml": '''apiVersion: apps/v1
kind: Deployment
metadata: {name: beat}
spec:
  replicas: 1
  strategy:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: beat
          image: example/app:1.0
          args: ["celery", "-A", "proj", "beat", "-S", "django"]
'''})
    assert run("check", "--fix", ".", cwd=tmp_path).returncode == 0
    assert "  strategy: {type: Recreate}\n" in (tmp_path / "beat.yaml").read_text()


def test_embedded_beat_beside_a_beat_container_in_the_same_pod(tmp_path):
    write(tmp_path, {"p.yaml": pod('''    - name: worker
      image: example/app:1.0
      args: ["celery", "-A", "proj", "worker", "-B", "-c", "2", "-s", "/tmp/s"]
    - name: beat
      image: example/app:1.0
      args: ["celery", "-A", "proj", "beat", "-s", "/tmp/s"]
''')})
    [finding] = lint(tmp_path)
    assert finding.name == "multiple-beats" and "same pod" in finding.message


def test_sh_on_rhel_family_images_is_bash_and_redbeat_from_requirements(tmp_path):
    write(tmp_path, {
        "Dockerfile": "FROM registry.access.redhat.com/ubi9/python-311\nCMD celery -A proj worker -c 2\n",
        "requirements.txt": "celery[redis]==5.5.3\ncelery-redbeat==2.2.0\n",
        "beat.yaml": '''apiVersion: apps/v1
kind: Deployment
metadata: {name: beat}
spec:
  replicas: 2
  strategy: {type: Recreate}
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: beat
          image: example/app:1.0
          args: ["celery", "-A", "proj", "beat"]
''',
    })
    assert names(tmp_path) == []
