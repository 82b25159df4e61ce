"""known-bad-combination: releases that install together but break Celery at import or at start.

## What it finds
A requirement set (a requirements file, `pyproject.toml`, a `pip install` line) whose install, as
pip resolves it (the newest releases that fit, from the recorded release metadata), contains a
combination known to break, from a table where every row cites its source:

- Celery 4.0.0 to 4.1.0 with kombu 4.2.0 or newer: Celery reads `transport.implements.async`
  and imports `kombu.async`, which kombu 4.2.0 renamed `asynchronous` (Celery 4.1.0 only asks
  for `kombu>=4.0.2,<5.0`, so a fresh install takes kombu 4.6);
- kombu before 4.2.0 on Python 3.7 or newer (the Python of the image): kombu has a module named
  `async`, a reserved word since Python 3.7.

## Symptoms
- `AttributeError: async` (from `KeyError: 'async'` in `kombu/transport/base.py`) when the worker
  starts, or `ImportError: No module named 'kombu.async'`: workers on new hosts fail although
  nothing in the repository changed.
- `SyntaxError: invalid syntax` in `kombu/...` when `celery` is imported on Python 3.7+.

## Why
Both are renames of `async`, which Python 3.7 made a keyword: kombu 4.2.0 renamed its module and
attribute to `asynchronous` (celery/kombu#839), and Celery 4.1.1 followed (celery/celery#4749).
Ranges that allow the new kombu with the old Celery resolve, so pip reports no conflict.

## Fix
Upgrade Celery (4.1.1 or newer, better a supported 5.x), or pin `kombu<4.2` with Celery 4.0/4.1
on Python 3.6 or older. No automatic fix: the right upgrade is a choice.

## When it stays silent
- sets pip cannot install at all (that is `dependency-conflict`);
- rows that depend on the Python version, when the image's Python is not known;
- releases the recorded metadata does not hold.

## References
- celery/celery#4753 ("Release of Kombu 4.2.0 breaks Celery 4.1.0"), #4764, #4749 (fixed in
  4.1.1); celery/kombu#873 ("Kombu 4.2.0 breaks with celery 4.1.0").
- celery/kombu#839 ("Rename `async` keyword to `asynchronous`", kombu 4.2.0); celery/kombu#841
  (`SyntaxError` with kombu 4.1.0 on Python 3.7).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from celerylint.diagnostics import Finding, Related, Severity
from celerylint.engine import Context

CODE = "CL402"
NAME = "known-bad-combination"
SEVERITY = Severity.ERROR
SUMMARY = "releases that install together but break Celery at import or at start"


@dataclass(frozen=True)
class Row:
    """A combination known to break: package specifiers (all must match what is installed), the
    Pythons it breaks on ("" for any), the failure users see, and where it is documented."""

    packages: tuple[tuple[str, str], ...]
    python: str
    failure: str
    sources: str


TABLE = (
    Row((("celery", ">=4.0.0,<4.1.1"), ("kombu", ">=4.2.0")), "",
        "AttributeError: async (Celery before 4.1.1 uses kombu.async, renamed in kombu 4.2.0)",
        "celery/celery#4753, celery/kombu#873"),
    Row((("kombu", "<4.2.0"),), ">=3.7",
        "SyntaxError: invalid syntax at import (kombu before 4.2.0 has a module named async, a "
        "keyword since Python 3.7)",
        "celery/kombu#841, celery/kombu#839"),
)


def check(context: Context) -> Iterator[Finding]:
    from celerylint import resolver

    for requirement_set in context.deployment.requirement_sets:
        names = {p.name for p in requirement_set.requirements}
        if not names & {"celery", "kombu"}:
            continue
        result = resolver.installed(requirement_set.requirements, requirement_set.python,
                                    requirement_set.allow_pre)
        if result is None:
            continue
        python, versions = result
        for row in TABLE:
            if row.python and (requirement_set.python is None or
                               not SpecifierSet(row.python).contains(python + ".0")):
                continue
            if not all(name in versions and SpecifierSet(spec).contains(versions[name])
                       for name, spec in row.packages):
                continue
            yield _finding(requirement_set, row, versions, python)


def _finding(requirement_set, row: Row, versions: dict[str, Version], python: str) -> Finding:
    """At the user's requirement of the row's first package (else of celery, else the set)."""
    pins = {p.name: p for p in requirement_set.requirements}
    at = next((pins[n] for n, _ in row.packages if n in pins), pins.get("celery"))
    combination = " with ".join(f"{n} {versions[n]}" for n, _ in row.packages)
    related = [Related(pins[n].span, f"{pins[n].text.strip()} is here")
               for n, _ in row.packages if n in pins and pins[n] is not at]
    on = f" on Python {python}" if row.python else ""
    where = at.span if at is not None else requirement_set.span
    label = requirement_set.label.replace(where.path, "this file")
    error, _, why = row.failure.partition(" (")
    return Finding(
        where,
        f"{label} installs {combination}{on}, which breaks: {error}",
        f"{why.removesuffix(')')} ({row.sources}); upgrade Celery (a supported 5.x), or pin the "
        "releases that work together",
        related=related)
