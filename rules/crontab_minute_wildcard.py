"""crontab-minute-wildcard: `crontab(hour=...)` without `minute=`, which runs every minute.

## What it finds
An entry of the app's `beat_schedule` (or `CELERY_BEAT_SCHEDULE` in Django settings) scheduled
with `crontab(...)` that restricts the hour, day or month but gives no `minute`.

## Symptoms
- The "nightly" task runs 60 times between 03:00 and 03:59; reports and emails arrive in
  dozens; the task's runs overlap.

## Why
Every field of `celery.schedules.crontab` defaults to `'*'`, `minute` included:
`crontab(hour=3)` means "every minute of hour 3". Only `crontab(minute=0, hour=3)` means 03:00.

## Fix
Give the minute: `crontab(minute=0, hour=3)`. Automatic fix (unsafe: it assumes you meant the
start of the hour): inserts `minute=0, `.

## When it stays silent
- `minute` given, or no field given at all (`crontab()` is every minute, on purpose);
- schedules that are not `crontab(...)` calls, or a `beat_schedule` that cannot be read statically.

## References
- Celery docs, Periodic Tasks, Crontab schedules:
  https://docs.celeryq.dev/en/stable/userguide/periodic-tasks.html#crontab-schedules
- `celery/schedules.py` (v5.6.3): `crontab.__init__(minute='*', hour='*', ...)`.
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Applicability, Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.yamledit import edit
from celerylint.model.appconfig import Crontab

CODE = "CL105"
NAME = "crontab-minute-wildcard"
SEVERITY = Severity.WARNING
SUMMARY = "crontab(hour=...) without minute= runs every minute of those hours"
FIXABLE = True

RESTRICTING = ("hour", "day_of_week", "day_of_month", "month_of_year")


def check(context: Context) -> Iterator[Finding]:
    sources = {s.path: s for s in context.deployment.sources}
    for config in context.deployment.apps:
        schedule = config.get("beat_schedule")
        if schedule is None or not isinstance(schedule.value, dict):
            continue
        for name, entry in schedule.value.items():
            crontab = entry.get("schedule") if isinstance(entry, dict) else None
            if not isinstance(crontab, Crontab) or "minute" in crontab.fields:
                continue
            given = {k: v for k, v in crontab.fields.items() if k in RESTRICTING and v != "*"}
            if not given:
                continue
            shown = ", ".join(f"{k}={v!r}" for k, v in given.items())
            yield Finding(
                crontab.span,
                f"beat schedule entry '{name}' uses crontab({shown}) without minute=: the task "
                "runs every minute of those hours",
                "add minute=0 (or the minute you mean): crontab(minute=0, ...); minute defaults "
                "to '*'",
                fix=_fix(sources.get(crontab.span.path), crontab))


def _fix(source, crontab: Crontab) -> Fix | None:
    if source is None:
        return None
    start = source.offset(crontab.span.line, crontab.span.column)
    paren = source.text.find("(", start, start + 40)
    if paren < 0 or source.text[start:paren].split(".")[-1].strip() != "crontab":
        return None
    closing = source.text[paren + 1:paren + 2]
    return Fix("add minute=0", [edit(source, paren + 1, paren + 1,
                                     "minute=0" if closing == ")" else "minute=0, ")],
               Applicability.UNSAFE)
