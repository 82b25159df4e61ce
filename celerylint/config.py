"""Configuration: ``[tool.celerylint]`` in ``pyproject.toml``, or ``.celerylint.toml``.

Found by walking up from the first checked path (the nearest file wins; ``--config`` overrides).
Unknown keys and rule selectors are errors that name the key and the file: a typo must not
silently switch a rule off. Rules are selected by code (``CL101``), code prefix (``CL1``,
``CL``), rule name (``beat-schedule-read-only``) or ``ALL``.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celerylint.diagnostics import Severity

FILE_NAMES = (".celerylint.toml", "pyproject.toml")
SEVERITIES = {s.value: s for s in Severity}
_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class ConfigError(Exception):
    """A configuration celerylint cannot use; the message names the file and the key."""


@dataclass
class Config:
    select: list[str] = field(default_factory=lambda: ["ALL"])
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, Severity] = field(default_factory=dict)  # selector -> severity
    fail_on: Severity = Severity.INFO
    exclude: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    kubernetes_version: str | None = None
    strict: bool = True
    startup_estimates: dict[str, int] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)  # image name -> Dockerfile path
    max_file_size: str | None = None
    strict_parse: bool = False  # templates that cannot be rendered are parse errors, not notices
    helm: Any = None  # carriers.helm.HelmOptions from the [helm] table
    compose_projects: list[list[str]] = field(default_factory=list)  # files read together
    path: Path | None = None  # the file it came from
    root: Path = field(default_factory=Path.cwd)  # globs are relative to the file's directory

    def fails(self, severity: Severity) -> bool:
        return _RANK[severity] >= _RANK[self.fail_on]

    def excluded(self, path: str) -> bool:
        return any(_glob(path, pattern, self.root) for pattern in self.exclude)

    def ignored_here(self, path: str) -> list[str]:
        """Selectors that ``per-file-ignores`` switches off for a file."""
        return [s for pattern, selectors in self.per_file_ignores.items()
                if _glob(path, pattern, self.root) for s in selectors]


def _glob(path: str, pattern: str, root: Path) -> bool:
    """gitignore-like: a pattern without ``/`` matches any path component or the name."""
    resolved = Path(path).resolve()
    try:
        relative = resolved.relative_to(root.resolve()).as_posix()
    except ValueError:
        relative = Path(path).as_posix()
    if "/" not in pattern.rstrip("/"):
        return any(fnmatch.fnmatch(part, pattern.rstrip("/")) for part in relative.split("/"))
    pattern = pattern.lstrip("/")
    return fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(relative, pattern.rstrip("/") + "/*")


def matches(selector: str, code: str, name: str) -> bool:
    return selector == "ALL" or selector == name or (selector.startswith("CL") and code.startswith(selector))


def _toml(path: Path) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _ours(pyproject: Path) -> bool:
    """A pyproject.toml with a ``[tool.celerylint]`` table (one that does not mention celerylint
    at all is never parsed, so its own errors are not ours to report)."""
    if "celerylint" not in pyproject.read_text(encoding="utf-8", errors="replace"):
        return False
    return "celerylint" in _toml(pyproject).get("tool", {})


def find(start: str) -> Path | None:
    """The nearest configuration file at or above ``start``, up to the project root (nothing
    above the checked tree is read). A ``pyproject.toml`` without a ``[tool.celerylint]`` table
    is not ours to judge: it is skipped, even when it is not valid TOML."""
    from celerylint.discover import project_root

    try:
        here = Path(os.path.realpath(start))
    except (OSError, ValueError):
        return None
    top = project_root(here)
    first = here if here.is_dir() else here.parent
    directories = [first, *first.parents]
    if top is not None and top in directories:
        directories = directories[:directories.index(top) + 1]
    else:
        directories = directories[:1]
    for directory in directories:
        for name in FILE_NAMES:
            candidate = directory / name
            try:
                if not candidate.is_file():
                    continue
                if name == "pyproject.toml" and not _ours(candidate):
                    continue
            except OSError:
                continue
            return candidate
    return None


def load(path: Path | None, rules: list[Any]) -> Config:
    """Read and validate a configuration file (defaults when ``path`` is None)."""
    config = Config()
    if path is None:
        return config
    data = _toml(path)
    table = data.get("tool", {}).get("celerylint") if path.name == "pyproject.toml" else data
    if table is None:
        raise ConfigError(f"{path}: no [tool.celerylint] table")
    config.path, config.root = path, path.parent
    known = {"select", "extend-select", "ignore", "severity", "fail-on", "exclude",
             "per-file-ignores", "kubernetes-version", "strict", "startup-estimates", "images",
             "max-file-size", "strict-parse", "helm", "compose"}
    for key in table:
        if key not in known:
            raise ConfigError(f"{path}: unknown key '{key}' (known: {', '.join(sorted(known))})")

    def selectors(key: str, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: '{key}' must be a list of rule codes or names")
        for selector in value:
            check_selector(selector, rules, f"{path}: '{key}'")
        return value

    if "select" in table:
        config.select = selectors("select", table["select"])
    config.extend_select = selectors("extend-select", table.get("extend-select", []))
    config.ignore = selectors("ignore", table.get("ignore", []))
    for selector, level in _mapping(path, table, "severity").items():
        check_selector(selector, rules, f"{path}: 'severity'")
        config.severity[selector] = _severity(path, f"severity.{selector}", level)
    if "fail-on" in table:
        config.fail_on = _severity(path, "fail-on", table["fail-on"])
    exclude = table.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(e, str) for e in exclude):
        raise ConfigError(f"{path}: 'exclude' must be a list of globs")
    config.exclude = exclude
    for pattern, value in _mapping(path, table, "per-file-ignores").items():
        config.per_file_ignores[pattern] = selectors(f"per-file-ignores.{pattern}", value)
    if "kubernetes-version" in table:
        config.kubernetes_version = str(table["kubernetes-version"])
    if "strict" in table:
        if not isinstance(table["strict"], bool):
            raise ConfigError(f"{path}: 'strict' must be true or false")
        config.strict = table["strict"]
    for step, seconds in _mapping(path, table, "startup-estimates").items():
        if not isinstance(seconds, int) or seconds < 0:
            raise ConfigError(f"{path}: 'startup-estimates.{step}' must be a number of seconds")
        config.startup_estimates[step] = seconds
    if "max-file-size" in table:
        config.max_file_size = str(table["max-file-size"])
    if "strict-parse" in table:
        if not isinstance(table["strict-parse"], bool):
            raise ConfigError(f"{path}: 'strict-parse' must be true or false")
        config.strict_parse = table["strict-parse"]
    config.helm = _helm(path, _mapping(path, table, "helm"))
    config.compose_projects = _compose(path, _mapping(path, table, "compose"))
    for image, dockerfile in _mapping(path, table, "images").items():
        if not isinstance(dockerfile, str):
            raise ConfigError(f"{path}: 'images.{image}' must be the path of a Dockerfile")
        config.images[image] = str((path.parent / dockerfile).resolve())
    return config


def _helm(path: Path, table: dict):
    """The ``[helm]`` table: a release name and namespace for every chart, and per chart (a path
    relative to this file) its value sets, each with values files, ``set`` expressions, release
    and namespace."""
    from celerylint.carriers.helm import HelmOptions, ValueSet

    unknown = set(table) - {"release", "namespace", "charts"}
    if unknown:
        raise ConfigError(f"{path}: unknown key 'helm.{sorted(unknown)[0]}' "
                          "(known: release, namespace, charts)")

    def value_set(where: str, item: Any, name: str = "") -> ValueSet:
        if not isinstance(item, dict) or set(item) - {"name", "values", "set", "release",
                                                        "namespace"}:
            raise ConfigError(f"{path}: '{where}' must be a table with name, values, set, "
                              "release, namespace")
        files, sets = item.get("values", []), item.get("set", [])
        if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in (files, sets)):
            raise ConfigError(f"{path}: '{where}.values' and '.set' must be lists of strings")
        return ValueSet(str(item.get("name", name)), [str(path.parent / f) for f in files], sets,
                        item.get("release", table.get("release")),
                        item.get("namespace", table.get("namespace")))

    options = HelmOptions(values=value_set("helm", {k: table[k] for k in ("release", "namespace")
                                                    if k in table}))
    for chart, sets in _mapping(path, table, "charts").items():
        items = sets if isinstance(sets, list) else [sets]
        options.charts[str((path.parent / chart).resolve())] = [
            value_set(f"helm.charts.{chart}", item, f"set{i + 1}") for i, item in enumerate(items)]
    return options


def _compose(path: Path, table: dict) -> list[list[str]]:
    """The ``[compose]`` table: ``projects``, lists of compose files (relative to this file)
    that Compose reads together, as ``docker compose -f a.yml -f b.yml`` does."""
    unknown = set(table) - {"projects"}
    if unknown:
        raise ConfigError(f"{path}: unknown key 'compose.{sorted(unknown)[0]}' (known: projects)")
    projects = table.get("projects", [])
    if not isinstance(projects, list) or not all(
            isinstance(p, list) and p and all(isinstance(f, str) for f in p) for p in projects):
        raise ConfigError(f"{path}: 'compose.projects' must be a list of lists of compose files")
    return [[os.path.realpath(path.parent / f) for f in files] for files in projects]


def _mapping(path: Path, table: dict, key: str) -> dict:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: '{key}' must be a table")
    return value


def _severity(path: Path, key: str, value: Any) -> Severity:
    if value not in SEVERITIES:
        raise ConfigError(f"{path}: '{key}' must be one of error, warning, info (got {value!r})")
    return SEVERITIES[value]


def check_selector(selector: str, rules: list[Any], where: str) -> None:
    if not any(matches(selector, r.code, r.name) for r in rules):
        raise ConfigError(f"{where}: unknown rule '{selector}' (use a code such as CL101, a code "
                          "prefix such as CL1, a rule name, or ALL)")


def selected(config: Config, rules: list[Any]) -> list[Any]:
    """The rules that run: select + extend-select, minus ignore."""
    chosen = config.select + config.extend_select
    return [r for r in rules if any(matches(s, r.code, r.name) for s in chosen)
            and not any(matches(s, r.code, r.name) for s in config.ignore)]
