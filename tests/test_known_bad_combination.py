"""known-bad-combination: what pip would install, against the table of broken combinations."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement

from celerylint import resolver
from conftest import lint, write


class Pin:
    def __init__(self, text: str) -> None:
        self.requirement = Requirement(text)
        self.constraint = False


@pytest.mark.parametrize("texts, python, kombu", [
    (["celery==4.1.0"], None, "4.6.11"),  # celery 4.1.0 allows kombu<5: pip takes the newest 4.x
    (["celery==4.1.0", "kombu<4.2"], "3.6", "4.1.0"),
    (["celery==4.1.1"], "3.6", "4.6.11"),
])
def test_installed_follows_pip_s_newest_first_choice(texts, python, kombu):
    found = resolver.installed([Pin(t) for t in texts], python)
    assert found is not None and str(found[1]["kombu"]) == kombu


def test_celery_4_1_1_and_a_pinned_old_kombu_on_python_3_6_stay_silent(tmp_path):
    write(tmp_path, {"pyproject.toml": "[tool.black]\n", "requirements.txt": "celery==4.1.1\n"})
    assert lint(tmp_path) == []
    (tmp_path / "requirements.txt").write_text("celery==4.1.0\n")
    assert [d.name for d in lint(tmp_path)] == ["known-bad-combination"]
