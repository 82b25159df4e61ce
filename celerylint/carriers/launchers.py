"""Launchers: every other way a repository starts celery besides a container's command.

``model/build.py`` calls ``add`` once the containers' and images' launches are known; each
launcher file found by name (``carriers/launcher_files.py``) becomes one ``Launch`` per process
it starts, followed to celery through the scripts it runs with the same resolver, so every
launch rule (worker-detached, signal-not-forwarded, ...) reads them without parsing launcher
files itself. Each launch says which launcher runs it (``Launch.launcher``) and what that
launcher does on stop (``group_stop``, ``stop_signal``, ``stop_timeout``), whether it runs in a
container (``in_container``), and whether it is only guessed from a script's name (``guessed``).

- ``Procfile`` (Heroku, Dokku, honcho): ``carriers/procfile.py``; each command runs with
  ``/bin/sh -c``; honcho stops the whole process group (``os.killpg``), so ``group_stop``; a
  ``Procfile`` runs in a dyno (a container), a ``Procfile.dev`` on a developer's machine.
- supervisord ``[program:x]``: ``carriers/supervisord.py``; ``command=`` is split without a
  shell; ``stopasgroup=true`` signals the group.
- s6-overlay and runit ``run`` files: the file is the service's process (s6-supervise signals
  it alone), run by the shell of its shebang (``#!/command/with-contenv sh`` is ``sh``); an
  s6-rc service whose ``type`` is ``oneshot`` is not a long-running process and is skipped, and
  so is an execline ``run`` file (execline chain-loads: nothing stays in between).
- systemd units: ``carriers/systemd.py``; the default ``KillMode=control-group`` signals every
  process of the unit's cgroup.
- entry scripts whose launcher is not in the repository (``docker-entrypoint.sh``,
  ``compose/production/django/celery/worker/start``, ``start-worker.sh``): read only when no
  other launch already reaches them, and never when they plainly run on a host (they call
  ``docker``, ``ssh``, ``systemctl``, ``kubectl``... or ``celery multi``). A name or place that
  says "container" (``docker-entrypoint*``, ``start`` below ``compose/`` or ``docker/``, or a
  Dockerfile COPY that puts it in an image) gives ``in_container``; ``start-worker`` and the
  like may as well run on a host, so only the rules that hold anywhere read those.
- Jinja-templated supervisord files and units (``{{ }}``, ``{% %}``: an Ansible role's) are not
  read as they are: they leave the checked sources.

Whether supervisord runs in a container: a Dockerfile of the repository COPYs the file (or its
folder) into an image, or COPYs the whole build context and mentions supervisor. Then the
image's base tells which ``/bin/sh`` runs its ``sh -c`` commands.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

from celerylint import sources as src
from celerylint.carriers import launcher_files as names
from celerylint.diagnostics import Span
from celerylint.model.launch import Hop, Launch, Resolver
from celerylint.model.origins import Origin
from celerylint.parse import celery_cli, shell
from celerylint.parse.shell import Word
from celerylint.sources import SourceFile

#: Programs that say a script runs on a host (it drives containers, machines or services).
HOST_PROGRAMS = frozenset({"docker", "docker-compose", "podman", "nerdctl", "ssh", "scp",
                           "systemctl", "supervisorctl", "kubectl", "helm", "ansible",
                           "ansible-playbook", "vagrant", "fab", "heroku", "terraform"})
#: Shebang programs that run the shell named after them (s6-overlay's ``with-contenv``).
_CHAINERS = frozenset({"env", "with-contenv"})


# -- argv items written in a launcher file ------------------------------------------------------

@dataclass
class Piece:
    """One argv item of a launcher's command line: its value, the file offsets of its written
    text (quotes included), the file offset of each of its characters, and whether a value the
    launcher expands (``%(ENV_X)s``, ``${X}``, ``%i``) makes it unknown."""

    text: str
    raw: tuple[int, int]
    chars: list[int]
    dynamic: bool = False


@dataclass
class PieceArgv(Origin):
    """Words of a launcher's argv (supervisord ``command=``, systemd ``ExecStart=``): a whole
    item is its written text; a part of one (a word of its ``sh -c`` script) is placed through
    the character map, when the file writes it as it reads."""

    source: SourceFile
    pieces: list[Piece]
    fallback: Span

    def offsets(self, word: Word) -> tuple[int, int] | None:
        if word.item >= len(self.pieces):
            return None
        piece = self.pieces[word.item]
        if word.start == 0 and word.end == len(piece.text):
            return piece.raw
        if not 0 <= word.start < word.end <= len(piece.text):
            return None
        start, end = piece.chars[word.start], piece.chars[word.end - 1] + 1
        if self.source.text[start:end] != piece.text[word.start:word.end]:
            return None  # an escape or a quote inside: not placed exactly
        return start, end


def argv_items(source: SourceFile, pieces: list[Piece], fallback: Span
               ) -> list[tuple[str, Origin, Word]]:
    origin = PieceArgv(source, pieces, fallback)
    return [(p.text, origin, Word(p.text, 0, len(p.text), i, p.dynamic))
            for i, p in enumerate(pieces)]


def line_span(source: SourceFile, offset: int, end: int | None = None) -> Span:
    """The span from ``offset`` to ``end`` (default: the end of its line)."""
    line, column = source.position(offset)
    if end is None:
        return Span(source.path, line, column, line, len(source.lines[line - 1]) + 1)
    return Span(source.path, line, column, *source.position(end))


# -- what the repository's Dockerfiles put in images -------------------------------------------

@dataclass
class InImage:
    dockerfile: object  # parse.dockerfile.Dockerfile
    stage: object  # parse.dockerfile.Stage
    path: str  # where the file lands in the image
    explicit: bool  # named by the COPY (itself or its folder), not the whole build context


class Images:
    """Which Dockerfile COPYs a file of the repository into an image, and where."""

    def __init__(self, dockerfiles: list, scope) -> None:
        self.dockerfiles = dockerfiles
        self.scope = scope  # build contexts outside the checked tree are not looked at

    def find(self, source: SourceFile) -> InImage | None:
        if not source.abspath:
            return None
        real = os.path.normpath(source.abspath)
        weak = None
        for parsed in self.dockerfiles:
            if not parsed.stages or not parsed.source.abspath:
                continue
            directory = Path(parsed.source.abspath).parent
            contexts = [c for c in [directory, *list(directory.parents)[:3]]
                        if self.scope.contains(c)]
            for stage in reversed(parsed.stages):
                workdir = posixpath.normpath(stage.workdir or "/")
                for sources, dest, _ in reversed(stage.copies):
                    target = posixpath.normpath(posixpath.join(workdir, dest))
                    into = dest.endswith("/") or len(sources) > 1 or target == workdir
                    for context in contexts:
                        rel = os.path.relpath(real, context)
                        if rel.startswith(".."):
                            continue
                        rel = rel.replace(os.sep, "/")
                        for item in sources:
                            item = posixpath.normpath(item.lstrip("/")) if item.strip("./") \
                                else "."
                            if item == ".":
                                weak = weak or InImage(parsed, stage,
                                                       posixpath.join(target, rel), False)
                            elif rel == item:
                                path = posixpath.join(target, posixpath.basename(rel)) \
                                    if into else target
                                return InImage(parsed, stage, path, True)
                            elif rel.startswith(item + "/") and \
                                    os.path.isdir(os.path.join(context, item)):
                                return InImage(parsed, stage,
                                               posixpath.join(target, rel[len(item) + 1:]), True)
        return weak


# -- the launches ------------------------------------------------------------------------------

def add(deployment, resolver: Resolver) -> None:
    """Append the launches of every launcher file read (entry scripts last, for those no other
    launch reaches); parse problems of launcher files join ``deployment.problems``."""
    from celerylint.carriers import procfile, supervisord, systemd

    images = Images(deployment.dockerfiles, resolver.scope)
    entry_scripts = []
    dropped: set[int] = set()  # files that are not launchers after all (one pass to remove)
    for source in deployment.sources:
        kind = names.launcher_of(source.path)
        if kind is None or source.kind not in (src.LAUNCHER, src.SCRIPT):
            continue
        if kind in (names.SUPERVISORD, names.SYSTEMD) and _template(source.text):
            dropped.add(id(source))  # a Jinja template (Ansible): not read as it is
            continue
        if kind == names.PROCFILE:
            deployment.launches += procfile.launches(source, resolver)
        elif kind == names.SUPERVISORD:
            found, problems, is_supervisord = supervisord.launches(source, resolver, images)
            if not is_supervisord:  # nginx's, redis's ... .conf: not ours
                dropped.add(id(source))
            deployment.launches += found
            deployment.problems += problems
        elif kind == names.SYSTEMD:
            found, problems, is_unit = systemd.launches(source, resolver)
            if not is_unit:
                dropped.add(id(source))
            deployment.launches += found
            deployment.problems += problems
        elif kind in (names.S6, names.RUNIT):
            found = _service(source, kind, resolver, images)
            if found is not None:
                deployment.launches.append(found)
        elif kind == names.ENTRY_SCRIPT:
            entry_scripts.append(source)
    if dropped:
        deployment.sources[:] = [s for s in deployment.sources if id(s) not in dropped]
    reached = {s.path for launch in deployment.launches for s in launch.sources}
    for source in entry_scripts:
        if source.path not in reached:
            found = _entry_script(source, resolver, images)
            if found is not None:
                deployment.launches.append(found)


def _template(text: str) -> bool:
    return "{{" in text or "{%" in text


def script_shell(source: SourceFile) -> str | None:
    """The shell that runs a script file by its shebang (``#!/command/with-contenv bash`` is
    bash, ``#!/usr/bin/env sh`` is sh), None when it is not a shell script or has no shebang."""
    first = source.lines[0] if source.lines else ""
    if not first.startswith("#!"):
        return None
    words = first[2:].split()
    while words and (os.path.basename(words[0]) in _CHAINERS or words[0].startswith("-")):
        words = words[1:]
    name = os.path.basename(words[0]) if words else ""
    return name if name in shell.SHELLS else None


def _service(source: SourceFile, kind: str, resolver: Resolver, images: Images) -> Launch | None:
    """An s6 or runit ``run`` file: the service's own process, run by its shebang's shell."""
    directory = os.path.dirname(source.abspath or source.path)
    type_file = os.path.join(directory, "type")
    data = src.read_bytes(type_file, 256) if os.path.lexists(type_file) and \
        resolver.scope.contains(type_file) else b""
    service_type = data.decode("utf-8", "replace").strip() if isinstance(data, bytes) else ""
    if service_type and service_type != "longrun":
        return None  # an s6-rc oneshot or bundle: not a long-running process
    shell_name = script_shell(source)
    if shell_name is None:
        return None  # execline (chain-loads, nothing stays in between) or not a shell script
    service = os.path.basename(directory)
    image = images.find(source)
    image = image if image is not None and image.explicit else None
    # s6-overlay runs in containers; runit as well on hosts (Void Linux): there only when an
    # image of the repository holds the file
    launch = Launch(f"{kind} service '{service}' ({source.path})", [], launcher=kind,
                    in_container=True if kind == names.S6 or image else None,
                    stage=image.stage if image else None)
    launch.hops.append(Hop(f"{source.path} is the run file of {kind} service '{service}'",
                           Span(source.path, 1, 1, 1, len(source.lines[0]) + 1)))
    resolver.follow_file(launch, source, shell_name,
                         (image.dockerfile, image.stage) if image else None)
    return launch


def _host_script(launch: Launch) -> bool:
    """A script that drives containers, other machines or services, or runs ``celery multi``
    (which detaches on purpose): it runs on a host."""
    return any(c.words and c.words[0].name in HOST_PROGRAMS for c in launch.commands) or \
        any(i.subcommand == "multi" for i in celery_cli.invocations(launch.commands))


def _entry_script(source: SourceFile, resolver: Resolver, images: Images) -> Launch | None:
    shell_name = script_shell(source)
    if shell_name is None:
        if source.lines and source.lines[0].startswith("#!"):
            return None  # a Python (or other) program
        shell_name = "sh"
    image = images.find(source)
    parts = source.path.split("/")
    container = (image is not None and image.explicit) or \
        parts[-1].lower().startswith("docker-entrypoint") or \
        (parts[-1] == "start" and any(p in ("compose", "docker") for p in parts[:-1]))
    caveat = "if it is a container's entry point" if container else \
        "if a container runs it as its entry point"
    launch = Launch(f"entry script {source.path} ({caveat})", [], launcher=names.ENTRY_SCRIPT,
                    in_container=True if container else None, guessed=True,
                    stage=image.stage if image and image.explicit else None)
    launch.hops.append(Hop(f"{source.path} is an entry script by its name",
                           Span(source.path, 1, 1, 1, len(source.lines[0]) + 1)))
    resolver.follow_file(launch, source, shell_name,
                         (image.dockerfile, image.stage) if image and image.explicit else None)
    if _host_script(launch):
        return None
    return launch
