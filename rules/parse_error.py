"""parse-error: a file, or a document in it, that celerylint could not read.

## What it finds
YAML that does not parse, a Dockerfile with an unknown instruction or an unterminated heredoc, a
requirements line that pip would reject, a `pyproject.toml`, `Pipfile` or lock file that is not
valid TOML (JSON for `Pipfile.lock`) or declares a dependency of the wrong type (`dependencies`
as a table, a number where a requirement string belongs), text that is not UTF-8 or UTF-16, and
documents refused for safety: YAML alias bombs, aliases that add more than 100,000 nodes, and
nesting deeper than 400 levels.

## Symptoms
`kubectl apply` fails with `error converting YAML to JSON`, `docker build` with
`unknown instruction`, pip with `ERROR: Invalid requirement`.

## Why
A file that cannot be read is not checked at all: every other rule is blind to it. It is reported
once, at the line and column where the parser stopped, and the other files are still checked.

## Fix
Correct the syntax at the reported position.

## When it stays silent
- Files celerylint does not read (by name) and documents that parse but are not Kubernetes objects.
- YAML custom tags such as CloudFormation's `!Ref` are read as data, not rejected.
- Helm charts (a directory with `Chart.yaml`) are rendered by Helm, never parsed as plain YAML.
- A file that does not parse and is a template celerylint cannot render (Go or Helm `{{ .Values }}`
  outside a chart, Jinja `{% %}`, a GitHub Actions workflow's `${{ }}`) is a notice, "not rendered:
  not checked", that leaves the exit status alone; `--strict-parse` (or `strict-parse = true`)
  makes it this error again.

## References
- YAML 1.1 as read by PyYAML (libyaml), which `kubectl` agrees with for these errors.
- Dockerfile reference, https://docs.docker.com/reference/dockerfile/
- pip requirements file format, https://pip.pypa.io/en/stable/reference/requirements-file-format/
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Finding, Severity, Span
from celerylint.engine import Context

CODE = "CL001"
NAME = "parse-error"
SEVERITY = Severity.ERROR
SUMMARY = "a file or document could not be parsed"


def check(context: Context) -> Iterator[Finding]:
    for problem in context.deployment.problems:
        span = Span(problem.path, problem.line, problem.column, problem.line, problem.column + 1)
        yield Finding(span, problem.message, "fix the syntax here; nothing else in this file or "
                      "document was checked")
