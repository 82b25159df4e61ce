"""Reading files safely, as text with known line ends.

Reading never raises: a file that cannot be read or decoded becomes a ``Skip`` (reported to the
user as a notice) or a ``ParseProblem`` (reported as a ``parse-error`` finding), and the other
files are still checked. Only regular files inside the run's scope are opened (never a FIFO, a
device, or a symlink out of the tree), without blocking, and never more than the size limit is
read, whatever ``stat`` says.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Files above this size are skipped with a notice (``--max-file-size``).
DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024

YAML = "yaml"
DOCKERFILE = "dockerfile"
REQUIREMENTS = "requirements"
PACKAGING = "packaging"  # pyproject.toml, setup.cfg, Pipfile, lock files (model/requirement_sets.py)
PYTHON = "python"
SCRIPT = "script"  # a shell script: its here-document manifests (carriers/scripts.py)
CHART = "chart"  # a Helm chart directory, rendered (carriers/helm.py)
TEMPLATE = "template"  # a chart's template or values file: edited by fixes, never parsed as YAML
LAUNCHER = "launcher"  # a Procfile, supervisord file, s6/runit run file, systemd unit or entry script

#: Why a file the run found (an include, a COPY source, a symlink) was not opened.
OUTSIDE = "outside the checked tree, not read"

_EOL = re.compile(r"\r\n|\r|\n")

_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | \
    getattr(os, "O_CLOEXEC", 0)


@dataclass
class SourceFile:
    """One file's text, normalised to ``\\n`` line ends; ``path`` is what users see.

    ``crlf`` says every line ended in ``\\r\\n``; a file with mixed or ``\\r``-only line ends keeps
    each line's in ``eols``, so that a fix writes every line back as it was."""

    path: str
    kind: str
    text: str
    abspath: str | None
    crlf: bool = False
    encoding: str = "utf-8"  # "utf-8-sig" (a BOM) or "utf-16" are written back the same way
    digest: str = ""  # of the bytes read, so --fix can refuse a file changed since
    eols: tuple[str, ...] | None = None  # the end of each line, when they are not all alike
    project: str = ""  # the checked root the file belongs to (discover.Scope.project_of)
    documents: int = 0  # YAML documents the loader found (a fix must not change the number)

    @property
    def lines(self) -> list[str]:
        cached = self.__dict__.get("_lines")
        if cached is None:
            cached = self.text.split("\n")
            self.__dict__["_lines"] = cached
        return cached

    @property
    def starts(self) -> list[int]:
        """The offset where each line starts."""
        cached = self.__dict__.get("_starts")
        if cached is None:
            cached = [0]
            for row in self.lines[:-1]:
                cached.append(cached[-1] + len(row) + 1)
            self.__dict__["_starts"] = cached
        return cached

    def offset(self, line: int, column: int) -> int:
        """Character offset in ``text`` of a 1-based line and column."""
        starts = self.starts
        line = min(max(line, 1), len(starts))
        return min(starts[line - 1] + column - 1, len(self.text))

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset in ``text``."""
        row = bisect.bisect_right(self.starts, offset) - 1
        return row + 1, offset - self.starts[row] + 1

    def encode(self, text: str, eols: tuple[str, ...] | None = None) -> bytes:
        """Bytes for new text, with this file's encoding and line ends (``eols`` per line, for a
        file whose line ends differ)."""
        if eols is not None:
            rows = text.split("\n")
            default = max(set(eols), key=eols.count) if eols else "\n"
            text = "".join(row + (eols[i] if i < len(eols) else default)
                           for i, row in enumerate(rows[:-1])) + rows[-1]
        elif self.crlf:
            text = text.replace("\n", "\r\n")
        return text.encode(self.encoding)

    def edited(self, text: str, eols: tuple[str, ...] | None) -> "SourceFile":
        """This file with new text (and, for mixed line ends, the new lines' ends)."""
        return SourceFile(self.path, self.kind, text, self.abspath, self.crlf, self.encoding,
                          self.digest, eols, self.project)


@dataclass
class Skip:
    """A file that was not checked (or a limit reached in it), and why: shown as a notice, not
    a finding. ``line`` is set when the notice is about a place in the file."""

    path: str
    reason: str
    line: int | None = None
    verbose: bool = False  # only worth a line with --verbose (a file that is not a carrier)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


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


def read(path: Path, kind: str, max_size: int, overlay: dict[str, SourceFile] | None = None,
         scope: Any = None) -> SourceFile | Skip | ParseProblem:
    """Read one file; never raises. ``overlay`` holds files already edited in memory by
    ``--fix``/``--diff`` passes, by absolute path; ``scope`` (``discover.Scope``) refuses what
    lies outside the checked tree."""
    shown = display_path(path)
    try:
        real = scope.real_path(path) if scope is not None else os.path.realpath(path)
    except (OSError, ValueError) as exc:
        return Skip(shown, f"cannot read: {exc}")
    if real is None:
        return Skip(shown, "cannot read: no such path")
    if overlay and real in overlay:
        return overlay[real]
    if scope is not None and not scope.contains(real):
        return Skip(shown, OUTSIDE)
    data = read_bytes(real, max_size)
    if isinstance(data, str):
        return Skip(shown, data)
    result = from_bytes(shown, kind, data, abspath=real)
    if scope is not None and isinstance(result, SourceFile):
        result.project = scope.project_of(real)
    return result


def read_bytes(path: str, max_size: int) -> bytes | str:
    """At most ``max_size`` bytes of a regular file, or why it was not read. Opening never
    blocks (a FIFO without a writer) and devices are refused before anything is read."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            return "is a directory"
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file (a pipe, socket or device), not read"
        if info.st_size > max_size:
            return f"{info.st_size / 1048576:.1f} MiB is above the {max_size / 1048576:.1f} MiB " \
                   "limit (raise it with --max-file-size)"
        chunks, left = [], max_size + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_size:
            return f"grew above the {max_size / 1048576:.1f} MiB limit while it was read"
        return data
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    finally:
        os.close(fd)


def _utf16_without_bom(data: bytes) -> bool:
    """Mostly ASCII text written as UTF-16 without a BOM: every other byte is NUL."""
    sample = data[:4096]
    if len(sample) < 4:
        return False
    zeros = sample.count(b"\x00")
    return zeros * 2 >= len(sample) * 0.9 and (sample[0::2].count(b"\x00") == 0 or
                                                sample[1::2].count(b"\x00") == 0)


def from_bytes(shown: str, kind: str, data: bytes, abspath: str | None = None
               ) -> SourceFile | Skip | ParseProblem:
    """Decode bytes to text with ``\\n`` line ends; ``\\r\\n`` and lone ``\\r`` count as line
    ends, as the YAML parser counts them, so every line number agrees with an editor's."""
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        if _utf16_without_bom(data):
            return Skip(shown, "UTF-16 without a byte-order mark: save it as UTF-8 (or UTF-16 "
                               "with a BOM) to have it checked")
        return Skip(shown, "binary file")
    text, how = decode(data)
    if text is None:
        line = int(how.split(":")[0].split()[1]) if how.startswith("line ") else 1
        return ParseProblem(shown, line, 1, how.split(": ", 1)[-1])
    crlf, eols = False, None
    if "\r" in text:
        ends = _line_ends(text)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if set(ends) == {"\r\n"}:
            crlf = True
        elif set(ends) != {"\n"}:
            eols = tuple(ends)
    return SourceFile(shown, kind, text, abspath, crlf, how, hashlib.sha256(data).hexdigest(),
                      eols)


def _line_ends(text: str) -> list[str]:
    return _EOL.findall(text)


def read_stdin(max_size: int) -> SourceFile | Skip | ParseProblem:
    data = sys.stdin.buffer.read(max_size + 1)
    if len(data) > max_size:
        return Skip("<stdin>", "input is above the size limit (raise it with --max-file-size)")
    return from_bytes("<stdin>", YAML, data)
