"""unused-suppression: an inline `celerylint: ignore[...]` that suppresses nothing.

## What it finds
A `# celerylint: ignore[...]` or `ignore-file[...]` comment none of whose rules reports a finding
where it applies, or one that names a rule celerylint does not have.

## Symptoms
- None at run time: stale suppressions hide the next real problem on that line, and a misspelt
  rule name silences nothing while looking like it does.

## Why
Suppressions outlive the problems they were written for (ruff's RUF100 and hadolint's DL1001
exist for the same reason). Reporting them keeps every suppression meaningful.

## Fix
Delete the comment, or correct the rule name. Automatic fix (safe): deletes the comment (the whole
line when it stands alone).

## When it stays silent
- with `--no-inline-suppressions` (nothing is suppressed then);
- when the rules a suppression names were not selected in this run (they may fire elsewhere).

## References
- ruff RUF100 (unused-noqa), hadolint DL1001.
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.yamledit import edit

CODE = "CL003"
NAME = "unused-suppression"
SEVERITY = Severity.WARNING
SUMMARY = "an inline suppression comment that suppresses nothing"
FIXABLE = True
#: Runs after the other rules, on their findings.
META = True


def check(context: Context) -> Iterator[Finding]:
    from celerylint.config import matches

    if context.directives is None:
        return
    selected = context.selected
    sources = {s.path: s for s in context.deployment.sources}
    for directive in context.directives:
        unknown = [s for s in directive.selectors
                   if not any(matches(s, r.code, r.name) for r in context.all_rules)]
        if not unknown and (directive.used or not any(
                matches(s, r.code, r.name) for s in directive.selectors for r in selected)):
            continue
        what = f"names unknown rules: {', '.join(unknown)}" if unknown else \
            f"matches no finding of {', '.join(directive.selectors)}"
        yield Finding(directive.span, f"this suppression {what}",
                      "delete it, or correct the rule name",
                      fix=_fix(sources.get(directive.span.path), directive))


def _fix(source, directive) -> Fix | None:
    if source is None:
        return None
    line = source.lines[directive.span.line - 1]
    start = source.offset(directive.span.line, 1)
    before = line[:directive.span.column - 1]
    if before.strip():  # a trailing comment: remove it and the spaces before it
        cut = len(before.rstrip())
        return Fix("delete the unused suppression",
                   [edit(source, start + cut, start + len(line), "")])
    end = source.offset(directive.span.line + 1, 1) if directive.span.line < len(source.lines) \
        else start + len(line)
    return Fix("delete the unused suppression line", [edit(source, start, end, "")])
