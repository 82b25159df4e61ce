"""worker-detached: celery sent to the background as the container's job.

## What it finds
A container (or an image's `CMD`/`ENTRYPOINT`) whose job is a celery process that detaches:
`celery worker --detach` (`-D`), `celery beat --detach`, `celery multi start|restart`, or celery
run in the background with `&` (or `nohup ... &`) with no `wait` after it. Entry scripts reached, hops
from the container are followed.

## Symptoms
- The pod cycles through `Completed` and `CrashLoopBackOff`: `Last State: Terminated, Reason:
  Completed, Exit Code: 0`, right after the worker's banner.
- Compose: `docker compose ps` shows the service `Exited (0)` (or restarting in a loop under
  `restart: always`), and no worker consumes.
- With a `tail -f`/`sleep infinity` keeping the container up instead: the worker never gets
  SIGTERM and is killed at the end of the grace period; its crashes go unnoticed.

## Why
`--detach` double-forks and the original process calls `os._exit(0)`
(`celery.platforms.DaemonContext._detach`), and `celery multi` starts each node as
`celery worker --detach` and returns. The container's main process has then exited with 0, so
the runtime stops the container (or, kept alive by another command, nothing supervises the
worker).

## Fix
Run celery in the foreground as the container's main process: drop `--detach`; replace
`celery multi start w1 w2` with one container per worker (or one worker with a larger
`--concurrency`). Automatic fix: removes `--detach`/`-D` (safe when celery is the last command;
unsafe otherwise, since the commands after it would then wait). None for `multi` and `&`.

## When it stays silent
- scripts that are not a container's entry point (a detach in a maintenance script);
- celery backgrounded with `&` and a later `wait` (the signal rule covers that shape);
- `docker run -d` (a client flag, not the container's command);
- one-off celery commands sent to the background (`celery -A proj control shutdown &`,
  `inspect`, `purge`, `call`): they end by themselves, only a worker, beat, Flower or `events`
  backgrounded as the main job is a finding.

## References
- `celery/platforms.py` (v5.6.3), `DaemonContext._detach`; `celery/apps/multi.py` (v5.6.3)
- Celery docs, Daemonization: https://docs.celeryq.dev/en/stable/userguide/daemonizing.html
- kubernetes/kubernetes#53125 (containers exiting 0 under `restartPolicy: Always`)
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Applicability, Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.commands import remove_flag
from celerylint.rules_support import LONG_RUNNING, hops, launch_invocations, reached

CODE = "CL501"
NAME = "worker-detached"
SEVERITY = Severity.ERROR
SUMMARY = "celery detaches or runs in the background as the container's main job"
FIXABLE = True

SYMPTOM = "the container's main process exits 0 (Completed, then CrashLoopBackOff)"


def _symptom(launch) -> str:
    """What the exit 0 does: a pod restarts in a loop; a compose container stops (Exited (0)),
    and restarts in a loop only under ``restart: always`` or ``unless-stopped`` (an exit 0 is not
    a failure for ``on-failure``)."""
    container = launch.container
    if container is None or container.restart is None:
        return SYMPTOM
    if container.restart in ("always", "unless-stopped"):
        return (f"the container's main process exits 0 and restart: {container.restart} starts "
                "it again, in a loop")
    return "the container's main process exits 0 and the container stops (Exited (0))"


def check(context: Context) -> Iterator[Finding]:
    for launch, invocation in launch_invocations(context.deployment):
        where = f"{launch.label}{reached(launch)}"
        symptom = _symptom(launch)
        detach = invocation.option("detach")
        command = invocation.command
        if detach is not None:
            edits = remove_flag(command, detach.flag, "D")
            # in the foreground, a command that is not the last would block the ones after it
            safe = command.last and not command.background
            after = symptom if command.last else (
                "the script goes on without it: a worker that crashes is never restarted, and "
                "SIGTERM never reaches it")
            yield Finding(
                invocation.span(detach.flag),
                f"celery {invocation.subcommand} --detach in {where}: it forks into the "
                f"background and {after}",
                "run celery in the foreground: drop --detach"
                + ("" if safe else ", and give each long-running process its own container"),
                fix=Fix("remove --detach" + ("" if safe else " (unsafe: the commands after it "
                        "would wait for celery to exit)"), edits,
                        Applicability.SAFE if safe else Applicability.UNSAFE) if edits else None,
                        related=hops(launch))
        elif invocation.subcommand == "multi" and invocation.positionals and \
                invocation.positionals[0].text in ("start", "restart"):
            yield Finding(
                invocation.span(),
                f"celery multi {invocation.positionals[0].text} in {where} starts every node "
                f"with --detach and returns: {symptom}",
                "run one worker per container in the foreground (celery -A app worker ...), or "
                "one worker with a larger --concurrency", related=hops(launch))
        elif command.background and invocation.subcommand in LONG_RUNNING and \
                not _waited(launch.commands, command):
            # a backgrounded `celery control shutdown &` or `inspect` is a one-off, not the job
            yield Finding(
                invocation.span(invocation.program),
                f"celery {invocation.subcommand or ''} runs in the background (&) in {where} "
                f"and nothing waits for it: {symptom}, or a keep-alive command hides the worker's "
                "crashes and its shutdown",
                "run celery in the foreground with exec as the last command of the script",
                related=hops(launch))


def _waited(commands, background) -> bool:
    later = commands[commands.index(background) + 1:] if background in commands else []
    return any(c.words and c.words[0].text == "wait" for c in later)
