"""``setup.cfg``: ``[options] install_requires`` and ``[options.extras_require]``, with positions.

``configparser`` gives no positions, so the file is read line by line the way setuptools reads
it: a value continues on the lines indented below its key, comment lines (``#``, ``;``) inside
it are dropped, a value written over several lines holds one requirement per line (so ``;``
starts a marker there), while a one-line value is split at ``;`` (setuptools warns that a marker
on one line is read as a separate requirement; we read it the same way). `` #`` starts an inline
comment, as setuptools' own requirement reader drops it. ``file:`` values are not followed: the
requirements file they name is read on its own when it is called ``requirements*.txt``.
"""

from __future__ import annotations

from celerylint.diagnostics import Span
from celerylint.parse.pyproject import Declaration, Entry
from celerylint.parse.requirements import parse_requirement
from celerylint.sources import ParseProblem, SourceFile

from packaging.utils import canonicalize_name


def _values(source: SourceFile) -> list[tuple[str, str, list[tuple[int, int, str]]]]:
    """``(section, key, [(line, column, text)])`` for every option of the file: the text after
    ``=``/``:`` on the key's line, then each continuation line."""
    found: list[tuple[str, str, list[tuple[int, int, str]]]] = []
    section = ""
    current: list[tuple[int, int, str]] | None = None
    for number, line in enumerate(source.lines, start=1):
        stripped = line.strip()
        indented = line[:1] in (" ", "\t")
        if not stripped or stripped[0] in "#;":
            continue  # blank lines and comments never end or add to a value
        if indented and current is not None:
            current.append((number, len(line) - len(line.lstrip()) + 1, line.strip()))
            continue
        current = None
        if stripped.startswith("[") and "]" in stripped:
            section = stripped[1:stripped.index("]")].strip()
            continue
        cut = min((at for at in (line.find("="), line.find(":")) if at >= 0), default=-1)
        if cut <= 0:
            continue  # not an option line: configparser would refuse the file, setuptools too
        key = line[:cut].strip().replace("-", "_")
        value = line[cut + 1:]
        column = cut + 2 + (len(value) - len(value.lstrip()))
        current = [(number, column, value.strip())] if value.strip() else []
        found.append((section, key, current))
    return found


def _entries(source: SourceFile, parts: list[tuple[int, int, str]],
             problems: list[ParseProblem]) -> list[Entry]:
    if parts and parts[0][2].startswith("file:"):
        return []
    if len(parts) == 1:  # one line: setuptools splits it at ';'
        line, column, text = parts[0]
        pieces, offset = [], 0
        for piece in text.split(";"):
            pieces.append((line, column + offset + len(piece) - len(piece.lstrip()), piece.strip()))
            offset += len(piece) + 1
        parts = pieces
    found = []
    for line, column, text in parts:
        text = text.partition(" #")[0].strip()
        if not text or text.startswith("#"):
            continue
        parsed = parse_requirement(text)
        if isinstance(parsed, str):
            problems.append(ParseProblem(source.path, line, column,
                                         f"invalid requirement: {parsed}"))
        elif parsed is not None:
            found.append(Entry(canonicalize_name(parsed.name), text, parsed,
                               Span(source.path, line, column, line, column + len(text))))
    return found


def read_setup_cfg(source: SourceFile) -> Declaration:
    result = Declaration()
    base: list[Entry] = []
    extras: list[tuple[str, list[Entry]]] = []
    for section, key, parts in _values(source):
        if section == "options" and key == "install_requires":
            result.declares = True
            base = _entries(source, parts, result.problems)
        elif section == "options.extras_require":
            result.declares = True
            extras.append((key, _entries(source, parts, result.problems)))
    if result.declares:
        result.sets.append((source.path, base))
        result.sets += [(f"{source.path} [options.extras_require] {name}", base + entries)
                        for name, entries in extras if entries]
    return result
