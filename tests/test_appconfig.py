"""Reading the Celery app's configuration statically, and the rules that use it."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import FIXTURES, found, lint
from celerylint.model.build import load

SHOP = FIXTURES / "django-shop"


def test_the_django_shop_gets_exactly_the_expected_findings():
    assert sorted(found(SHOP)) == sorted([
        ("crontab-minute-wildcard", "base.py", 15),
        ("queue-not-consumed", "base.py", 8),      # task_routes -> billing
        ("queue-not-consumed", "base.py", 20),     # beat entry options.queue -> maintenance
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
