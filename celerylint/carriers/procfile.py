"""Procfiles (Heroku, Dokku, honcho, foreman): one launch per process type.

A line is ``<type>: <command>``, read with honcho's own pattern ``^([A-Za-z0-9_-]+):\\s*(.+)$``
(``honcho/environ.py``, 2.0.0); any other line is ignored, as honcho ignores it (a comment, a
Jinja ``{% if %}`` line of a project template). The command runs with ``/bin/sh -c`` in a new
session (``honcho/process.py``: ``shell=True``, ``start_new_session``); on stop honcho signals
that whole process group (``os.killpg``, SIGTERM, then SIGKILL after ``KILL_WAIT`` = 5 s), and
when one process exits it stops all the others. On Heroku and Dokku each process type of the
``Procfile`` runs in its own dyno (a container), so its launch is a container's process; they
never read ``Procfile.dev`` and the like, which local runners (honcho ``-f``, overmind, foreman)
start on a developer's machine. The ``release`` type runs once per deploy, not as a
long-running process: it is not a launch. A line with a Jinja ``{{ }}`` (a project template's)
is not read: its command is not known.
"""

from __future__ import annotations

import re

from celerylint.diagnostics import Span
from celerylint.model.launch import Hop, Launch, Resolver
from celerylint.model.origins import ScriptText
from celerylint.sources import SourceFile

LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")
#: honcho's wait between SIGTERM and SIGKILL (``honcho/manager.py``).
KILL_WAIT = 5.0
#: Process types that are not long-running processes (Heroku's release phase).
ONE_OFF = frozenset({"release"})


def processes(source: SourceFile) -> list[tuple[str, int, int, int]]:
    """``(type, line, start, end)`` of every process line: the command's file offsets."""
    found = []
    for number, text in enumerate(source.lines, start=1):
        match = LINE.match(text)
        if match and "{{" not in text:  # a project template's line: its command is not known
            base = source.starts[number - 1]
            found.append((match.group(1), number, base + match.start(2), base + match.end(2)))
    return found


def launches(source: SourceFile, resolver: Resolver) -> list[Launch]:
    found = []
    for name, line, start, end in processes(source):
        if name in ONE_OFF:
            continue
        command = source.text[start:end]
        launch = Launch(f"Procfile process '{name}' ({source.path})", [], launcher="procfile",
                        group_stop=True, stop_timeout=KILL_WAIT,
                        in_container=True if source.path.endswith("Procfile") else None)
        where = Span(source.path, line, 1, line, len(source.lines[line - 1]) + 1)
        launch.hops.append(Hop(f"{source.path} runs {command[:60]}", where))
        launch.settings["process"] = where
        resolver.follow_text(launch, command, ScriptText(source, command, start, where), "sh")
        found.append(launch)
    return found
