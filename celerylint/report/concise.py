"""``--format concise``: one line per finding and a summary, the lines the problem matcher reads.

``path:line:col: CODE severity: message (name)``; no hints, no colour.
"""

from __future__ import annotations

from typing import TextIO

from celerylint.report import Result
from celerylint.report.text import line, summary


def render(result: Result, stream: TextIO) -> None:
    for diagnostic in result.diagnostics:
        stream.write(line(diagnostic) + "\n")
    if not result.quiet:
        stream.write(summary(result) + "\n")
