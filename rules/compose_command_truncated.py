"""compose-command-truncated: a compose string command cut short at a shell operator.

## What it finds
A compose `command` or `entrypoint` written as a string holding an unquoted `;`, `&`, `&&`, `|`,
`||`, `<` or `>`: `command: python manage.py migrate && celery -A proj worker`,
`command: celery -A proj worker > /var/log/worker.log 2>&1`.

## Symptoms
- Only the first command runs: `migrate` finishes and the container exits 0, and the worker after
  `&&` is never started (`Exited (0)`, or restarted in a loop under `restart: always`).
- Output meant for a file still goes to the container log; a `| tee` never runs.

## Why
Compose does not run a string command through a shell: it splits it into arguments itself with
mattn/go-shellwords (compose-go `types/command.go`), which stops at the first unquoted `;`, `&`,
`|`, `<` or `>` and drops the rest without an error or a warning (tested with Compose 2.40:
`celery -A p worker && echo hi` became `[celery, -A, p, worker]`). The Compose Specification says
so too: a string command "does not implicitly run in the context of the SHELL instruction".

## Fix
Give each process its own service (a migration job, then the worker), or run a shell on purpose
and hand over to celery with `exec`: `command: ["sh", "-c", "python manage.py migrate && exec
celery -A proj worker"]`. No automatic fix: which of those you want is yours to say.

## When it stays silent
Operators inside quotes (`sh -c "a && b"` is one argument, run by the shell it names); commands
written as YAML lists (exec form, taken verbatim); Dockerfile and Kubernetes commands.

## References
- Compose Specification, services, `command`: https://github.com/compose-spec/compose-spec/blob/main/05-services.md#command
- mattn/go-shellwords v1.0.12 `shellwords.go` (`case ';', '&', '|', '<', '>': ... break loop`)
- `docker compose config` (Compose 2.40.3) prints `[celery, -A, p, worker]` for the string
  `celery -A p worker && echo hi`
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Finding, Severity, Span
from celerylint.engine import Context
from celerylint.parse import shellwords
from celerylint.parse.yamlnodes import locate
from celerylint.rules_support import compose_command_strings

CODE = "CL508"
NAME = "compose-command-truncated"
SEVERITY = Severity.ERROR
SUMMARY = "a compose string command holds a shell operator: Compose runs no shell and drops the rest"


def check(context: Context) -> Iterator[Finding]:
    for source, service, key, text, pos in compose_command_strings(context.deployment):
        try:
            split = shellwords.split(text)
        except shellwords.InvalidCommandLine:
            continue  # invalid-compose-file's finding
        if split.cut is None:
            continue
        operator = text[split.cut:split.cut + 2] if text[split.cut:split.cut + 2] in (
            "&&", "||", ">>") else text[split.cut]
        rest = text[split.cut + len(operator):].strip()
        redirect = operator[0] in "<>" or (operator == "&" and rest.startswith(">"))
        located = locate(source, pos, text, split.cut, split.cut + len(operator))
        kept = " ".join(w.text for w in split.words)
        dropped = f"`{operator} {rest}`"[:80] if rest else f"`{operator}`"
        yield Finding(
            Span(source.path, *located),
            f"the {key} of compose service '{service}' is split by Compose, not run by a shell: "
            f"it ends at '{operator}', so {dropped} is dropped and only `{kept[:60]}` runs"
            + (" (its output is not redirected)" if redirect else
               " (the commands after it never run)"),
            "write one process per service, or run a shell on purpose with exec: "
            "[\"sh\", \"-c\", \"... && exec celery ...\"]",
            severity=Severity.WARNING if redirect else None)
