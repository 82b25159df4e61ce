"""Versions pinned by lock files: ``poetry.lock``, ``uv.lock`` and ``Pipfile.lock``.

A lock file is a *version source*, not a set of requirements to resolve. The model turns each
locked package into a constraint (``celery==5.3.4``, as pip's ``-c`` reads a constraints file):
rules that depend on the installed version (the Celery major version of ``celery4-cli-order``,
celery-redbeat for the beat rules) read it like any other requirement, while
``dependency-conflict`` never judges it, because a set of constraints alone asks pip to install
nothing (the resolver returns "no conflict" for it). Why not resolve the pins:

- the locker already resolved them with the packages' real metadata; if our recorded metadata
  disagrees, the lock is right and we are not;
- ``uv.lock`` and ``poetry.lock`` may hold several versions of one package, each for some
  Pythons or platforms: a single-environment check would call that a conflict;
- a lock is regenerated, not edited: the finding and its fix belong to the file that declares
  the requirement (``pyproject.toml``, ``Pipfile``, ``requirements.txt``).

A package locked at several versions is left out (which one runs is not known), and so is the
project itself in ``uv.lock`` (an editable or virtual source, not a release).
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from celerylint.diagnostics import Span
from celerylint.parse.datapos import Invalid, Path, Positions, load_json, load_toml
from celerylint.sources import ParseProblem, SourceFile

#: File names read as lock files, and the reader of each.
LOCK_FILES = ("poetry.lock", "uv.lock", "Pipfile.lock")


@dataclass
class Locked:
    """One package at the version the lock file installs."""

    name: str  # PEP 503 normalised
    version: str
    span: Span  # the version string


@dataclass
class LockFile:
    packages: list[Locked]
    problems: list[ParseProblem]


def read(source: SourceFile) -> LockFile:
    """The packages a lock file pins; invalid text or odd types are problems, never raised."""
    name = source.path.replace("\\", "/").rsplit("/", 1)[-1]
    if name == "Pipfile.lock":
        return _pipfile_lock(source)
    return _toml_lock(source)


def _invalid(source: SourceFile, found: Invalid) -> LockFile:
    return LockFile([], [ParseProblem(source.path, found.line, found.column, found.message)])


def _keep_packages(path: Path) -> bool:
    return bool(path) and path[0] == "package" and (len(path) <= 2 or path[2] in (
        "name", "version", "source"))


def _toml_lock(source: SourceFile) -> LockFile:
    loaded = load_toml(source.text, _keep_packages)
    if isinstance(loaded, Invalid):
        return _invalid(source, loaded)
    data, positions = loaded
    problems: list[ParseProblem] = []
    packages = data.get("package", [])
    if not isinstance(packages, list):
        line, column = source.position(positions.at(("package",)))
        return LockFile([], [ParseProblem(source.path, line, column,
                                          "'package' must be an array of tables")])
    found: list[tuple[str, str, Path]] = []
    for index, package in enumerate(packages):
        path: Path = ("package", index)
        if not isinstance(package, dict):
            line, column = source.position(positions.at(path))
            problems.append(ParseProblem(source.path, line, column,
                                         "each [[package]] must be a table"))
            continue
        name, version = package.get("name"), package.get("version")
        origin = package.get("source")
        if isinstance(origin, dict) and ("editable" in origin or "virtual" in origin):
            continue  # uv.lock: the project itself
        if not isinstance(name, str) or not isinstance(version, str):
            if "name" in package or "version" in package:
                wrong = "name" if not isinstance(name, str) else "version"
                line, column = source.position(positions.at(path + (wrong,)))
                problems.append(ParseProblem(source.path, line, column,
                                             "a [[package]] needs a string name and version"))
            continue
        found.append((name, version, path + ("version",)))
    return LockFile(_unique(source, found, positions), problems)


def _keep_pipfile_lock(path: Path) -> bool:
    return len(path) <= 3 and (not path or path[0] != "_meta")


def _pipfile_lock(source: SourceFile) -> LockFile:
    loaded = load_json(source.text, _keep_pipfile_lock)
    if isinstance(loaded, Invalid):
        return _invalid(source, loaded)
    data, positions = loaded
    if not isinstance(data, dict):
        return LockFile([], [ParseProblem(source.path, 1, 1, "Pipfile.lock must hold an object")])
    found: list[tuple[str, str, Path]] = []
    problems: list[ParseProblem] = []
    for category, packages in data.items():
        if category == "_meta":
            continue
        if not isinstance(packages, dict):
            line, column = source.position(positions.at((category,)))
            problems.append(ParseProblem(source.path, line, column,
                                         f"'{category}' must map package names to objects"))
            continue
        for name, entry in packages.items():
            version = entry.get("version") if isinstance(entry, dict) else None
            if isinstance(version, str) and version.startswith("=="):
                found.append((name, version[2:], (category, name, "version")))
    return LockFile(_unique(source, found, positions), problems)


def _unique(source: SourceFile, found: list[tuple[str, str, Path]], positions: Positions
            ) -> list[Locked]:
    """One entry per package locked at exactly one valid version."""
    versions: dict[str, set[str]] = {}
    first: dict[str, tuple[str, Path]] = {}
    for name, version, path in found:
        try:
            normal = str(Version(version))
        except InvalidVersion:
            continue  # not a PEP 440 version: nothing to compare it with
        key = canonicalize_name(name)
        versions.setdefault(key, set()).add(normal)
        first.setdefault(key, (version, path))
    locked = []
    for key, (version, path) in first.items():
        if len(versions[key]) != 1:
            continue
        if path in positions.strings:
            start, end = positions.strings[path]
        else:
            start = positions.at(path)
            end = start + 1
        locked.append(Locked(key, version, Span(source.path, *source.position(start),
                                                *source.position(end))))
    return locked
