"""``--format json``: one object, ``{"version", "diagnostics", "summary"}`` (see README)."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from celerylint import __version__
from celerylint.diagnostics import Diagnostic
from celerylint.report import Result


def diagnostic(d: Diagnostic) -> dict:
    s = d.span
    return {
        "code": d.code, "name": d.name, "severity": d.severity.value, "path": s.path,
        "line": s.line, "column": s.column, "end_line": s.end_line, "end_column": s.end_column,
        "message": d.message, "hint": d.hint, "fix": None,
    }


def render(result: Result, stream: TextIO = sys.stdout) -> None:
    document = {
        "version": __version__,
        "diagnostics": [diagnostic(d) for d in result.diagnostics],
        "summary": {
            "files": result.files,
            **result.counts(),
            "skipped": [{"path": s.path, "reason": s.reason} for s in result.skipped],
        },
    }
    json.dump(document, stream, indent=2)
    stream.write("\n")
