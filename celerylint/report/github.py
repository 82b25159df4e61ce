"""``--format github``: GitHub Actions workflow commands, one annotation per finding.

Follows the runner's parser (actions/runner ``ActionCommand.cs``): data escapes ``%``, CR and LF;
property values also ``:`` and ``,``. Paths are repository-relative without ``./``; columns are
given only when a finding is on one line (the Checks API rejects them otherwise); the message
repeats ``path:line:col`` so the raw log keeps it; ``info`` becomes ``notice``; and the most severe
findings come first, because GitHub shows only ten errors and ten warnings per step.
"""

from __future__ import annotations

from typing import TextIO

from celerylint.diagnostics import Diagnostic
from celerylint.report import Result

LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(d: Diagnostic) -> str:
    s = d.span
    path = s.path[2:] if s.path.startswith("./") else s.path
    properties = [f"file={escape_property(path)}", f"line={s.line}", f"endLine={s.end_line}"]
    if s.line == s.end_line:
        properties += [f"col={s.column}", f"endColumn={s.end_column}"]
    properties.append(f"title={escape_property(f'{d.code} {d.name}')}")
    message = f"{path}:{s.line}:{s.column}: {d.code} {d.message}"
    if d.hint:
        message += f"\nhint: {d.hint}"
    return f"::{LEVELS[d.severity.value]} {','.join(properties)}::{escape_data(message)}"


def render(result: Result, stream: TextIO) -> None:
    for diagnostic in result.most_severe_first():
        stream.write(annotation(diagnostic) + "\n")
