"""A Dockerfile reader that keeps every instruction's position, heredocs included.

Our own lexer, chosen over the packages measured in ``../shared/reference/dependencies.md`` §4:
``dockerfile-parse`` reads heredoc bodies as instructions, and ``dockerfile`` (BuildKit's Go
parser) has no linux-aarch64 wheel. It follows the Dockerfile reference: parser directives
(``# escape=``), line continuations, comment lines inside continuations, here-documents on
RUN/COPY/ADD (``<<EOF``, ``<<-EOF``, quoted delimiters), and JSON ("exec") form.

The text of each instruction keeps its original line breaks so that offsets into it map back to
file positions; a comment line inside a continuation is blanked, not removed, for the same reason.
"""

from __future__ import annotations

import json
import bisect
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from celerylint.sources import ParseProblem, SourceFile

INSTRUCTIONS = frozenset({
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
})
JSON_FORM = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"})
_HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
_DIRECTIVE = re.compile(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=(.*)$")  # value stripped after
_PYTHON_TAG = re.compile(r"(?:^|[^0-9.])(?:python-?)?(3)\.(\d{1,2})(?![0-9])")
#: The flags of a RUN before its command (``RUN --mount=type=cache,target=/root/.cache``).
RUN_FLAGS = re.compile(r"(?:\s*--\S+|\s*\\\n)*\s*")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])([^}$\n]{0,4096}))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class Heredoc:
    delimiter: str
    body: str
    line: int  # first line of the body


@dataclass
class Instruction:
    """One instruction. ``text`` is everything after the keyword, starting at (line, column)."""

    keyword: str
    text: str
    line: int
    column: int
    end_line: int
    flags: dict[str, str] = field(default_factory=dict)
    json_args: list[str] | None = None
    heredocs: list[Heredoc] = field(default_factory=list)

    @property
    def args(self) -> str:
        """The arguments with flags removed, continuation lines joined."""
        text = re.sub(r"\\[ \t]*(\n|$)", " ", self.text)
        for flag in self.flags.values():
            text = text.replace(flag, "", 1)
        return text.strip()

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of an offset into ``text`` (a search among the line breaks
        found once: an instruction may have 100,000 continuation lines)."""
        breaks = self.__dict__.get("_breaks")
        if breaks is None:
            breaks = self.__dict__["_breaks"] = [i for i, c in enumerate(self.text) if c == "\n"]
        newlines = bisect.bisect_left(breaks, offset)
        if newlines == 0:
            return self.line, self.column + offset
        return self.line + newlines, offset - breaks[newlines - 1]


@dataclass
class Stage:
    base: str
    name: str | None
    line: int
    python: str | None  # "3.11" when the base image tag says so
    instructions: list[Instruction] = field(default_factory=list)
    parent: "Stage | None" = None  # the stage it is built FROM, when that is a stage
    global_args: dict[str, str] = field(default_factory=dict)  # ARG defaults before any FROM

    @property
    def root_image(self) -> str:
        """The image the stage chain starts from (``python:3.12-alpine`` for ``FROM base``)."""
        return self.chain[0].base

    @property
    def chain(self) -> list["Stage"]:
        """This stage's ancestors and itself, oldest first: what the final image inherits
        (computed once, without recursion: a Dockerfile may chain thousands of stages)."""
        cached = self.__dict__.get("_chain")
        if cached is None:
            stages, stage = [], self
            while stage is not None and stage not in stages:
                stages.append(stage)
                stage = stage.parent
            cached = self.__dict__["_chain"] = stages[::-1]
        return cached

    def last(self, keyword: str) -> Instruction | None:
        """The instruction that takes effect (the last CMD, ENTRYPOINT, USER ...), inherited
        from parent stages."""
        for stage in reversed(self.chain):
            found = next((i for i in reversed(stage.instructions) if i.keyword == keyword), None)
            if found is not None:
                return found
        return None

    @property
    def workdir(self) -> str | None:
        """The working directory the image's process starts in (WORKDIR, relative ones joined)."""
        current: str | None = None
        for instruction, variables in self._expanded():
            if instruction.keyword == "WORKDIR":
                path = substitute(instruction.args.strip().strip('"'), variables)
                current = path if path.startswith("/") or current is None else \
                    current.rstrip("/") + "/" + path
        return current

    def _expanded(self):
        """Each instruction of the chain (but ARG and ENV) with the ARG defaults and ENV values
        in effect there (a global ARG counts once the stage declares it again, as Docker
        does); build arguments given on the command line or by compose are not known, so their
        defaults are used. The dictionary is live: read it before the next step."""
        variables: dict[str, str] = {}
        for instruction in [i for stage in self.chain for i in stage.instructions]:
            if instruction.keyword == "ARG":
                name, eq, default = instruction.args.strip().partition("=")
                name = name.strip()
                if eq:
                    variables[name] = default.strip().strip('"\'')
                elif name in self.global_args:
                    variables[name] = self.global_args[name]
            elif instruction.keyword == "ENV":
                variables.update(_env_values(instruction.args))
            else:
                yield instruction, variables

    @property
    def user(self) -> str | None:
        found = self.last("USER")
        return found.args.strip() if found else None

    @property
    def env(self) -> dict[str, str]:
        """ENV values, both ``ENV k=v k2=v2`` and the legacy ``ENV k v``."""
        values: dict[str, str] = {}
        for instruction in self.instructions:
            if instruction.keyword == "ENV":
                values.update(_env_values(instruction.args))
        return values

    @property
    def copies(self) -> list[tuple[list[str], str, Instruction]]:
        """``(sources, destination, instruction)`` of each COPY/ADD from the build context, with
        ``$VAR``/``${VAR}`` expanded (``_expanded``)."""
        found = []
        for instruction, variables in self._expanded():
            if instruction.keyword not in ("COPY", "ADD") or "from" in instruction.flags:
                continue
            words = instruction.json_args if instruction.json_args is not None else [
                w for w in instruction.args.split() if not w.startswith("--")]
            if variables and any("$" in w for w in words):
                words = [substitute(w, variables) for w in words]
            if len(words) >= 2:
                found.append((words[:-1], words[-1], instruction))
        return found


@dataclass
class Dockerfile:
    source: SourceFile
    stages: list[Stage]
    args: dict[str, str]  # ARG defaults declared before the first FROM


class EnvPair(NamedTuple):
    """One variable an ``ENV`` or ``ARG`` instruction sets; offsets into the text read."""

    name: str
    value: str  # quotes removed
    start: int  # of the name
    value_start: int


_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\'[^\']*\'|\S*)')


def env_pairs(text: str) -> list[EnvPair]:
    """The variables of an ``ENV``/``ARG`` instruction's text in both forms (``ENV A=1 B=2`` and
    the legacy ``ENV A 1``), with offsets so that rules can point at a name in ``text``."""
    stripped = text.lstrip()
    start = len(text) - len(stripped)
    first = stripped.split(None, 1)
    if not first:
        return []
    if "=" not in first[0]:
        rest = stripped[len(first[0]):]
        value = rest.strip()
        value_start = start + len(first[0]) + len(rest) - len(rest.lstrip())
        return [EnvPair(first[0], value.strip("\"'"), start, value_start)]
    return [EnvPair(m.group(1), m.group(2).strip("\"'"), m.start(1), m.start(2))
            for m in _PAIR.finditer(text)]


def _env_values(text: str) -> dict[str, str]:
    """The variables one ENV instruction sets."""
    return {pair.name: pair.value for pair in env_pairs(text)}


def _flags(text: str) -> dict[str, str]:
    """Leading ``--name=value`` words (``COPY --from=build``, ``RUN --mount=...``)."""
    flags = {}
    for word in text.split():
        if word == "\\":
            continue
        if not word.startswith("--"):
            break
        flags[word[2:].partition("=")[0]] = word
    return flags


def substitute(text: str, variables: dict[str, str]) -> str:
    """``$VAR`` and ``${VAR:-default}`` from ARG/ENV values; unknown ones stay as written."""
    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(4)
        operator, word = match.group(2), match.group(3)
        if operator == "+":  # ${VAR:+word}: word when VAR is set, else empty
            return word if name in variables else ""
        if name in variables:
            return variables[name]
        if operator == "-":
            return word
        return match.group(0)
    return _VAR.sub(replace, text)


def python_version(image: str) -> str | None:
    """``3.11`` from ``python:3.11-slim``, ``python:3.11.7-bookworm``, ``...:python3.12-...``."""
    image = image.split("@", 1)[0]  # python:3.11-slim@sha256:... keeps its tag
    name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
    if not tag or "$" in tag:
        return None
    if name.split("/")[-1] in ("python", "pypy") or "python" in tag:
        match = _PYTHON_TAG.search(tag)
        if match:
            return f"{match.group(1)}.{match.group(2)}"
    return None


def parse(source: SourceFile) -> Dockerfile | ParseProblem:
    lines = source.text.split("\n")
    escape = "\\"
    instructions: list[Instruction] = []
    i = 0
    directives_allowed = True
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if directives_allowed and stripped.startswith("#"):
            match = _DIRECTIVE.match(stripped)
            if match:
                if match.group(1).lower() == "escape" and match.group(2).strip() in ("`", "\\"):
                    escape = match.group(2).strip()
                i += 1
                continue
        directives_allowed = False
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        indent = len(line) - len(line.lstrip())
        parts = [line]
        while parts[-1].rstrip().endswith(escape) and i + 1 < len(lines):
            if i + 2 == len(lines) and not lines[i + 1]:
                break  # the file ends with a continuation: nothing follows it
            i += 1
            nxt = lines[i]
            if not nxt.strip():  # BuildKit skips empty lines inside a continuation
                nxt = nxt + escape
            elif nxt.strip().startswith("#"):  # and comment lines: blank them, keep the line
                nxt = " " * (len(nxt) - 1) + escape
            parts.append(nxt)
        i += 1
        raw = "\n".join(parts)
        if escape == "`":
            raw = re.sub(r"`([ \t]*)\n", r"\\\1\n", raw)
        keyword_match = re.match(r"\s*(\S+)", raw)
        assert keyword_match
        keyword = keyword_match.group(1).upper()
        if keyword not in INSTRUCTIONS:
            hint = " (it looks like a template: render it first)" if "{{" in raw or "{%" in raw else ""
            return ParseProblem(source.path, start + 1, indent + 1,
                                f"unknown Dockerfile instruction '{keyword_match.group(1)}'{hint}")
        text_start = keyword_match.end()
        while text_start < len(raw) and raw[text_start] in " \t":
            text_start += 1
        text = raw[text_start:]
        instruction = Instruction(keyword, text, start + 1, text_start + 1, i,
                                  flags=_flags(text))
        if keyword in JSON_FORM and instruction.args.startswith("["):
            try:
                value = json.loads(instruction.args)
            except ValueError:
                value = None
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                instruction.json_args = value
        if keyword in ("RUN", "COPY", "ADD") and instruction.json_args is None:
            for match in _HEREDOC.finditer(text):
                strip_tabs = match.group(1) == "-"
                delimiter = match.group(3)
                body_start = i
                body: list[str] = []
                while True:
                    if i >= len(lines):
                        return ParseProblem(source.path, start + 1, indent + 1,
                                            f"unterminated heredoc: no line '{delimiter}' ends it")
                    current = lines[i]
                    i += 1
                    if (current.lstrip("\t") if strip_tabs else current) == delimiter:
                        break
                    body.append(current.lstrip("\t") if strip_tabs else current)
                instruction.heredocs.append(Heredoc(delimiter, "\n".join(body) + "\n",
                                                    body_start + 1))
                instruction.end_line = i
        instructions.append(instruction)
    return _stages(source, instructions)


def _stages(source: SourceFile, instructions: list[Instruction]) -> Dockerfile:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "ARG" and not stages:
            name, _, default = instruction.args.partition("=")
            if default:
                global_args[name.strip()] = default.strip().strip('"\'')
            continue
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            image = substitute(words[0], global_args) if words else ""
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            parent = next((s for s in stages if s.name and s.name.lower() == image.lower()), None)
            python = parent.python if parent else python_version(image)
            stages.append(Stage(image, name, instruction.line, python, [instruction], parent,
                                global_args))
        elif stages:
            stages[-1].instructions.append(instruction)
    return Dockerfile(source, stages, global_args)
