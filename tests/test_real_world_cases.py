"""Regressions found by running celerylint on public deployments (issue 11): each case is the
shape of a real file, reduced to what matters."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import lint, run, write


def pod(containers: str, kind: str = "Pod", extra: str = "") -> str:
    return f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: p}}\nspec:\n{extra}  containers:\n{containers}"


def names(root: Path) -> list[tuple[str, str, int]]:
    return sorted((d.name, Path(d.path).name, d.span.line) for d in lint(root))


def test_a_backgrounded_one_off_celery_command_is_not_a_detached_worker(tmp_path):
    write(tmp_path, {"w.yaml": pod('''    - name: w
      image: example/app:1.0
      command: ["sh", "-c", "celery -A proj control shutdown & exec celery -A proj worker -c 2"]
''')})
    assert names(tmp_path) == []
    write(tmp_path, {"w.yaml": pod('''    - name: w
      image: example/app:1.0
      command: ["sh", "-c", "celery -A proj worker -c 2 & sleep infinity"]
''')})
    assert [n for n, _, _ in names(tmp_path)] == ["worker-detached"]


APP = '''from celery import Celery
from celery.schedules import crontab

app = Celery("proj")
app.conf.beat_schedule = {
    "nightly": {"task": "proj.tasks.nightly", "schedule": crontab(hour=3)},
}
'''


def test_a_named_python_app_module_is_read_as_the_app_not_as_a_dockerfile(tmp_path):
    write(tmp_path, {"proj/celery.py": APP, "proj/utils.py": "from os import path\n"})
    result = run("check", "--format", "json", "proj/celery.py", "proj/utils.py", cwd=tmp_path)
    import json

    data = json.loads(result.stdout)
    assert [(d["name"], d["path"], d["line"]) for d in data["diagnostics"]] == [
        ("crontab-minute-wildcard", "proj/celery.py", 6)]
    assert [s["path"] for s in data["summary"]["skipped"]] == ["proj/utils.py"]
    assert "without a Celery app" in result.stderr


def test_a_github_actions_expression_gets_a_quoting_hint_not_a_helm_one(tmp_path):
    write(tmp_path, {".github/workflows/ci.yml":
                     "on: push\njobs:\n  t:\n    steps:\n"
                     "      - run: echo ${{ github.event.head_commit.message }}: done\n"})
    result = run("check", "--format", "json", "--strict-parse", ".github/workflows/ci.yml",
                 cwd=tmp_path)
    import json

    [finding] = json.loads(result.stdout)["diagnostics"]
    assert finding["name"] == "parse-error" and finding["line"] == 5
    assert "GitHub Actions" in finding["message"] and "quote" in finding["message"]
    assert "Helm" not in finding["message"]
    notice = run("check", ".github/workflows/ci.yml", cwd=tmp_path)  # without --strict-parse
    assert notice.returncode == 0 and "quote the values" in notice.stderr


def test_celery4_cli_order_fires_under_any_celery5_pin_and_not_under_a_celery4_one(tmp_path):
    worker = pod('''    - name: w
      image: example/app:1.0
      command: ["celery", "worker", "-A", "proj", "-c", "2"]
''')
    for pin, fires in (("celery==5.4.0", True), ("celery[redis]==5.3.4", True),
                       ("celery>=5.3,<6", True), ("celery==4.4.7", False), ("celery<5", False),
                       ("celery~=4.3", False)):
        write(tmp_path, {"w.yaml": worker, "requirements.txt": pin + "\n"})
        assert ("celery4-cli-order" in [n for n, _, _ in names(tmp_path)]) is fires, pin


JEWELY = {
    "k8s/kustomization.yaml": """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: jewelry-shop
resources:
  - configmap.yaml
  - redis.yaml
  - celery-worker.yaml
""",
    "k8s/configmap.yaml": """apiVersion: v1
kind: ConfigMap
metadata: {name: app-config, namespace: jewelry-shop}
data:
  CELERY_BROKER_URL: redis://redis-service:6379/0
""",
    "k8s/redis.yaml": """apiVersion: v1
kind: Service
metadata: {name: redis, namespace: jewelry-shop}
spec:
  selector: {app: redis}
  ports: [{port: 6379}]
""",
    "k8s/celery-worker.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: celery-worker, namespace: jewelry-shop}
spec:
  selector: {matchLabels: {app: w}}
  template:
    metadata: {labels: {app: w}}
    spec:
      containers:
        - name: w
          image: example/app:1.0
          args: ["celery", "-A", "config", "worker", "-c", "2"]
          envFrom: [{configMapRef: {name: app-config}}]
""",
}


def test_a_kustomization_of_local_files_keeps_broker_service_undefined_on(tmp_path):
    write(tmp_path, JEWELY)
    assert ("broker-service-undefined", "configmap.yaml", 5) in names(tmp_path)


def test_a_kustomization_that_renames_or_pulls_remote_resources_makes_the_host_unknown(tmp_path):
    for extra in ("namePrefix: prod-\n", "resources:\n  - github.com/acme/redis?ref=v1\n",
                  "helmCharts:\n  - {name: redis, repo: https://charts.bitnami.com/bitnami}\n"):
        files = dict(JEWELY)
        files["k8s/kustomization.yaml"] = JEWELY["k8s/kustomization.yaml"].replace(
            "resources:\n", extra + "resources:\n", 1) if not extra.startswith("resources") \
            else JEWELY["k8s/kustomization.yaml"] + "  - github.com/acme/redis?ref=v1\n"
        write(tmp_path, files)
        assert "broker-service-undefined" not in [n for n, _, _ in names(tmp_path)], extra


SEED_000_PROBE = ('import sys\\ntry:\\n  from celery import Celery\\n  app = Celery(\'config\')\\n'
                  '  app.config_from_object(\'django.conf:settings\', namespace=\'CELERY\')\\n'
                  '  sys.exit(0)\\nexcept Exception:\\n  sys.exit(1)')


def test_probe_no_op_judges_python_by_its_syntax_tree(tmp_path):
    def probe(code: str) -> list[str]:
        write(tmp_path, {"w.yaml": pod(f'''    - name: w
      image: example/app:1.0
      args: ["celery", "-A", "config", "worker", "-c", "2"]
      livenessProbe:
        exec:
          command: ["python", "-c", "{code}"]
''')})
        return [n for n, _, _ in names(tmp_path)]

    assert probe(SEED_000_PROBE) == ["probe-no-op"]
    assert probe("import config.celery") == ["probe-no-op"]
    pinging = SEED_000_PROBE.replace("sys.exit(0)", "sys.exit(0 if app.control.ping(timeout=5) else 1)")
    assert probe(pinging) == ["probe-inspect-ping"]  # timeout=5 in timeoutSeconds 1: not a no-op
    assert probe("import os, sys, time\\nsys.exit(time.time() - os.stat('/tmp/beat').st_mtime > 60)") == []


def test_dependency_conflict_rewrites_a_range_to_the_one_celery_asks_for(tmp_path):
    write(tmp_path, {"requirements.txt": "celery[redis]==5.3.4\nredis>=5.0  # cache\n"})
    [finding] = lint(tmp_path)
    assert finding.name == "dependency-conflict" and finding.span.line == 2
    assert not re.search(r"\.txt:\d", finding.message)  # positions are in related locations
    assert [(r.span.line, r.message) for r in finding.related] == [
        (1, "celery[redis]==5.3.4 asks for it here")]
    assert finding.fix.applicability.value == "safe"
    assert run("check", "--fix", ".", cwd=tmp_path).returncode == 0
    assert (tmp_path / "requirements.txt").read_text() == \
        "celery[redis]==5.3.4\nredis>=4.5.2,<5.0.0,!=4.5.5  # cache\n"


def test_an_unknown_env_from_silences_default_concurrency_only_where_celery_reads_it(tmp_path):
    worker = pod('''    - name: w
      image: example/app:1.0
      args: ["celery", "-A", "proj", "worker", "-l", "info"]
      envFrom: [{configMapRef: {name: settings-from-elsewhere}}]
      resources: {limits: {cpu: "1", memory: 512Mi}}
''')
    write(tmp_path, {"w.yaml": worker, "requirements.txt": "celery==4.4.7\n"})
    assert "prefork-default-concurrency" in [n for n, _, _ in names(tmp_path)]
    write(tmp_path, {"requirements.txt": "celery==5.4.0\n"})
    assert "prefork-default-concurrency" not in [n for n, _, _ in names(tmp_path)]


def test_a_volume_elsewhere_is_not_taken_for_the_unknown_working_directory(tmp_path):
    worker = '''    - name: w
      image: example/app:1.0
      args: ["celery", "-A", "proj", "worker", "-c", "2"]
      securityContext: {readOnlyRootFilesystem: true}
      volumeMounts: [{name: cache, mountPath: MOUNT}]
  volumes: [{name: cache, emptyDir: {}}]
'''
    write(tmp_path, {"w.yaml": pod(worker.replace("MOUNT", "/var/cache/app"))})
    assert [n for n, _, _ in names(tmp_path)] == ["prefork-no-writable-tmp"]
    write(tmp_path, {"w.yaml": pod(worker.replace("MOUNT", "/srv/app-home")),
                     "Dockerfile": "FROM python:3.12-slim\nWORKDIR /srv/app-home\n"})
    assert names(tmp_path) == []  # a WORKDIR of the repository's Dockerfiles


def test_bash_c_with_a_newline_execs_celery_on_current_images(tmp_path):
    """local-rpi-cluster (seed 002): `bash -c "pip install ...\\ncelery ..."` on
    python:3.11-slim (bash 5.2) execs celery; the same string under dash does not."""
    worker = pod('''    - name: worker
      image: python:3.11-slim
      command: ["SHELL", "-c"]
      args:
        - |
          pip install --no-cache-dir celery[redis]==5.3.4
          celery -A tasks worker --loglevel=info --concurrency=2
''')
    write(tmp_path, {"w.yaml": worker.replace("SHELL", "bash")})
    assert "signal-not-forwarded" not in [n for n, _, _ in names(tmp_path)]
    write(tmp_path, {"w.yaml": worker.replace("SHELL", "sh")})
    assert ("signal-not-forwarded", "w.yaml", 12) in names(tmp_path)


def test_each_hop_without_exec_is_reported_where_its_exec_belongs(tmp_path):
    write(tmp_path, {
        "Dockerfile": "FROM python:3.12-slim\nCOPY run.sh /opt/app/run.sh\n"
                      "CMD [\"sh\", \"-c\", \"/opt/app/run.sh\"]\n",
        "run.sh": "#!/bin/sh\ncd /opt/app\ncelery -A tasks worker -c 2\n",
        "w.yaml": pod('''    - name: w
      image: registry.example.com/team/app:1.0
'''),
    })
    found = [(n, f, line) for n, f, line in names(tmp_path) if n == "signal-not-forwarded"]
    assert found == [("signal-not-forwarded", "Dockerfile", 3), ("signal-not-forwarded", "run.sh", 3)]
    run("check", "--fix", ".", cwd=tmp_path)
    assert "exec celery" in (tmp_path / "run.sh").read_text()
    assert 'CMD ["sh", "-c", "exec /opt/app/run.sh"]' in (tmp_path / "Dockerfile").read_text()
    assert [n for n, _, _ in names(tmp_path) if n == "signal-not-forwarded"] == []


def test_queue_not_consumed_once_per_queue_at_the_worker_list_with_the_routes_related(tmp_path):
    """jewely: many routes and beat entries to three unconsumed queues gave one finding each."""
    routes = "\n".join(f'    "proj.{q}.t{i}": {{"queue": "{q}"}},'
                       for q in ("accounting", "monitoring", "webhooks") for i in range(4))
    write(tmp_path, {
        "proj/__init__.py": "",
        "proj/celery.py": f'from celery import Celery\napp = Celery("proj")\n'
                          f'app.conf.task_routes = {{\n{routes}\n}}\n',
        "w.yaml": pod('''    - name: w
      image: example/app:1.0
      args: ["celery", "-A", "proj", "worker", "-Q", "celery,backups", "-c", "2"]
'''),
    })
    findings = [d for d in lint(tmp_path) if d.name == "queue-not-consumed"]
    assert len(findings) == 3
    assert {(d.span.path.rsplit("/", 1)[-1], d.span.line, d.span.column) for d in findings} == {
        ("w.yaml", 8, 55)}  # "celery,backups"
    assert all(len(d.related) == 4 and d.related[0].span.path.endswith("celery.py")
               for d in findings)
    assert "and 2 more" in findings[0].hint


def test_broker_on_replica_service_is_one_finding_per_url(tmp_path):
    worker = '''apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME}
spec:
  selector: {matchLabels: {app: NAME}}
  template:
    metadata: {labels: {app: NAME}}
    spec:
      containers:
        - name: NAME
          image: example/app:1.0
          args: ["celery", "-A", "proj", "SUB"]
          envFrom: [{configMapRef: {name: celery-env}}]
'''
    write(tmp_path, {
        "env.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: celery-env}\ndata:\n"
                    "  CELERY_BROKER_URL: redis://redis:6379/0\n"
                    "  CELERY_RESULT_BACKEND: redis://redis:6379/0\n",
        "redis.yaml": """apiVersion: v1
kind: Service
metadata: {name: redis}
spec: {selector: {app: redis}, ports: [{port: 6379}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: redis}
spec:
  replicas: 3
  serviceName: redis
  selector: {matchLabels: {app: redis}}
  template:
    metadata: {labels: {app: redis}}
    spec:
      containers: [{name: redis, image: redis:7}]
""",
        "w.yaml": worker.replace("NAME", "worker").replace("SUB", "worker"),
        "b.yaml": worker.replace("NAME", "beat").replace("SUB", "beat"),
    })
    [finding] = [d for d in lint(tmp_path) if d.name == "broker-on-replica-service"]
    assert "broker_url and result_backend" in finding.message
    assert "Deployment 'worker'" in finding.message and "Deployment 'beat'" in finding.message
    assert [r.span.line for r in finding.related] == [6]


def test_force_root_only_where_a_worker_runs_and_probe_wording_names_the_process(tmp_path):
    beat = pod('''    - name: beat
      image: example/app:1.0
      args: ["celery", "-A", "config", "beat", "-S", "django"]
      env: [{name: C_FORCE_ROOT, value: "false"}]
      livenessProbe:
        exec:
          command: ["python", "-c", "import config.celery"]
''')
    write(tmp_path, {"b.yaml": beat})
    [finding] = lint(tmp_path)
    assert finding.name == "probe-no-op" and "a hung beat is never restarted" in finding.message
    write(tmp_path, {"b.yaml": beat.replace('"beat", "-S", "django"', '"worker", "-c", "2"')})
    assert sorted(n for n, _, _ in names(tmp_path)) == ["force-root", "probe-no-op"]


def test_a_jinja_requirements_file_gets_a_template_hint(tmp_path):
    write(tmp_path, {"requirements/base.txt": "celery==5.4.0\n{%- if cookiecutter.use_sentry %}\nsentry-sdk\n"})
    [finding] = lint(tmp_path)
    assert finding.name == "parse-error" and "Jinja template" in finding.message


def test_the_app_module_is_found_from_the_project_root_without_git(tmp_path):
    write(tmp_path, {
        "pyproject.toml": "[project]\nname = 'shop'\n",
        "proj/__init__.py": "",
        "proj/celery.py": APP,
        "deploy/k8s/beat.yaml": pod('''    - name: beat
      image: example/app:1.0
      args: ["celery", "-A", "proj", "beat", "-S", "redbeat.RedBeatScheduler"]
'''),
    })
    assert not (tmp_path / ".git").exists()
    result = run("check", "--format", "concise", "deploy/k8s", cwd=tmp_path)
    assert "proj/celery.py:6:" in result.stdout and "crontab-minute-wildcard" in result.stdout
