"""probe-no-op: a liveness probe that cannot fail.

## What it finds
An `exec` liveness probe whose command always succeeds: `true`, `exit 0`, `echo ...`, anything
ending in `|| true` or `|| exit 0`, or a Python one-liner that only imports or builds the app
(`python -c "import proj"`, `celery -A proj report`), contacting neither broker nor worker.

## Symptoms
- A worker that hangs (stuck on a lost broker connection, a deadlocked task, an exhausted pool)
  stays "Running" and healthy for days; queues grow while nothing restarts it.

## Why
A liveness probe exists to restart a container that stopped working. One that cannot fail gives
the restart policy nothing to act on, while looking like protection.

## Fix
Probe something the worker must do to be alive: a heartbeat file touched by a bootstep or the
`worker_ready`/`heartbeat_sent` signals (`test $(( $(date +%s) - $(stat -c %Y /tmp/worker_heartbeat) )) -lt 60`),
or `celery -A proj inspect ping -d celery@$HOSTNAME -t 10` with a generous `timeoutSeconds`.
No automatic fix: what "alive" means is the application's decision.

## When it stays silent
- readiness and startup probes; HTTP and TCP probes; any command that can exit non-zero;
- containers that do not run celery.

## References
- Kubernetes docs, liveness probes; celery/celery#4079 (no official probe command).
- `../shared/reference/celery-failure-modes.md` §7 (probe alternatives).
"""

from __future__ import annotations

import re
from typing import Iterator

from celerylint.diagnostics import Finding, Severity
from celerylint.engine import Context
from celerylint.model.kubernetes import span
from celerylint.parse import shell

CODE = "CL303"
NAME = "probe-no-op"
SEVERITY = Severity.WARNING
SUMMARY = "a liveness probe whose command always succeeds"

_ALWAYS = re.compile(r"\|\|\s*(true|:|exit\s+0|echo\b[^|&;]*)\s*$")


def check(context: Context) -> Iterator[Finding]:
    for container in context.deployment.containers():
        if not container.celery:
            continue  # the probes of celery's processes only
        probe = container.probes.get("liveness")
        command = probe.data.get("exec", {}).get("command") if probe and isinstance(
            probe.data.get("exec"), dict) else None
        if not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command):
            continue
        why = _always_succeeds(command)
        if why:
            source = container.workload.source
            yield Finding(
                span(source, probe.data["exec"].value_pos["command"]),
                f"the livenessProbe of {container.where} {why}: it can never fail, so a hung "
                "worker is never restarted",
                "probe a heartbeat the worker writes, or `celery inspect ping -d celery@$HOSTNAME`")


def _always_succeeds(argv: list[str]) -> str | None:
    script = shell.shell_script(argv)
    text = argv[script[1]] if script else " ".join(argv)
    match = _ALWAYS.search(text.strip())
    if match:
        return f"ends in `|| {match.group(1).strip()}`"
    try:
        commands = shell.commands_of(argv)
    except shell.ShellSyntaxError:
        return None
    if len(commands) != 1:
        return None
    words = [w.text for w in commands[0].words]
    name = commands[0].words[0].name if commands[0].words else ""
    if name in ("true", ":") or words[:2] == ["exit", "0"]:
        return f"runs `{' '.join(words)}`"
    if name == "echo":
        return "only echoes"
    if shell.is_python(name) and len(words) >= 3 and words[1] == "-c" and all(
            re.fullmatch(r"(import [\w., ]+|from [\w.]+ import [\w., ]+|[\w.]+|pass)", part.strip())
            for part in words[2].replace("\n", ";").split(";") if part.strip()):
        return "only imports modules"
    if name == "celery" and any(w in ("report", "--version", "--help") for w in words[1:]):
        return f"runs `{' '.join(words)}`, which contacts neither broker nor worker"
    return None
