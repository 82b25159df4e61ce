"""force-root: `C_FORCE_ROOT` set, which switches off Celery's root check whatever its value.

## What it finds
The environment variable `C_FORCE_ROOT` set to any non-empty value in a container (a manifest's
`env`, a ConfigMap it loads, a compose service's `environment` or its `env_file`), including
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
`securityContext: {runAsNonRoot: true, runAsUser: 10001}`, compose `user: "10001"`), with the json
serializer. Automatic fix (unsafe: a root worker that accepts pickle will then refuse to start):
deletes the variable's line (its `- name:`/`value:` pair; a compose `environment` entry when the
mapping or list keeps another one; a line of an `env_file`).

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

import re
from typing import Iterator

from celerylint.diagnostics import Applicability, Finding, Fix, Severity
from celerylint.engine import Context
from celerylint import sources as src
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
            fix=_fix(container, variable, context.deployment))


def _fix(container, variable, deployment) -> Fix | None:
    """Delete the variable's line(s): a flow-style item, a `- name:` line and its `value:` line,
    a compose entry that has a sibling (an empty `environment:` is invalid), an env_file line."""
    source = next((s for s in deployment.sources if s.path == variable.span.path), None)
    if source is None or (container.workload.carrier != "compose"
                          and source is not container.workload.source):
        return None  # from a ConfigMap: the edit belongs there, for a person to make
    line = variable.span.line
    text = source.lines[line - 1].strip()
    last = line
    if text.startswith("- name:") and line < len(source.lines) and \
            source.lines[line].strip().startswith("value:"):
        last = line + 1
    elif source.kind != src.YAML:
        if not _ENV_FILE_LINE.match(text):
            return None
    elif not (text.startswith("- {") and text.endswith("}")) and not (
            container.workload.carrier == "compose" and _COMPOSE_ENTRY.match(text)
            and _has_sibling(source, line)):
        return None
    return Fix("remove C_FORCE_ROOT", [edit(source, source.offset(line, 1),
                                            source.offset(last + 1, 1), "")],
               Applicability.UNSAFE)


_ENV_FILE_LINE = re.compile(r"(export\s+)?C_FORCE_ROOT\s*=")
_COMPOSE_ENTRY = re.compile(r"""(- *["']?C_FORCE_ROOT=|["']?C_FORCE_ROOT["']? *:)""")


def _has_sibling(source, line: int) -> bool:
    """Whether the nearest content line above or below is another entry at the same indent."""
    indent = len(source.lines[line - 1]) - len(source.lines[line - 1].lstrip())
    for step in (-1, 1):
        number = line + step
        while 0 < number <= len(source.lines):
            row = source.lines[number - 1]
            if row.strip() and not row.lstrip().startswith("#"):
                if len(row) - len(row.lstrip()) == indent:
                    return True
                break
            number += step
    return False
