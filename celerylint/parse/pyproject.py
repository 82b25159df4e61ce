"""Requirements declared in ``pyproject.toml`` (and the shared reader of a ``Pipfile``:
``parse/pipfile.py``), where each is written.

Read: PEP 621 ``[project] dependencies`` and ``[project.optional-dependencies]`` (an extra that
names the project itself, ``all = ["shop[redis]"]``, brings that extra's requirements), PEP 735
``[dependency-groups]`` (with ``{include-group = ...}``), uv's ``[tool.uv] dev-dependencies``,
Poetry's
``[tool.poetry.dependencies]``, ``[tool.poetry.dev-dependencies]`` and
``[tool.poetry.group.<g>.dependencies]``. Poetry and Pipfile entries are turned into PEP 508
requirements (``redis = "^5.0"`` -> ``redis>=5.0,<6.0``); their span is the version string,
which a fix rewrites whole (``version_only``): the requirement text is not written anywhere.

Which requirements install together (each list in ``Declaration.sets`` is judged by
dependency-conflict as one install) follows the tools:

- PEP 621 (pip, uv, hatch ...): the dependencies alone, and with each extra or dependency group
  (``pip install .[redis]``, ``uv sync --group dev``). Two extras are never combined: only some
  installers resolve them together, and a false conflict is worse than a missed one.
- Poetry resolves the main dependencies, every group and every extra together (``poetry lock``
  fails when any of them conflict), so a Poetry project is one set.

Entries that cannot be judged are left out rather than guessed: ``python``, git/path/url
sources, and a Poetry dependency written as a list of constraints (one per Python or platform).
Constraints with ``||`` become "any version" (a superset of the alternatives).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from celerylint.diagnostics import Span
from celerylint.parse.datapos import Invalid, Path, Positions, load_toml
from celerylint.parse.requirements import parse_requirement
from celerylint.sources import ParseProblem, SourceFile

_CLAUSE = re.compile(r"(\^|~=|~|===|==|!=|>=|<=|>|<|=)?[ \t]*([^\s,]+)")
_SEPARATORS = re.compile(r"[\s,]*")
_PIPFILE_MARKERS = frozenset({
    "os_name", "sys_platform", "platform_machine", "platform_python_implementation",
    "platform_release", "platform_system", "platform_version", "python_version",
    "python_full_version", "implementation_name", "implementation_version"})
_NOT_REGISTRY = ("git", "path", "url", "file")  # sources that are not a release of the index


@dataclass
class Entry:
    """One declared requirement: its PEP 508 text and where users edit it."""

    name: str  # PEP 503 normalised
    text: str
    requirement: Requirement
    span: Span
    version_only: bool = False  # the span is a version constraint string (Poetry, Pipfile)


@dataclass
class Declaration:
    """What a packaging file declares."""

    sets: list[tuple[str, list[Entry]]] = field(default_factory=list)  # (label, installed together)
    problems: list[ParseProblem] = field(default_factory=list)
    declares: bool = False  # it has a dependency table at all (else the file is not checked)
    python: str | None = None  # "3.11": a Pipfile's [requires] python_version
    python_source: str = ""
    allow_pre: bool = False


def poetry_specifier(constraint: str) -> str | None:
    """A Poetry version constraint as a PEP 440 specifier (``^1.2`` -> ``>=1.2,<2.0``,
    ``~1.2`` -> ``>=1.2,<1.3``, ``1.2.3`` -> ``==1.2.3``, ``*`` -> ``""``), or None when it is
    not valid. Alternatives (``^4.4 || ^5.0``) give ``""``: any version."""
    text = constraint.strip()
    if "|" in text:
        return ""
    clauses: list[str] = []
    i = _SEPARATORS.match(text).end()
    while i < len(text):
        match = _CLAUSE.match(text, i)
        if match is None:
            return None
        operator, version = match.group(1) or "", match.group(2)
        i = _SEPARATORS.match(text, match.end()).end()
        if version == "*" and operator in ("", "=", "=="):
            continue
        if operator in ("^", "~"):
            try:
                release = list(Version(version).release)
            except InvalidVersion:
                return None
            if operator == "^":
                index = next((k for k, part in enumerate(release) if part), len(release) - 1)
            else:
                index = 1 if len(release) >= 2 else 0
            upper = release[:index] + [release[index] + 1] + [0] * (len(release) - index - 1)
            clauses += [f">={version}", "<" + ".".join(map(str, upper))]
            continue
        clauses.append(("==" if operator in ("", "=") else operator) + version)
    try:
        for clause in clauses:
            Specifier(clause)
    except InvalidSpecifier:
        return None
    return ",".join(clauses)


def pipfile_specifier(constraint: str) -> str | None:
    """A Pipfile version (``"*"``, ``">=5"``, a bare ``"5.3.4"`` meaning ``==``), or None."""
    text = constraint.strip()
    if text in ("", "*"):
        return ""
    if text[0].isdigit():
        text = "==" + text
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        return None
    return text


class EntryReader:
    """Turns the values of one parsed file into entries, with problems at their place."""

    def __init__(self, source: SourceFile, positions: Positions, dialect: str = "") -> None:
        self.source = source
        self.positions = positions
        self.dialect = dialect  # "poetry" or "pipfile" for version tables
        self.problems: list[ParseProblem] = []
        self.allow_pre = False

    def span(self, path: Path) -> Span:
        """The content of the string at ``path``, else its key (or value) on one line."""
        if path in self.positions.strings:
            start, end = self.positions.strings[path]
        else:
            start = self.positions.at(path)
            text = self.source.text
            name = path[-1] if path and path in self.positions.keys else ""
            end = start + (len(name) + (2 if text[start:start + 1] in "\"'" else 0)
                           if isinstance(name, str) and name else 1)
        return Span(self.source.path, *self.source.position(start), *self.source.position(end))

    def problem(self, path: Path, message: str) -> None:
        line, column = self.source.position(self.positions.at(path))
        self.problems.append(ParseProblem(self.source.path, line, column, message))

    def pep508(self, path: Path, text: str) -> Entry | None:
        parsed = parse_requirement(text.strip())
        if isinstance(parsed, str):
            self.problem(path, f"invalid requirement: {parsed}")
            return None
        if parsed is None:
            return None  # a path or URL: not a release the resolver can judge
        return Entry(canonicalize_name(parsed.name), text.strip(), parsed, self.span(path))

    def requirement_list(self, path: Path, value: Any, what: str) -> list[Entry]:
        """A PEP 621 / PEP 735 list of requirement strings."""
        if not isinstance(value, list):
            self.problem(path, f"{what} must be an array of requirement strings, not "
                               f"{_kind(value)}")
            return []
        found = []
        for index, item in enumerate(value):
            if isinstance(item, str):
                entry = self.pep508(path + (index,), item)
                if entry is not None:
                    found.append(entry)
            elif not (isinstance(item, dict) and "include-group" in item):
                self.problem(path + (index,), f"{what} must hold requirement strings, not "
                                              f"{_kind(item)}")
        return found

    def table(self, path: Path, value: Any, what: str) -> list[Entry]:
        """A Poetry or Pipfile table of ``name = constraint``."""
        if not isinstance(value, dict):
            self.problem(path, f"{what} must be a table of packages, not {_kind(value)}")
            return []
        found = []
        for name, item in value.items():
            if self.dialect == "poetry" and name.strip().lower() == "python":
                continue  # the project's own Python range, not a package
            entry = self.version_entry(path + (name,), name, item)
            if entry is not None:
                found.append(entry)
        return found

    def version_entry(self, path: Path, name: str, value: Any) -> Entry | None:
        if isinstance(value, list):
            if len(value) != 1:
                return None  # one constraint per Python or platform: not judged
            value, path = value[0], path + (0,)
        extras: Any = []
        markers: list[str] = []
        version_path: Path | None = path
        if isinstance(value, str):
            constraint = value
        elif isinstance(value, dict):
            if any(key in value for key in _NOT_REGISTRY):
                return None
            constraint = value.get("version", "*")
            version_path = path + ("version",) if "version" in value else None
            extras = value.get("extras", [])
            if not isinstance(extras, list) or not all(isinstance(e, str) for e in extras):
                self.problem(path + ("extras",), "extras must be an array of strings")
                return None
            marker = self.markers(path, value)
            if marker is None:
                return None
            markers = marker
            if value.get("allow-prereleases") is True or value.get("allow_prereleases") is True:
                self.allow_pre = True
        else:
            self.problem(path, f"the dependency '{name}' must be a version string or a table, "
                               f"not {_kind(value)}")
            return None
        if not isinstance(constraint, str):
            self.problem(version_path or path, f"the version of '{name}' must be a string, "
                                               f"not {_kind(constraint)}")
            return None
        convert = poetry_specifier if self.dialect == "poetry" else pipfile_specifier
        specifier = convert(constraint)
        if specifier is None:
            self.problem(version_path or path, f"invalid version constraint for '{name}': "
                                               f"{constraint!r}")
            return None
        extra = f"[{','.join(e.strip() for e in extras)}]" if extras else ""
        marker_text = " and ".join(f"({m})" for m in markers)
        text = f"{name.strip()}{extra}{specifier}" + (f"; {marker_text}" if marker_text else "")
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            self.problem(path, f"invalid requirement: {str(exc).splitlines()[0]}")
            return None
        at = version_path if version_path in self.positions.strings else path
        return Entry(canonicalize_name(requirement.name), text, requirement, self.span(at),
                     version_only=at == version_path)

    def markers(self, path: Path, value: dict) -> list[str] | None:
        """PEP 508 markers of a version table (Poetry ``python``/``platform``/``markers``,
        Pipfile ``markers`` and marker keys), or None when one is not a string."""
        found = []
        for key, item in value.items():
            if key == "markers" or (self.dialect == "pipfile" and key in _PIPFILE_MARKERS) or \
                    (self.dialect == "poetry" and key in ("python", "platform")):
                if not isinstance(item, str):
                    self.problem(path + (key,), f"{key} must be a string, not {_kind(item)}")
                    return None
                if key == "markers":
                    found.append(item)
                elif key == "platform":
                    found.append(f'sys_platform == "{item}"')
                elif key == "python":
                    specifier = poetry_specifier(item)
                    if specifier is None:
                        self.problem(path + (key,), f"invalid Python constraint {item!r}")
                        return None
                    found += [f'python_full_version {s.operator} "{s.version}"'
                              for s in SpecifierSet(specifier)]
                else:
                    found.append(f"{key} {item}")
        return found


def _kind(value: Any) -> str:
    names = {dict: "a table", list: "an array", str: "a string", bool: "a boolean",
             int: "an integer", float: "a number"}
    return names.get(type(value), f"a {type(value).__name__} value")


def _keep_pyproject(path: Path) -> bool:
    return bool(path) and (path[0] in ("project", "dependency-groups") or
                           path[:2] in (("tool", "poetry"), ("tool", "uv")) or path == ("tool",))


def read_pyproject(source: SourceFile) -> Declaration:
    loaded = load_toml(source.text, _keep_pyproject)
    if isinstance(loaded, Invalid):
        return Declaration(problems=[ParseProblem(source.path, loaded.line, loaded.column,
                                                  loaded.message)], declares=True)
    data, positions = loaded
    reader = EntryReader(source, positions, "poetry")
    result = Declaration()
    project = data.get("project", {})
    if not isinstance(project, dict):
        reader.problem(("project",), "[project] must be a table")
        project = {}
    base: list[Entry] = []
    if "dependencies" in project:
        base = reader.requirement_list(("project", "dependencies"), project["dependencies"],
                                       "[project] dependencies")
    extras = _named_lists(reader, ("project", "optional-dependencies"),
                          project.get("optional-dependencies"), "[project.optional-dependencies]")
    groups = _named_lists(reader, ("dependency-groups",), data.get("dependency-groups"),
                          "[dependency-groups]")
    _expand_extras(extras, project.get("name"), reader)
    _expand_groups(groups, data.get("dependency-groups"), reader)
    tool = data.get("tool", {})
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    uv = tool.get("uv") if isinstance(tool, dict) else None
    if isinstance(uv, dict) and "dev-dependencies" in uv:  # uv's own dev group, before PEP 735
        title = "[tool.uv] dev-dependencies"
        groups[title] = (title, reader.requirement_list(("tool", "uv", "dev-dependencies"),
                                                        uv["dev-dependencies"], title))
    poetry_entries: list[Entry] = []
    declared_by_poetry = False
    if isinstance(poetry, dict):
        for key in ("dependencies", "dev-dependencies"):
            if key in poetry:
                declared_by_poetry = True
                poetry_entries += reader.table(("tool", "poetry", key), poetry[key],
                                               f"[tool.poetry.{key}]")
        poetry_groups = poetry.get("group", {})
        if not isinstance(poetry_groups, dict):
            reader.problem(("tool", "poetry", "group"), "[tool.poetry.group] must be a table")
            poetry_groups = {}
        for name, group in poetry_groups.items():
            if isinstance(group, dict) and "dependencies" in group:
                declared_by_poetry = True
                poetry_entries += reader.table(("tool", "poetry", "group", name, "dependencies"),
                                               group["dependencies"],
                                               f"[tool.poetry.group.{name}.dependencies]")
    result.declares = declared_by_poetry or bool(extras) or bool(groups) or \
        "dependencies" in project or "optional-dependencies" in project or \
        "dependency-groups" in data
    label = source.path
    if isinstance(poetry, dict):  # Poetry locks everything together
        everything = base + [e for _, entries in extras.values() for e in entries] + \
            [e for _, entries in groups.values() for e in entries] + poetry_entries
        result.sets.append((f"{label} (Poetry)", everything))
    else:
        result.sets.append((label, base))
        for title, entries in [*extras.values(), *groups.values()]:
            if entries:
                result.sets.append((f"{label} {title}", base + entries))
    result.problems = reader.problems
    result.declares = result.declares or bool(result.problems)
    result.allow_pre = reader.allow_pre
    return result


def _named_lists(reader: EntryReader, path: Path, value: Any, what: str
                 ) -> dict[str, tuple[str, list[Entry]]]:
    """``{normalised name: (title, entries)}`` of a table of requirement lists."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        reader.problem(path, f"{what} must be a table of arrays, not {_kind(value)}")
        return {}
    return {canonicalize_name(name): (f"{what} {name}",
                                      reader.requirement_list(path + (name,), items,
                                                              f"{what} {name}"))
            for name, items in value.items()}


def _expand_extras(extras: dict[str, tuple[str, list[Entry]]], project: Any,
                   reader: EntryReader) -> None:
    """An extra that requires the project itself with extras (``all = ["shop[redis]"]``) gets
    those extras' requirements; the self-reference is not a package to install."""
    if not isinstance(project, str) or not extras:
        return
    own = canonicalize_name(project)
    original = {name: list(entries) for name, (_, entries) in extras.items()}

    def closure(name: str, seen: set[str]) -> list[Entry]:
        found = []
        for entry in original.get(name, []):
            if entry.name != own:
                found.append(entry)
                continue
            for extra in sorted(canonicalize_name(e) for e in entry.requirement.extras):
                if extra not in seen:
                    seen.add(extra)
                    found += closure(extra, seen)
        return found

    for name, (title, _) in list(extras.items()):
        extras[name] = (title, closure(name, {name}))


def _expand_groups(groups: dict[str, tuple[str, list[Entry]]], raw: Any,
                   reader: EntryReader) -> None:
    """PEP 735 ``{include-group = "name"}`` entries, followed (a cycle is a problem)."""
    if not isinstance(raw, dict):
        return
    includes: dict[str, list[tuple[str, Path]]] = {}
    for name, items in raw.items():
        for index, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and "include-group" in item:
                target = item["include-group"]
                path = ("dependency-groups", name, index)
                if not isinstance(target, str) or canonicalize_name(target) not in groups:
                    reader.problem(path, f"include-group {target!r}: no such dependency group")
                    continue
                includes.setdefault(canonicalize_name(name), []).append(
                    (canonicalize_name(target), path))
    if not includes:
        return
    own = {name: list(entries) for name, (_, entries) in groups.items()}
    for name, (title, _) in list(groups.items()):
        found, stack, seen = [], [name], {name}
        while stack:
            current = stack.pop()
            found += own[current]
            for target, path in includes.get(current, []):
                if target == name:
                    reader.problem(path, f"include-group '{target}' includes itself (a cycle)")
                elif target not in seen:
                    seen.add(target)
                    stack.append(target)
        groups[name] = (title, found)
