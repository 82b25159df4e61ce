"""Finding the files to check, reading them safely, and knowing what kind each one is.

Reading never raises: a file that cannot be read or decoded becomes a ``Skip`` (reported to the
user as a notice) or a ``ParseProblem`` (reported as a ``parse-error`` finding), and the other
files are still checked.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

#: Files above this size are skipped with a notice (``--max-file-size``).
DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024

#: Directories never walked into: version control, virtualenvs, caches, vendored packages.
SKIPPED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", "node_modules", "__pycache__",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", ".eggs", "site-packages", ".direnv",
        ".terraform", ".idea", ".vscode",
    }
)

YAML = "yaml"
DOCKERFILE = "dockerfile"
REQUIREMENTS = "requirements"
PYTHON = "python"

#: Extensions of other languages: a file named so is never sniffed as a Dockerfile.
_OTHER_LANGUAGES = (".py", ".sh", ".bash", ".md", ".rst", ".toml", ".ini", ".cfg", ".js", ".ts",
                    ".go", ".rb", ".j2", ".tpl", ".conf")


def classify(path: Path) -> str | None:
    """The kind of a file from its name, or None when celerylint does not read it."""
    name = path.name
    lower = name.lower()
    if lower.endswith((".yaml", ".yml")):
        return YAML
    if name in ("Dockerfile", "Containerfile") or lower.endswith(".dockerfile") or name.startswith(
        ("Dockerfile.", "Dockerfile-", "Dockerfile_", "Containerfile.")
    ):
        return DOCKERFILE
    if lower.endswith((".txt", ".in")) and (
        fnmatch.fnmatch(lower, "requirements*") or fnmatch.fnmatch(lower, "constraints*")
        or path.parent.name.lower() in ("requirements", "reqs")
    ):
        return REQUIREMENTS
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
    if not lower.endswith(_OTHER_LANGUAGES):
        for line in text[:65536].splitlines():
            word = line.strip().split(" ", 1)[0].upper()
            if word and not word.startswith("#"):
                if word in ("FROM", "ARG"):
                    return DOCKERFILE
                break
    if re.search(r"""^\s*["']?apiVersion["']?\s*:""", text, re.M) and \
            re.search(r"""^\s*["']?kind["']?\s*:""", text, re.M):
        return YAML
    return None


@dataclass
class SourceFile:
    """One file's text, normalised to ``\\n`` line ends; ``path`` is what users see."""

    path: str
    kind: str
    text: str
    abspath: str | None
    crlf: bool = False
    encoding: str = "utf-8"  # "utf-8-sig" (a BOM) or "utf-16" are written back the same way
    digest: str = ""  # of the bytes read, so --fix can refuse a file changed since

    @property
    def lines(self) -> list[str]:
        cached = self.__dict__.get("_lines")
        if cached is None:
            cached = self.text.split("\n")
            self.__dict__["_lines"] = cached
        return cached

    def offset(self, line: int, column: int) -> int:
        """Character offset in ``text`` of a 1-based line and column."""
        starts = self.__dict__.get("_starts")
        if starts is None:
            starts = [0]
            for row in self.lines[:-1]:
                starts.append(starts[-1] + len(row) + 1)
            self.__dict__["_starts"] = starts
        line = min(max(line, 1), len(starts))
        return min(starts[line - 1] + column - 1, len(self.text))

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset in ``text``."""
        line = self.text.count("\n", 0, offset) + 1
        return line, offset - (self.text.rfind("\n", 0, offset) + 1) + 1

    def encode(self, text: str) -> bytes:
        """Bytes for new text, with this file's line ends and encoding."""
        if self.crlf:
            text = text.replace("\n", "\r\n")
        return text.encode(self.encoding)


@dataclass
class Skip:
    """A file that was not checked, and why (shown as a notice, not a finding)."""

    path: str
    reason: str


@dataclass
class ParseProblem:
    """A file, or one document in it, that could not be parsed: becomes a ``parse-error``."""

    path: str
    line: int
    column: int
    message: str


def display_path(path: Path) -> str:
    """Path relative to the working directory when below it, with forward slashes."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        rel = str(path)
    if rel.startswith(".." + os.sep) or rel == "..":
        rel = str(path)
    return rel.replace(os.sep, "/")


#: Files that mark the top of a project, nearest first: version control, Python packaging, Django.
PROJECT_MARKERS = (".git", "pyproject.toml", "setup.cfg", "setup.py", "manage.py")


def project_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding a version-control or Python project
    marker (``.git``, ``pyproject.toml``, ``setup.cfg``, ``setup.py``, ``manage.py``), or None."""
    try:
        here = start.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return None
    for directory in [here if here.is_dir() else here.parent, *here.parents]:
        for marker in PROJECT_MARKERS:
            try:
                if (directory / marker).exists():
                    return directory
            except OSError:
                continue
    return None


def checked_roots(paths: list[str]) -> list[Path]:
    """The directories a run may read from: each checked directory (a file's own directory),
    then the project root found above the first of them, so that ``celerylint check k8s/`` still
    finds the app module that ``-A proj`` names, with or without git."""
    roots: list[Path] = []
    for path in paths:
        if path == "-":
            continue
        try:
            resolved = Path(path).resolve()
        except (OSError, RuntimeError):
            continue
        roots.append(resolved if resolved.is_dir() else resolved.parent)
    if roots:
        top = project_root(roots[0])
        if top is not None:
            roots.append(top)
    return list(dict.fromkeys(roots)) or [Path.cwd()]


def walk(paths: list[str]) -> Iterator[tuple[Path, str | None, bool]]:
    """Yield ``(path, kind, explicit)`` for every file to consider, in a stable order.

    Directories are walked without following symlinks (no loops); explicit paths are always
    yielded (pipes such as ``<(...)`` included), with kind None when their name does not say what
    they are: the caller then reads them and decides from their text (``sniff``).
    """
    seen: set[str] = set()
    for arg in paths:
        root = Path(arg)
        if root.is_dir():
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(
                    d for d in dirnames
                    if d not in SKIPPED_DIRS and not (Path(dirpath, d) / "pyvenv.cfg").exists()
                )
                for name in sorted(filenames):
                    path = Path(dirpath, name)
                    kind = classify(path)
                    key = os.path.normcase(os.path.abspath(path))
                    if kind and key not in seen:
                        seen.add(key)
                        yield path, kind, False
        else:
            key = os.path.normcase(os.path.abspath(root))
            if key not in seen:
                seen.add(key)
                yield root, classify(root), True


def decode(data: bytes) -> tuple[str | None, str]:
    """Text and its encoding from bytes (UTF-8, UTF-8 with BOM, UTF-16 with BOM), or None and
    why not."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            return None, f"invalid UTF-16 ({exc.reason})"
    encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x})"


def read(path: Path, kind: str, max_size: int,
         overlay: dict[str, SourceFile] | None = None) -> SourceFile | Skip | ParseProblem:
    """Read one file; never raises. ``overlay`` holds files already edited in memory by
    ``--fix``/``--diff`` passes, by absolute path."""
    shown = display_path(path)
    if overlay and str(path.resolve()) in overlay:
        return overlay[str(path.resolve())]
    try:
        if path.is_dir():
            return Skip(shown, "is a directory")
        size = path.stat().st_size
        if size > max_size:
            return Skip(shown, f"{size / 1048576:.1f} MiB is above the {max_size / 1048576:.1f} MiB "
                               "limit (raise it with --max-file-size)")
        data = path.read_bytes()
    except OSError as exc:
        return Skip(shown, f"cannot read: {exc.strerror or exc}")
    return from_bytes(shown, kind, data, abspath=str(path.resolve()))


def from_bytes(shown: str, kind: str, data: bytes, abspath: str | None = None) -> SourceFile | Skip | ParseProblem:
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Skip(shown, "binary file")
    text, how = decode(data)
    if text is None:
        line = int(how.split(":")[0].split()[1]) if how.startswith("line ") else 1
        return ParseProblem(shown, line, 1, how.split(": ", 1)[-1])
    crlf = "\r\n" in text
    if crlf:
        text = text.replace("\r\n", "\n")
    return SourceFile(shown, kind, text, abspath, crlf, how, hashlib.sha256(data).hexdigest())


def read_stdin(max_size: int) -> SourceFile | Skip | ParseProblem:
    data = sys.stdin.buffer.read(max_size + 1)
    if len(data) > max_size:
        return Skip("<stdin>", "input is above the size limit (raise it with --max-file-size)")
    return from_bytes("<stdin>", YAML, data)
