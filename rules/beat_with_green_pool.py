"""beat-with-green-pool: `worker -B` with the gevent or eventlet pool, which Celery refuses.

## What it finds
A worker started with `-B`/`--beat` and `-P gevent` or `-P eventlet`, wherever it is started: a
container or image, a Procfile, a supervisord program, an s6 or runit `run` file, a systemd unit,
or an entry script found by its name (a warning there, since nothing in the repository shows
that it runs).

## Symptoms
- The worker exits at start with
  `ImproperlyConfigured: -B option doesn't work with eventlet/gevent pools: use standalone beat instead.`

## Why
The embedded beat is a thread or process that the green pools cannot host; Celery checks this
when the worker starts (`celery/worker/components.py`, `ERR_B_GREEN`).

## Fix
Run beat on its own (`celery -A proj beat`, one replica) and drop `-B`. Automatic fix (unsafe):
removes `-B`, after which a separate beat workload must run the schedule.

## When it stays silent
- prefork, solo and threads pools; a pool chosen through a variable.

## References
- `celery/worker/components.py` (v5.6.3): `ERR_B_GREEN`
- Celery docs, Periodic Tasks, "Starting the Scheduler".
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Applicability, Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.commands import remove_flag
from celerylint.rules_support import hops, launch_invocations, named

CODE = "CL104"
NAME = "beat-with-green-pool"
SEVERITY = Severity.ERROR
SUMMARY = "worker -B with a gevent or eventlet pool, which Celery refuses at start"
FIXABLE = True


def check(context: Context) -> Iterator[Finding]:
    for launch, invocation in launch_invocations(context.deployment):
        if not (invocation.is_worker and "beat" in invocation.options):
            continue
        if invocation.pool not in ("gevent", "eventlet"):
            continue
        flag = invocation.option("beat").flag
        edits = remove_flag(invocation.command, flag, "B")
        where = invocation.span(flag)
        yield Finding(
            where,
            f"worker -B with the {invocation.pool} pool in {named(launch, where)}: Celery "
            "refuses to start (ImproperlyConfigured)",
            "run beat as its own process (celery -A app beat, one replica) and drop -B: "
            "-B option doesn't work with eventlet/gevent pools",
            severity=Severity.WARNING if launch.guessed else None,
            fix=Fix("remove -B (then run beat in its own workload)", edits,
                    Applicability.UNSAFE) if edits else None, related=hops(launch))
