"""worker-detached: celery sent to the background as the container's job.

## What it finds
A container (or an image's `CMD`/`ENTRYPOINT`) whose job is a celery process that detaches:
`celery worker --detach` (`-D`), `celery beat --detach`, `celery multi start|restart`, or celery
run in the background with `&` (or `nohup ... &`) with no `wait` after it. Entry scripts reached, hops
from the container are followed. The same under every launcher that expects its process to stay
in the foreground: a Procfile process (Heroku, Dokku, honcho), a supervisord `[program:x]`
`command=`, an s6 or runit `run` file, a systemd unit of `Type=simple`, `exec` or `idle`, and
(as a warning, "if it is a container's entry point") an entry script that no launcher of the
repository runs but whose name or place says it is one (`docker-entrypoint.sh`,
`compose/production/django/celery/worker/start`).

## Symptoms
- The pod cycles through `Completed` and `CrashLoopBackOff`: `Last State: Terminated, Reason:
  Completed, Exit Code: 0`, right after the worker's banner.
- Compose: `docker compose ps` shows the service `Exited (0)` (or restarting in a loop under
  `restart: always`), and no worker consumes.
- With a `tail -f`/`sleep infinity` keeping the container up instead: the worker never gets
  SIGTERM and is killed at the end of the grace period; its crashes go unnoticed.
- honcho: `worker.1 stopped (rc=0)`, then `sending SIGTERM to` every other process; Heroku:
  `Process exited with status 0`, `State changed from up to crashed`.
- supervisord: `exited: worker (exit status 0; expected)` (or `not expected` and `gave up: worker
  entered FATAL state, too many start retries too quickly`) while the detached worker runs on,
  unsupervised; `supervisorctl stop` no longer stops it.
- systemd (`Type=simple`): `celery-worker.service: Deactivated successfully.` right after start,
  and the worker is killed with the rest of the unit's control group.

## Why
`--detach` double-forks and the original process calls `os._exit(0)`
(`celery.platforms.DaemonContext._detach`), and `celery multi` starts each node as
`celery worker --detach` and returns. The container's main process has then exited with 0, so
the runtime stops the container (or, kept alive by another command, nothing supervises the
worker). Every process supervisor works the same way: honcho stops all the Procfile's processes
when one exits, supervisord and s6-supervise take the exit for the program's end (and restart
it, starting another detached worker), and systemd ends a `Type=simple` service when its main
process exits, killing the rest of its control group. Only systemd's `Type=forking` expects the
command to fork and exit, which is why Celery's own `extra/systemd/celery.service` runs
`celery multi start` with `Type=forking`.

## Fix
Run celery in the foreground as the container's main process: drop `--detach`; replace
`celery multi start w1 w2` with one container per worker (or one worker with a larger
`--concurrency`). Automatic fix: removes `--detach`/`-D` (safe when celery is the last command;
unsafe otherwise, since the commands after it would then wait), in the file that writes it:
the `command=` line of a supervisord program, the `ExecStart=` of a systemd unit, the Procfile
line. None for `multi` and `&`. Under systemd, keeping `--detach` with `Type=forking` is the other
way out.

## When it stays silent
- scripts that are not a container's entry point (a detach in a maintenance script), and entry
  scripts that plainly run on a host (they call `docker run -d`, `ssh`, `systemctl`, `kubectl`
  ..., or run `celery multi`), or whose name (`start-worker.sh`, `run_celery.sh`) does not say
  whether a container or a host runs them;
- a systemd unit of `Type=forking` (detaching is what it expects), and units of `Type=oneshot`,
  `notify` or `dbus`, which this rule does not judge;
- celery backgrounded with `&` and a later `wait` (the signal rule covers that shape);
- `docker run -d` (a client flag, not the container's command);
- one-off celery commands sent to the background (`celery -A proj control shutdown &`,
  `inspect`, `purge`, `call`): they end by themselves, only a worker, beat, Flower or `events`
  backgrounded as the main job is a finding.

## References
- `celery/platforms.py` (v5.6.3), `DaemonContext._detach`; `celery/apps/multi.py` (v5.6.3)
- Celery docs, Daemonization: https://docs.celeryq.dev/en/stable/userguide/daemonizing.html
- kubernetes/kubernetes#53125 (containers exiting 0 under `restartPolicy: Always`)
- supervisord docs, "Nondaemonizing of Subprocesses" (docs/subprocess.rst): "Programs meant to be
  run under supervisor should not daemonize themselves"
- systemd.service(5), `Type=` (simple, exec, forking); Celery `extra/systemd/celery.service`
  (v5.6.2, `Type=forking` with `celery multi start`)
- honcho `honcho/manager.py` (2.0.0: when a process exits, every other one is stopped);
  s6-overlay README (longrun `run` scripts end in `exec` of a foreground daemon)
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Applicability, Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.commands import remove_flag
from celerylint.rules_support import LONG_RUNNING, hops, launch_invocations, named

CODE = "CL501"
NAME = "worker-detached"
SEVERITY = Severity.ERROR
SUMMARY = "celery detaches or runs in the background as a container's (or supervisor's) main job"
FIXABLE = True

SYMPTOM = "the container's main process exits 0 (Completed, then CrashLoopBackOff)"
#: The same, in a few words for the message.
SHORT_SYMPTOM = "the container exits 0 (CrashLoopBackOff)"


#: What the exit does under each launcher that is not a container's runtime, in a few words.
LAUNCHER_SHORT = {
    "procfile": "the process exits and restarts in a loop",
    "supervisord": "the worker runs on unsupervised",
    "s6": "each restart adds an unsupervised worker",
    "runit": "each restart adds an unsupervised worker",
}
#: What the exit does under each launcher that is not a container's runtime.
LAUNCHER_SYMPTOMS = {
    "procfile": "the process exits at once: honcho then stops every other process of the "
                "Procfile, and a Heroku or Dokku dyno whose process exits is restarted, in a loop",
    "supervisord": "supervisord sees the program exit and loses the worker: it runs on "
                   "unsupervised (supervisorctl stop and restart miss it), and a restart starts "
                   "another one",
    "s6": "the run file's process exits, so s6-supervise starts it again: one more unsupervised "
          "worker on every restart",
    "runit": "the run file's process exits, so runsv starts it again: one more unsupervised "
             "worker on every restart",
}


def _applies(launch) -> bool:
    """systemd expects a detaching command with Type=forking (other types than simple, exec
    and idle are not judged); an entry script that may as well run on a host is not judged."""
    if launch.launcher == "systemd":
        return launch.unit_type in ("simple", "exec", "idle")
    return not (launch.guessed and launch.in_container is None)


def _symptom(launch) -> tuple[str, str]:
    """What the exit 0 does, in a few words and in full: a pod restarts in a loop; a compose
    container stops (Exited (0)), and restarts in a loop only under ``restart: always`` or
    ``unless-stopped`` (an exit 0 is not a failure for ``on-failure``)."""
    if launch.launcher in LAUNCHER_SYMPTOMS:
        return LAUNCHER_SHORT[launch.launcher], LAUNCHER_SYMPTOMS[launch.launcher]
    if launch.launcher == "systemd":
        return (f"with Type={launch.unit_type}, systemd then kills the worker",
                f"with Type={launch.unit_type}, systemd takes the exit of that process for the "
                "end of the service and kills the rest of its control group, the worker with it")
    container = launch.container
    if container is None or container.restart is None:
        return SHORT_SYMPTOM, SYMPTOM
    if container.restart in ("always", "unless-stopped"):
        return (f"the container exits 0 and restart: {container.restart} loops it",
                f"the container's main process exits 0 and restart: {container.restart} starts "
                "it again, in a loop")
    return ("the container exits and stops (Exited (0))",
            "the container's main process exits 0 and the container stops (Exited (0))")


def check(context: Context) -> Iterator[Finding]:
    for launch, invocation in launch_invocations(context.deployment):
        if not _applies(launch):
            continue
        short, symptom = _symptom(launch)
        severity = Severity.WARNING if launch.guessed else None
        detach = invocation.option("detach")
        command = invocation.command
        if detach is not None:
            edits = remove_flag(command, detach.flag, "D")
            # in the foreground, a command that is not the last would block the ones after it
            safe = command.last and not command.background
            after, detail = (short, symptom) if command.last else (
                "the script goes on without it: no restart, no SIGTERM",
                "a worker that crashes is never restarted, and SIGTERM never reaches it")
            at = invocation.span(detach.flag)
            yield Finding(
                at,
                f"celery {invocation.subcommand} --detach in {named(launch, at)}: {after}",
                f"celery forks into the background: {detail}; run celery in the foreground: "
                "drop --detach"
                + ("" if safe else ", and give each long-running process its own container")
                + (", or keep it with Type=forking" if launch.launcher == "systemd" else ""),
                severity=severity,
                fix=Fix("remove --detach" + ("" if safe else " (unsafe: the commands after it "
                        "would wait for celery to exit)"), edits,
                        Applicability.SAFE if safe else Applicability.UNSAFE) if edits else None,
                        related=hops(launch))
        elif invocation.subcommand == "multi" and invocation.positionals and \
                invocation.positionals[0].text in ("start", "restart"):
            at = invocation.span()
            yield Finding(
                at,
                f"celery multi {invocation.positionals[0].text} in {named(launch, at)} detaches "
                f"every node: {short}",
                f"{symptom}; {_multi_hint(launch)}", severity=severity, related=hops(launch))
        elif command.background and invocation.subcommand in LONG_RUNNING and \
                not _waited(launch.commands, command):
            # a backgrounded `celery control shutdown &` or `inspect` is a one-off, not the job
            at = invocation.span(invocation.program)
            yield Finding(
                at,
                f"celery {invocation.subcommand or ''} runs in the background (&) in "
                f"{named(launch, at)}, unwaited: {short}",
                f"{symptom}, or a keep-alive command hides the worker's crashes and its "
                "shutdown; run celery in the foreground with exec as the last command of the "
                "script",
                severity=severity, related=hops(launch))


def _multi_hint(launch) -> str:
    if launch.launcher == "systemd":
        return ("use Type=forking for celery multi (as Celery's extra/systemd/celery.service "
                "does), or one unit per worker running celery worker in the foreground")
    if launch.launcher == "supervisord":
        return ("run one program per node with celery -A app worker in the foreground "
                "(numprocs= starts several)")
    if launch.launcher in ("procfile", "s6", "runit"):
        return ("run one process per node with celery -A app worker in the foreground, or one "
                "worker with a larger --concurrency")
    return ("run one worker per container in the foreground (celery -A app worker ...), or "
            "one worker with a larger --concurrency")


def _waited(commands, background) -> bool:
    later = commands[commands.index(background) + 1:] if background in commands else []
    return any(c.words and c.words[0].text == "wait" for c in later)
