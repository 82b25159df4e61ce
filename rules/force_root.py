"""force-root: `C_FORCE_ROOT` set, which switches off Celery's root check whatever its value.

## What it finds
The environment variable `C_FORCE_ROOT` set to any non-empty value for a worker, including
`"false"`, `"0"` and `"no"`: in a container (a manifest's `env`, a ConfigMap it loads, a compose
service's `environment` or its `env_file`), in the image (Dockerfile `ENV`), or by the start
(`export C_FORCE_ROOT=1` or `C_FORCE_ROOT=1 celery ...` in an entry script, a launcher's
command). The message states the real risk, and the severity follows it:

- error: the worker runs as root (`runAsUser: 0`, compose `user: root`, or an image whose last
  `USER` is root or absent on a Docker Hub library base such as `python:3.12`) and accepts
  pickle (`accept_content` of the app): it starts, and broker messages can run code as root;
- warning: root with json only, or what it runs as or accepts cannot be read;
- info: the worker runs as another user (`runAsUser`, `runAsNonRoot`, compose `user`, the
  image's `USER`): the variable hides nothing today.

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
- a script line `C_FORCE_ROOT=1` that is not exported (a shell variable celery never sees);
- containers that run celery beat, Flower or other commands but no worker: only the worker calls
  `check_privileges` (`celery/apps/worker.py`), so the variable changes nothing there.

## References
- `celery/platforms.py` (v5.6.3): `check_privileges`, `ROOT_DISALLOWED`; its only caller is
  `celery/apps/worker.py` (`Worker.on_before_init`). Default `accept_content` is `['json']`
  (Celery docs, Configuration, since 4.0).
- Kubernetes docs, "Configure a Security Context for a Pod or Container" (`runAsUser`,
  `runAsNonRoot`); Dockerfile reference, `USER` (the default user is root).
- Celery docs, Security: https://docs.celeryq.dev/en/stable/userguide/security.html
"""

from __future__ import annotations

import re
from typing import Iterator

from celerylint.diagnostics import Applicability, Finding, Fix, Severity, Span
from celerylint.engine import Context
from celerylint.rules_support import hops, launch_invocations, named, place
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
    deployment = context.deployment
    dockerfile_of = {id(stage): parsed for parsed in deployment.dockerfiles
                     for stage in parsed.stages}
    reported: set = set()
    for container in deployment.containers(include_init=True):
        if container.celery and not any(i.is_worker or i.subcommand == "multi"
                                        for i in container.celery):
            continue  # only the worker checks privileges: beat and Flower never read it
        variable = container.env.get("C_FORCE_ROOT")
        if variable is not None:
            if not variable.value:
                continue  # empty (Celery: unset), or from a Secret we cannot read
            found = (variable.value, variable.span, _fix(container, variable, deployment))
        else:
            found = _from_launch(container.launch, dockerfile_of)
        if found is None or found[1] in reported:
            continue
        reported.add(found[1])
        yield _finding(place(container), found, _root(container, container.launch),
                       _accepts_pickle(container.app_config), [])
    for launch, invocation in launch_invocations(deployment):  # images and launcher files
        if launch.container is not None or not (invocation.is_worker or
                                                invocation.subcommand == "multi"):
            continue
        found = _from_launch(launch, dockerfile_of)
        if found is not None and found[1] not in reported:
            reported.add(found[1])
            project = invocation.command.origin.source_of(invocation.program).project
            config = next((a for a in deployment.apps if a.module == invocation.app
                           and a.project == project), None)
            yield _finding(named(launch, found[1]), found, _root(None, launch),
                           _accepts_pickle(config), hops(launch))


def _finding(where: str, found, root: str | None, pickle: bool | None,
             related: list) -> Finding:
    """The message states the real risk: root or not, pickle or not."""
    value, span, fix = found
    detail = ""
    if root is not None and root != "root":
        risk = f"harmless as {root} today, but a root image would start silently"
        severity = Severity.INFO
    elif root == "root" and pickle:
        risk = "it runs as root with pickle: broker messages can run code as root"
        severity = Severity.ERROR
    elif root == "root" and pickle is False:
        risk = "it runs as root: with pickle enabled later, messages can run code as root"
        detail = "without pickle Celery would only warn; "
        severity = None
    elif root == "root":
        risk = "it runs as root: with pickle, messages can run code as root"
        severity = None
    else:
        risk = "if it runs as root with pickle, messages can run code as root"
        severity = None
    return Finding(
        span,
        f'C_FORCE_ROOT is set ("{value}") for the worker in {where}: {risk}',
        f"any non-empty value, even \"false\", turns off Celery's root check; {detail}remove "
        "C_FORCE_ROOT and run the worker as a non-root user with the json serializer",
        severity=severity, fix=fix, related=related)


def _from_launch(launch, dockerfile_of) -> tuple[str, object, None] | None:
    """``C_FORCE_ROOT`` set by the image (Dockerfile ``ENV``) or by the start (``export`` or a
    ``C_FORCE_ROOT=1 celery ...`` prefix in an entry script): (value, span, no fix)."""
    if launch is None:
        return None
    for command in launch.commands:
        exported = command.words[:1] and command.words[0].text == "export"
        # ``export C_FORCE_ROOT=1``, or ``C_FORCE_ROOT=1 celery ...`` (a bare assignment line
        # sets a shell variable that celery never sees)
        words = command.words[1:] if exported else (command.assignments if command.words else [])
        for word in words:
            name, eq, value = word.text.partition("=")
            if name == "C_FORCE_ROOT" and eq and value and not word.dynamic:
                return value, command.origin.span(word), None
    stage = launch.stage
    if stage is None:
        return None
    parsed = dockerfile_of.get(id(stage))
    for ancestor in reversed(stage.chain):
        for instruction in reversed(ancestor.instructions):
            if instruction.keyword == "ENV" and "C_FORCE_ROOT" in instruction.text:
                value = ancestor.env.get("C_FORCE_ROOT")
                if not value or parsed is None:
                    return None
                at = instruction.text.index("C_FORCE_ROOT")
                start, end = instruction.position(at), instruction.position(at + 12)
                return value, Span(parsed.source.path, *start, *end), None
    return None


def _root(container, launch) -> str | None:
    """"root", another user ("user 10001"), or None when it cannot be told: the pod's or
    container's securityContext, compose ``user``, then the image's last USER (a Docker Hub
    library image without USER runs as root)."""
    if container is not None:
        if container.workload.carrier == "compose":
            user = container.data.get("user")
            if user is not None:
                return _user(str(user))
        else:
            for context in (container.data.get("securityContext"),
                            (container.workload.pod or {}).get("securityContext")):
                if isinstance(context, dict):
                    if isinstance(context.get("runAsUser"), int):
                        return _user(str(context["runAsUser"]))
                    if context.get("runAsNonRoot") is True:
                        return "a non-root user (runAsNonRoot)"
    stage = launch.stage if launch is not None else None
    if stage is not None:
        user = stage.user
        if user:
            return _user(user)
        return "root" if "/" not in stage.root_image.split(":")[0] else None
    image = (container.image or "") if container is not None else ""
    return "root" if image and "/" not in image.split(":")[0] and "$" not in image else None


def _user(user: str) -> str:
    name = user.split(":")[0].strip().strip('"')
    return "root" if name in ("root", "0") else f"user {name}"


def _accepts_pickle(config) -> bool | None:
    """Whether the worker accepts pickle: ``accept_content`` of the app (json only by
    default); None when the app's configuration was not read."""
    if config is None:
        return None
    value = config.value("accept_content")
    if isinstance(value, (list, tuple, set)):
        return any("pickle" in str(v) for v in value)
    return None if value is not None else False


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
