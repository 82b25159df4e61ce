"""compose-command-truncated: a string command cut short before it runs (compose, supervisord).

## What it finds
A compose `command` or `entrypoint` written as a string holding an unquoted `;`, `&`, `&&`, `|`,
`||`, `<` or `>`: `command: python manage.py migrate && celery -A proj worker`,
`command: celery -A proj worker > /var/log/worker.log 2>&1`.

The supervisord analogue: a `[program:x]` `command=` line cut at a ` ;` or ` #` that supervisord
reads as the start of a comment, inside a quoted `sh -c '...'` string:
`command=sh -c 'python manage.py migrate ; exec celery -A proj worker'`. (The rule keeps its
compose name, which is stable; a comment after a complete command, `command=celery -A proj worker
; the worker`, is deliberate and stays silent.)

## Symptoms
- Only the first command runs: `migrate` finishes and the container exits 0, and the worker after
  `&&` is never started (`Exited (0)`, or restarted in a loop under `restart: always`).
- Output meant for a file still goes to the container log; a `| tee` never runs.
- supervisord: `spawnerr: can't parse command "sh -c 'python manage.py migrate": No closing
  quotation`, then `gave up: worker entered FATAL state, too many start retries too quickly`.

## Why
Compose does not run a string command through a shell: it splits it into arguments itself with
mattn/go-shellwords (compose-go `types/command.go`), which stops at the first unquoted `;`, `&`,
`|`, `<` or `>` and drops the rest without an error or a warning (tested with Compose 2.40:
`celery -A p worker && echo hi` became `[celery, -A, p, worker]`). The Compose Specification says
so too: a string command "does not implicitly run in the context of the SHELL instruction".

supervisord reads its file with Python's configparser and `inline_comment_prefixes=(';', '#')`
(`supervisor/options.py`): a `;` or `#` after whitespace starts a comment even inside quotes, so
the line ends there. What is left holds an open quote, which `shlex.split` refuses when the
program starts. `a;b` (no space before it) is kept.

## Fix
Give each process its own service (a migration job, then the worker), or run a shell on purpose
and hand over to celery with `exec`: `command: ["sh", "-c", "python manage.py migrate && exec
celery -A proj worker"]`. No automatic fix: which of those you want is yours to say.

supervisord: drop the space before the `;` (`migrate; exec celery`, the same to the shell), or
move the commands into a script file that ends in `exec celery ...` and name it in `command=`.
Automatic fix for a ` ;`: removes the whitespace before it (safe when the shell string has no
quotes of its own before it, else unsafe).

## When it stays silent
Operators inside quotes (`sh -c "a && b"` is one argument, run by the shell it names); commands
written as YAML lists (exec form, taken verbatim); Dockerfile and Kubernetes commands; a
supervisord comment after a complete command.

## References
- Compose Specification, services, `command`: https://github.com/compose-spec/compose-spec/blob/main/05-services.md#command
- mattn/go-shellwords v1.0.12 `shellwords.go` (`case ';', '&', '|', '<', '>': ... break loop`)
- `docker compose config` (Compose 2.40.3) prints `[celery, -A, p, worker]` for the string
  `celery -A p worker && echo hi`
- supervisor `supervisor/options.py` (`UnhosedConfigParser`: `inline_comment_prefixes`) and
  `process.py` (`shlex.split`, "can't parse command"); Python `configparser` inline comments
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Applicability, Finding, Fix, Severity, Span
from celerylint.fixes import yamledit
from celerylint.engine import Context
from celerylint.parse import shellwords
from celerylint.parse.yamlnodes import locate
from celerylint.rules_support import compose_command_strings

CODE = "CL508"
NAME = "compose-command-truncated"
SEVERITY = Severity.ERROR
SUMMARY = "a string command is cut short: a compose shell operator, a supervisord ' ;' comment"
FIXABLE = True


def check(context: Context) -> Iterator[Finding]:
    yield from _compose(context)
    yield from _supervisord(context)


def _supervisord(context: Context) -> Iterator[Finding]:
    sources = {s.path: s for s in context.deployment.sources}
    for launch in context.deployment.launches:
        cut = launch.truncated
        if cut is None:
            continue
        marker = "';'" if cut.dropped.startswith(";") else "'#'"
        fix = _space_fix(sources.get(cut.span.path), cut)
        yield Finding(
            cut.span,
            f"the command of supervisord program '{cut.program}' ends at {marker}, read as a "
            "comment: the program never starts (No closing quotation)",
            f"supervisord reads a {marker} after a space as a comment, even inside quotes, so "
            f"`{cut.kept[:60]}` is all it gets, with a quote left open; drop the space before the "
            "';' (a; b), or put the commands in a script that ends in exec celery ... and run "
            "that", fix=fix)


def _space_fix(source, cut) -> Fix | None:
    """Remove the whitespace before a ``;``: the shell reads ``a; b`` as ``a ; b``."""
    if source is None or not cut.dropped.startswith(";"):
        return None
    at = source.offset(cut.span.line, cut.span.column)
    start = at
    while start > 0 and source.text[start - 1] in " \t":
        start -= 1
    line = source.lines[cut.span.line - 1][:cut.span.column - 1]
    quote, opened = None, -1
    for i, c in enumerate(line):  # the quote left open is the one around the shell string
        if quote is None and c in "'\"":
            quote, opened = c, i
        elif c == quote:
            quote = None
    plain = quote is not None and not any(q in line[opened + 1:] for q in "'\"`")
    return Fix("remove the space before ';'", [yamledit.edit(source, start, at, "")],
               Applicability.SAFE if plain else Applicability.UNSAFE)


def _compose(context: Context) -> Iterator[Finding]:
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
            f"the {key} of compose service '{service}' ends at '{operator}' (Compose runs no "
            f"shell): only `{kept if len(kept) <= 40 else kept[:37] + '...'}` runs"
            + (", its output not redirected" if redirect else ", not what follows"),
            f"Compose splits the string itself, so {dropped} is dropped; write one process per "
            "service, or run a shell on purpose with exec: "
            "[\"sh\", \"-c\", \"... && exec celery ...\"]",
            severity=Severity.WARNING if redirect else None)
