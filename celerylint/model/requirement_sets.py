"""Requirement sets from every file that declares Python requirements.

Requirements files (with their ``-r``/``-c`` includes), ``pyproject.toml``, ``setup.cfg`` and
``Pipfile`` give the sets that install together, which ``dependency-conflict`` resolves; lock
files (``poetry.lock``, ``uv.lock``, ``Pipfile.lock``) give constraints, the versions installed,
which rules read (the Celery version) and the resolver never judges on their own
(``parse/lockfiles.py`` says why). Every requirement keeps the span of the string users edit and
the project of its file, so that two projects checked together never mix.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

from celerylint import discover
from celerylint import sources as src
from celerylint.diagnostics import Span
from celerylint.model import Deployment, PinnedRequirement, RequirementSet
from celerylint.parse import lockfiles, requirements
from celerylint.parse.pipfile import read_pipfile
from celerylint.parse.pyproject import Declaration, read_pyproject
from celerylint.parse.setupcfg import read_setup_cfg
from celerylint.sources import ParseProblem, SourceFile

_DECLARING = {"pyproject.toml": read_pyproject, "setup.cfg": read_setup_cfg,
              "Pipfile": read_pipfile}

#: What a packaging file that declares no dependencies is (listed with --verbose).
NOTHING_DECLARED = "declares no dependencies: not checked"


@dataclass
class VersionConstraint(PinnedRequirement):
    """A requirement whose version is a string of its own (Poetry's ``redis = "^5.0"``, a
    Pipfile's ``redis = ">=5"``): ``text`` is built from the entry, ``span`` is the version
    string, and a fix rewrites that string whole with a PEP 440 specifier (which Poetry and
    pipenv both accept)."""


def add(deployment: Deployment, files: list[SourceFile], max_size: int, scope: discover.Scope,
        skipped: list[src.Skip], overlay: dict | None = None) -> None:
    """The requirement sets of ``files`` (requirements and packaging files), their problems,
    and notices; a packaging file that declares no dependencies leaves the checked sources."""
    reader = RequirementReader([f for f in files if f.kind == src.REQUIREMENTS], max_size, scope,
                               overlay)
    for source in files:
        if source.kind == src.REQUIREMENTS:
            deployment.requirement_sets.append(reader.file_set(source))
            deployment.problems.extend(reader.problems.pop(source.path, []))
            continue
        name = os.path.basename(source.path)
        if name in lockfiles.LOCK_FILES:
            locked = lockfiles.read(source)
            deployment.problems.extend(locked.problems[:1])
            deployment.requirement_sets.append(lock_set(source, locked))
            continue
        read = _DECLARING.get(name)
        declared = read(source) if read is not None else Declaration()
        if not declared.declares:
            if source in deployment.sources:
                deployment.sources.remove(source)
            skipped.append(src.Skip(source.path, NOTHING_DECLARED, verbose=True))
            continue
        deployment.problems.extend(_first(declared.problems))
        deployment.requirement_sets.extend(declared_sets(source, declared))
    skipped.extend(notice for notices in reader.outside.values() for notice in notices)


def _first(problems: list[ParseProblem]) -> list[ParseProblem]:
    """One parse-error per file: the first, with a count of the others."""
    if len(problems) > 1:
        first = problems[0]
        more = len(problems) - 1
        return [ParseProblem(first.path, first.line, first.column,
                             f"{first.message} (and {more} more problem{'s' if more > 1 else ''} "
                             "in this file)")]
    return problems


def declared_sets(source: SourceFile, declared: Declaration) -> list[RequirementSet]:
    sets = []
    for label, entries in declared.sets:
        pinned = [(VersionConstraint if e.version_only else PinnedRequirement)(
            e.name, e.text, e.requirement, e.span, where=source.path, project=source.project)
            for e in entries]
        sets.append(RequirementSet(label, pinned, Span(source.path, 1, 1, 1, 1), declared.python,
                                   declared.python_source, allow_pre=declared.allow_pre))
    return sets


def lock_set(source: SourceFile, locked: lockfiles.LockFile) -> RequirementSet:
    """Every locked package as a constraint: a version source, never resolved on its own."""
    pinned = [PinnedRequirement(p.name, f"{p.name}=={p.version}",
                                Requirement(f"{p.name}=={p.version}"), p.span, constraint=True,
                                where=source.path, project=source.project)
              for p in locked.packages]
    return RequirementSet(source.path, pinned, Span(source.path, 1, 1, 1, 1))


def still_valid(source: SourceFile, start: int, end: int, text: str) -> bool:
    """Whether the file still parses with ``text`` in place of ``start:end``: a fix of a TOML
    file must never break it (setup.cfg and requirements files are line-based: always)."""
    if not os.path.basename(source.path).endswith(("pyproject.toml", "Pipfile")):
        return True
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        tomllib.loads(source.text[:start] + text + source.text[end:])
    except (tomllib.TOMLDecodeError, RecursionError):
        return False
    return True


class RequirementReader:
    """Parses requirements files once each, following ``-r``/``-c`` includes."""

    def __init__(self, files: list[SourceFile], max_size: int, scope: discover.Scope,
                 overlay: dict | None = None) -> None:
        self.overlay = overlay  # edited buffers read instead of the files on disk
        self.by_path = {os.path.normpath(f.abspath or f.path): f for f in files}
        self.parsed: dict[str, requirements.RequirementsText] = {}
        self.problems: dict[str, list[ParseProblem]] = {}
        self.outside: dict[str, list[src.Skip]] = {}
        self.max_size = max_size
        self.scope = scope

    def _parse(self, source: SourceFile) -> requirements.RequirementsText:
        key = os.path.normpath(source.abspath or source.path)
        if key not in self.parsed:
            self.parsed[key] = result = requirements.read_file(source.text)
            if result.invalid:
                line, column, message = result.invalid[0]
                text = source.lines[line - 1] if 0 < line <= len(source.lines) else ""
                if "{%" in text or "{{" in text:
                    message += " (it looks like a Jinja template: it is checked once rendered)"
                self.problems.setdefault(source.path, []).append(
                    ParseProblem(source.path, line, column, f"invalid requirement: {message}"))
        return self.parsed[key]

    def _source(self, path: str, including: SourceFile, line: int) -> SourceFile | None:
        """An included file, read once; one outside the checked tree is not opened (a notice
        at the ``-r`` line, which never quotes what the file holds)."""
        key = os.path.normpath(path)
        if key not in self.by_path:
            if not self.scope.contains(path):
                self.by_path[key] = None
                self.outside.setdefault(including.path, []).append(
                    src.Skip(including.path, f"-r/-c {path}: {src.OUTSIDE}", line))
                return None
            result = src.read(Path(path), src.REQUIREMENTS, self.max_size, self.overlay,
                              self.scope) \
                if os.path.isfile(path) else None
            self.by_path[key] = result if isinstance(result, SourceFile) else None
        return self.by_path[key]

    def file_set(self, source: SourceFile) -> RequirementSet:
        pinned: list[PinnedRequirement] = []
        allow_pre = False
        stack = [(source, False)]
        seen: set[str] = set()
        while stack:
            current, constraint = stack.pop()
            key = os.path.normpath(current.abspath or current.path)
            if key in seen:
                continue
            seen.add(key)
            parsed = self._parse(current)
            allow_pre = allow_pre or parsed.allow_pre
            for line in parsed.requirements:
                pinned.append(PinnedRequirement(
                    line.name, line.text, line.requirement,
                    Span(current.path, line.line, line.column, line.line, line.end_column),
                    constraint, current.path, line.hashed, source.project))
            for include, is_constraint, line in parsed.includes:
                if current.abspath:
                    included = self._source(requirements.include_path(current.abspath, include),
                                            current, line)
                    if included is not None:
                        stack.append((included, constraint or is_constraint))
        return RequirementSet(source.path, pinned, Span(source.path, 1, 1, 1, 1),
                              allow_pre=allow_pre)
