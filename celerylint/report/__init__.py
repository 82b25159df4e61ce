"""Reporters: each formats a ``Result`` and decides nothing.

Every format is a module here with ``render(result, stream)``; ``FORMATS`` lists them in the
order ``--format`` shows them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, TextIO

from celerylint.diagnostics import Applicability, Diagnostic, Severity
from celerylint.sources import Skip

FORMATS = ("text", "concise", "json", "github", "sarif", "junit", "gitlab")

_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass
class Result:
    """What one run found, as every reporter sees it."""

    diagnostics: list[Diagnostic]
    files: int
    skipped: list[Skip] = field(default_factory=list)
    fixed: int | None = None  # findings fixed by --fix (None when not fixing)
    unsafe_fixes: bool = False  # unsafe fixes count as applicable
    paths: list[str] = field(default_factory=list)  # every file checked, for per-file formats
    rules: list[Any] = field(default_factory=list)  # engine.Rule, for formats that describe rules
    suppressed: list[Any] = field(default_factory=list)  # (Diagnostic, suppress.Suppression)
    baselined: int = 0  # findings left out because the baseline has them
    colour: bool = False  # text output: ANSI colours (--color, decided for standard output)
    quiet: bool = False  # text output: the findings only, no summary line

    def fixable(self) -> int:
        return sum(1 for d in self.diagnostics if d.fix is not None and (
            self.unsafe_fixes or d.fix.applicability is Applicability.SAFE))

    def counts(self) -> dict[str, int]:
        counts = {"error": 0, "warning": 0, "info": 0}
        for d in self.diagnostics:
            counts[d.severity.value] += 1
        return counts

    def most_severe_first(self) -> list[Diagnostic]:
        return sorted(self.diagnostics, key=lambda d: (_ORDER[d.severity], d.sort_key()))


def render(name: str, result: Result, stream: TextIO) -> None:
    """Format the result and write it. A file name that is not valid UTF-8 (its bytes kept as
    surrogates) is written back as its own bytes, never as an encoding error."""
    import io

    text = io.StringIO()
    importlib.import_module(f"celerylint.report.{name}").render(result, text)
    data = text.getvalue().encode("utf-8", "surrogateescape")
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()
        buffer.write(data)
        buffer.flush()
    else:
        stream.write(data.decode("utf-8", "replace"))
