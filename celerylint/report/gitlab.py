"""``--format gitlab``: a GitLab Code Quality report (a JSON array of issues).

Severities map to Code Quality's scale: error -> major, warning -> minor, info -> info. The
fingerprint is stable across line moves: rule, path, the text of the offending line, the object it
is in and the message (which carries no line numbers).
"""

from __future__ import annotations

import json
from typing import TextIO

from celerylint.report import Result

SEVERITIES = {"error": "major", "warning": "minor", "info": "info"}


def render(result: Result, stream: TextIO) -> None:
    issues = []
    for d in result.diagnostics:
        issues.append({
            "description": f"{d.code} {d.message}",
            "check_name": d.name,
            "fingerprint": d.stable_id[:32],
            "severity": SEVERITIES[d.severity.value],
            "location": {"path": d.path, "lines": {"begin": d.span.line, "end": d.span.end_line}},
        })
    json.dump(issues, stream, indent=2)
    stream.write("\n")
