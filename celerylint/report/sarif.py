"""``--format sarif``: SARIF 2.1.0 as GitHub code scanning ingests it.

One run; ``tool.driver.rules`` describes every rule from its documentation (short description
from its summary, full description and ``help`` from its docstring), and each result has a full
``region`` (so nothing lands on line 1), a repository-relative ``uri``, a partial fingerprint that
survives line moves, and the finding's patch in ``fixes``. Columns count Unicode code points, as
``columnKind`` says.
"""

from __future__ import annotations

import hashlib
import json
from typing import TextIO

from celerylint import __version__
from celerylint.diagnostics import Diagnostic
from celerylint.report import Result

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/celerylint/"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def _uri(path: str) -> str:
    return path[2:] if path.startswith("./") else path


def _region(span) -> dict:
    return {"startLine": span.line, "startColumn": span.column, "endLine": span.end_line,
            "endColumn": span.end_column}


def _rule(rule) -> dict:
    doc = rule.doc
    first, _, body = doc.partition("\n")
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": (rule.section("What it finds") or rule.summary)[:1000]},
        "help": {"text": doc, "markdown": f"# {first}\n\n{body.strip()}"},
        "defaultConfiguration": {"level": LEVELS[rule.severity.value]},
        "properties": {"tags": ["celery"]},
    }


def _fix(d: Diagnostic) -> list[dict]:
    if d.fix is None:
        return []
    changes: dict[str, list] = {}
    for e in d.fix.edits:
        changes.setdefault(e.path, []).append({"deletedRegion": _region(e.span),
                                               "insertedContent": {"text": e.content}})
    return [{"description": {"text": f"{d.fix.title} ({d.fix.applicability.value})"},
             "artifactChanges": [{"artifactLocation": {"uri": _uri(path)}, "replacements": r}
                                 for path, r in changes.items()]}]


def _result(d: Diagnostic, index: dict[str, int]) -> dict:
    fingerprint = hashlib.sha256(f"{d.code}\0{d.path}\0{d.message}".encode()).hexdigest()
    result = {
        "ruleId": d.code,
        "level": LEVELS[d.severity.value],
        "message": {"text": d.message + (f"\nHint: {d.hint}" if d.hint else "")},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(d.path)},
                                            "region": _region(d.span)}}],
        "partialFingerprints": {"celerylint/v1": fingerprint},
    }
    if d.code in index:
        result["ruleIndex"] = index[d.code]
    fixes = _fix(d)
    if fixes:
        result["fixes"] = fixes
    return result


def document(result: Result) -> dict:
    rules = [_rule(r) for r in result.rules]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "celerylint", "version": __version__,
                                "semanticVersion": __version__,
                                "informationUri": INFORMATION_URI, "rules": rules}},
            "columnKind": "unicodeCodePoints",
            "results": [_result(d, index) for d in result.diagnostics] + [
                {**_result(d, index), "suppressions": [{
                    "kind": "inSource" if s.kind in ("inline", "annotation") else "external",
                    "justification": s.reason or f"suppressed by {s.kind} ({s.where})"}]}
                for d, s in result.suppressed],
        }],
    }


def render(result: Result, stream: TextIO) -> None:
    json.dump(document(result), stream, indent=2)
    stream.write("\n")
