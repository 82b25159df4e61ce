"""pool-package-missing: a gevent or eventlet pool that nothing the project installs provides.

## What it finds
A worker started with `-P gevent` or `-P eventlet` (`--pool`), wherever it is started, in a
project whose requirements celerylint reads (requirements files, `pyproject.toml`, `setup.cfg`,
`Pipfile`, lock files, `pip install` in Dockerfiles, containers and scripts) and name Celery, but
where none installs the pool's package:

- nothing names `gevent` (or `eventlet`), and no `celery[gevent]` (`celery[eventlet]`) extra
  brings it;
- `celery[eventlet]` is the only source of eventlet, and the image's Python is 3.10 or newer:
  since Celery 5.2 the extra is `eventlet; python_version < "3.10"`, so on Python 3.10+ it
  installs nothing (Celery 5.7 needs Python 3.10, so there its extra is always empty).

## Symptoms
- The worker exits at start: `ModuleNotFoundError: No module named 'gevent'` (or `'eventlet'`),
  raised where Celery imports the pool (`celery/concurrency/gevent.py`, `eventlet.py`); the pod
  goes to `CrashLoopBackOff`, the compose service restarts in a loop.

## Why
Celery's gevent and eventlet pools import their library when the worker starts; Celery itself
does not depend on either. The extras that bring them are conditional: `celery[gevent]` is
`gevent>=1.5.0; extra == "gevent"`, and `celery[eventlet]` is `eventlet>=0.32.0;
python_version < "3.10" and extra == "eventlet"` (wheel metadata of celery 5.3.4, 5.5.3, 5.6.3;
`requirements/extras/eventlet.txt` since 5.2.0). celerylint reads the releases' recorded
metadata and evaluates the marker for the image's Python.

## Fix
Install the package explicitly (`gevent` or `eventlet` in the requirements the image installs),
or run another pool. No automatic fix: which requirements file the image installs is a choice.

## When it stays silent
- no requirement of the project names Celery (the installs are not visible: a base image, an
  unread lock file);
- any requirement, of any set of the project, names the package or an extra that brings it for
  the Python in question (or the Python is unknown);
- a Dockerfile of the project mentions the package in a `RUN` line (`apt-get install
  python3-gevent`, a `pip install` of a variable);
- a pool chosen through a variable or the `worker_pool` setting (the setting only warns: see
  Celery's `W_POOL_SETTING`).

## References
- Celery docs, Concurrency: https://docs.celeryq.dev/en/stable/userguide/concurrency/index.html
- Celery `requirements/extras/eventlet.txt`, `requirements/extras/gevent.txt` (v5.2.0 to v5.6.3);
  wheel METADATA of celery 5.3.4, 5.5.3, 5.6.3, 5.7.0 on PyPI.
- Celery `celery/concurrency/__init__.py` (pool aliases), `celery/concurrency/eventlet.py`,
  `celery/concurrency/gevent.py` (the imports that fail).
"""

from __future__ import annotations

from typing import Iterator

from packaging.utils import canonicalize_name

from celerylint.diagnostics import Finding, Related, Severity
from celerylint.engine import Context
from celerylint.parse import dockerfile
from celerylint.rules_support import hops, launch_invocations, named

CODE = "CL403"
NAME = "pool-package-missing"
SEVERITY = Severity.ERROR
SUMMARY = "a gevent or eventlet pool that nothing the project installs provides"

GREEN_POOLS = ("gevent", "eventlet")


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    for launch, invocation in launch_invocations(deployment):
        pool = invocation.pool
        if pool not in GREEN_POOLS or invocation.option("pool") is None:
            continue
        project = invocation.command.origin.source_of(invocation.program).project
        found = _installs(deployment, project)
        if found is None or pool in found.packages or pool in found.mentioned:
            continue
        python = _python(launch, found)
        extras = [p for p in found.celery if pool in p.requirement.extras]
        if extras and (python is None or _extra_brings(extras, pool, python)):
            continue
        option = invocation.option("pool")
        where = option.value_word or option.flag
        detail = ""
        if extras:
            why = f"{extras[0].text.strip()} brings no {pool} on Python {python}"
            detail = "the extra requires it only where python_version < \"3.10\"; "
            related = [Related(extras[0].span, f"{extras[0].text.strip()} is here")]
        else:
            why = f"no requirement installs {pool}"
            related = [Related(r.span, f"{r.text.strip()} is here") for r in found.celery[:1]]
        at = invocation.span(where)
        yield Finding(
            at,
            f"worker in {named(launch, at)} uses the {pool} pool, but {why}: "
            "ModuleNotFoundError at start",
            f"{detail}install {pool} explicitly in the requirements the image installs, or use "
            f"another pool (No module named '{pool}')",
            severity=Severity.WARNING if launch.guessed else None,
            related=related + hops(launch))


class _Installed:
    """What a project's requirement sets install: package names, its celery requirements, the
    Pythons the sets were read for, and pool names its Dockerfiles mention."""

    def __init__(self) -> None:
        self.packages: set[str] = set()
        self.celery: list = []
        self.pythons: set[str] = set()
        self.mentioned: set[str] = set()


def _installs(deployment, project: str) -> _Installed | None:
    """Computed once per run for every project; None when the project names no Celery."""
    facts = deployment.index.facts
    table = facts.get(("pool-installs",))
    if table is None:
        table = facts[("pool-installs",)] = {}
        for requirement_set in deployment.requirement_sets:
            for pinned in requirement_set.requirements:
                found = table.setdefault(pinned.project, _Installed())
                found.packages.add(canonicalize_name(pinned.name))
                if pinned.name == "celery":
                    found.celery.append(pinned)
                if requirement_set.python:
                    found.pythons.add(requirement_set.python)
        for parsed in deployment.dockerfiles:
            found = table.setdefault(parsed.source.project, _Installed())
            for stage in parsed.stages:
                for instruction in stage.instructions:
                    if instruction.keyword == "RUN":
                        found.mentioned.update(p for p in GREEN_POOLS if p in instruction.text)
    found = table.get(project)
    return found if found is not None and found.celery else None


def _python(launch, found: _Installed) -> str | None:
    """The image's Python (its Dockerfile's or its name's), else the one Python the project's
    sets were read for."""
    if launch.stage is not None and launch.stage.python:
        return launch.stage.python
    image = launch.base_image or ""
    python = dockerfile.python_version(image)
    if python is None and len(found.pythons) == 1:
        python = next(iter(found.pythons))
    return python


def _extra_brings(extras: list, pool: str, python: str) -> bool:
    """Whether some admitted celery release's ``[pool]`` extra installs the pool on ``python``."""
    from celerylint.resolver import releases

    environment = {"python_version": python, "python_full_version": python + ".0",
                   "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                   "implementation_name": "cpython", "platform_machine": "x86_64",
                   "platform_python_implementation": "CPython", "extra": pool}
    recorded = releases().get("celery", [])
    for pinned in extras:
        admitted = [r for r in recorded if pinned.requirement.specifier.contains(
            r.version, prereleases=True)]
        if not admitted:
            return True  # a release we have no record of: assume it does
        for release in admitted:
            if not release.requires_python.contains(python, prereleases=True):
                continue  # pip would not install this release on that Python
            for requirement in release.requires_dist:
                if canonicalize_name(requirement.name) == pool and (
                        requirement.marker is None or requirement.marker.evaluate(environment)):
                    return True
    return False
