"""pool-package-missing: what Celery's gevent and eventlet extras bring, per Python."""

from __future__ import annotations

import importlib

import pytest
from packaging.requirements import Requirement

from conftest import lint, write

rule = importlib.import_module("celerylint.rules.pool_package_missing")


class Pinned:
    def __init__(self, text: str) -> None:
        self.requirement = Requirement(text)


@pytest.mark.parametrize("text, pool, python, brings", [
    ("celery[eventlet]==5.3.4", "eventlet", "3.9", True),
    ("celery[eventlet]==5.3.4", "eventlet", "3.10", False),
    ("celery[eventlet]>=5.3,<5.6", "eventlet", "3.12", False),
    ("celery[gevent]==5.3.4", "gevent", "3.12", True),
    ("celery[eventlet]==5.7.0", "eventlet", "3.9", False),  # 5.7.0 needs Python >= 3.10
    ("celery[eventlet]==9.9.9", "eventlet", "3.12", True),  # no record: assume it does
])
def test_what_an_extra_brings_follows_the_recorded_metadata(text, pool, python, brings):
    assert rule._extra_brings([Pinned(text)], pool, python) is brings


def test_a_pool_package_in_any_set_of_the_project_silences_it(tmp_path):
    write(tmp_path, {
        "pyproject.toml": "[tool.black]\nline-length = 100\n",
        "requirements/base.txt": "celery[redis]==5.3.4\n",
        "requirements/worker.txt": "-r base.txt\ngevent==24.2.1\n",
        "worker.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n"
                       "  - {name: w, image: registry.example.com/a/app:1,"
                       " command: [celery, -A, a, worker, -P, gevent]}\n",
    })
    assert [d.name for d in lint(tmp_path)] == []
    (tmp_path / "requirements/worker.txt").write_text("-r base.txt\n")
    assert [d.name for d in lint(tmp_path)] == ["pool-package-missing"]
