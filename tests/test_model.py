"""The deployment model: what rules are given to read."""

from __future__ import annotations

from conftest import FIXTURES
from celerylint.model.build import load
from celerylint.parse import dockerfile
from celerylint.sources import SourceFile


def test_containers_expose_parsed_celery_invocations_mounts_and_probes():
    deployment, skipped = load([str(FIXTURES / "seed-002-stratdata" / "broken")])
    assert skipped == []
    kinds = sorted(o.kind for o in deployment.objects)
    assert kinds == ["ConfigMap", "Deployment", "Deployment", "Deployment", "Namespace", "Service"]
    by_name = {c.name: c for c in deployment.containers()}
    beat = by_name["beat"]
    [invocation] = beat.celery
    assert (invocation.subcommand, invocation.app, invocation.exec_ed) == ("beat", "tasks", False)
    assert beat.mount_for("/app/celerybeat-schedule").volume.kind == "configMap"
    flower = by_name["flower"]
    assert flower.probes["liveness"].deadline == 51 and flower.probes["readiness"].deadline == 21
    assert [s.label for s in deployment.requirement_sets] == [
        f"pip install in container '{n}' of Deployment 'celery-{n}'" for n in ("worker", "beat", "flower")]
    assert {s.python for s in deployment.requirement_sets} == {"3.11"}


def test_env_from_configmaps_defined_in_the_repository():
    deployment, _ = load([str(FIXTURES / "seed-000-jewelry-shop" / "broken")])
    worker = next(c for c in deployment.containers() if c.name == "celery-worker")
    assert worker.env["DJANGO_SETTINGS_MODULE"].value == "config.settings.production"
    assert worker.env_open is False  # the Secret is ignored, the ConfigMap is known


def test_dockerfile_stage_facts():
    text = ("ARG PY=3.12\nFROM python:${PY}-slim AS app\nWORKDIR /srv\nWORKDIR app\n"
            "ENV A=1 B=\"two words\"\nENV LEGACY value here\nCOPY --chown=1000 start.sh requirements.txt ./\n"
            "COPY --from=build /wheels /wheels\nUSER 10001\nCMD [\"celery\", \"-A\", \"proj\", \"worker\"]\n")
    parsed = dockerfile.parse(SourceFile("Dockerfile", "dockerfile", text, None))
    [stage] = parsed.stages
    assert (stage.python, stage.workdir, stage.user) == ("3.12", "/srv/app", "10001")
    assert stage.env == {"A": "1", "B": "two words", "LEGACY": "value here"}
    assert [(s, d) for s, d, _ in stage.copies] == [(["start.sh", "requirements.txt"], "./")]
    assert stage.last("CMD").json_args == ["celery", "-A", "proj", "worker"]
