"""Requirement sets of ``pip install`` command lines: in containers (their start, entry
scripts included), Dockerfile ``RUN`` instructions (shell form, exec form, heredocs), and shell
scripts no container starts (host set-up and deploy scripts)."""

from __future__ import annotations

from celerylint.diagnostics import Span
from celerylint.model import Deployment, PinnedRequirement, RequirementSet
from celerylint.parse import dockerfile, requirements, shell
from celerylint.parse.dockerfile import Dockerfile
from celerylint.sources import SourceFile


def add(deployment: Deployment, scripts_read: list[tuple[SourceFile, list]]) -> None:
    """Every pip command line's set, containers first (with their image's Python)."""
    for container in deployment.containers(include_init=True):
        for command in container.commands or []:
            found = pip_set(command, f"pip install in {container.where}",
                            dockerfile.python_version(container.image or ""),
                            f"image {container.image}", command.origin.span,
                            container.workload.source.project)
            if found:
                deployment.requirement_sets.append(found)
    for parsed in deployment.dockerfiles:
        deployment.requirement_sets.extend(dockerfile_sets(parsed))
    script_sets(scripts_read, deployment)


def script_sets(scripts_read: list[tuple[SourceFile, list]], deployment: Deployment) -> None:
    """``pip install`` lines of shell scripts (deploy and set-up scripts) as requirement sets;
    a script a container starts is judged with that container's image instead."""
    launched = {s.path for launch in deployment.launches for s in launch.sources}
    known = {s.path for s in deployment.sources}
    for source, commands in scripts_read:
        if source.path in launched:
            continue
        for command in commands:  # their origins are set where the script is read
            found = pip_set(command, f"pip install in {source.path}", None, "",
                            command.origin.span, source.project)
            if found:
                deployment.requirement_sets.append(found)
                if source.path not in known:
                    known.add(source.path)
                    deployment.sources.append(source)


def pip_set(command: shell.SimpleCommand, label: str, python: str | None, python_source: str,
             word_span, project: str) -> RequirementSet | None:
    args = requirements.pip_install_args(command)
    if args is None:
        return None
    parsed, origins = requirements.read_pip_install(args)
    if parsed.no_deps or not parsed.requirements:
        return None  # --no-deps installs exactly what is named: pip checks nothing
    pinned = []
    for line, word in zip(parsed.requirements, origins):
        span = word_span(word)
        pinned.append(PinnedRequirement(line.name, line.text, line.requirement, span,
                                        where=span.path, project=project))
    return RequirementSet(label, pinned, word_span(command.words[0]), python,
                          python_source if python else "", allow_pre=parsed.allow_pre)


def dockerfile_sets(parsed: Dockerfile) -> list[RequirementSet]:
    """One requirement set per ``pip install`` in a RUN (shell form, exec form or heredoc)."""
    sets = []
    path = parsed.source.path
    for stage in parsed.stages:
        for instruction in stage.instructions:
            if instruction.keyword != "RUN":
                continue
            label = f"RUN in {path}"
            whole_line = Span(path, instruction.line, instruction.column, instruction.line,
                              len(parsed.source.lines[instruction.line - 1]) + 1)
            if instruction.json_args is not None:
                try:
                    commands = shell.commands_of(instruction.json_args)
                except shell.ShellSyntaxError:
                    continue
                sets.extend(pip_set(c, label, stage.python, f"FROM {stage.base}",
                                    lambda word: whole_line, parsed.source.project)
                            for c in commands)
                continue
            # (script, function from an offset in it to a file position)
            base = dockerfile.RUN_FLAGS.match(instruction.text).end()  # RUN --mount=... pip install ...
            scripts = [(instruction.text[base:],
                        lambda offset, i=instruction, b=base: i.position(offset + b))]
            for heredoc in instruction.heredocs:
                scripts.append((heredoc.body, lambda offset, h=heredoc: (
                    h.line + h.body.count("\n", 0, offset),
                    offset - (h.body.rfind("\n", 0, offset) + 1) + 1)))
            for script, position in scripts:
                try:
                    commands = shell.split(script)
                except shell.ShellSyntaxError:
                    continue

                def word_span(word, position=position) -> Span:
                    return Span(path, *position(word.start), *position(word.end))

                sets.extend(pip_set(c, label, stage.python, f"FROM {stage.base}", word_span,
                                    parsed.source.project) for c in commands)
    return [s for s in sets if s is not None]
