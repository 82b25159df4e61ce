"""Compose's variables: the ``.env`` and ``env_file`` format, and ``${VAR}`` interpolation.

Facts (Compose Specification 12-interpolation.md and the env_file format of 05-services.md,
tested with Compose 2.40, ``../shared/reference/carriers.md`` §1):
- ``$VAR``, ``${VAR}``; ``${VAR:-d}`` when VAR is unset or empty, ``${VAR-d}`` when unset;
  ``${VAR:?e}``/``${VAR?e}`` abort when unset; ``${VAR:+r}``/``${VAR+r}`` give r when set;
  ``$$`` is a literal ``$``; defaults may nest (``${A:-${B}}``).
- values come from the shell environment first, then the project's ``.env``.

celerylint cannot see the shell that will run ``docker compose``: a variable the project's
``.env`` does not define is *unknown*. It stays written as it was (``${VAR}``) and the value is
marked dynamic, so rules treat it as something they cannot know, never as empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Nesting of ``${A:-${B:-${C}}}`` followed; deeper text stays unknown.
MAX_NESTING = 16


@dataclass
class Variables:
    """What interpolation may use: the project's ``.env`` values (None: listed without one)."""

    values: dict[str, str | None] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        return self.values.get(name)


@dataclass(frozen=True)
class Interpolated:
    text: str  # unknown references stay as written
    dynamic: bool  # it holds a reference to a variable we cannot know
    # the stretches of ``text`` copied from the written value: (start in text, start in the
    # written value, length); what a substitution produced is in none of them
    literal: tuple[tuple[int, int, int], ...] = ()

    def written(self, start: int, end: int) -> tuple[int, int] | None:
        """Where ``text[start:end]`` is in the written value, when it was copied unchanged."""
        for out, raw, length in self.literal:
            if out <= start and end <= out + length:
                return raw + start - out, raw + end - out
        return None


def interpolate(text: str, variables: Variables) -> Interpolated:
    """Compose's interpolation of one string value."""
    if "$" not in text:
        return Interpolated(text, False, ((0, 0, len(text)),))
    runs: list[list[int]] = []
    out, end, dynamic = _expand(text, 0, variables, 0, None, runs)
    return Interpolated(out, dynamic, tuple(tuple(r) for r in runs))


def _expand(text: str, i: int, variables: Variables, depth: int,
            closing: str | None, runs: list[list[int]] | None = None) -> tuple[str, int, bool]:
    """Expand from ``i`` up to an unmatched ``closing`` (``}`` inside a default) or the end;
    ``runs`` collects the stretches copied as written."""
    out: list[str] = []
    length = 0
    dynamic = False
    n = len(text)
    while i < n:
        c = text[i]
        if closing is not None and c == closing:
            break
        if c != "$":
            if runs is not None:
                if runs and runs[-1][0] + runs[-1][2] == length and runs[-1][1] + runs[-1][2] == i:
                    runs[-1][2] += 1
                else:
                    runs.append([length, i, 1])
            out.append(c)
            length += 1
            i += 1
            continue
        nxt = text[i + 1:i + 2]
        if nxt == "$":
            value = "$"
            i += 2
        elif nxt == "{":
            value, i, unknown = _braced(text, i, variables, depth)
            dynamic = dynamic or unknown
        else:
            match = _NAME.match(text, i + 1)
            value = variables.get(match.group(0)) if match else "$"
            if value is None:
                value = text[i:match.end()]  # unknown: stays as written
                dynamic = True
            i = match.end() if match else i + 1
        out.append(value)
        length += len(value)
    return "".join(out), i, dynamic


def _braced(text: str, i: int, variables: Variables, depth: int) -> tuple[str, int, bool]:
    """``${...}`` at ``i``: its value, the offset after it, and whether it is unknown."""
    match = _NAME.match(text, i + 2)
    if match is None or depth >= MAX_NESTING:
        close = text.find("}", i)
        end = close + 1 if close >= 0 else len(text)
        return text[i:end], end, True
    name = match.group(0)
    j = match.end()
    operator = ""
    for candidate in (":-", ":?", ":+", "-", "?", "+"):
        if text.startswith(candidate, j):
            operator = candidate
            break
    if not operator:
        if text[j:j + 1] != "}":
            close = text.find("}", j)
            end = close + 1 if close >= 0 else len(text)
            return text[i:end], end, True
        value = variables.get(name)
        return (text[i:j + 1], j + 1, True) if value is None else (value, j + 1, False)
    word, end, word_dynamic = _expand(text, j + len(operator), variables, depth + 1, "}")
    end = end + 1 if end < len(text) else end
    raw = text[i:end]
    value = variables.get(name)
    empty_counts = operator.startswith(":")
    is_set = value is not None and (value != "" or not empty_counts)
    kind = operator[-1]
    if value is None and name in variables.values:
        return raw, end, True  # listed without a value: the shell's, unknown here
    if kind == "-":
        return (value, end, False) if is_set else (word, end, word_dynamic)
    if kind == "+":
        if value is None:
            return raw, end, True
        return (word, end, word_dynamic) if is_set else ("", end, False)
    # "?": the variable is required; without it Compose stops, so its value stays unknown
    return (value, end, False) if is_set else (raw, end, True)


# -- the env_file format -------------------------------------------------------------------------

@dataclass(frozen=True)
class Assignment:
    name: str
    value: str | None  # None: ``VAR`` alone takes the shell's value, unknown here
    line: int
    column: int  # of the name
    end_column: int  # after the value on its first line


_LINE = re.compile(r"[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*(=?)")


def parse_env_file(text: str, variables: Variables | None = None) -> list[Assignment]:
    """The assignments of a ``.env`` or ``env_file`` file, in order. Double-quoted and unquoted
    values are interpolated with ``variables`` and the file's earlier lines; single-quoted ones
    are literal. Lines that are not assignments are ignored, as Compose ignores comments."""
    scope = Variables(dict(variables.values) if variables else {})
    found: list[Assignment] = []
    lines = text.split("\n")
    number = 0
    while number < len(lines):
        row = lines[number]
        number += 1
        stripped = row.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(row)
        if match is None:
            continue
        name = match.group(1)
        line, column = number, match.start(1) + 1
        if not match.group(2):
            if row[match.end():].strip() == "":
                found.append(Assignment(name, scope.get(name), number, column, len(row) + 1))
            continue
        rest = row[match.end():].lstrip(" \t")
        quote = rest[:1]
        if quote in ("'", '"'):
            body, consumed = _quoted(rest, quote, lines, number)
            number += consumed
            if quote == '"':
                body = _unescape(body)
                value = interpolate(body, scope)
                body = value.text if not value.dynamic else None
        else:
            cut = re.search(r"[ \t]#", rest)
            body = (rest[:cut.start()] if cut else rest).rstrip()
            value = interpolate(body, scope)
            body = value.text if not value.dynamic else None
        scope.values[name] = body
        found.append(Assignment(name, body, line, column, len(row) + 1))
    return found


def _quoted(rest: str, quote: str, lines: list[str], number: int) -> tuple[str, int]:
    """A quoted value, which may run over several lines; (value, extra lines consumed)."""
    text = rest[1:]
    consumed = 0
    parts = []
    while True:
        i = 0
        while i < len(text):
            if text[i] == "\\" and quote == '"' and i + 1 < len(text):
                i += 2
                continue
            if text[i] == quote:
                parts.append(text[:i])
                return "\n".join(parts), consumed
            i += 1
        parts.append(text)
        if number + consumed >= len(lines) or consumed >= 1000:
            return "\n".join(parts), consumed  # unterminated: what there is
        text = lines[number + consumed]
        consumed += 1


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"'}


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), text)
