"""dependency-conflict: Celery requirements that no install can satisfy.

## What it finds
Requirements installed together (one requirements file with its `-r`/`-c` includes, one
`pip install` command in a container or a Dockerfile `RUN`, or what a packaging file declares:
`pyproject.toml` `[project] dependencies` alone and with each extra or dependency group, a Poetry
project's dependencies and groups all together, `setup.cfg` `install_requires` alone and with
each extra, a `Pipfile`'s `[packages]` alone and with `[dev-packages]`) that pip cannot resolve
among celery, kombu, redis, billiard, vine, amqp, gevent and eventlet: a pin outside the range a
Celery release requires (`celery[redis]==5.3.4` with `redis==5.0.1`), a Celery that requires a
kombu you pinned away, or a release whose `Requires-Python` excludes the image's Python
(`FROM python:3.8` with `celery==5.6.3`, or a Pipfile's `[requires] python_version`). Ranges
count, not only pins: `celery[redis]~=5.3.4` with `redis==5.0.1` is fine because celery 5.3.5
allows redis 5.

## Symptoms
- `ERROR: Cannot install celery[redis]==5.3.4 and redis==5.0.1 because these package versions have conflicting dependencies.`
- `ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts`
- `ERROR: No matching distribution found for celery==5.6.3` (Requires-Python)
- The image build fails, or a container that installs at start never starts.

## Why
Each Celery release declares which kombu, billiard, vine and (through the `redis` extra) redis
releases it works with. pip refuses any set that breaks one of them. The check runs pip's own
resolver core (resolvelib) over the recorded metadata of every release, offline.

## Fix
Drop the conflicting pin and let the Celery extra choose (`celery[redis]==5.3.4` alone), pin a
version inside the required range, or move Celery to a release that accepts your pin.

Automatic fix, where the requirement is written (requirements file, Dockerfile `RUN`, container
command, `pyproject.toml`, `setup.cfg`, `Pipfile`); comments and markers stay. A Poetry or Pipfile
entry gets the new range as its version string (`redis = "^5.0"` becomes
`redis = ">=4.5.2,<5.0.0,!=4.5.5"`); a TOML string written with escapes is not rewritten, and no
fix is offered if the file would no longer parse:
- an `==` pin is re-pinned to the newest release with which the whole set resolves;
- a range (`redis>=5.0`) becomes the range the requiring release asks for
  (`redis>=4.5.2,<5.0.0,!=4.5.5`) when the whole set then resolves, else the newest fitting pin.
Safe, except on a line with `--hash` options (unsafe: the hashes must be regenerated). None for
`Requires-Python` conflicts and when no release fits.

## When it stays silent
- packages outside Celery's stack, and requirements naming a release the recorded data does not
  know (newer than the data, or a typo): the whole set is then not judged;
- `pip install --no-deps`; requirements installed from URLs or paths; `${VAR}` versions;
- lock files (`poetry.lock`, `uv.lock`, `Pipfile.lock`): they only tell rules which versions are
  installed (the locker resolved them already; a package locked at several versions, one per
  Python or platform, is not a conflict); two extras of one `pyproject.toml` are never combined;
  a Poetry dependency written as a list of constraints (one per Python or platform) is not judged;
- when the image's Python is unknown, conflicts that happen on only some Python versions.

## References
- Wheel METADATA (`Requires-Dist`, `Requires-Python`) of every celery, kombu and amqp release,
  recorded in `celerylint/data/packages.json` by `scripts/refresh_package_data.py`.
- pip, Dependency resolution: https://pip.pypa.io/en/stable/topics/dependency-resolution/
- Seed post-mortem 002: `celery[redis] 5.3.4 depends on redis!=4.5.5, <5.0.0 and >=4.5.2`.
"""

from __future__ import annotations

from typing import Iterator

import re

from celerylint import resolver
from celerylint.diagnostics import Applicability, Finding, Fix, Related, Severity
from celerylint.engine import Context
from celerylint.fixes.yamledit import edit
from celerylint.model import RequirementSet
from celerylint.model.requirement_sets import VersionConstraint, still_valid
from celerylint.sources import SourceFile

#: A requirement's name and extras, then its specifier (the marker, after ``;``, is split off first).
_NAME = re.compile(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*[ \t]*(?:\[[^\]]*\])?[ \t]*")

CODE = "CL401"
NAME = "dependency-conflict"
SEVERITY = Severity.ERROR
SUMMARY = "requirements that no install can satisfy among Celery and its dependencies"
FIXABLE = True


def check(context: Context) -> Iterator[Finding]:
    sources = {s.path: s for s in context.deployment.sources + context.deployment.generated}
    for requirement_set in context.deployment.requirement_sets:
        if not any(resolver.known(p.name) for p in requirement_set.requirements):
            continue
        conflict = resolver.check(requirement_set.requirements, requirement_set.python,
                                  requirement_set.allow_pre)
        if conflict is None:
            continue
        source = ""
        if requirement_set.python:  # "(FROM python:3.11-slim)", "(image python:3.11-slim)"
            source = (f"checked for Python {requirement_set.python} (from {requirement_set.python_source}); "
                      if not conflict.about_python else
                      f"Python {requirement_set.python} is from {requirement_set.python_source}; ")
        requirer = conflict.requirer
        related = [Related(requirer.span, f"{requirer.text.strip()} asks for it here")] \
            if requirer is not None and requirer.span != conflict.culprit.span else []
        # "celery 5.5.3 [redis] requires kombu[redis], and kombu ... require redis...": the
        # message keeps the conflict, the hint the requirement that pulls it in
        message, chain = conflict.message, ""
        head, joined, rest = message.partition(", and ")
        if joined and " requires " in head and not conflict.about_python:
            message, chain = rest, f"{head}; "
        yield Finding(
            conflict.culprit.span,
            f"{message}: pip fails (ResolutionImpossible)",
            f"{chain}{source}drop the conflicting pin and let Celery's extra choose, pin a "
            "version inside the required range, or change the Celery version",
            fix=_fix(requirement_set, conflict, sources), related=related,
        )


def _fix(requirement_set: RequirementSet, conflict: resolver.Conflict,
         sources: dict[str, SourceFile]) -> Fix | None:
    """Re-pin the culprit to the newest release that lets the whole set install; a range is
    rewritten to the range the requiring release asks for, when the set then installs."""
    culprit = conflict.culprit
    if culprit.span.path not in sources:
        return None
    source = sources[culprit.span.path]
    span = culprit.span
    start, end = source.offset(span.line, span.column), source.offset(span.end_line, span.end_column)
    found = source.text.find(culprit.text, start, end + 1)
    length = len(culprit.text)
    requirement, semicolon, marker = culprit.text.partition(";")
    match = _NAME.match(requirement)
    version_only = isinstance(culprit, VersionConstraint)  # Poetry/Pipfile: the version string
    if version_only:
        found, length = start, end - start
    elif found < 0 or not match or "@" in requirement:
        return None
    spacing = requirement[len(requirement.rstrip()):]
    specifier = list(culprit.requirement.specifier)
    exact = len(specifier) == 1 and specifier[0].operator == "=="
    args = (requirement_set.requirements, culprit, conflict, requirement_set.python,
            requirement_set.allow_pre)
    fitting = None if exact else resolver.fitting_range(*args)
    if fitting is not None:
        wanted = resolver.format_specifier(fitting)
        title = f"require {culprit.name}{wanted}, the range {_requirer(conflict)}asks for"
    else:
        version = resolver.newest_fitting(*args)
        if version is None:
            return None
        wanted = f"=={version}"
        title = f"pin {culprit.name}=={version}, the newest release that fits"
    new_text = wanted if version_only else f"{match.group(0)}{wanted}{spacing}{semicolon}{marker}"
    if not still_valid(source, found, found + length, new_text):
        return None
    edits = [edit(source, found, found + length, new_text)]
    if culprit.hashed:
        return Fix(title + " (unsafe: the --hash values on this line must be regenerated)",
                   edits, Applicability.UNSAFE)
    return Fix(title, edits)


def _requirer(conflict: resolver.Conflict) -> str:
    requirer = conflict.requirer
    return f"{requirer.text.strip()} " if requirer is not None else ""
