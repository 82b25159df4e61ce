"""force-root: `C_FORCE_ROOT` set, which switches off Celery's root check whatever its value.

## What it finds
The environment variable `C_FORCE_ROOT` set to any non-empty value in a container, including
`"false"`, `"0"` and `"no"`.

## Symptoms
- None at start: that is the point. A worker running as root that accepts pickle would otherwise
  refuse to start with `Running a worker with superuser privileges when the worker accepts
  messages serialized with pickle is a very bad idea!`; with `C_FORCE_ROOT` it runs, and any
  message on the broker can execute code as root.

## Why
Celery tests `os.environ.get('C_FORCE_ROOT', False)` (`celery/platforms.py`,
`check_privileges`): any non-empty string is true, so `C_FORCE_ROOT="false"` forces root too.

## Fix
Remove `C_FORCE_ROOT` and run the worker as a non-root user (`USER 10001` in the Dockerfile,
`securityContext: {runAsNonRoot: true, runAsUser: 10001}`), with the json serializer. Automatic fix
(unsafe: a root worker that accepts pickle will then refuse to start): deletes the variable.

## When it stays silent
- `C_FORCE_ROOT` set to an empty string (Celery treats it as unset);
- containers that run celery beat, Flower or other commands but no worker: only the worker calls
  `check_privileges` (`celery/apps/worker.py`), so the variable changes nothing there.

## References
- `celery/platforms.py` (v5.6.3): `check_privileges`, `ROOT_DISALLOWED`; its only caller is
  `celery/apps/worker.py` (`Worker.on_before_init`).
- Celery docs, Security: https://docs.celeryq.dev/en/stable/userguide/security.html
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Applicability, Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.yamledit import edit

CODE = "CL507"
NAME = "force-root"
SEVERITY = Severity.WARNING
SUMMARY = "C_FORCE_ROOT is set: any value, even \"false\", switches off Celery's root check"
FIXABLE = True
#: A root worker that accepts pickle runs any code a broker client sends, as root.
SECURITY_SEVERITY = 6.5


def check(context: Context) -> Iterator[Finding]:
    for container in context.deployment.containers(include_init=True):
        variable = container.env.get("C_FORCE_ROOT")
        if variable is None or not variable.value:
            continue  # unset, empty, or from a Secret we cannot read
        if container.celery and not any(i.is_worker or i.subcommand == "multi"
                                         for i in container.celery):
            continue  # only the worker checks privileges: beat and Flower never read it
        shown = f'"{variable.value}"'
        yield Finding(
            variable.span,
            f"C_FORCE_ROOT is set ({shown}) in {container.where}: Celery treats any non-empty "
            "value as set, so a root worker accepting pickle starts anyway and broker messages "
            "can run code as root",
            "remove C_FORCE_ROOT and run the worker as a non-root user with the json serializer",
            fix=_fix(container, variable))


def _fix(container, variable) -> Fix | None:
    """Delete the env item: one flow-style line, or a `- name:` line and its `value:` line."""
    source = container.workload.source
    if variable.span.path != source.path:
        return None  # from a ConfigMap: the edit belongs there, for a person to make
    line = variable.span.line
    text = source.lines[line - 1].strip()
    if text.startswith("- {") and text.endswith("}"):
        last = line
    elif text.startswith("- name:") and line < len(source.lines) and \
            source.lines[line].strip().startswith("value:"):
        last = line + 1
    else:
        return None
    return Fix("remove C_FORCE_ROOT", [edit(source, source.offset(line, 1),
                                            source.offset(last + 1, 1), "")],
               Applicability.UNSAFE)
