"""Where an image's commands and scripts are written: Dockerfile instructions (exec form, shell
form, heredocs) and the COPY that put a file at a path of the image."""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass

from celerylint.diagnostics import Span
from celerylint.model.origins import JsonArray, Origin, ScriptText
from celerylint.parse import shell
from celerylint.parse.dockerfile import RUN_FLAGS, Dockerfile, Instruction, Stage
from celerylint.parse.shell import SimpleCommand, Word
from celerylint.sources import SourceFile


@dataclass
class Item:
    """One argv item and the word that writes it in its origin."""

    text: str
    origin: Origin
    word: Word

    @classmethod
    def whole(cls, text: str, origin: Origin, index: int, dynamic: bool = False) -> "Item":
        return cls(text, origin, Word(text, 0, len(text), index, dynamic))

    @property
    def dynamic(self) -> bool:
        return self.word.dynamic


def fallback_span(source: SourceFile, instruction: Instruction) -> Span:
    return Span(source.path, instruction.line, instruction.column, instruction.line,
                len(source.lines[instruction.line - 1]) + 1)


def instruction_items(dockerfile: Dockerfile, instruction: Instruction) -> list[Item] | None:
    """An exec-form instruction's items, or None for shell form."""
    if instruction.json_args is None:
        return None
    source = dockerfile.source
    start = source.offset(instruction.line, instruction.column)
    origin = JsonArray.parse(source, start, instruction.text, fallback_span(source, instruction))
    return [Item.whole(text, origin, i) for i, text in enumerate(instruction.json_args)]


def instruction_scripts(dockerfile: Dockerfile, stage: Stage,
                        instruction: Instruction) -> list[tuple[str, Origin, str]]:
    """Shell-form text (and heredoc bodies) of an instruction: (script, origin, shell)."""
    source = dockerfile.source
    fallback = fallback_span(source, instruction)
    base = RUN_FLAGS.match(instruction.text).end() if instruction.keyword == "RUN" else 0
    text = instruction.text[base:]
    shell_name = stage_shell(stage, instruction)
    scripts = [(text, ScriptText(source, text, source.offset(instruction.line, instruction.column)
                                 + base, fallback), shell_name)]
    for heredoc in instruction.heredocs:
        scripts.append((heredoc.body, ScriptText(source, heredoc.body,
                                                 source.offset(heredoc.line, 1), fallback),
                        shell_name))
    return scripts


def stage_shell(stage: Stage, before: Instruction) -> str:
    """The shell of shell-form instructions: ``sh`` unless a SHELL instruction changed it."""
    name = "sh"
    for instruction in stage.instructions:
        if instruction is before:
            break
        if instruction.keyword == "SHELL" and instruction.json_args:
            name = os.path.basename(instruction.json_args[0])
    return name


def split_script(script: str, origin: Origin, shell_name: str, item: int = 0
                 ) -> list[SimpleCommand] | None:
    """The commands of a script written at ``origin`` (``item``: its argv item), or None when
    the splitter cannot read it."""
    try:
        commands = shell.split(script, shell=shell_name, item=item)
    except shell.ShellSyntaxError:
        return None
    for command in commands:
        command.origin = origin
    return commands


def copied_from(stage: Stage, target: str) -> list[tuple[str, Instruction]]:
    """Build-context paths that the stage's COPY/ADD may have put at ``target``, the last COPY
    first; the caller keeps those that exist in the build context.

    A destination ending in ``/``, the working directory (``COPY start.sh .``) or a COPY of several
    sources is a directory that receives each file; a source that is a directory
    (``COPY ./bin ./bin/``) gives its *contents*, so both readings are candidates. Relative
    destinations are taken against the stage's final WORKDIR (an approximation)."""
    found = []
    workdir = posixpath.normpath(stage.workdir or "/")
    for sources, dest, instruction in reversed(stage.copies):
        dest_abs = posixpath.normpath(posixpath.join(workdir, dest))
        prefix = dest_abs.rstrip("/") + "/"  # "/" for COPY x /
        into_directory = dest.endswith("/") or len(sources) > 1 or dest_abs == workdir
        for source in sources:
            if source.rstrip("/") in (".", ""):  # COPY . /app: the whole context
                if target.startswith(prefix):
                    found.append((target[len(prefix):], instruction))
                continue
            if into_directory and prefix + posixpath.basename(source.rstrip("/")) == target:
                found.append((source, instruction))
            elif dest_abs == target:
                found.append((source, instruction))
            if target.startswith(prefix):  # a directory's contents (COPY ./bin ./bin/)
                found.append((posixpath.join(source, target[len(prefix):]), instruction))
    return found
