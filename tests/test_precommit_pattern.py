"""The pre-commit hook passes exactly the kinds of files ``celerylint check`` reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from celerylint.discover import classify

ROOT = Path(__file__).resolve().parent.parent
PATTERN = re.compile(yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0]["files"])

READ = ["k8s/worker.yaml", "compose.yml", "Dockerfile", "docker/Dockerfile.worker",
        "requirements/prod.txt", "requirements-dev.in", "pyproject.toml", "setup.cfg",
        "Pipfile", "Pipfile.lock", "poetry.lock", "uv.lock", "scripts/deploy-celery.sh",
        "Procfile", "Procfile.dev", "deploy/celery.service", "etc/supervisor/conf.d/celery.conf",
        "supervisord.conf", "deploy/celery.conf", "rootfs/etc/s6-overlay/s6-rc.d/worker/run",
        "etc/services.d/beat/run", "docker-entrypoint.sh", "bin/start-worker",
        "compose/production/django/celery/worker/start"]
NOT_READ = ["README.md", "app/tasks.py", "setup.py", "templates/celery.j2",
            "bin/run", "docs/start"]


@pytest.mark.parametrize("path", READ)
def test_hook_passes_what_celerylint_reads(path):
    assert classify(Path(path)) is not None, path
    assert PATTERN.search(path), path


@pytest.mark.parametrize("path", NOT_READ)
def test_hook_skips_what_celerylint_does_not_read(path):
    assert classify(Path(path)) is None, path
    assert not PATTERN.search(path), path
