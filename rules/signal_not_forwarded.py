"""signal-not-forwarded: SIGTERM cannot reach celery, so there is no warm shutdown.

## What it finds
A celery worker, beat, Flower or `events` process with a shell that stays between it and the
process the runtime signals: a shell-form Dockerfile `CMD`/`ENTRYPOINT` or an `sh -c "..."`
command whose shell does not exec celery, an entry script (run by `sh`, `bash` or any other
shell) that runs celery, or the next script, without `exec`, celery in a pipeline
(`celery ... | tee log`), or celery under `su -c`. Every hop that lacks an `exec` is reported
where the `exec` belongs, so a `sh -c` wrapper that starts a script that starts celery can give
two findings, each with its fix.

The same under the launchers that signal only the process they started: a supervisord program
without `stopasgroup=true`, an s6 or runit `run` file that does not `exec` celery, a systemd unit
with `KillMode=process` or `mixed`, and (as a warning, "if it is a container's entry point") an
entry script that no launcher of the repository runs but whose name or place says it is one.
Also a supervisord `stopsignal=KILL` or a systemd `KillSignal=SIGKILL` in front of a celery
worker: it is killed and never gets SIGTERM.

## Symptoms
- `kubectl delete pod` or a rollout waits the whole `terminationGracePeriodSeconds` (30 s by
  default), then the container is killed: `Exit Code: 137`, no `worker: Warm shutdown (MainProcess)`
  line in the logs.
- Running tasks are lost (redelivered later with `acks_late`, lost without), and with `| tee` a
  crashing worker exits 0.
- supervisord, s6, runit: `supervisorctl stop worker` (or `s6-svc -d`) returns at once, and
  `ps` still shows the `celery worker` processes, now children of PID 1; the next start adds a
  second worker beside the orphaned one.

## Why
SIGTERM goes to PID 1 only. A shell there does not pass it on (as PID 1 it has no handler, so
the kernel drops the signal), and only a shell that replaces itself with celery (execs it) lets
celery receive it. Which shells do, measured by comparing process ids:
- `/bin/sh` on Debian and Ubuntu images (every `python:*` image but `-alpine`) is dash with
  Debian's patch that turns the optimisation off: it never execs, not even a single `-c` command;
- BusyBox ash (`/bin/sh` on Alpine and Wolfi) execs the last command of a `-c` string in any list
  shape, except in a pipeline or loop, after a `trap`, or when the string ends in a newline (a
  YAML `|` block scalar does);
- bash execs a plain simple command of the last line of a `-c` string when nothing is redirected
  and no trap is set: alone on its line (every version), ending an `&&`/`||` list (4.4 and
  later), after a top-level `;` (5.1 and later; Ubuntu 20.04 ships 5.0);
- no shell execs the last command of a script file.
`tini` (and Docker's `--init`) passes SIGTERM only to its direct child; a shell there dies and
leaves celery unsignalled. A pipeline leaves the shell waiting for both sides, and `su` forks
its own shell and stays its parent. Celery's warm shutdown (finish running tasks, then exit)
starts only when celery itself receives SIGTERM.
Process supervisors signal only the process they started, unless told to signal its whole
process group: supervisord sends `stopsignal` to its child (`stopasgroup=true` sends it to the
group), s6-supervise signals the `run` file's process (which "can chain load", i.e. exec into
celery), and systemd signals the main process only under `KillMode=process` or `mixed`. There the
shell is not PID 1: SIGTERM kills it, and celery, orphaned, runs on without being told to stop.

## Fix
`exec celery ...` as the last command of the script or `sh -c` string (and `exec` on each script
that starts the next), or an exec-form command (`["celery", "-A", "proj", "worker"]`). Log to
stdout instead of `| tee`. Automatic fix (safe): inserts `exec ` where it is missing, when that
command is the last of its script, not in a pipeline or a loop (in an s6 `run` file, a
supervisord `command=` line's `sh -c` string, a Procfile line). Under supervisord,
`stopasgroup=true` is the other way out (Celery's `extra/supervisord/celeryd.conf` sets it); a
`stopsignal=KILL` is fixed to `TERM` (safe).

## When it stays silent
- `exec celery`, exec-form commands, an init that signals the whole process group (`dumb-init`,
  `tini -g`);
- shells that exec celery by themselves (BusyBox ash and bash in the shapes above); when bash's
  version is not known from the image, it is taken to be 5.1 or later;
- celery backgrounded with `&` under a `trap` that forwards SIGTERM before `wait`;
- celery that is not a container's main job (`celery inspect` in a probe, a one-off script).
- launchers that signal the whole process group: a Procfile (honcho stops its processes with
  `os.killpg`), a supervisord program with `stopasgroup=true`, a systemd unit with the default
  `KillMode=control-group`;
- entry scripts that plainly run on a host, or whose name (`start-worker.sh`) does not say whether
  a container or a host runs them.
When the image's base is unknown, `/bin/sh` is assumed to be Debian's dash and the finding is a
warning that says so.

## References
- Celery docs, Stopping the worker: https://docs.celeryq.dev/en/stable/userguide/workers.html#stopping-the-worker
- Dockerfile reference, shell and exec form: https://docs.docker.com/reference/dockerfile/#shell-and-exec-form
- bash: `builtins/evalstring.c` (`ONESHOT`, `should_suppress_fork`), `execute_cmd.c`
  (`optimize_connection_fork`, the `;` branch since bash-5.1); bash CHANGES 4.4 item r, 5.1
  item b. Run with bash 4.3.0 to 5.3.0 built from source.
- dash: upstream commit ee5cbe9 (exec in `-c`, 0.5.7); Debian's patch
  `0004-SHELL-Disable-sh-c-command-sh-c-exec-command-optimiza.diff` (bugs #642706, #642835),
  in Debian 11-13 and Ubuntu 20.04-24.04.
- BusyBox `shell/ash.c` (`evalstring(minusc, EV_EXIT)`, `parser_eof`), since 1.28.0; run with
  1.35.0 and 1.37.0.
- tini README (signals its child; `-g` for the process group); util-linux `su`
  (`create_watching_parent`); cookiecutter-django PR #3405.
- supervisord docs, `[program:x]` `stopsignal`, `stopasgroup` ("useful for programs ... that do
  not propagate stop signals to their children, leaving them orphaned"); honcho
  `honcho/process.py` and `manager.py` (2.0.0: a new session per process, `os.killpg`).
- s6-overlay README (longrun `run` scripts, `exec` into the daemon); skarnet.org
  s6-supervise.html ("./run ... can chain load"); systemd.kill(5), `KillMode=`, `KillSignal=`.
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes import yamledit
from celerylint.fixes.commands import insert_exec
from celerylint.model import shells
from celerylint.rules_support import LONG_RUNNING, hops, launch_invocations, named

CODE = "CL502"
NAME = "signal-not-forwarded"
SEVERITY = Severity.ERROR
SUMMARY = "a shell between PID 1 and celery swallows SIGTERM: no warm shutdown"
FIXABLE = True

HINT = ("make celery the process the runtime signals: `exec` it (and every script on the way), "
        "or use an exec-form command; without a warm shutdown the container is killed after "
        "the grace period and running tasks are lost")


#: Why a shell in between matters under each launcher that signals only the process it started.
LAUNCHER_NOTES = {
    "supervisord": "supervisord sends its stop signal only to the process it started "
                   "(stopasgroup is not set), so the shell dies and celery runs on, orphaned",
    "s6": "s6-supervise signals only the run file's process, so the shell dies and celery runs "
          "on, orphaned",
    "runit": "runsv signals only the run file's process, so the shell dies and celery runs on, "
             "orphaned",
    "systemd": "KillMode= (process or mixed) sends SIGTERM only to the main process, the shell",
}
#: The same, in a few words for the message.
LAUNCHER_SHORT = {"supervisord": "supervisord signals only the shell",
                  "s6": "s6-supervise signals only the shell",
                  "runit": "runsv signals only the shell",
                  "systemd": "KillMode= signals only the shell"}
LAUNCHER_HINTS = {
    "supervisord": "exec celery (and every script on the way), or set stopasgroup=true so that "
                   "supervisord signals the whole process group (as Celery's "
                   "extra/supervisord/celeryd.conf does)",
    "s6": "exec celery as the last command of the run file, as s6-overlay's examples do",
    "runit": "exec celery as the last command of the run file",
    "systemd": "exec celery, or leave KillMode= at its default, control-group",
}
_STOP_SETTING = {"supervisord": ("stopsignal", "TERM"), "systemd": ("KillSignal", "SIGTERM")}


def check(context: Context) -> Iterator[Finding]:
    killed = set()
    for launch, invocation in launch_invocations(context.deployment):
        command = invocation.command
        if launch.guessed and launch.in_container is None:
            continue  # a script that may as well run on a host
        if launch.stop_signal == "KILL" and invocation.subcommand == "worker" and \
                id(launch) not in killed:
            killed.add(id(launch))
            found = _killed(context, launch, invocation)
            if found is not None:
                yield found
        if launch.group_stop:
            continue  # the launcher signals every process of the group
        if _init_signals_everyone(launch) or invocation.subcommand not in LONG_RUNNING - {"multi"} \
                or invocation.option("detach"):
            continue  # detached celery is worker-detached's finding
        if command.background:
            if _waited_without_trap(launch.commands, command):
                yield _finding(launch, invocation, "it runs in the background (&) and the shell "
                               "that waits for it has no trap", "the shell waits for it, but passes "
                               "SIGTERM on only through a trap, and there is none")
            continue  # otherwise worker-detached's finding
        # every shell on the way that stays: the scripts and sh -c strings above celery, then
        # celery's own, each reported (and fixed) where its exec is missing
        for holder in command.holders:
            if holder.words and holder.words[0].name in ("su", "runuser"):
                yield _finding(launch, invocation, f"{holder.words[0].name} -c forks a shell and "
                               "stays its parent", "", at=holder)
                continue
            why = _why(launch, holder)
            if why is not None:
                yield _finding(launch, invocation, f"{holder.words[0].text} is started without "
                               "exec", why, holder, _exec_fix(holder))
        if command.piped_into or command.piped_from:
            yield _finding(launch, invocation, "it runs in a pipeline, so the shell stays",
                           "the shell waits for every side of the pipeline (and a crashing worker "
                           "exits 0 through | tee)", command)
        elif command.shell is not None and not command.exec_:
            why = _why(launch, command)
            if why is not None:
                yield _finding(launch, invocation, _short(command), why, command,
                               _exec_fix(command))


def _why(launch, command) -> str | None:
    """Why ``command``'s shell stays (None when it execs it)."""
    script = [c for c in launch.commands if c.origin is command.origin] or [command]
    info = command.shell_info or shells.resolve(command.shell, launch.base_image)
    return shells.why_not_exec(info, script, command)


def _short(command) -> str:
    """Why the shell stays, in a few words (``_why`` says it in full, in the hint)."""
    shell = command.shell or "sh"
    if command.from_file:
        return f"{shell} runs it from a script file without exec"
    if not command.last:
        return "commands run after it, so the shell stays"
    if command.background or command.prefixed:
        return "it runs in the background or under ! or time"
    return f"`{shell} -c` does not exec it"


def _finding(launch, invocation, short: str, why: str, at=None,
             fix: Fix | None = None) -> Finding:
    where = at.origin.span(at.words[0]) if at is not None else invocation.span(invocation.program)
    assumed = at is not None and at.shell_info is not None and at.shell_info.assumed
    note = LAUNCHER_NOTES.get(launch.launcher)
    brief = LAUNCHER_SHORT.get(launch.launcher)
    because = "; ".join(part for part in (why, note) if part)
    return Finding(
        where,
        f"celery {invocation.subcommand} in {named(launch, where)} never receives "
        f"SIGTERM: {short}" + (f" and {brief}" if brief else ""),
        (f"{because}; " if because else "") + LAUNCHER_HINTS.get(launch.launcher, HINT),
        severity=Severity.WARNING if assumed or launch.guessed else None, fix=fix,
        related=hops(launch))


def _killed(context: Context, launch, invocation) -> Finding | None:
    """A supervisord ``stopsignal=KILL`` (systemd ``KillSignal=SIGKILL``): no warm shutdown."""
    key, term = _STOP_SETTING.get(launch.launcher, ("", ""))
    span = launch.settings.get(key)
    if span is None:
        return None
    source = next((s for s in context.deployment.sources if s.path == span.path), None)
    fix = None
    if source is not None:
        edit = yamledit.edit(source, source.offset(span.line, span.column),
                             source.offset(span.end_line, span.end_column), term)
        fix = Fix(f"stop it with {term}", [edit])
    return Finding(
        span,
        f"celery {invocation.subcommand} in {named(launch, span)} never receives SIGTERM: "
        f"{launch.launcher} stops it with SIGKILL ({key})",
        f"stop celery with SIGTERM ({key}={term}) and give it the time its tasks need: SIGKILL "
        "allows no warm shutdown, so running tasks are lost or redelivered",
        fix=fix, related=hops(launch))


def _init_signals_everyone(launch) -> bool:
    """An init in front that signals the whole process group (dumb-init's default, tini -g);
    plain tini (Docker's --init) signals only its child, the shell, which does not pass it on."""
    if launch.init is None:
        return False
    if launch.init.startswith("tini"):
        return "-g" in launch.init_options
    return "--single-child" not in launch.init_options and "-c" not in launch.init_options


def _exec_fix(command) -> Fix | None:
    """``exec `` before the command, when it is the last of its script and runs alone."""
    if not command.last or command.background or command.piped_into or command.piped_from or \
            command.compound in ("while", "until", "for"):
        return None
    edit = insert_exec(command, command.words[0])
    return Fix(f"run {command.words[0].text} with exec, so that it replaces the shell",
               [edit]) if edit else None


def _waited_without_trap(commands, background) -> bool:
    later = commands[commands.index(background) + 1:] if background in commands else []
    waits = any(c.words and c.words[0].text == "wait" for c in later)
    traps = any(c.words and c.words[0].text == "trap" for c in commands)
    return waits and not traps
