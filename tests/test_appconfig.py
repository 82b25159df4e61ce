"""Reading the Celery app's configuration statically, and the rules that use it."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import FIXTURES, found, lint, write
from celerylint.model.build import load

SHOP = FIXTURES / "django-shop"


def test_the_django_shop_gets_exactly_the_expected_findings():
    assert sorted(found(SHOP)) == sorted([
        ("crontab-minute-wildcard", "base.py", 15),
        ("queue-not-consumed", "celery.yaml", 18),  # billing, routed in base.py:8
        ("queue-not-consumed", "celery.yaml", 18),  # maintenance, a beat entry in base.py:20
        ("replicas-with-hpa", "celery.yaml", 7),
        ("force-root", "celery.yaml", 22),
        ("probe-no-op", "celery.yaml", 28),
        ("probe-http-auth", "celery.yaml", 94),
    ])
    names = {d.name for d in lint(SHOP)}
    assert "beat-schedule-read-only" not in names       # DatabaseScheduler from the settings
    assert "prefork-default-concurrency" not in names   # CELERY_WORKER_CONCURRENCY = 4


def test_reading_the_configuration_never_imports_project_code():
    # shop/celery.py raises SystemExit at import: this run would die if it were imported
    lint(SHOP)
    assert not any(name == "shop" or name.startswith("shop.") for name in sys.modules)


def test_settings_follow_the_namespace_the_base_import_and_the_environment():
    deployment, _ = load([str(SHOP)])
    worker = next(c for c in deployment.containers() if c.name == "worker")
    config = worker.app_config
    assert config.module == "shop.celery" and config.django_settings == "shop.settings.production"
    assert config.value("beat_scheduler") == "django_celery_beat.schedulers:DatabaseScheduler"
    assert config.value("worker_concurrency") == 4
    assert config.value("task_default_queue") == "default"
    broker = config.get("broker_url")
    assert broker.value == "redis://redis:6379/0" and broker.env_override == "CELERY_BROKER_URL"
    assert config.value("beat_schedule")["cleanup"]["schedule"] == 1800  # 30 * 60


def test_the_environment_and_old_names_and_embedded_configmap_modules(tmp_path: Path):
    (tmp_path / "k8s.yaml").write_text('''apiVersion: v1
kind: ConfigMap
metadata: {name: app}
data:
  tasks.py: |
    import os
    from celery import Celery

    app = Celery("tasks", broker=os.environ.get("BROKER", "redis://localhost:6379/0"))
    app.conf.update(CELERYD_CONCURRENCY=3, task_default_queue=os.getenv("Q", "jobs"))
    app.conf.beat_scheduler = pick_scheduler()
---
apiVersion: v1
kind: Pod
metadata: {name: w}
spec:
  containers:
    - name: w
      image: python:3.12-slim
      workingDir: /app
      args: ["celery", "-A", "tasks", "worker"]
      env:
        - {name: BROKER, value: "redis://redis.cache:6379/1"}
        - {name: CELERY_RESULT_BACKEND, value: "redis://redis.cache:6379/2"}
      volumeMounts: [{name: app, mountPath: /app}]
  volumes: [{name: app, configMap: {name: app}}]
''')
    deployment, _ = load([str(tmp_path)])
    [container] = list(deployment.containers())
    config = container.app_config
    assert config.value("broker_url") == "redis://redis.cache:6379/1"      # the env var it reads
    assert config.value("result_backend") == "redis://redis.cache:6379/2"  # read by Celery itself
    assert config.value("worker_concurrency") == 3  # the old name, mapped
    assert config.value("task_default_queue") == "jobs"
    assert not config.value("beat_scheduler")  # a call we cannot evaluate: UNKNOWN, never a guess
    assert config.get("task_default_queue").span.line == 10  # the line in the manifest


WORKER = '''apiVersion: apps/v1
kind: Deployment
metadata: {{name: worker, namespace: shop}}
spec:
  selector: {{matchLabels: {{a: w}}}}
  strategy: {{type: Recreate}}
  template:
    metadata: {{labels: {{a: w}}}}
    spec:
      containers:
        - name: worker
          image: registry.example.com/shop/app:1
          args: ["celery", "-A", "proj", "worker", "-c", "2"{extra}]
{env}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: shop}}
spec: {{selector: {{a: web}}, ports: [{{port: 80}}]}}
'''


def names_in(root: Path) -> set[str]:
    return {d.name for d in lint(root)}


def test_env_behind_a_module_level_name_and_opaque_env_from(tmp_path: Path):
    app = ('import os\nfrom celery import Celery\nHOST = os.environ.get("REDIS_HOST", "localhost")\n'
           'app = Celery("proj", broker="redis://" + HOST + ":6379/0")\n')
    env = "          env:\n            - {name: REDIS_HOST, value: redis}\n"
    write(tmp_path / "a", {"proj/__init__.py": "", "proj/celery.py": app,
                           "k8s.yaml": WORKER.format(extra="", env=env)})
    assert "broker-service-undefined" not in names_in(tmp_path / "a")
    secret = "          envFrom:\n            - secretRef: {name: shop-secrets}\n"
    app2 = 'from celery import Celery\napp = Celery("proj", broker="redis://localhost:6379/0")\n'
    write(tmp_path / "b", {"proj/__init__.py": "", "proj/celery.py": app2,
                           "k8s.yaml": WORKER.format(extra="", env=secret)})
    assert "broker-service-undefined" not in names_in(tmp_path / "b")


def test_conditional_imports_make_the_configuration_unknown(tmp_path: Path):
    write(tmp_path, {
        "proj/__init__.py": "",
        "proj/celery.py": ('from celery import Celery\napp = Celery("proj")\n'
                           'app.config_from_object("proj.settings", namespace="CELERY")\n'),
        "proj/settings/__init__.py": ("import os\nfrom .base import *\n"
                                      "if os.environ.get('ENV') == 'prod':\n    from .production import *\n"),
        "proj/settings/base.py": ('CELERY_BROKER_URL = "redis://localhost:6379/0"\n'
                                  'CELERY_TASK_DEFAULT_QUEUE = "default"\n'),
        "k8s.yaml": WORKER.format(extra=', "-Q", "shop"', env=""),
    })
    assert not names_in(tmp_path) & {"broker-service-undefined", "queue-not-consumed"}


def test_routes_from_dict_calls_and_celery_multi_queues(tmp_path: Path):
    app = ('from celery import Celery\napp = Celery("proj")\n'
           'app.conf.task_routes = dict(reports={"queue": "reports"})\n')
    write(tmp_path / "a", {"proj/__init__.py": "", "proj/celery.py": app,
                           "k8s.yaml": WORKER.format(extra="", env="")})
    [finding] = [d for d in lint(tmp_path / "a") if d.name == "queue-not-consumed"]
    assert (finding.span.line, finding.span.column) == (3, 47)  # the queue's name
    multi = WORKER.format(extra="", env="").replace(
        'args: ["celery", "-A", "proj", "worker", "-c", "2"]',
        'command: ["sh", "-c", "exec celery -A proj multi start w1 -Q:w1 reports"]')
    write(tmp_path / "b", {"proj/__init__.py": "", "proj/celery.py": app, "k8s.yaml": multi})
    assert "queue-not-consumed" not in names_in(tmp_path / "b")


def test_unicode_columns_and_charts(tmp_path: Path):
    app = ('from celery import Celery\nfrom celery.schedules import crontab\napp = Celery("proj")\n'
           'app.conf.beat_schedule = {"résumé": {"task": "t", "schedule": crontab(hour=4)}}\n')
    write(tmp_path, {"proj/__init__.py": "", "proj/celery.py": app,
                     "k8s.yaml": WORKER.format(extra="", env="").replace('"worker", "-c", "2"', '"beat"')})
    [finding] = [d for d in lint(tmp_path) if d.name == "crontab-minute-wildcard"]
    line = (tmp_path / "proj/celery.py").read_text().splitlines()[3]
    assert line[finding.span.column - 1:].startswith("crontab(hour=4)")
    chart = WORKER.format(extra="", env="").replace('"worker"', '"-b", "redis://redis-master:6379/0", "worker"')
    write(tmp_path / "c", {"k8s.yaml": chart})
    assert "broker-service-undefined" in names_in(tmp_path / "c")
    write(tmp_path / "c", {"Chart.yaml": "apiVersion: v2\nname: shop\ndependencies:\n  - name: redis\n"})
    assert "broker-service-undefined" not in names_in(tmp_path / "c")
