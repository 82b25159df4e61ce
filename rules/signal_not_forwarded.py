"""signal-not-forwarded: SIGTERM cannot reach celery, so there is no warm shutdown.

## What it finds
A celery worker, beat or Flower that a shell keeps below it as PID 1: a shell-form Dockerfile
`CMD`/`ENTRYPOINT` (`/bin/sh -c`), an `sh -c "..."` container command, an entry script that runs
celery as its last command without `exec`, celery in a pipeline (`celery ... | tee log`), or
celery under `su -c`. Entry scripts reached from the container are followed, and the finding
names each hop.

## Symptoms
- `kubectl delete pod` or a rollout waits the whole `terminationGracePeriodSeconds` (30 s by
  default), then the container is killed: `Exit Code: 137`, no `worker: Warm shutdown (MainProcess)`
  line in the logs.
- Running tasks are lost (redelivered later with `acks_late`, lost without), and with `| tee` a
  crashing worker exits 0.

## Why
SIGTERM goes to PID 1 only. A shell there does not pass it on: dash (`/bin/sh` on Debian and
Ubuntu images, so every `python:*` image) does not exec even a single `-c` command, and as PID 1
it has no SIGTERM handler, so the kernel drops the signal. bash execs a lone `-c` command (and the
last of `cd x && celery`), but never the last command of a script file. A pipeline leaves the shell
waiting for both sides, and `su` forks its own shell. Celery's warm shutdown (finish running
tasks, then exit) starts only when celery itself receives SIGTERM.

## Fix
`exec celery ...` as the last command of the script or `sh -c` string, or an exec-form command
(`["celery", "-A", "proj", "worker"]`), or an init that forwards signals (`tini`, `dumb-init`).
Log to stdout instead of `| tee`. Automatic fix (safe): inserts `exec ` before celery when it is
the last command of its script, not in a pipeline and not below another shell.

## When it stays silent
- `exec celery`, exec-form commands, `tini`/`dumb-init` in front;
- `bash -c` where celery is the only command, or last after `&&` (bash execs it);
- celery that is not a container's main job (`celery inspect` in a probe, a one-off script).
Alpine's busybox ash is assumed to behave like dash (not verified).

## References
- Celery docs, Stopping the worker: https://docs.celeryq.dev/en/stable/userguide/workers.html#stopping-the-worker
- Dockerfile reference, shell and exec form: https://docs.docker.com/reference/dockerfile/#shell-and-exec-form
- Reproduced with dash 0.5.12 and bash 5.2 (`../shared/reference/celery-failure-modes.md` §5);
  cookiecutter-django PR #3405.
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.commands import insert_exec
from celerylint.rules_support import LONG_RUNNING, launch_invocations, reached

CODE = "CL502"
NAME = "signal-not-forwarded"
SEVERITY = Severity.ERROR
SUMMARY = "a shell between PID 1 and celery swallows SIGTERM: no warm shutdown"
FIXABLE = True


def check(context: Context) -> Iterator[Finding]:
    for launch, invocation in launch_invocations(context.deployment):
        command = invocation.command
        if launch.init or invocation.subcommand not in LONG_RUNNING - {"multi"}:
            continue
        if command.background:
            continue  # worker-detached, or a supervised `& wait` we do not judge
        piped = command.piped_into or command.piped_from
        if not piped and command.replaces_shell:
            continue
        shell = command.held_by or command.shell or "sh"
        if not piped and command.held_by is None and _bash_execs(launch.commands, command):
            continue
        image = launch.stage.base if launch.stage else (
            launch.container.image if launch.container else None)
        why = _why(shell, piped, command, image)
        fix = None
        if not piped and command.held_by is None and command.last:
            edit = insert_exec(command, command.words[0])
            fix = Fix("run celery with exec, so that it replaces the shell", [edit]) if edit else None
        yield Finding(
            invocation.span(invocation.program),
            f"celery {invocation.subcommand} in {launch.label}{reached(launch)} never receives "
            f"SIGTERM: {why}; the container is killed after the grace period and running tasks "
            "are lost (no warm shutdown)",
            "make celery the process the runtime signals: `exec celery ...` as the last command, "
            "an exec-form command, or tini/dumb-init in front",
            fix=fix)


def _bash_execs(commands, command) -> bool:
    """bash -c execs a lone command, and the last one of an && chain (bash 5.2, verified)."""
    if command.shell != "bash" or command.from_file or not command.last:
        return False
    group = [c for c in commands if c.origin is command.origin]
    return all(c.connector in (None, "&&") and not c.piped_into and not c.background
               for c in group)


def _why(shell: str, piped: bool, command, image: str | None) -> str:
    if piped:
        return "it runs in a pipeline, so the shell stays PID 1 and the pipeline's exit status is " \
               "the last command's (a crashing worker exits 0 through `| tee`)"
    if shell == "su":
        return "su -c forks a shell and stays its parent"
    if command.held_by:
        return f"a {command.held_by} above it does not exec the command that leads to celery"
    if command.from_file:
        return f"{shell} runs the entry script and does not exec its last command"
    if shell in ("sh", "dash"):
        base = f" ({image} is Debian-based)" if image and "alpine" not in image else ""
        if image and "alpine" in image:
            return "/bin/sh is busybox ash on Alpine, assumed not to exec the command (unverified)"
        return f"/bin/sh is dash on Debian-based images{base}, and dash stays PID 1 even for a " \
               "single -c command"
    return f"{shell} -c stays PID 1 when celery is not its only command"
