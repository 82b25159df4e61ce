"""systemd units: a ``.service`` file's ``ExecStart=`` made a launch, with the unit's stop facts.

What systemd does (systemd.service(5) "Command lines", systemd.kill(5), systemd.syntax(7)):

- Lines starting with ``#`` or ``;`` are comments; a line ending in ``\\`` continues on the
  next one (the backslash becomes a space; comment lines inside are skipped).
- ``ExecStart=`` is not run by a shell: it is split into words with single and double quotes and
  C escapes; ``${FOO}`` is replaced by the variable's value as one word, a bare ``$FOO`` word by
  its value split at whitespace (both unknown here; the ``:`` prefix turns them off); ``%i``,
  ``%n``, ``%h``... are unit specifiers (unknown), ``%%`` is ``%``; a lone ``;`` ends a command.
  The prefixes ``@`` (the next word is argv[0]), ``-``, ``:``, ``+``, ``!``, ``!!`` and ``|``
  come before the path. An empty ``ExecStart=`` resets the list.
- ``Type=`` defaults to ``simple`` (``dbus`` with ``BusName=``). ``Type=forking`` expects the
  command to fork and its first process to exit: ``celery multi start`` and ``--detach`` are
  right there (Celery's own ``extra/systemd/celery.service`` is ``Type=forking`` around
  ``celery multi start``); with ``simple``, ``exec`` or ``idle``, the exit of that first process
  ends the service and systemd kills what is left of its control group.
- ``KillMode=`` defaults to ``control-group``: SIGTERM (``KillSignal=``) goes to every process of
  the unit, so a shell between systemd and celery does not block it; ``process`` and ``mixed``
  signal the main process only. ``TimeoutStopSec=`` defaults to ``DefaultTimeoutStopSec`` (90 s).

A systemd unit runs on a host: its launch is never a container's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from celerylint.carriers.launchers import Piece, argv_items, line_span
from celerylint.diagnostics import Span
from celerylint.model.launch import Hop, Launch, Resolver
from celerylint.sources import ParseProblem, SourceFile

_SERVICE = re.compile(r"^[ \t]*\[Service\][ \t]*$", re.M)
_PREFIXES = "@-:+!|"
_ESCAPES = {"n": "\n", "t": "\t", "s": " ", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_TIME = re.compile(r"(\d+(?:\.\d+)?)\s*(msec|ms|seconds?|sec|s|minutes?|min|m|hours?|hr|h)?\s*")
_UNITS = {"ms": 0.001, "msec": 0.001, "m": 60, "min": 60, "minute": 60, "minutes": 60,
          "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600}
DEFAULT_TIMEOUT_STOP = 90.0  # DefaultTimeoutStopSec (src/core/system.conf.in)


@dataclass
class Setting:
    key: str
    text: str
    chars: list[int]  # file offset of each character of text
    span: Span  # the key


@dataclass
class Unit:
    sections: dict[str, list[Setting]] = field(default_factory=dict)

    def last(self, section: str, key: str) -> Setting | None:
        return next((s for s in reversed(self.sections.get(section, [])) if s.key == key), None)


def read(source: SourceFile) -> Unit:
    """Sections and their settings in order, continuation lines joined (with positions)."""
    unit = Unit()
    current: list[Setting] | None = None
    pending: Setting | None = None
    for number, line in enumerate(source.lines, start=1):
        base = source.starts[number - 1]
        stripped = line.strip()
        if pending is not None and stripped.startswith(("#", ";")):
            continue  # a comment inside a continued line
        if pending is None and (not stripped or stripped.startswith(("#", ";"))):
            continue
        start = base + line.index(stripped[0]) if stripped else base
        body, more = (stripped[:-1], True) if stripped.endswith("\\") else (stripped, False)
        if pending is not None:
            pending.text += body + (" " if more else "")
            pending.chars += list(range(start, start + len(body))) + \
                ([start + len(body)] if more else [])
            if not more:
                pending = None
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = unit.sections.setdefault(stripped[1:-1].strip(), [])
            continue
        key, equals, value = body.partition("=")
        if not equals or current is None:
            continue  # systemd logs and ignores such a line
        offset = start + len(key) + 1
        shown = value.lstrip()
        offset += len(value) - len(shown)
        setting = Setting(key.strip(), shown + (" " if more else ""),
                          list(range(offset, offset + len(shown))) +
                          ([offset + len(shown)] if more else []),
                          line_span(source, start, start + len(key.rstrip())))
        current.append(setting)
        pending = setting if more else None
    for settings in unit.sections.values():
        for setting in settings:
            trimmed = setting.text.rstrip()
            setting.text, setting.chars = trimmed, setting.chars[:len(trimmed)]
    return unit


def split(setting: Setting, expand: bool = True) -> list[Piece] | None:
    """The words of a command line (up to a lone ``;``), or None when a quote is left open."""
    text, chars = setting.text, setting.chars
    pieces: list[Piece] = []
    current: Piece | None = None
    quote = None
    lone = []  # pieces that are a bare ``;``
    i = 0
    while i < len(text):
        c = text[i]
        if quote is None and c in " \t\n":
            current = None
            i += 1
            continue
        if current is None:
            current = Piece("", (chars[i], chars[i] + 1), [], False)
            pieces.append(current)
        if quote is None and c in "'\"":
            quote = c
            end = i
        elif quote is not None and c == quote:
            quote = None
            end = i
        elif c == "\\" and i + 1 < len(text):
            i += 1
            nxt = text[i]
            if nxt == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[i + 1:i + 3]):
                value, i = chr(int(text[i + 1:i + 3], 16)), i + 2
            else:
                value = _ESCAPES.get(nxt, nxt)
            current.text += value
            current.chars.append(chars[i])
            end = i
        else:
            if c == ";" and quote is None and len(current.text) == 0 and \
                    (i + 1 == len(text) or text[i + 1] in " \t\n"):
                lone.append(current)
            if c == "%" and i + 1 < len(text):
                if text[i + 1] == "%":
                    i += 1
                else:
                    current.dynamic = True  # a unit specifier: %i, %n, %h ...
            if expand and c == "$" and i + 1 < len(text) and \
                    (text[i + 1] == "{" or text[i + 1].isalpha() or text[i + 1] == "_"):
                current.dynamic = True
            current.text += c
            current.chars.append(chars[i])
            end = i
        current.raw = (current.raw[0], chars[end] + 1)
        i += 1
    if quote is not None:
        return None
    for index, piece in enumerate(pieces):
        if piece in lone:
            return pieces[:index]
    return pieces


def _seconds(setting: Setting | None, default: float | None) -> float | None:
    if setting is None:
        return default
    text = setting.text.strip().lower()
    if text in ("infinity", "0"):
        return None
    total, at = 0.0, 0
    for match in _TIME.finditer(text):
        if match.start() != at:
            return default
        total += float(match.group(1)) * _UNITS.get(match.group(2) or "s", 1)
        at = match.end()
    return total if at == len(text) and at else default


def launches(source: SourceFile, resolver: Resolver
             ) -> tuple[list[Launch], list[ParseProblem], bool]:
    """The unit's launch (its first ``ExecStart=`` command), the problems that leave it without
    one, and whether the file is a service unit at all."""
    if not _SERVICE.search(source.text):
        return [], [], False
    unit = read(source)
    starts: list[Setting] = []
    for setting in unit.sections.get("Service", []):
        if setting.key == "ExecStart":
            starts = [] if not setting.text else starts + [setting]
    if not starts:
        return [], [], True
    start = starts[0]
    prefixes = ""
    while len(prefixes) < len(start.text) and start.text[len(prefixes)] in _PREFIXES:
        prefixes += start.text[len(prefixes)]
    pieces = split(start, expand=":" not in prefixes)
    if pieces is None:
        return [], [ParseProblem(source.path, start.span.line, start.span.column,
                                 "systemd cannot split this ExecStart= (a quote is left open): "
                                 "it ignores the line and the service has no command")], True
    if pieces and prefixes:
        first = pieces[0]
        cut = min(len(prefixes), len(first.text))
        pieces[0] = Piece(first.text[cut:], (first.raw[0] + cut, first.raw[1]), first.chars[cut:],
                          first.dynamic)
        if "@" in prefixes and len(pieces) > 1:
            del pieces[1]  # argv[0] as the program sees it, not the file run
    if not pieces or not pieces[0].text:
        return [], [], True
    name = source.path.rsplit("/", 1)[-1].removesuffix(".service")
    kill_mode = unit.last("Service", "KillMode")
    mode = kill_mode.text.strip() if kill_mode else "control-group"
    unit_type = unit.last("Service", "Type")
    default_type = "dbus" if unit.last("Service", "BusName") else "simple"
    signal = unit.last("Service", "KillSignal")
    launch = Launch(f"systemd service '{name}' ({source.path})", [], launcher="systemd",
                    in_container=False, group_stop=mode in ("control-group", "none"),
                    unit_type=unit_type.text.strip() if unit_type else default_type)
    launch.stop_signal = signal.text.strip().upper().removeprefix("SIG") if signal else "TERM"
    timeout = unit.last("Service", "TimeoutStopSec") or unit.last("Service", "TimeoutSec")
    launch.stop_timeout = _seconds(timeout, DEFAULT_TIMEOUT_STOP)
    launch.settings["ExecStart"] = start.span
    for key, setting in (("Type", unit_type), ("KillMode", kill_mode), ("KillSignal", signal),
                         (timeout.key if timeout else "TimeoutStopSec", timeout)):
        if setting is not None and setting.chars:
            launch.settings[key] = line_span(source, setting.chars[0], setting.chars[-1] + 1)
    launch.hops.append(Hop(f"{source.path} runs {pieces[0].text[:60]}", start.span))
    resolver.follow_argv(launch, argv_items(source, pieces, start.span))
    return [launch], [], True
