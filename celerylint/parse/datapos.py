"""TOML and JSON with positions: the parsed data, and where each key and string is written.

``tomllib`` and ``json`` give values without positions, and findings and fixes must point at the
requirement string as written. So the text is parsed by the standard library first (which also
decides what is valid), then walked once more by a small scanner that records, for each path
(``("project", "dependencies", 2)``), where its value starts, where its key is written, and for
strings the offsets of the content between the quotes (raw: a fix edits the text as written).

The scanner reads each character a bounded number of times (``str.find`` and regular
expressions without nested quantifiers, an explicit stack instead of recursion), so a document
costs linear time whatever its nesting. It relies on the text being valid, which the parser
has just checked; it never decodes anything but quoted keys.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

Path = tuple[Union[str, int], ...]

_SPACE = re.compile(r"[ \t]*")
_SPACE_LINES = re.compile(r"(?:[ \t\n]|#[^\n]*)*")  # blanks, line ends and comments
_JSON_SPACE = re.compile(r"[ \t\n]*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOML_SCALAR = re.compile(r"[^,\]}\n#]*")  # numbers, booleans, dates (which may hold a space)
_JSON_SCALAR = re.compile(r"[^,\]}\s]*")
_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass
class Positions:
    """Offsets in the text, by path: where each value starts, where the key that names it is
    written (the last part of a dotted key or table header), and a string's raw content."""

    values: dict[Path, int] = field(default_factory=dict)
    keys: dict[Path, int] = field(default_factory=dict)
    strings: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def at(self, path: Path) -> int:
        """The best offset to report something about ``path``: its key, else its value, else
        the nearest enclosing path's."""
        while path:
            if path in self.keys:
                return self.keys[path]
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return 0


@dataclass
class Invalid:
    """Why the text is not valid TOML or JSON, and where (1-based line and column)."""

    line: int
    column: int
    message: str


Keep = Callable[[Path], bool]


def load_toml(text: str, keep: Keep) -> tuple[dict[str, Any], Positions] | Invalid:
    """The document and the positions of the paths ``keep`` accepts, or why it is invalid."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
        message = str(exc.args[0]) if exc.args else str(exc)
        found = _TOML_AT.search(message)
        if line is None and found:
            line, column = int(found.group(1)), int(found.group(2))
        message = _TOML_AT.sub("", message).replace("(at end of document)", "").strip()
        if line is None:  # "at end of document"
            line = text.count("\n") + 1
            column = len(text) - (text.rfind("\n") + 1) + 1
        return Invalid(line, column or 1, f"invalid TOML: {message}")
    except (RecursionError, MemoryError):
        return Invalid(1, 1, "invalid TOML: nested too deeply to be read")
    scanner = _TomlScanner(text, keep)
    try:
        scanner.run()
    except _Lost:  # the scanner and tomllib disagree: keep what was found, report at line 1
        pass
    return data, scanner.found


def load_json(text: str, keep: Keep) -> tuple[Any, Positions] | Invalid:
    """The document and the positions of the paths ``keep`` accepts, or why it is invalid."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return Invalid(exc.lineno, exc.colno, f"invalid JSON: {exc.msg}")
    except (RecursionError, MemoryError):
        return Invalid(1, 1, "invalid JSON: nested too deeply to be read")
    found = Positions()
    try:
        _json_positions(text, keep, found)
    except _Lost:
        pass
    return data, found


class _Lost(Exception):
    """The scanner met something the parser accepted and it does not understand."""


def _basic_end(text: str, start: int, quote: str) -> int:
    """The offset of the closing delimiter of a basic (backslash-escaped) string whose content
    starts at ``start``: the first ``quote`` not escaped by an odd run of backslashes."""
    at = start
    while True:
        found = text.find(quote, at)
        if found < 0:
            return len(text)
        slashes = found
        while slashes > start and text[slashes - 1] == "\\":
            slashes -= 1
        if (found - slashes) % 2 == 0:
            return found
        at = found + 1


def _toml_string(text: str, i: int) -> tuple[int, int, int]:
    """``(content start, content end, offset after the string)`` of the TOML string at ``i``."""
    quote = text[i]
    if text.startswith(quote * 3, i):
        start = i + 3
        if text.startswith("\n", start):  # a line end right after the delimiter is trimmed
            start += 1
        close = _basic_end(text, start, '"""') if quote == '"' else text.find("'''", start)
        close = len(text) if close < 0 else close
        run = close
        while run < len(text) and run - close < 5 and text[run] == quote:
            run += 1
        return start, run - 3, run  # up to two quotes before the delimiter are content
    close = _basic_end(text, i + 1, '"') if quote == '"' else text.find("'", i + 1)
    close = len(text) if close < 0 else close
    return i + 1, close, close + 1


class _TomlScanner:
    def __init__(self, text: str, keep: Keep) -> None:
        self.text = text
        self.keep = keep
        self.found = Positions()

    def run(self) -> None:
        text, n = self.text, len(self.text)
        table: Path = ()
        tables_array: dict[Path, int] = {}  # an array of tables -> the index of its last table
        i = 0
        while True:
            i = _SPACE_LINES.match(text, i).end()
            if i >= n:
                return
            if text[i] == "[":
                double = text.startswith("[[", i)
                parts, i = self._key(i + (2 if double else 1))
                i = _SPACE.match(text, i).end() + (2 if double else 1)
                path: Path = ()
                for number, (name, _) in enumerate(parts):
                    path += (name,)
                    if path in tables_array and (number < len(parts) - 1 or not double):
                        path += (tables_array[path],)
                if double:
                    tables_array[path] = tables_array.get(path, -1) + 1
                    self._key_at(path, parts[-1][1])
                    path += (tables_array[path],)
                    self._key_at(path, parts[-1][1])
                else:
                    self._key_at(path, parts[-1][1])
                table = path
                continue
            parts, i = self._key(i)
            path = table
            for name, offset in parts:
                path += (name,)
                self._key_at(path, offset)
            i = self._equals(i)
            i = self._value(i, path)

    def _key_at(self, path: Path, offset: int) -> None:
        if self.keep(path):
            self.found.keys[path] = offset

    def _equals(self, i: int) -> int:
        i = _SPACE.match(self.text, i).end()
        if not self.text.startswith("=", i):
            raise _Lost(i)
        return i + 1

    def _key(self, i: int) -> tuple[list[tuple[str, int]], int]:
        """A dotted key: its parts with the offset of each."""
        text = self.text
        parts = []
        while True:
            i = _SPACE.match(text, i).end()
            if text[i] in "\"'":
                start, end, after = _toml_string(text, i)
                raw = text[start:end]
                name = raw if text[i] == "'" or "\\" not in raw else \
                    tomllib.loads(f"k = {text[i:after]}")["k"]
            else:
                match = _BARE_KEY.match(text, i)
                if match is None:
                    raise _Lost(i)
                after = match.end()
                name = text[i:after]
            parts.append((name, i))
            i = _SPACE.match(text, after).end()
            if not text.startswith(".", i):
                return parts, i
            i += 1

    def _value(self, i: int, path: Path) -> int:
        """Record the value at ``i`` (and everything inside it) under ``path``; return the
        offset after it."""
        text = self.text
        stack: list[list] = []  # [kind, path, next index] for the open arrays and inline tables
        while True:
            i = _SPACE_LINES.match(text, i).end() if stack else _SPACE.match(text, i).end()
            kept = self.keep(path)
            if kept:
                self.found.values[path] = i
            char = text[i] if i < len(text) else ""
            if char in ("'", '"'):
                start, end, i = _toml_string(text, i)
                if kept:
                    self.found.strings[path] = (start, end)
            elif char in ("[", "{"):
                stack.append([char, path, 0])
                i += 1
            else:
                i = _TOML_SCALAR.match(text, i).end()
            # after a value, or just inside a bracket: the next item, or close what is done
            while True:
                if not stack:
                    return i
                frame = stack[-1]
                i = _SPACE_LINES.match(text, i).end()
                char = text[i] if i < len(text) else "]"
                if char in "]}":
                    stack.pop()
                    i += 1
                    continue
                if char == ",":
                    i = _SPACE_LINES.match(text, i + 1).end()
                    if text.startswith(("]", "}"), i):
                        continue  # a trailing comma
                elif frame[2] > 0:
                    raise _Lost(i)  # not in valid TOML
                if frame[0] == "[":
                    path = frame[1] + (frame[2],)
                    frame[2] += 1
                else:
                    parts, i = self._key(i)
                    path = frame[1]
                    for name, offset in parts:
                        path += (name,)
                        self._key_at(path, offset)
                    frame[2] += 1
                    i = self._equals(i)
                break


def _json_positions(text: str, keep: Keep, found: Positions) -> None:
    stack: list[list] = []  # [kind, path, next index]
    path: Path = ()
    i, n = 0, len(text)
    while True:
        i = _JSON_SPACE.match(text, i).end()
        kept = keep(path)
        if kept:
            found.values[path] = i
        char = text[i] if i < n else ""
        if char == '"':
            end = _basic_end(text, i + 1, '"')
            if kept:
                found.strings[path] = (i + 1, end)
            i = end + 1
        elif char in ("[", "{"):
            stack.append([char, path, 0])
            i += 1
        else:
            i = _JSON_SCALAR.match(text, i).end()
        while True:
            if not stack:
                return
            frame = stack[-1]
            i = _JSON_SPACE.match(text, i).end()
            char = text[i] if i < n else "]"
            if char in "]}":
                stack.pop()
                i += 1
                continue
            if char == ",":
                i = _JSON_SPACE.match(text, i + 1).end()
            elif frame[2] > 0:
                raise _Lost(i)  # not in valid JSON
            if frame[0] == "[":
                path = frame[1] + (frame[2],)
            else:
                end = _basic_end(text, i + 1, '"')
                raw = text[i + 1:end]
                path = frame[1] + (raw if "\\" not in raw else json.loads(text[i:end + 1]),)
                if keep(path):
                    found.keys[path] = i
                i = _JSON_SPACE.match(text, end + 1).end() + 1  # the ":"
            frame[2] += 1
            break
