"""``--format json``: one object, ``{"version", "diagnostics", "summary"}`` (see README)."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from celerylint import __version__
from celerylint.diagnostics import Diagnostic, Fix
from celerylint.report import Result


def diagnostic(d: Diagnostic) -> dict:
    s = d.span
    return {
        "code": d.code, "name": d.name, "severity": d.severity.value, "path": s.path,
        "line": s.line, "column": s.column, "end_line": s.end_line, "end_column": s.end_column,
        "message": d.message, "hint": d.hint, "fix": fix(d.fix) if d.fix else None,
        "related": [{"path": r.span.path, "line": r.span.line, "column": r.span.column,
                     "end_line": r.span.end_line, "end_column": r.span.end_column,
                     "message": r.message} for r in d.related],
        "fingerprint": d.fingerprint,
    }


def fix(f: Fix) -> dict:
    return {
        "applicability": f.applicability.value, "title": f.title,
        "edits": [{"path": e.path, "line": e.span.line, "column": e.span.column,
                   "end_line": e.span.end_line, "end_column": e.span.end_column,
                   "content": e.content} for e in f.edits],
        "diff": f.diff,
    }


def render(result: Result, stream: TextIO = sys.stdout) -> None:
    document = {
        "version": __version__,
        "diagnostics": [diagnostic(d) for d in result.diagnostics],
        "suppressed": [{**diagnostic(d), "suppression": {"kind": s.kind, "justification": s.reason,
                                                         "where": s.where}}
                       for d, s in result.suppressed],
        "summary": {
            "files": result.files,
            **result.counts(),
            "fixable": result.fixable(),
            "fixed": result.fixed or 0,
            "suppressed": len(result.suppressed),
            "baselined": result.baselined,
            "skipped": [{"path": s.path, "reason": s.reason, **({"line": s.line} if s.line else {})}
                        for s in result.skipped],
        },
    }
    json.dump(document, stream, indent=2)
    stream.write("\n")
