"""supervisord files: each ``[program:x]`` section as supervisord reads it, made a launch.

What supervisord does (supervisor 4.x: ``supervisor/options.py``, ``process.py``,
``docs/configuration.rst``):

- The file is read by Python's ``RawConfigParser`` with ``inline_comment_prefixes=(';', '#')``
  and ``strict=False``: a ``;`` or ``#`` after whitespace starts a comment **even inside
  quotes**, so ``command=sh -c 'a ; b'`` becomes ``sh -c 'a``, which supervisord then cannot
  split ("can't parse command"); ``a;b`` survives. A ``[DEFAULT]`` section's keys apply to every
  section; a repeated section or key merges, the last value winning.
- Every value is then a Python ``%``-format string: ``%(program_name)s``, ``%(here)s``,
  ``%(process_num)d``, ``%(ENV_X)s`` ... are expanded, ``%%`` is ``%``, and anything else
  (Celery's ``-n worker.%h``, an unterminated ``%(``, an unknown name) stops supervisord with
  "Format string ... is badly formatted" or "... contains names ... which cannot be expanded".
  Expanded values are unknown here.
- ``command`` is split with ``shlex.split`` (no shell): a shell runs only when it names one.
- Defaults: ``numprocs`` 1, ``stopsignal`` TERM, ``stopwaitsecs`` 10, ``stopasgroup`` false
  (true sends the stop signal to the whole process group and implies ``killasgroup``).

Positions come from a line scanner that follows the same rules; its values are compared with
the ones ``configparser`` itself reads, and a command where they differ is left unknown.
"""

from __future__ import annotations

import configparser
import re
import shlex
from dataclasses import dataclass, field

from celerylint.carriers.launchers import Images, Piece, argv_items, line_span
from celerylint.diagnostics import Span
from celerylint.model.launch import Hop, Launch, Resolver
from celerylint.sources import ParseProblem, SourceFile

#: Section names that only supervisord files hold.
_OWN = re.compile(r"^[ \t]*\[(?:program|group|fcgi-program|eventlistener|rpcinterface):[^\]\n]*\]"
                  r"|^[ \t]*\[(?:supervisord|supervisorctl|unix_http_server|inet_http_server)\]",
                  re.M)
_SECTION = re.compile(r"\[(?P<header>.+)\]")
_OPTION = re.compile(r"(?P<option>.*?)\s*(?P<vi>[=:])\s*(?P<value>.*)$")
_EXPANSION = re.compile(r"%%|%\((?P<key>[^)]*)\)[#0 +-]*\d*(?:\.\d+)?[a-zA-Z]")
_NAMES = frozenset({"here", "program_name", "group_name", "host_node_name", "process_num",
                    "numprocs"})
_TRUE = frozenset({"true", "yes", "on", "1"})
DEFAULT_STOP_WAIT = 10.0


@dataclass
class Value:
    """A key's value: its text as configparser gives it, and the file offset of each character."""

    key: str
    text: str
    chars: list[int]
    key_span: Span
    cut: tuple[int, str] | None = None  # an inline comment cut it: (file offset, text dropped)


@dataclass
class Section:
    name: str
    span: Span
    values: dict[str, Value] = field(default_factory=dict)


@dataclass
class Cut:
    """A command that a ``;`` or ``#`` after whitespace cut short (compose-command-truncated)."""

    span: Span  # the comment character
    kept: str
    dropped: str
    program: str


class _Unknown:
    """What every ``%(name)s`` expands to when the syntax is checked."""

    def __str__(self) -> str:
        return "x"

    def __int__(self) -> int:
        return 0

    __index__ = __int__

    def __float__(self) -> float:
        return 0.0


class _Anything(dict):
    def __missing__(self, key):
        return _Unknown()


def _inline_comment(line: str) -> int | None:
    """Where configparser's inline comment starts: the first ``;`` or ``#`` (found prefix by
    prefix, round by round, as ``RawConfigParser._read`` does) at the start or after whitespace."""
    best = None
    positions = {";": -1, "#": -1}
    while best is None and positions:
        found = {}
        for prefix, index in positions.items():
            index = line.find(prefix, index + 1)
            if index < 0:
                continue
            found[prefix] = index
            if index == 0 or line[index - 1].isspace():
                best = index if best is None else min(best, index)
        positions = found
    return best


def scan(source: SourceFile) -> dict[str, Section]:
    """Sections and values with positions (a repeated section merges, a repeated key wins)."""
    sections: dict[str, Section] = {}
    current: Section | None = None
    value: Value | None = None
    indent_level = 0
    for number, line in enumerate(source.lines, start=1):
        base = source.starts[number - 1]
        inline = _inline_comment(line)
        comment = 0 if line.strip().startswith(("#", ";")) else inline
        kept = line[:comment] if comment is not None else line
        stripped = kept.strip()
        if not stripped:
            if comment is None and value is not None:
                value.text += "\n"
                value.chars.append(base)
            continue
        start = base + kept.index(stripped)
        indent = len(line) - len(line.lstrip())
        cut = (base + comment, line[comment:]) if comment else None
        if current is not None and value is not None and indent > indent_level:
            value.text += "\n" + stripped
            value.chars += [start - 1] + list(range(start, start + len(stripped)))
            value.cut = value.cut or cut
            continue
        indent_level = indent
        header = _SECTION.match(stripped)
        if header:
            name = header.group("header")
            current = sections.setdefault(name, Section(name, line_span(source, start,
                                                                        start + header.end())))
            value = None
            continue
        option = _OPTION.match(stripped) if current is not None else None
        if option is None or not option.group("option").rstrip():
            value = None
            continue  # configparser's error: reported from its own exception
        key = option.group("option").rstrip().lower()
        text = option.group("value").strip()
        at = start + option.start("value") if text else start + len(stripped)
        value = Value(key, text, list(range(at, at + len(text))),
                      line_span(source, start, start + len(option.group("option").rstrip())), cut)
        current.values[key] = value
    for section in sections.values():
        for item in section.values.values():
            trimmed = item.text.rstrip()
            item.text, item.chars = trimmed, item.chars[:len(trimmed)]
    return sections


def _problems(source: SourceFile) -> tuple[configparser.RawConfigParser, list[ParseProblem]]:
    """configparser's own reading, and what would stop supervisord at its first line."""
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
    problems = []
    try:
        parser.read_string(source.text, source.path)
    except configparser.MissingSectionHeaderError as error:
        problems.append(ParseProblem(source.path, error.lineno, 1, "supervisord cannot read "
                                     "this file: a line comes before the first [section]"))
    except configparser.ParsingError as error:
        line = error.errors[0][0] if error.errors else 1
        more = len(error.errors) - 1
        problems.append(ParseProblem(source.path, line, 1, "supervisord cannot read this file: "
                                     "the line is neither a [section], a key = value, nor an "
                                     "indented continuation" + (f" (and {more} more such line"
                                                                f"{'s' if more > 1 else ''})"
                                                                if more > 0 else "")))
    except configparser.Error as error:
        problems.append(ParseProblem(source.path, getattr(error, "lineno", None) or 1, 1,
                                     f"supervisord cannot read this file: {error.message}"))
    return parser, problems


def _expansion_problem(value: Value, program: str) -> tuple[str, int] | None:
    """Why supervisord refuses to expand a value, and the offset in it to point at; or None."""
    try:
        value.text % _Anything()
    except (ValueError, TypeError) as error:
        placed = {m.start() for m in _EXPANSION.finditer(value.text)}
        at = next((i for i, c in enumerate(value.text) if c == "%" and i not in placed and
                   not (i > 0 and value.text[i - 1] == "%" and i - 1 in placed)), 0)
        shown = value.text[at:at + 2]
        how = "%(name)s needs its closing )s" if shown == "%(" else \
            f"a literal % is written %%, so `{shown}` is `%{shown}` (Celery's %h, %n and %i too)"
        return (f"supervisord refuses the {value.key} of program '{program}' (Format string ... "
                f"is badly formatted: {error}): its values are Python format strings, and {how}",
                at)
    unknown = next((m for m in _EXPANSION.finditer(value.text) if m.group("key") is not None
                    and m.group("key") not in _NAMES and not m.group("key").startswith("ENV_")),
                   None)
    if unknown is not None:
        return (f"supervisord refuses the {value.key} of program '{program}': "
                f"%({unknown.group('key')})s is not a name it expands (here, program_name, "
                "group_name, host_node_name, process_num, numprocs, ENV_<variable>)",
                unknown.start())
    return None


def split(value: Value) -> list[Piece] | None:
    """The argv supervisord runs (expansions, then ``shlex.split``), or None when the text is
    more than this reading knows (shlex would fail, a ``%`` form it does not place)."""
    chars: list[tuple[str, int, bool]] = []
    text, i = value.text, 0
    for match in [*_EXPANSION.finditer(text), None]:
        end = match.start() if match is not None else len(text)
        if "%" in text[i:end]:
            return None  # a form of % this reading does not place
        chars += [(c, value.chars[k], False) for k, c in enumerate(text[i:end], i)]
        if match is None:
            break
        if match.group(0) == "%%":
            chars.append(("%", value.chars[match.start()], False))
        else:
            shown = "${" + match.group("key") + "}"
            chars += [(c, value.chars[match.start()], True) for c in shown]
        i = match.end()
    pieces: list[Piece] = []
    current: Piece | None = None
    quote = None
    k = 0
    while k < len(chars):
        c, at, dynamic = chars[k]
        if quote is None and c in " \t\r\n":
            current = None
            k += 1
            continue
        if current is None:
            current = Piece("", (at, at + 1), [], False)
            pieces.append(current)
        current.raw = (current.raw[0], at + 1)
        current.dynamic = current.dynamic or dynamic
        if quote is None and c in "'\"":
            quote = c
        elif quote is None and c == "\\":
            if k + 1 == len(chars):
                return None  # shlex: "No escaped character"
            k += 1
            current.text += chars[k][0]
            current.chars.append(chars[k][1])
            current.raw = (current.raw[0], chars[k][1] + 1)
        elif quote is not None and c == quote:
            quote = None
        elif quote == '"' and c == "\\" and k + 1 < len(chars) and chars[k + 1][0] in '"\\':
            k += 1
            current.text += chars[k][0]
            current.chars.append(chars[k][1])
            current.raw = (current.raw[0], chars[k][1] + 1)
        else:
            current.text += c
            current.chars.append(at)
        k += 1
    return None if quote is not None else pieces


def _unsplittable(text: str) -> bool:
    """``shlex.split`` (what supervisord runs) fails: a quote left open."""
    try:
        shlex.split(text)
    except ValueError:
        return True
    return False


def _number(value: Value | None, default: float | None) -> float | None:
    try:
        return float(value.text) if value is not None else default
    except ValueError:
        return default


def launches(source: SourceFile, resolver: Resolver, images: Images
             ) -> tuple[list[Launch], list[ParseProblem], bool]:
    """The programs' launches, the problems that stop supervisord, and whether the file is a
    supervisord file at all."""
    if not _OWN.search(source.text):
        return [], [], False
    parser, problems = _problems(source)
    sections = scan(source)
    defaults = sections.get(parser.default_section)
    image = images.find(source)
    in_image = image is not None and (image.explicit or
                                      "supervisor" in image.dockerfile.source.text.lower())
    found = []
    for name, section in sections.items():
        if not name.startswith("program:") or not parser.has_section(name):
            continue
        program = name.split(":", 1)[1]

        def get(key: str) -> Value | None:
            return section.values.get(key) or (defaults.values.get(key) if defaults else None)

        command = get("command")
        if command is None:
            problems.append(ParseProblem(source.path, section.span.line, section.span.column,
                                         f"supervisord refuses program '{program}': it has no "
                                         "command="))
            continue
        expected = parser.get(name, "command", fallback=None)
        why = _expansion_problem(command, program)
        if why is not None:
            message, at = why
            line, column = source.position(command.chars[at]) if at < len(command.chars) else \
                (command.key_span.line, command.key_span.column)
            problems.append(ParseProblem(source.path, line, column, message))
            continue
        launch = Launch(f"supervisord program '{program}' ({source.path})", [],
                        launcher="supervisord", in_container=in_image,
                        stage=image.stage if in_image else None)
        signal = get("stopsignal")
        launch.stop_signal = signal.text.upper().removeprefix("SIG") if signal else "TERM"
        launch.stop_timeout = _number(get("stopwaitsecs"), DEFAULT_STOP_WAIT)
        launch.numprocs = int(_number(get("numprocs"), 1) or 1)
        group = get("stopasgroup")
        launch.group_stop = group is not None and group.text.lower() in _TRUE
        launch.settings["program"] = section.span
        launch.settings["command"] = command.key_span
        if signal is not None and signal.chars:
            launch.settings["stopsignal"] = line_span(source, signal.chars[0],
                                                      signal.chars[-1] + 1)
        wait = get("stopwaitsecs")
        if wait is not None and wait.chars:
            launch.settings["stopwaitsecs"] = line_span(source, wait.chars[0], wait.chars[-1] + 1)
        launch.hops.append(Hop(f"{source.path} runs program '{program}'", section.span))
        if command.cut is not None and _unsplittable(command.text):
            offset, dropped = command.cut  # a comment after the quoted text is deliberate
            launch.truncated = Cut(line_span(source, offset, offset + 1), command.text,
                                   dropped.strip(), program)
        pieces = split(command) if expected == command.text else None
        if pieces:
            resolver.follow_argv(launch, argv_items(source, pieces, command.key_span),
                                 (image.dockerfile, image.stage) if in_image else None)
        found.append(launch)
    return found, problems, True
