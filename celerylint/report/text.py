"""Human output: ``path:line:col: CODE severity: message (name)``, an indented hint, a summary."""

from __future__ import annotations

import sys
from typing import TextIO

from celerylint.diagnostics import Diagnostic, Severity
from celerylint.report import Result

_COLOURS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"


def printable(text: str) -> str:
    """Text safe for a terminal and a one-line record: control characters (escape sequences,
    newlines) and undecodable file-name bytes are shown escaped, never sent raw."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else
                   f"\\x{ord(c) - 0xDC00:02x}" if "\udc80" <= c <= "\udcff" else
                   c.encode("unicode_escape").decode("ascii") for c in text)


def line(d: Diagnostic, colour: bool = False) -> str:
    s = d.span
    severity = d.severity.value
    path, message = printable(s.path), printable(d.message)
    if colour:
        severity = f"{_COLOURS[d.severity]}{severity}{_RESET}"
        return (f"{_BOLD}{path}:{s.line}:{s.column}:{_RESET} {d.code} {severity}: {message} "
                f"{_DIM}({d.name}){_RESET}")
    return f"{path}:{s.line}:{s.column}: {d.code} {severity}: {message} ({d.name})"


def summary(result: Result) -> str:
    counts = result.counts()
    files = f"{result.files} file{'s' if result.files != 1 else ''}"
    fixed = f"Fixed {result.fixed} problem{'s' if result.fixed != 1 else ''}. " \
        if result.fixed else ""
    if not result.diagnostics:
        return (f"{fixed}No problems found in {files}." if not fixed else
                f"{fixed}No problems remain in {files}.") + _hidden(result)
    parts = [f"{n} {name}{'s' if n != 1 and name != 'info' else ''}"
             for name, n in counts.items() if n]
    total = len(result.diagnostics)
    found = (f"{total} problem{'s remain' if total != 1 else ' remains'}" if result.fixed else
             f"Found {total} problem{'s' if total != 1 else ''}")
    fixable = result.fixable()
    tail = f" {fixable} fixable with --fix." if fixable and result.fixed is None else ""
    return f"{fixed}{found} ({', '.join(parts)}) in {files}.{tail}{_hidden(result)}"


def _hidden(result: Result) -> str:
    """`` 2 suppressed, 5 in the baseline.`` when findings were left out."""
    parts = []
    if result.suppressed:
        parts.append(f"{len(result.suppressed)} suppressed")
    if result.baselined:
        parts.append(f"{result.baselined} in the baseline")
    return f" ({', '.join(parts)})" if parts else ""


def render(result: Result, stream: TextIO = sys.stdout) -> None:
    colour = result.colour
    for d in result.diagnostics:
        stream.write(line(d, colour) + "\n")
        if d.hint:
            stream.write(f"    hint: {printable(d.hint)}\n")
        if d.fix:
            how = "--fix" if d.fix.applicability.value == "safe" else "--fix --unsafe-fixes"
            stream.write(f"    fix ({d.fix.applicability.value}, {how}): {d.fix.title}\n")
        for related in d.related:
            stream.write(f"    {printable(related.span.path)}:{related.span.line}: "
                         f"{printable(related.message)}\n")
    if not result.quiet:
        stream.write(summary(result) + "\n")
