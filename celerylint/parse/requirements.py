"""Python requirements as pip reads them: requirements files and ``pip install`` command lines.

A requirements file is read line by line the way pip does (continuations, comments, ``-r``/``-c``
includes, ``--hash`` and other per-requirement options, ``${VAR}`` left unknown), and each
requirement is parsed by ``packaging``. We do not use pip-requirements-parser, although it was the
planned choice: in 32.0.1 ``RequirementsFile.from_string`` raises ``NameError``, it can only read
files from disk (so stdin and already-read files would be read twice), and it took 18 s for a
100,000-line file that this reader handles in about 1 s.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from celerylint.parse.shell import SimpleCommand, Word, is_python

# no `\s+` before the anchor: a long run of spaces would be tried from each of its positions
_OPTION_SPLIT = re.compile(r"(?<=\s)--?[A-Za-z]")
_ENV_VAR = re.compile(r"\$\{[A-Z0-9_]+\}")
_URL = re.compile(r"^(?:file|https?|ftp|(?:git|hg|svn|bzr)\+[a-z]+):", re.I)

#: pip install options that take a value (pip 24+, ``pip install --help``).
PIP_VALUE_OPTIONS = frozenset({
    "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-t", "--target",
    "--prefix", "--root", "--trusted-host", "--platform", "--python-version",
    "--implementation", "--abi", "--progress-bar", "--cache-dir", "--src", "--upgrade-strategy",
    "--log", "--timeout", "--retries", "--proxy", "--cert", "--client-cert", "--global-option",
    "-C", "--config-settings", "--no-binary", "--only-binary", "--report", "--python",
    "--exists-action", "--keyring-provider", "--root-user-action", "--group", "--build-constraint",
})


@dataclass
class Line:
    """One requirement with where it was written (1-based line/column, end column exclusive)."""

    name: str
    text: str
    requirement: Requirement
    line: int
    column: int
    end_column: int
    hashed: bool = False


@dataclass
class RequirementsText:
    """What a requirements file or a pip command asks for."""

    requirements: list[Line] = field(default_factory=list)
    includes: list[tuple[str, bool, int]] = field(default_factory=list)  # (path, constraint, line)
    allow_pre: bool = False
    no_deps: bool = False
    invalid: list[tuple[int, int, str]] = field(default_factory=list)  # (line, column, message)


def strip_comment(line: str) -> str:
    """The line without its comment: ``#`` at the start or after whitespace, as pip reads it
    (``Jinja2==3.0.0#x`` keeps its ``#``)."""
    at = line.find("#")
    while at > 0 and not line[at - 1].isspace():
        at = line.find("#", at + 1)
    return line if at < 0 else line[:at]


def parse_requirement(text: str) -> Requirement | None | str:
    """A Requirement, None for things that are not named requirements (paths, URLs, ``${X}``),
    or an error message."""
    named = re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?\s*@", text) is not None
    if _ENV_VAR.search(text) or text.startswith((".", "/", "~")) or _URL.match(text) \
            or (not named and text.endswith((".whl", ".tar.gz", ".zip"))):
        return None
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        return str(exc).splitlines()[0]


def read_file(text: str) -> RequirementsText:
    result = RequirementsText()
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        first = i
        parts = [lines[i]]
        # like pip's join_lines: a comment line never continues, continuations join with nothing
        while parts[-1].endswith("\\") and not parts[0].lstrip().startswith("#") and \
                i + 1 < len(lines):
            parts[-1] = parts[-1][:-1]
            i += 1
            parts.append(lines[i])
        i += 1
        content = strip_comment("".join(parts)).strip()
        if not content:
            continue
        physical = lines[first]
        if content.startswith("-"):
            _option_line(result, content, first + 1)
            continue
        cut = _OPTION_SPLIT.search(content)
        requirement_text = content[:cut.start()].rstrip() if cut else content
        parsed = parse_requirement(requirement_text)
        column = physical.find(requirement_text.split()[0]) + 1 if requirement_text else 1
        if isinstance(parsed, Requirement):
            end = column + len(requirement_text) if requirement_text in physical else len(physical) + 1
            result.requirements.append(Line(
                canonicalize_name(parsed.name), requirement_text, parsed, first + 1, max(column, 1),
                end, hashed="--hash" in content))
        elif isinstance(parsed, str):
            result.invalid.append((first + 1, max(column, 1), parsed))
    return result


def _option_line(result: RequirementsText, content: str, line: int) -> None:
    option, _, value = content.partition(" ")
    if "=" in option and option.startswith("--"):
        option, _, value = option.partition("=")
    elif option[:2] in ("-r", "-c") and len(option) > 2:
        option, value = option[:2], option[2:]
    value = value.strip()
    if option in ("-r", "--requirement") and value:
        result.includes.append((value, False, line))
    elif option in ("-c", "--constraint") and value:
        result.includes.append((value, True, line))
    elif option == "--pre":
        result.allow_pre = True


def pip_install_args(command: SimpleCommand) -> list[Word] | None:
    """The words after ``install`` when the command is a pip install, else None."""
    words = command.words
    i = 0
    if not words:
        return None
    name = words[0].name
    if is_python(name) and len(words) > 2 and words[1].text == "-m" \
            and words[2].text == "pip":
        i = 3
    elif name == "uv" and len(words) > 1 and words[1].text == "pip":
        i = 2
    elif re.match(r"^pip(\d+(\.\d+)?)?$", name):
        i = 1
    else:
        return None
    while i < len(words) and words[i].text.startswith("-"):  # pip's global options
        takes_value = words[i].text in PIP_VALUE_OPTIONS
        i += 2 if takes_value else 1
    if i < len(words) and words[i].text == "install":
        return words[i + 1:]
    return None


def read_pip_install(args: list[Word]) -> tuple[RequirementsText, list[Word]]:
    """Requirements named on a pip install command line, and the word each came from."""
    result = RequirementsText()
    origins: list[Word] = []
    i = 0
    while i < len(args):
        word = args[i]
        text = word.text
        if text.startswith("-"):
            option, eq, value = text.partition("=")
            short_attached = option[:2] in ("-r", "-c") and len(option) > 2 and not option.startswith("--")
            if short_attached:
                option, value, eq = option[:2], option[2:], "="
            takes_value = option in PIP_VALUE_OPTIONS or option in (
                "-r", "--requirement", "-c", "--constraint", "-e", "--editable")
            if takes_value and not eq:
                i += 1
                value = args[i].text if i < len(args) else ""
            if option in ("-r", "--requirement", "-c", "--constraint") and value:
                result.includes.append((value, option in ("-c", "--constraint"), 0))
            elif option == "--pre":
                result.allow_pre = True
            elif option == "--no-deps":
                result.no_deps = True
            i += 1
            continue
        if word.dynamic:
            i += 1
            continue
        parsed = parse_requirement(text)
        if isinstance(parsed, Requirement):
            result.requirements.append(Line(canonicalize_name(parsed.name), text, parsed, 0,
                                            word.start, word.end))
            origins.append(word)
        i += 1
    return result, origins


def include_path(base_file: str, include: str) -> str:
    """Where an include points, relative to the including file as pip resolves it."""
    return os.path.normpath(os.path.join(os.path.dirname(base_file), include))
