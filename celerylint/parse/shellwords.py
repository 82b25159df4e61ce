"""How Docker Compose splits a string ``command``/``entrypoint`` into argv: no shell at all.

compose-go hands the string to mattn/go-shellwords (``shellwords.Parse``, v1.0.12, environment
and backtick parsing off). Quotes group words and are removed, ``\\`` escapes the next character,
``#`` is an ordinary character, and the first unquoted ``;``, ``&``, ``|``, ``<`` or ``>`` ends the
command line silently: ``pip install x && celery worker`` runs ``pip install x`` only. A bare
``(`` (or ``$(`` left open) makes Compose reject the file ("invalid command line string").

This module is our own reading of that behaviour (``../shared/reference/carriers.md`` §1, tested
with Compose 2.40); each word keeps its offsets in the string, quotes included, so that findings
and fixes land on it.
"""

from __future__ import annotations

from dataclasses import dataclass

_SPACES = frozenset(" \t\r\n")
_STOPS = frozenset(";&|<>")


class InvalidCommandLine(ValueError):
    """The string Compose refuses ("invalid command line string")."""


@dataclass(frozen=True)
class SplitWord:
    text: str  # the argument, quotes and escapes removed
    start: int  # offset of its first character in the string (an opening quote included)
    end: int  # offset after its last character


@dataclass(frozen=True)
class Split:
    words: list[SplitWord]
    cut: int | None = None  # offset of the operator that ended the command line early


def split(line: str) -> Split:
    """The argv Compose runs for ``line`` (raises ``InvalidCommandLine`` where Compose does)."""
    words: list[SplitWord] = []
    buf: list[str] = []
    start = -1
    got = False  # a word is open (possibly an empty quoted one)
    escaped = double = single = back = dollar = False
    cut = None
    last = 0
    for i, c in enumerate(line):
        if escaped:
            buf.append(c)
            escaped, got = False, True
            last = i + 1
            continue
        if c == "\\" and not single:
            escaped = True
            start = i if start < 0 else start
            continue
        if c in _SPACES:
            if single or double or back or dollar:
                buf.append(c)
            elif got:
                words.append(SplitWord("".join(buf), start, last))
                buf, start, got = [], -1, False
            continue
        if start < 0:
            start = i
        if c == "`" and not (single or double or dollar):
            back = not back
        elif c == ")" and not (single or double or back):
            dollar = not dollar
        elif c == "(" and not (single or double or back):
            if dollar or not buf or buf[-1] != "$":
                raise InvalidCommandLine("invalid command line string (a bare '(')")
            dollar = True
            buf.append(c)
            last = i + 1
            continue
        elif c == '"' and not (single or dollar):
            got = got or double
            double = not double
            last = i + 1
            continue
        elif c == "'" and not (double or dollar):
            got = got or single
            single = not single
            last = i + 1
            continue
        elif c in _STOPS and not (single or double or back or dollar):
            if c == ">" and buf and buf[0].isdigit():
                got = False  # `2>&1`: the descriptor number is dropped with the redirection
            cut = i
            break
        got = True
        buf.append(c)
        last = i + 1
    if escaped or single or double or back or dollar:
        raise InvalidCommandLine("invalid command line string (an unclosed quote or escape)")
    if got:
        words.append(SplitWord("".join(buf), start, last))
    return Split(words, cut)
