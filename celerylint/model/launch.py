"""How a container's main process starts: following the chain to celery.

A container runs ENTRYPOINT + CMD from its image, which Kubernetes ``command``/``args`` override
(``command`` replaces ENTRYPOINT and drops CMD; ``args`` alone replaces CMD). The argv may start
with an init (``tini``, ``dumb-init``), a shell with ``-c``, or a script. Scripts found in the
repository are read and split with the same parser, and an entry script's ``exec "$@"`` hands over
to the rest of the argv. Each hop is recorded so that findings can say how celery was reached.

Linking an image to a Dockerfile of the repository: the ``images`` table of the configuration
when it names the image; otherwise a documented heuristic: an image from Docker Hub's library (no ``/`` in its name, ``python:3.11``) is
never ours; otherwise the Dockerfile whose directory, or whose name suffix
(``Dockerfile.worker``, ``worker.Dockerfile``), equals the image's last path component; otherwise
the only Dockerfile of the repository, when there is exactly one and the image comes from a
registry host of its own (``registry.example.com/shop/app``, not Docker Hub's ``bitnami/redis``).

Finding a script: the source of the Dockerfile ``COPY``/``ADD`` that put it at that path (sources
resolved against the Dockerfile's directory, then its parents), else the path itself below the
checked directories (then the project root above them) with leading directories dropped one by one (at least
two components kept).
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celerylint import sources as src
from celerylint.diagnostics import Span
from celerylint.model import Container
from celerylint.model import shells
from celerylint.model.images import split_image
from celerylint.model.image_scripts import (Item, copied_from, fallback_span, instruction_items,
                                            instruction_scripts, split_script)
from celerylint.model.origins import Joined, Origin, ScriptText
from celerylint.parse import celery_cli, dockerfile, shell
from celerylint.parse.dockerfile import Dockerfile, Stage
from celerylint.parse.shell import SimpleCommand, Word
from celerylint.sources import SourceFile

INITS = frozenset({"tini", "tini-static", "dumb-init", "catatonit"})
_INIT_VALUE_OPTIONS = frozenset({"-p", "-e", "-r", "--rewrite"})
MAX_HOPS = 8
#: Hand-overs through ``"$@"`` followed at most (each one a nested shell).
MAX_DEPTH = 20
PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
#: Programs never looked up as scripts of the repository.
NOT_SCRIPTS = frozenset({"celery", "flower", "pip", "pip3", "gunicorn", "uvicorn", "exec",
                         "env", "nice", "nohup", "gosu", "su-exec", "su", "sudo", "runuser"})

#: The commands, outermost first, whose shells (or su) stay between PID 1 and what they start.
_Hold = tuple[SimpleCommand, ...]


def _may_be_script(program: str) -> bool:
    name = os.path.basename(program)
    return not (name in NOT_SCRIPTS or name in shell.SHELLS or name in INITS
                or shell.is_python(name) or name.startswith("-") or "=" in name)


@dataclass(frozen=True)
class Hop:
    """One step from a container to celery, and where it is written (positions stay out of the
    text, so messages and fingerprints do not change when lines move)."""

    text: str
    span: Span | None = None


@dataclass
class Launch:
    """The commands a container (or an image) starts with, and how they were reached."""

    label: str
    commands: list[SimpleCommand]
    hops: list[Hop] = field(default_factory=list)
    init: str | None = None
    init_options: list[str] = field(default_factory=list)  # tini -g, dumb-init --single-child
    container: Container | None = None
    stage: Stage | None = None
    sources: list[SourceFile] = field(default_factory=list)  # entry scripts read
    # which launcher runs it (carriers/launchers.py): container, procfile, supervisord, s6,
    # runit, systemd or entry-script, and the facts about that launcher rules read
    launcher: str = "container"
    in_container: bool | None = True  # a container's process; False: a host's; None: unknown
    guessed: bool = False  # an entry script by its name only: findings are warnings
    group_stop: bool = False  # the stop signal goes to every process of its group (or cgroup)
    stop_signal: str = "TERM"
    stop_timeout: float | None = None  # seconds before SIGKILL, when the launcher sets them
    numprocs: int = 1
    unit_type: str | None = None  # systemd Type=
    settings: dict[str, Span] = field(default_factory=dict)  # launcher keys rules point at
    truncated: object = None  # the launcher cut its command short (carriers.supervisord.Cut)
    app_config: Any = None  # model.appconfig.AppConfig of a launcher's -A app (no container)

    def describe(self) -> str:
        """The label and the scripts followed past the launcher's own file."""
        scripts = [s for s in self.scripts if f"({s})" not in self.label and
                   f" {s} (" not in self.label]
        return self.label + (f" (through {' and '.join(scripts)})" if scripts else "")

    @property
    def celery(self) -> list:
        """The celery invocations among the commands (parsed once)."""
        cached = self.__dict__.get("_celery")
        if cached is None:
            cached = self.__dict__["_celery"] = celery_cli.invocations(self.commands)
        return cached

    def via(self) -> str:
        """``k8s/w.yaml runs /start, /start is compose/start, which ...`` or ''."""
        return ", ".join(h.text for h in self.hops)

    @property
    def base_image(self) -> str | None:
        """The image the container runs on: the root of the linked Dockerfile's stages, else the
        container's image name (which tells the distribution, and so ``/bin/sh``)."""
        if self.stage is not None:
            return self.stage.root_image
        return self.container.image if self.container is not None else None

    @property
    def scripts(self) -> list[str]:
        """The entry scripts of the repository that the start runs, in order."""
        return [s.path for s in self.sources]


class Resolver:
    """Builds launches; reads entry scripts from the repository once each."""

    def __init__(self, dockerfiles: list[Dockerfile], scope, max_size: int,
                 overlay: dict[str, SourceFile] | None, images: dict[str, str] | None = None
                 ) -> None:
        self.dockerfiles = dockerfiles
        self.images = images or {}
        self.scope = scope  # discover.Scope: scripts outside the checked tree are not read
        # the linking heuristic's look-ups, built once: by project and the name an image's last
        # path component can match (the directory, or the name's suffix or prefix)
        self.by_path = {os.path.normpath(d.source.abspath or ""): d for d in dockerfiles}
        self.by_name: dict[tuple[str, str], Dockerfile] = {}
        self.by_project: dict[str, list[Dockerfile]] = {}
        for parsed in dockerfiles:
            path, project = parsed.source.path, parsed.source.project
            self.by_project.setdefault(project, []).append(parsed)
            filename = posixpath.basename(path)
            for name in (posixpath.basename(posixpath.dirname(path)), filename.partition(".")[2],
                         filename.rpartition(".")[0]):
                if name:
                    self.by_name.setdefault((project, name), parsed)
        self.max_size = max_size
        self.overlay = overlay
        self.scripts: dict[str, SourceFile | None] = {}

    # -- linking -------------------------------------------------------------------------------
    def dockerfile_for(self, image: str | None, project: str = "") -> tuple[Dockerfile, Stage] | None:
        """The Dockerfile (and its final stage) that builds ``image``, in the same project."""
        if not image or not self.dockerfiles:
            return None
        repository = split_image(image)[0]
        mapped = self.images.get(image) or self.images.get(repository)
        if mapped is not None:  # the configuration says which Dockerfile builds it
            found = self.by_path.get(os.path.normpath(mapped))
            return (found, found.stages[-1]) if found and found.stages else None
        if "/" not in repository:
            return None  # an official Docker Hub image (python, redis ...): not built here
        parsed = self.by_name.get((project, repository.rsplit("/", 1)[-1]))
        if parsed is not None:
            return (parsed, parsed.stages[-1]) if parsed.stages else None
        # the only Dockerfile builds the images pushed to a registry of one's own
        # (registry.example.com/..., ghcr.io/...), not Docker Hub images such as bitnami/redis
        registry = repository.split("/")[0]
        own = self.by_project.get(project, [])
        if len(own) == 1 and own[0].stages and (
                "." in registry or ":" in registry or registry == "localhost"):
            return own[0], own[0].stages[-1]
        return None

    # -- scripts -------------------------------------------------------------------------------
    def locate_script(self, path: str, image: tuple[Dockerfile, Stage] | None,
                      workdir: str | None = None) -> tuple[SourceFile, Hop | None] | None:
        """The script and the COPY that put it in the image (when that is how it was found);
        a relative path is taken from ``workdir`` (the container's ``workingDir``), else from
        the image's WORKDIR."""
        candidates: list[tuple[Path, Hop | None]] = []
        if image is not None:
            parsed, stage = image
            dockerfile_dir = Path(parsed.source.abspath or parsed.source.path).parent
            contexts = [dockerfile_dir, *list(dockerfile_dir.parents)[:3]]
            # a bare name runs from PATH; a relative path from the working directory
            targets = [posixpath.join(d, path) for d in PATH_DIRS] if "/" not in path else \
                [posixpath.normpath(posixpath.join(workdir or stage.workdir or "/", path))]
            candidates += [(c / source, Hop(f"copied by {parsed.source.path}",
                                            fallback_span(parsed.source, copy)))
                           for target in targets
                           for source, copy in copied_from(stage, target) for c in contexts]
        parts = [p for p in path.split("/") if p not in ("", ".")]
        for root in self.scope.roots:
            for i in range(len(parts) - 1):
                candidates.append((root.joinpath(*parts[i:]), None))
        for candidate, how in candidates:
            if self.scope.contains(candidate) and candidate.is_file():
                script = self._read(candidate)
                if script is not None:
                    return script, how
        return None

    def _read(self, path: Path) -> SourceFile | None:
        key = os.path.realpath(path)
        if key not in self.scripts:
            result = src.read(path, "script", self.max_size, self.overlay, self.scope)
            self.scripts[key] = result if isinstance(result, SourceFile) else None
        return self.scripts[key]

    # -- launches ------------------------------------------------------------------------------
    def built(self, container: Container) -> tuple[Dockerfile, Stage] | None:
        """The Dockerfile and stage a compose ``build`` names (read here when the walk did not
        read it): an exact link, no heuristic."""
        path, target = container.build
        parsed = self.by_path.get(path)
        if path not in self.by_path:
            result = src.read(Path(path), src.DOCKERFILE, self.max_size, self.overlay,
                              self.scope) if os.path.isfile(path) else None
            found = dockerfile.parse(result) if isinstance(result, SourceFile) else None
            self.by_path[path] = parsed = found if isinstance(found, Dockerfile) else None
        if parsed is None or not parsed.stages:
            return None
        if target is None:
            return parsed, parsed.stages[-1]
        stage = next((s for s in parsed.stages if (s.name or "").lower() == target.lower()), None)
        return (parsed, stage) if stage is not None else None

    def for_container(self, container: Container) -> Launch | None:
        launch = self._for_container(container)
        if launch is not None and container.init_process and launch.init is None:
            launch.init = "tini"  # Docker's --init is tini, without -g (moby daemon/oci_linux.go)
        return launch

    def _for_container(self, container: Container) -> Launch | None:
        image = self.built(container) if container.build else \
            self.dockerfile_for(container.image, container.workload.source.project)
        stage = image[1] if image else None
        items: list[Item] = []
        origin = container.commands[0].origin if container.commands else None
        yaml_items = [Item.whole(text, origin, i, container.argv_dynamic[i])
                      for i, text in enumerate(container.argv)] if origin is not None else []
        where = container.span.path
        if container.argv_from_command:
            items = yaml_items
            hop = f"{where} runs {items[0].text}" if items else ""
        else:
            entry = self._instruction_items(image, "ENTRYPOINT")
            if entry is None:
                return None  # a shell-form ENTRYPOINT ignores args; unknown image: unknown
            built = f"{image[0].source.path}" if image else ""
            if yaml_items:
                items = entry + yaml_items
                hop = (f"{where} runs {yaml_items[0].text} through the ENTRYPOINT "
                       f"{entry[0].text} of {built}" if entry else f"{where} runs {yaml_items[0].text}")
            else:
                cmd = self._instruction_items(image, "CMD")
                if cmd is None or (not entry and not cmd):
                    return self._shell_form_default(container, image, where)
                items = entry + cmd
                hop = f"{where} runs the image built by {built}, which starts {items[0].text}"
        if not items:
            return None
        launch = Launch(container.where, [], container=container, stage=stage)
        launch.hops.append(Hop(hop, container.span))
        launch.commands = self._follow(items, image, launch, (), depth=0)
        return launch

    def for_image(self, parsed: Dockerfile) -> Launch | None:
        """The image's own start (``docker run`` with no command), from its final stage."""
        if not parsed.stages:
            return None
        stage = parsed.stages[-1]
        entrypoint, cmd = stage.last("ENTRYPOINT"), stage.last("CMD")
        if entrypoint is None and cmd is None:
            return None
        image = (parsed, stage)
        launch = Launch(f"the image built by {parsed.source.path}", [], stage=stage)
        first = entrypoint or cmd
        launch.hops.append(Hop(f"{parsed.source.path} runs {first.args[:60]}",
                               fallback_span(parsed.source, first)))
        if first.json_args is None:  # shell form: /bin/sh -c, and CMD is ignored by it
            launch.commands = self._shell_form(parsed, stage, first, image, launch)
            return launch
        items = instruction_items(parsed, entrypoint) if entrypoint else []
        if cmd is not None and (entrypoint is None or entrypoint.json_args is not None):
            more = instruction_items(parsed, cmd)
            if more is None:
                if entrypoint is None:
                    launch.commands = self._shell_form(parsed, stage, cmd, image, launch)
                    return launch
                cmd_origin = ScriptText(parsed.source, cmd.text,
                                        parsed.source.offset(cmd.line, cmd.column),
                                        fallback_span(parsed.source, cmd))
                more = [Item.whole(w, cmd_origin, 0) for w in ["/bin/sh", "-c", cmd.text]]
            items = items + more
        launch.commands = self._follow(items, image, launch, (), depth=0)
        return launch

    # -- launchers (carriers/launchers.py) -----------------------------------------------------
    def follow_argv(self, launch: Launch, argv: list[tuple[str, Origin, Word]], image=None) -> None:
        """A launcher's argv (no shell unless it names one), followed as a container's is."""
        launch.commands = self._follow([Item(*item) for item in argv], image, launch, (), 0)

    def follow_text(self, launch: Launch, script: str, origin: Origin, shell_name: str,
                    image=None) -> None:
        """A command line the launcher runs with ``shell_name -c`` (a Procfile's)."""
        launch.commands = self._expand(split_script(script, origin, shell_name) or [], [],
                                       image, launch, (), 0)

    def follow_file(self, launch: Launch, source: SourceFile, shell_name: str, image=None) -> None:
        """A script file the launcher runs itself (an s6 ``run`` file, an entry script)."""
        launch.sources.append(source)
        fallback = Span(source.path, 1, 1, 1, len(source.lines[0]) + 1)
        commands = split_script(source.text, ScriptText(source, source.text, 0, fallback),
                                shell_name) or []
        for command in commands:
            command.from_file = True
        launch.commands = self._expand(commands, [], image, launch, (), 1)

    def _instruction_items(self, image, keyword: str) -> list[Item] | None:
        """Exec-form items of the image's ENTRYPOINT/CMD ([] when absent, None when shell form
        or when the image is unknown)."""
        if image is None:
            return [] if keyword == "ENTRYPOINT" else None
        parsed, stage = image
        instruction = stage.last(keyword)
        if instruction is None:
            return []
        return instruction_items(parsed, instruction)

    def _shell_form_default(self, container, image, where) -> Launch | None:
        if image is None:
            return None
        parsed, stage = image
        instruction = stage.last("ENTRYPOINT") or stage.last("CMD")
        if instruction is None or instruction.json_args is not None:
            return None
        launch = Launch(container.where, [], container=container, stage=stage)
        launch.hops.append(Hop(f"{where} runs image {container.image}, built by "
                               f"{parsed.source.path}", container.span))
        launch.hops.append(Hop(f"{parsed.source.path} starts {instruction.args[:60]}",
                               fallback_span(parsed.source, instruction)))
        launch.commands = self._shell_form(parsed, stage, instruction, image, launch)
        return launch

    def _shell_form(self, parsed, stage, instruction, image, launch) -> list[SimpleCommand]:
        commands: list[SimpleCommand] = []
        for script, origin, shell_name in instruction_scripts(parsed, stage, instruction)[:1]:
            split = split_script(script, origin, shell_name)
            if split:
                commands += self._expand(split, [], image, launch, (), 0)
        return commands

    def _follow(self, items: list[Item], image, launch: Launch, hold: _Hold,
                depth: int) -> list[SimpleCommand]:
        """The commands an argv runs: through inits, ``sh -c`` and scripts."""
        while items and os.path.basename(items[0].text) in INITS and not items[0].dynamic:
            launch.init = os.path.basename(items[0].text)
            items = items[1:]
            while items and items[0].text.startswith("-"):
                launch.init_options.append(items[0].text)
                value = items[0].text in _INIT_VALUE_OPTIONS
                done = items[0].text == "--"
                items = items[2:] if value else items[1:]
                if done:
                    break
        if not items:
            return []
        argv = [i.text for i in items]
        origin = Joined([(i.origin, i.word) for i in items], items[0].origin.fallback)
        script = shell.shell_script(argv)
        if script is not None:
            name, index = script
            commands = split_script(argv[index], origin, name, index)
            if commands is None:
                return []
            # sh -c SCRIPT NAME ARGS...: NAME is $0 and ARGS are "$@"
            return self._expand(commands, items[index + 2:], image, launch, hold, depth)
        program = argv[0]
        run_by = None
        if os.path.basename(program) in shell.SHELLS and len(argv) > 1 and \
                not argv[1].startswith("-"):
            run_by, program, rest = os.path.basename(program), argv[1], items[2:]
        else:
            rest = items[1:]
        if depth < MAX_HOPS and _may_be_script(program) and not items[0].dynamic:
            found = self.locate_script(program, image, _workdir(launch))
            if found is not None:
                commands = self._script(found, program, run_by, rest, image, launch, hold, depth)
                if commands is not None:
                    return commands
        words = [Word(item.text, 0, len(item.text), i, item.dynamic) for i, item in enumerate(items)]
        command = SimpleCommand(words=words, last=True, origin=origin)
        return self._expand([command], [], image, launch, hold, depth)

    def _script(self, located: tuple[SourceFile, str], program: str, run_by: str | None,
                rest: list[Item], image, launch: Launch, hold: _Hold,
                depth: int) -> list[SimpleCommand] | None:
        """The commands of a shell script; None when it is not one (a Python script ...)."""
        found, how = located
        first_line = found.lines[0] if found.lines else ""
        shebang = first_line[2:].split() if first_line.startswith("#!") else []
        if shebang and os.path.basename(shebang[0]) == "env" and len(shebang) > 1:
            shebang = shebang[1:]
        shell_name = run_by or (os.path.basename(shebang[0]) if shebang else "sh")
        if shell_name not in shell.SHELLS:
            return None
        launch.sources.append(found)
        launch.hops.append(Hop(f"{program} is {found.path}", Span(found.path, 1, 1, 1, 1)))
        if how is not None:
            launch.hops.append(how)
        fallback = Span(found.path, 1, 1, 1, len(first_line) + 1)
        commands = split_script(found.text, ScriptText(found, found.text, 0, fallback), shell_name)
        if commands is None:
            return []  # a shell script we cannot read: unknown
        for command in commands:
            command.from_file = True
        return self._expand(commands, rest, image, launch, hold, depth + 1)

    def _su(self, command: SimpleCommand, image, launch: Launch, hold: _Hold,
            depth: int) -> list[SimpleCommand]:
        """``su user -c SCRIPT``: su forks the shell that runs SCRIPT and stays in between."""
        texts = [w.text for w in command.words]
        script_word = command.words[texts.index("-c", 1) + 1]
        nested = _nested(command, script_word, "sh")
        if nested is None:
            return []
        launch.hops.append(Hop("which runs it through su -c (su stays the parent)",
                               command.origin.span(command.words[0])))
        return self._expand(nested, [], image, launch, hold + (command,), depth)

    def _expand(self, commands: list[SimpleCommand], rest: list[Item], image, launch: Launch,
                hold: _Hold, depth: int) -> list[SimpleCommand]:
        """Mark what a script's shell holds, and follow ``"$@"`` and the scripts it runs."""
        out: list[SimpleCommand] = []
        _arrays(commands)
        for command in commands:
            command.holders = list(hold)
            if command.shell is not None:
                command.shell_info = shells.resolve(command.shell, launch.base_image)
                command.implicit_exec = shells.execs_last(command.shell_info, commands, command)
            out.append(command)
            words = command.words
            if not words:
                continue
            hands_over = command.shell is None or command.exec_ or command.implicit_exec
            # what holds the processes it starts: the shells above, and this one if it stays
            child = hold if hands_over else hold + (command,)
            dollar_at = next((i for i, w in enumerate(words) if w.text == "$@" and w.dynamic), None)
            if words[0].name == "su" and "-c" in [w.text for w in words[1:-1]]:
                out += self._su(command, image, launch, hold, depth)
            elif dollar_at is not None and rest:
                around = [Item(w.text, command.origin, w) for w in words[:dollar_at]]
                after = [Item(w.text, command.origin, w) for w in words[dollar_at + 1:]]
                shown = " ".join(i.text for i in around + rest)[:60]
                launch.hops.append(Hop(f"which execs {shown}" if command.exec_ else
                                       f"which runs {shown} without exec",
                                       command.origin.span(words[dollar_at])))
                out += self._follow(around + rest + after, image, launch, child, depth + 1) \
                    if depth < MAX_DEPTH else []
            elif depth < MAX_HOPS and not words[0].dynamic:
                # a script run by name, or by a shell (``sh /app/x.sh``, ``bash -x x.sh``)
                at, run_by = (_script_argument(words), words[0].name) \
                    if words[0].name in shell.SHELLS else (0, None)
                if at is None or not _may_be_script(words[at].text):
                    continue
                found = self.locate_script(words[at].text, image, _workdir(launch))
                if found is not None and found[0] not in launch.sources:
                    where = command.origin.span(words[at])
                    launch.hops.append(Hop(f"{where.path} runs {words[at].text}"
                                           + ("" if hands_over else " without exec"), where))
                    rest_items = [Item(w.text, command.origin, w) for w in words[at + 1:]]
                    out += self._script(found, words[at].text, run_by, rest_items, image,
                                        launch, child, depth) or []
        return out


def _arrays(commands: list[SimpleCommand]) -> None:
    """``"${ARGS[@]}"`` replaced by the items of the bash array the script set before
    (``ARGS=(-A shop worker)``), each written where the array writes it."""
    arrays: dict[str, list[Word]] = {}
    for command in commands:
        if command.shell not in ("bash", "zsh", "ksh", "mksh"):
            continue  # sh (dash, ash) has no arrays: the script fails before celery runs
        for word in command.assignments:
            if word.array is not None:
                head = word.text.split("=", 1)[0]  # NAME, or NAME+ for NAME+=(more)
                name = head.rstrip("+")
                arrays[name] = (arrays.get(name, []) if head.endswith("+") else []) + word.array
        if not arrays or not any(w.dynamic and w.text.endswith("[@]}") for w in command.words):
            continue
        words: list[Word] = []
        for word in command.words:
            name = word.text[2:-4] if word.text.startswith("${") and word.text.endswith("[@]}") \
                else None
            words.extend(arrays[name] if word.dynamic and name in arrays else [word])
        command.words = words


def _workdir(launch: Launch) -> str | None:
    container = launch.container
    return container.working_dir if container is not None else None


def _script_argument(words: list[Word]) -> int | None:
    """The index of the script file a shell command runs (``bash -x run.sh``), or None (``sh
    -c``, an interactive shell, a script name we cannot read)."""
    i = 1
    while i < len(words) and words[i].text.startswith("-") and words[i].text != "--":
        flags = words[i].text
        if not flags.startswith("--") and "c" in flags[1:]:
            return None
        i += 2 if not flags.startswith("--") and "o" in flags[1:] else 1
    if i < len(words) and words[i].text == "--":
        i += 1
    return i if i < len(words) and not words[i].dynamic else None


def _nested(command: SimpleCommand, word: Word, shell_name: str) -> list[SimpleCommand] | None:
    """The commands of a script passed as one word (``su user -c "celery ..."``)."""
    origin = command.origin
    offsets = origin.offsets(word)
    source = origin.source_of(word)
    if offsets is None:
        return None
    start, end = offsets
    raw = source.text[start:end]
    if raw[:1] in ("'", '"') and raw[-1:] == raw[:1]:
        start += 1
    if source.text[start:start + len(word.text)] != word.text:
        return None
    return split_script(word.text, ScriptText(source, word.text, start, origin.span(word)), shell_name)
