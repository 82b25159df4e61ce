"""Finding the files to check, knowing what kind each one is, and the tree a run may read.

The *scope* of a run is its checked roots: every directory given (a file's own directory), and
the project root found above the first of them (the nearest directory with ``.git``,
``pyproject.toml``, ``setup.cfg``, ``setup.py`` or ``manage.py``). Nothing outside it is opened:
a ``-r`` include, a Dockerfile ``COPY`` source, an ``-A`` module path or a symlink whose real
path lies outside is reported as "outside the checked tree, not read" (``sources.read``).
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from celerylint.sources import CHART, DOCKERFILE, PYTHON, REQUIREMENTS, SCRIPT, YAML, Skip, \
    display_path
from celerylint.sources import LAUNCHER
from celerylint.sources import PACKAGING
from celerylint.carriers.launcher_files import launcher_of

#: Directories never walked into: version control, virtualenvs, caches, vendored packages.
SKIPPED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", "node_modules", "__pycache__",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", ".eggs", "site-packages", ".direnv",
        ".terraform", ".idea", ".vscode",
    }
)

#: Extensions of other languages: a file named so is never sniffed as a Dockerfile.
_OTHER_LANGUAGES = (".py", ".sh", ".bash", ".md", ".rst", ".toml", ".ini", ".cfg", ".js", ".ts",
                    ".go", ".rb", ".j2", ".tpl", ".conf")

#: A chart's own folders: rendered with the chart, never read as plain YAML.
CHART_DIRS = frozenset({"templates", "charts", "crds"})

#: Files that mark the top of a project, nearest first: version control, Python packaging, Django.
PROJECT_MARKERS = (".git", "pyproject.toml", "setup.cfg", "setup.py", "manage.py")

#: Python packaging files that declare or lock requirements (model/requirement_sets.py).
PACKAGING_FILES = frozenset({"pyproject.toml", "setup.cfg", "Pipfile", "Pipfile.lock",
                             "poetry.lock", "uv.lock"})

# one line each, no backtracking across lines: `[ \t]*`, never `\s*` under re.M
_API_VERSION = re.compile(r"""^[ \t]*["']?apiVersion["']?[ \t]*:""", re.M)
_KIND = re.compile(r"""^[ \t]*["']?kind["']?[ \t]*:""", re.M)


def classify(path: Path) -> str | None:
    """The kind of a file from its name, or None when celerylint does not read it."""
    name = path.name
    lower = name.lower()
    if lower.endswith((".yaml", ".yml")):
        return YAML
    if lower in ("dockerfile", "containerfile") or lower.endswith(".dockerfile") or name.startswith(
        ("Dockerfile.", "Dockerfile-", "Dockerfile_", "Containerfile.")
    ):
        return DOCKERFILE
    if lower.endswith((".txt", ".in")) and (
        fnmatch.fnmatch(lower, "requirements*") or fnmatch.fnmatch(lower, "constraints*")
        or path.parent.name.lower() in ("requirements", "reqs")
    ):
        return REQUIREMENTS
    if name in PACKAGING_FILES:
        return PACKAGING
    if launcher_of(path) is not None:  # Procfile, supervisord, s6/runit, systemd, entry script
        return LAUNCHER
    if lower.endswith((".sh", ".bash")):
        return SCRIPT
    return None


def sniff(name: str, text: str) -> str | None:
    """The kind of a file named on the command line whose name says nothing, from its name and
    text together: a Python module when it ends in ``.py``, a requirements file when named so, a
    Dockerfile when it starts with FROM or ARG (and its extension is not another language's), a
    Kubernetes manifest (YAML or JSON) when it has ``apiVersion`` and ``kind``; else None."""
    lower = name.lower()
    if lower.endswith(".py"):
        return PYTHON
    if "requirements" in lower or "constraints" in lower:
        return REQUIREMENTS
    head = text[:65536]
    if not lower.endswith(_OTHER_LANGUAGES):
        for line in head.splitlines():
            word = line.strip().split(" ", 1)[0].upper()
            if word and not word.startswith("#"):
                if word in ("FROM", "ARG"):
                    return DOCKERFILE
                break
    if _API_VERSION.search(head) and _KIND.search(head):
        return YAML
    return None


def project_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding a version-control or Python project
    marker, or None."""
    here = _real(start)
    if here is None:
        return None
    for directory in [here if here.is_dir() else here.parent, *here.parents]:
        for marker in PROJECT_MARKERS:
            try:
                if (directory / marker).exists():
                    return directory
            except OSError:
                continue
    return None


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def _real(path: Path) -> Path | None:
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return None


@dataclass
class Scope:
    """The checked roots of a run: what it may read and write, and which project a file is in."""

    roots: list[Path] = field(default_factory=list)
    _projects: dict[str, str] = field(default_factory=dict)  # real directory -> its project
    _directories: dict[str, str] = field(default_factory=dict)  # directory -> its real path

    @classmethod
    def of(cls, paths: list[str]) -> "Scope":
        """Each checked directory (a file's own directory), then the project root above the
        first of them."""
        roots: list[Path] = []
        for path in paths:
            real = _real(Path(path)) if path != "-" else None
            if real is not None:
                roots.append(real if real.is_dir() else real.parent)
        if roots:
            top = project_root(roots[0])
            if top is not None:
                roots.append(top)
        if not roots:
            roots = [Path.cwd()]
        return cls(list(dict.fromkeys(roots)))

    def contains(self, path: str | Path) -> bool:
        """Whether the real path (symlinks resolved) lies in a checked root."""
        real = self.real_path(path)
        return real is not None and any(real == root or real.startswith(inside)
                                        for root, inside in self._prefixes())

    def _prefixes(self) -> list[tuple[str, str]]:
        return [(str(root), str(root).rstrip(os.sep) + os.sep) for root in self.roots]

    def real_path(self, path: str | Path) -> str | None:
        """``os.path.realpath``, with each directory resolved once per run (thousands of files
        share a few directories): only a file that is itself a link is resolved whole."""
        text = os.fspath(path)
        parent, name = os.path.split(text)
        try:
            if name in ("", ".", "..") or os.path.islink(text):
                return os.path.realpath(text)
            directory = self._directories.get(parent)
            if directory is None:
                directory = self._directories[parent] = os.path.realpath(parent or ".")
            return os.path.join(directory, name)
        except (OSError, ValueError):
            return None

    def project_of(self, path: str | None) -> str:
        """The project a file belongs to: the nearest directory above it, inside the checked
        tree, with a project marker (``.git``, ``pyproject.toml`` ...), else the outermost checked
        root holding it. Rules that join objects across the run group by it, so two projects
        checked together never mix."""
        real = self.real_path(path) if path else None
        if real is None:
            return ""
        chain = []
        directory = os.path.dirname(real)
        while directory not in self._projects and self.contains(directory):
            chain.append(directory)
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
        found = self._projects.get(directory, "")
        for directory in reversed(chain):  # outermost first: a nearer marker wins
            if any(_exists(Path(directory, marker)) for marker in PROJECT_MARKERS):
                found = directory
            elif not found:
                found = directory  # the outermost checked directory, for now
            self._projects[directory] = found
        return found


def walk(paths: list[str], notices: list[Skip] | None = None
         ) -> Iterator[tuple[Path, str | None, bool]]:
    """Yield ``(path, kind, explicit)`` for every file to consider, in a stable order.

    Directories are walked without following symlinks (no loops); a directory that cannot be
    read becomes a notice. A directory with ``Chart.yaml`` is a Helm chart, yielded once (kind
    ``CHART``) instead of its templates and values; a file inside a chart yields its chart.
    Explicit paths are always yielded, with kind None when their name does not say what they
    are: the caller then reads them and decides from their text (``sniff``).
    """
    seen: set[str] = set()

    def unreadable(error: OSError) -> None:
        if notices is not None:
            notices.append(Skip(display_path(Path(error.filename or "")),
                                f"cannot read directory: {error.strerror or error}"))

    for arg in paths:
        root = Path(arg)
        if _is_dir(root):
            for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
                if "Chart.yaml" in filenames:
                    key = os.path.normcase(os.path.abspath(dirpath))
                    if key not in seen:
                        seen.add(key)
                        yield Path(dirpath), CHART, False
                    dirnames[:] = sorted(d for d in dirnames if d not in CHART_DIRS and
                                         d not in SKIPPED_DIRS)
                    filenames = [f for f in filenames if f != "Chart.yaml" and
                                 not (f.startswith("values") and classify(Path(f)) == YAML)]
                    continue  # what else a chart folder holds is the chart's business
                dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and
                                     not _is_virtualenv(Path(dirpath, d)))
                for name in sorted(filenames):
                    path = Path(dirpath, name)
                    kind = classify(path)
                    key = os.path.normcase(os.path.abspath(path))
                    if kind and key not in seen:
                        seen.add(key)
                        yield path, kind, False
        else:
            chart = chart_of(root)
            key = os.path.normcase(os.path.abspath(chart or root))
            if key not in seen:
                seen.add(key)
                yield (chart, CHART, True) if chart else (root, classify(root), True)


def chart_of(path: Path) -> Path | None:
    """The chart a file belongs to: its own folder, or the folder above ``templates/`` (or
    ``crds/``) that has a ``Chart.yaml``."""
    parent = path.parent
    for candidate in (parent, parent.parent):
        if candidate != parent and parent.name not in CHART_DIRS:
            break
        try:
            if (candidate / "Chart.yaml").is_file():
                return candidate
        except OSError:
            return None
    return None


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _is_virtualenv(path: Path) -> bool:
    try:
        return (path / "pyvenv.cfg").exists()
    except OSError:
        return False
