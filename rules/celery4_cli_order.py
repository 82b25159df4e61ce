"""celery4-cli-order: `celery worker -A app`, the Celery 4 order that Celery 5 rejects.

## What it finds
`-A`/`--app` written after the subcommand (`celery worker -A proj`), when the project's
requirements allow Celery 5 (or name no Celery version at all), wherever celery is started: a
container or image, a Procfile, a supervisord program, an s6 or runit `run` file, a systemd unit,
or an entry script found by its name (`start-worker.sh`, `docker-entrypoint.sh`: a warning there,
since nothing in the repository shows that it runs).

## Symptoms
- The container (or the supervisord program, the systemd unit) exits at start with usage exit
  status 2 and:
  `You are using `-A` as an option of the worker sub-command: celery worker -A celeryapp <...>
  The support for this usage was removed in Celery 5.0. Instead you should use `-A` as a global
  option: celery -A celeryapp worker <...>` followed by `Error: No such option: -A`.

## Why
Celery 5 moved to click: `-A/--app` is an option of the `celery` group, not of its
subcommands, so it must come before `worker`, `beat`, `flower` ...

## Fix
`celery -A proj worker ...`. Automatic fix (safe): moves the `-A` option (and its value) before
the subcommand, in the file that writes it (a supervisord `command=` line, a systemd
`ExecStart=`, a Procfile line, a script).

## When it stays silent
- a `celery` requirement or constraint of the project excludes Celery 5 (`celery==4.4.7`,
  `celery<5`), in a requirements file, `pyproject.toml` (`celery = "^4.4"` for Poetry),
  `setup.cfg`, `Pipfile`, or the version a lock file pins (`poetry.lock`, `uv.lock`,
  `Pipfile.lock`);
- `celery multi start w1 -A proj` (multi passes it to each node), and `celery flower`, whose
  options after the subcommand are Flower's own (not verified how it treats `-A` there).

## References
- `celery/bin/celery.py` (v5.x): `WRONG_APP_OPTION_USAGE_MESSAGE`
- Celery 5.0 release notes, "New Command Line Interface":
  https://docs.celeryq.dev/en/stable/history/whatsnew-5.0.html
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.commands import add_args, remove_words
from celerylint.rules_support import allows_celery5, hops, launch_invocations, named

CODE = "CL505"
NAME = "celery4-cli-order"
SEVERITY = Severity.ERROR
SUMMARY = "-A after the subcommand (Celery 4 order): Celery 5 refuses to start"
FIXABLE = True


def check(context: Context) -> Iterator[Finding]:
    for launch, invocation in launch_invocations(context.deployment):
        project = invocation.command.origin.source.project if invocation.command.origin else ""
        if not allows_celery5(context.deployment, project):
            continue
        if not invocation.app_after_subcommand or invocation.subcommand_word is None or \
                invocation.subcommand == "flower":
            continue  # flower parses its own options (tornado's), not celery's
        option = invocation.option("app")
        words = option.words
        fix = None
        index = invocation.words.index(invocation.subcommand_word)
        removal = remove_words(invocation.command, words)
        before = invocation.words[index - 1] if index > 0 else None
        origin = invocation.command.origin
        # never edit an image's ENTRYPOINT that other containers share: only where the
        # subcommand itself is written
        same_place = before is not None and \
            origin.part(before) is origin.part(invocation.subcommand_word)
        insertion = add_args(invocation.command, before, [w.text for w in words]) \
            if same_place else None
        if removal and insertion:
            fix = Fix(f"move {' '.join(w.text for w in words)} before {invocation.subcommand}",
                      [insertion, *removal])
        where = invocation.span(option.flag)
        written = option.flag.text if "=" in option.flag.text else \
            f"{option.flag.text} {option.value or '<app>'}"
        yield Finding(
            where,
            f"celery {invocation.subcommand} {option.flag.text} in {named(launch, where)}: "
            f"Celery 5 refuses {option.flag.text} after the subcommand (Error: No such option)",
            f"write celery {written} {invocation.subcommand} ...",
            severity=Severity.WARNING if launch.guessed else None, fix=fix, related=hops(launch))
