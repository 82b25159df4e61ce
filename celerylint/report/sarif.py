"""``--format sarif``: SARIF 2.1.0 as GitHub code scanning ingests it.

One run; ``tool.driver.rules`` describes every rule from its documentation (short description
from its summary, full description and ``help`` from its docstring), and each result has a full
``region`` (so nothing lands on line 1), a repository-relative ``uri``, a partial fingerprint that
survives line moves, and the finding's patch in ``fixes``. Columns count Unicode code points, as
``columnKind`` says.
"""

from __future__ import annotations

import json
from typing import TextIO

from celerylint import HOMEPAGE, __version__
from celerylint.diagnostics import Diagnostic
from celerylint.report import Result

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def _uri(path: str) -> str:
    """A relative reference with every reserved or non-ASCII character percent-encoded (UTF-8;
    undecodable file-name bytes as they are), so ``worker:v2.yaml`` is not read as a scheme."""
    from urllib.parse import quote

    path = path[2:] if path.startswith("./") else path
    return quote(path.encode("utf-8", "surrogateescape"), safe="/")


def _region(span) -> dict:
    return {"startLine": span.line, "startColumn": span.column, "endLine": span.end_line,
            "endColumn": span.end_column}


def _rule(rule) -> dict:
    doc = rule.doc
    first, _, body = doc.partition("\n")
    described = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": (rule.section("What it finds") or rule.summary)[:1000]},
        "help": {"text": doc, "markdown": f"# {first}\n\n{body.strip()}"},
        "helpUri": rule.doc_url,
        "defaultConfiguration": {"level": LEVELS[rule.severity.value]},
        "properties": {"tags": ["celery"]},
    }
    if rule.security_severity is not None:
        described["properties"] = {"tags": ["celery", "security"],
                                   "security-severity": f"{rule.security_severity:.1f}"}
    return described


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


def _location(span, message: str | None = None, id_: int | None = None) -> dict:
    location: dict = {"physicalLocation": {"artifactLocation": {"uri": _uri(span.path)},
                                           "region": _region(span)}}
    if message is not None:
        location["message"] = {"text": message}
    if id_ is not None:
        location["id"] = id_
    return location


def _result(d: Diagnostic, index: dict[str, int]) -> dict:
    result = {
        "ruleId": d.code,
        "level": LEVELS[d.severity.value],
        "message": {"text": d.message + (f"\nHint: {d.hint}" if d.hint else "")},
        "locations": [_location(d.span)],
        "partialFingerprints": {"celerylint/v1": d.stable_id},
    }
    if d.related:
        result["relatedLocations"] = [_location(r.span, r.message, i)
                                      for i, r in enumerate(d.related)]
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
                                "informationUri": HOMEPAGE, "rules": rules}},
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
