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
- `bash -c` where celery is the only command, or last after `&&` (bash execs it), and `sh -c`
  on images whose `/bin/sh` is bash (UBI, CentOS, Fedora, Rocky, Alma, Amazon Linux);
- celery backgrounded with `&` under a `trap` that forwards SIGTERM before `wait`;
- celery that is not a container's main job (`celery inspect` in a probe, a one-off script).
Alpine's busybox ash is assumed to behave like dash (not verified).

## References
- Celery docs, Stopping the worker: https://docs.celeryq.dev/en/stable/userguide/workers.html#stopping-the-worker
- Dockerfile reference, shell and exec form: https://docs.docker.com/reference/dockerfile/#shell-and-exec-form
- Reproduced with dash 0.5.12 and bash 5.2.15 (Debian bookworm), by comparing process ids;
  cookiecutter-django PR #3405.
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.commands import insert_exec
from celerylint.rules_support import LONG_RUNNING, hops, launch_invocations, reached

CODE = "CL502"
NAME = "signal-not-forwarded"
SEVERITY = Severity.ERROR
SUMMARY = "a shell between PID 1 and celery swallows SIGTERM: no warm shutdown"
FIXABLE = True


#: Images whose /bin/sh is bash (RHEL family): ``sh -c`` then execs a lone command.
BASH_SH = ("ubi", "centos", "fedora", "rockylinux", "almalinux", "amazonlinux", "redhat", "rhel",
           "oraclelinux")


def check(context: Context) -> Iterator[Finding]:
    for launch, invocation in launch_invocations(context.deployment):
        command = invocation.command
        if launch.init or invocation.subcommand not in LONG_RUNNING - {"multi"} or \
                invocation.option("detach"):
            continue  # detached celery is worker-detached's finding
        image = _base_image(launch)
        if command.background:
            if _waited_without_trap(launch.commands, command):
                yield _finding(launch, invocation, "it runs in the background and the shell "
                               "waits for it, but the shell as PID 1 does not pass SIGTERM on "
                               "(there is no trap forwarding it)", None)
            continue  # otherwise worker-detached's finding
        piped = command.piped_into or command.piped_from
        if not piped and command.replaces_shell:
            continue
        holder = command.holder
        if holder is not None and holder is not command:
            # a shell above celery lacks an exec: report (and fix) where it does
            if _sh_is_bash(command.held_by, image) and _bash_execs(launch.commands, holder):
                continue
            where = holder.origin.span(holder.words[0])
            if command.held_by == "su":
                yield _finding(launch, invocation, "su -c forks a shell and stays its parent",
                               None, at=where)
                continue
            why = (f"{command.held_by} runs {holder.words[0].text} in {where.path} without exec, "
                   "and stays PID 1 above celery")
            yield _finding(launch, invocation, why, _exec_fix(holder), at=where)
            continue
        shell = command.shell or "sh"
        if not piped and (_sh_is_bash(shell, image)) and _bash_execs(launch.commands, command):
            continue
        why = _why(shell, piped, command, image)
        yield _finding(launch, invocation, why, None if piped else _exec_fix(command))


def _finding(launch, invocation, why: str, fix: Fix | None, at=None) -> Finding:
    return Finding(
        at or invocation.span(invocation.program),
        f"celery {invocation.subcommand} in {launch.label}{reached(launch)} never receives "
        f"SIGTERM: {why}; the container is killed after the grace period and running tasks "
        "are lost (no warm shutdown)",
        "make celery the process the runtime signals: `exec celery ...` as the last command, "
        "an exec-form command, or tini/dumb-init in front",
        fix=fix, related=hops(launch))


def _exec_fix(command) -> Fix | None:
    """``exec `` before the command, when it is the last of its script and runs alone."""
    if not command.last or command.background or command.piped_into or command.piped_from:
        return None
    edit = insert_exec(command, command.words[0])
    return Fix(f"run {command.words[0].text} with exec, so that it replaces the shell",
               [edit]) if edit else None


def _base_image(launch) -> str | None:
    if launch.stage is not None:
        return launch.stage.root_image
    return launch.container.image if launch.container else None


def _sh_is_bash(shell: str | None, image: str | None) -> bool:
    if shell == "bash":
        return True
    return shell in ("sh", None) and image is not None and any(
        family in image.lower() for family in BASH_SH)


def _waited_without_trap(commands, background) -> bool:
    later = commands[commands.index(background) + 1:] if background in commands else []
    waits = any(c.words and c.words[0].text == "wait" for c in later)
    traps = any(c.words and c.words[0].text == "trap" for c in commands)
    return waits and not traps


def _bash_execs(commands, command) -> bool:
    """bash -c execs a lone command, and the last one of an && chain (bash 5.2, verified)."""
    if command.from_file or not command.last:
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
    if command.from_file:
        what = "does not exec its last command" if command.last else \
            "runs celery as a child process (celery is not its last command)"
        return f"{shell} runs the entry script and {what}"
    if shell in ("sh", "dash", "ash", "busybox"):
        if shell in ("ash", "busybox") or (image and "alpine" in image.lower()):
            return "/bin/sh is busybox ash there, assumed not to exec the command (unverified)"
        base = f" ({image})" if image else ""
        return f"/bin/sh is dash on Debian-based images{base}, and dash stays PID 1 even for a " \
               "single -c command"
    return f"{shell} -c stays PID 1 when celery is not its only command"
