"""probe-no-op: a liveness probe that cannot fail.

## What it finds
An `exec` liveness probe whose command always succeeds: `true`, `exit 0`, `echo ...`, anything
ending in `|| true` or `|| exit 0`, or a Python one-liner that only imports or builds the app
(`python -c "import proj"`, `celery -A proj report`), contacting neither broker nor worker.
Python programs are judged on their syntax tree, whatever their layout: a `try:` that builds the
app with `Celery(...)` and `config_from_object(...)`, then `sys.exit(0)`, with `sys.exit(1)` only
in its `except`, fails when the image is broken, never when the worker hangs.

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
- compose healthchecks: a failing one restarts nothing (outside Swarm), so one that cannot fail
  changes nothing either;
- a Python program that calls anything beyond importing, building or configuring the app and
  exiting (`app.control.ping(...)`, `os.stat(...)` of a heartbeat file, a socket), or that exits
  non-zero or raises outside an `except` handler;
- containers that do not run celery.

## References
- Kubernetes docs, liveness probes; celery/celery#4079 (no official probe command).
- Seed post-mortem 000: its "fixed" probe built the app in a `try:` and exited 0.
"""

from __future__ import annotations

import re
from typing import Iterator

from celerylint.diagnostics import Finding, Severity
from celerylint.engine import Context
from celerylint.model.kubernetes import span
from celerylint.parse import shell
from celerylint.rules_support import place

CODE = "CL303"
NAME = "probe-no-op"
SEVERITY = Severity.WARNING
SUMMARY = "a liveness probe whose command always succeeds"

#: What follows the last ``||`` of a command that cannot fail (matched on that tail alone).
_ALWAYS = re.compile(r"(true|:|exit\s+0|echo\b[^|&;]*)")


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
            process = next((i.subcommand for i in container.celery if i.subcommand), "celery")
            yield Finding(
                span(source, probe.data["exec"].value_pos["command"]),
                f"livenessProbe of {place(container)} {why}: it never fails, so a hung "
                f"{process} is never restarted",
                "probe a heartbeat the worker writes, or `celery inspect ping -d celery@$HOSTNAME`")


def _always_succeeds(argv: list[str]) -> str | None:
    script = shell.shell_script(argv)
    text = argv[script[1]] if script else " ".join(argv)
    head, bar, tail = text.strip().rpartition("||")
    match = _ALWAYS.fullmatch(tail.strip()) if bar else None
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
    if shell.is_python(name) and len(words) >= 3 and words[1] == "-c":
        return _inert_python(words[2])
    if name == "celery" and any(w in ("report", "--version", "--help") for w in words[1:]):
        return f"runs `{' '.join(words)}`, which contacts neither broker nor worker"
    return None


#: Calls that build or configure an app, or end the program: none contacts a broker or a worker.
_INERT_CALLS = frozenset({
    "Celery", "config_from_object", "autodiscover_tasks", "setup", "exit", "quit", "print",
    "setdefault", "get", "getenv", "update", "import_module", "get_wsgi_application",
})


def _inert_python(code: str) -> str | None:
    """Why a ``python -c`` program can never report a dead worker, or None when it may.

    Decided on the syntax tree, whatever its layout: every call only imports, builds or configures
    the app (``Celery(...)``, ``config_from_object``, ``django.setup()``) or exits, and nothing
    outside an ``except`` handler exits non-zero or raises. Such a program fails only when the
    image itself is broken, never when the worker hangs."""
    import ast

    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    handlers = {id(n) for h in ast.walk(tree) if isinstance(h, ast.ExceptHandler)
                for n in ast.walk(h)}
    calls = False
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assert, ast.While, ast.Lambda, ast.FunctionDef,
                             ast.AsyncFunctionDef, ast.Await)):
            return None
        if isinstance(node, ast.Raise) and id(node) not in handlers:
            return None
        if isinstance(node, ast.Call):
            calls = True
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else \
                func.id if isinstance(func, ast.Name) else ""
            if name not in _INERT_CALLS:
                return None
            if name in ("exit", "quit") and id(node) not in handlers and node.args and not (
                    isinstance(node.args[0], ast.Constant) and node.args[0].value in (0, None)):
                return None
    return "only imports or builds the app" if calls else "only imports modules"
