"""Manifests a shell script feeds to ``kubectl``: here-documents read like any manifest file.

A deploy script often writes its manifests inline: ``cat <<'EOF' | kubectl apply -f -``,
``kubectl apply -f - <<EOF`` (``create`` and ``replace`` too, ``oc``, ``k3s kubectl``). Each such
here-document becomes a generated YAML source whose findings land on the script's own lines
(``carriers.embedded``), so fixes edit the script.

What the shell does to the body (tested in bash 5.2, dash 0.5.12 and BusyBox ash 1.35, see
``reference/carriers.md`` §4): a quoted delimiter (``<<'EOF'``, ``<<"EOF"``, ``<<\\EOF``, even
``<<E"O"F``) keeps the body literal; an unquoted one expands ``$VAR``, ``${VAR}``,
``${VAR:-default}``, ``$(cmd)``, backquotes and ``$((...))`` on the machine that runs the script,
and a backslash is special only before ``$``, a backquote, a backslash and a newline. ``<<-``
strips leading tabs (only tabs). Variables the script itself sets (with a literal value) before the
here-document are substituted; others are unknown and left as written, and every expansion is
recorded for the rule ``unquoted-heredoc-expansion``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from typing import Callable

from celerylint import sources as src
from celerylint.carriers import kubectl_create
from celerylint.carriers.embedded import EmbeddedMap, OffsetMap, Piece
from celerylint.diagnostics import Span
from celerylint.parse import shell
from celerylint.parse.shell import Heredoc, ShellSyntaxError, SimpleCommand
from celerylint.sources import Skip, SourceFile

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_APPLY = frozenset({"apply", "create", "replace"})


@dataclass
class Expansion:
    """One expansion of an unquoted here-document: where its output lies in the produced text,
    what was written, and the value when the script sets it (None: unknown, left as written)."""

    start: int
    end: int
    written: str
    name: str | None  # the variable; None for a command substitution or arithmetic
    value: str | None
    assigned: bool = False  # the script sets the variable (value None: to what it computes)


@dataclass
class HeredocManifest:
    """A here-document that a script feeds to kubectl, read as a YAML source."""

    generated: SourceFile
    map: EmbeddedMap
    heredoc: Heredoc
    opener: Span  # ``<<EOF`` as written in the file
    opener_offsets: tuple[int, int]  # in the file
    opener_text: str  # ``<<EOF`` as the shell reads it
    expansions: list[Expansion] = field(default_factory=list)
    escapes: bool = False  # the body has backslash escapes that quoting would change


@dataclass
class Found:
    """What a script applies: here-document manifests, and ConfigMaps it creates from files
    (``carriers.kubectl_create``) with the files they read."""

    heredocs: list[HeredocManifest] = field(default_factory=list)
    configmaps: list[tuple[SourceFile, EmbeddedMap]] = field(default_factory=list)
    files: list[SourceFile] = field(default_factory=list)
    commands: list[SimpleCommand] = field(default_factory=list)  # every command, in order


def read(text: str, to_file: OffsetMap, source: SourceFile, tag: str, roots: list[str],
         read_file: Callable[[str], SourceFile | Skip | None] | None) -> Found:
    """What the shell script ``text`` (which ``to_file`` maps into ``source``) applies; ``tag``
    names the generated sources (``deploy.sh@12``), ``read_file`` reads the files that
    ``kubectl create configmap --from-file`` names (inside the checked tree)."""
    try:
        commands = shell.split(text)
    except ShellSyntaxError:
        return Found()
    variables_at: list[dict[str, str | None]] = []
    variables: dict[str, str | None] = {}
    for command in commands:
        _assign(command, variables)
        wanted = command.heredocs or any(w.text == "create" for w in command.words[:3])
        variables_at.append(dict(variables) if wanted else {})
    found = Found(manifests(text, commands, variables_at, to_file, source, tag),
                  commands=commands)
    found.configmaps, found.files = kubectl_create.configmaps(
        commands, variables_at, source, to_file, roots, read_file)
    return found


def manifests(text: str, commands: list[SimpleCommand],
              variables_at: list[dict[str, str | None]], to_file: OffsetMap, source: SourceFile,
              tag: str) -> list[HeredocManifest]:
    """The here-document manifests among the commands of a script."""
    found: list[HeredocManifest] = []
    for i, command in enumerate(commands):
        variables = variables_at[i]
        if not command.heredocs:
            continue
        target = command if _kubectl_stdin(command) else (
            commands[i + 1] if command.piped_into and i + 1 < len(commands) else None)
        if target is None or not _kubectl_stdin(target):
            continue
        heredoc = command.heredocs[-1]  # the one stdin reads: the last redirection wins
        found.append(_manifest(text, heredoc, variables, to_file, source, tag))
    return found


def _assign(command: SimpleCommand, variables: dict[str, str | None]) -> None:
    """Variables a command sets for the rest of the script (``NAME=value``, ``export``)."""
    words = [w for w in command.words]
    if words and words[0].text in ("export", "readonly", "declare", "local", "typeset") and \
            not words[0].dynamic:
        candidates = [w for w in words[1:] if "=" in w.text]
    elif not words:
        candidates = command.assignments
    else:
        return
    for word in candidates:
        name, _, value = word.text.partition("=")
        if _NAME.fullmatch(name):
            variables[name] = None if word.dynamic else value


def _kubectl_stdin(command: SimpleCommand) -> bool:
    words = [w.text for w in command.words]
    if words[:1] and command.words[0].name in ("k3s", "microk8s"):
        words = words[1:]
    if not words or words[0].rsplit("/", 1)[-1] not in ("kubectl", "oc"):
        return False
    rest = words[1:]
    if not any(w in _APPLY for w in rest[:3]):
        return False
    for j, word in enumerate(rest):
        if word in ("-f", "--filename") and j + 1 < len(rest) and rest[j + 1] == "-":
            return True
        if word in ("-f-", "-f=-", "--filename=-"):
            return True
    return False


def _manifest(text: str, heredoc: Heredoc, variables: dict[str, str | None], to_file: OffsetMap,
              source: SourceFile, tag: str) -> HeredocManifest:
    produced, pieces, expansions, escapes = _body(text, heredoc, variables)
    offsets = OffsetMap(pieces).then(to_file)
    line = source.position(to_file.real(heredoc.operator))[0]
    generated = SourceFile(f"{source.path}@{tag}{line}", src.YAML, produced, None,
                           project=source.project)
    escape = _escape_unquoted if not heredoc.quoted else (lambda value: value)
    start, end = to_file.real(heredoc.operator), to_file.real(heredoc.opener_end, end=True)
    opener = Span(source.path, *source.position(start), *source.position(end))
    return HeredocManifest(generated, EmbeddedMap(generated, source, offsets, escape, opener),
                           heredoc, opener, (start, end),
                           text[heredoc.operator:heredoc.opener_end], expansions, escapes)


def _escape_unquoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("$", "\\$").replace("`", "\\`")


def _body(text: str, heredoc: Heredoc, variables: dict[str, str | None]
          ) -> tuple[str, list[Piece], list[Expansion], bool]:
    """The text a here-document produces, with its pieces (produced -> ``text`` offsets)."""
    out: list[str] = []
    pieces: list[Piece] = []
    expansions: list[Expansion] = []
    escapes = False
    length = 0
    unclosed: set[str] = set()  # openers found unterminated once: never scanned again

    def literal(start: int, end: int) -> None:
        nonlocal length
        if end > start:
            out.append(text[start:end])
            pieces.append(Piece(length, length + end - start, start, end, True))
            length += end - start

    def computed(value: str, start: int, end: int) -> None:
        nonlocal length
        out.append(value)
        pieces.append(Piece(length, length + len(value), start, end, False))
        length += len(value)

    i, stop = heredoc.start, heredoc.end
    while i < stop:
        line_end = text.find("\n", i, stop)
        line_end = stop if line_end < 0 else line_end + 1
        if heredoc.strip_tabs:
            while i < line_end and text[i] == "\t":
                i += 1
        if heredoc.quoted:
            literal(i, line_end)
            i = line_end
            continue
        run = i
        while i < line_end:
            c = text[i]
            if c == "\\" and i + 1 < stop and text[i + 1] in "$`\\\n":
                literal(run, i)
                escapes = True
                if text[i + 1] == "\n":
                    computed("", i, i + 2)
                    i += 2
                    line_end = text.find("\n", i, stop)
                    line_end = stop if line_end < 0 else line_end + 1
                else:
                    computed(text[i + 1], i, i + 2)
                    i += 2
                run = i
                continue
            end, name = _expansion_end(text, i, stop, unclosed) if c in "$`" else (None, None)
            if end is None:
                i += 1
                continue
            literal(run, i)
            value = variables.get(name) if name else None
            start = length
            if value is not None:
                computed(value, i, end)
            else:
                literal(i, end)
            expansions.append(Expansion(start, length, text[i:end], name, value,
                                        name is not None and name in variables))
            i = run = end
        literal(run, line_end)
        i = line_end
    return "".join(out), pieces, expansions, escapes


def _expansion_end(text: str, i: int, stop: int, unclosed: set[str]
                   ) -> tuple[int | None, str | None]:
    """End of the expansion at ``i`` (``$NAME``, ``${...}``, ``$(...)``, backquotes) and the
    variable it reads, or (None, None) when ``$`` is an ordinary character there, or opens
    something never closed (an opener found unclosed joins ``unclosed``: later ones of the same
    kind are not scanned again, which keeps a hostile body linear)."""
    following = text[i + 1:i + 2] if text[i] == "$" else "`"
    if following in unclosed:
        return None, None
    if text[i] == "`":
        j = text.find("`", i + 1, stop)
        if j < 0:
            unclosed.add("`")
        return (j + 1, None) if j > 0 else (None, None)
    if following == "{":
        j = text.find("}", i + 2, stop)
        if j < 0:
            unclosed.add("{")
            return None, None
        match = _NAME.match(text, i + 2, j)
        return j + 1, match.group(0) if match else None
    if following == "(":
        try:
            end = shell._substitution_end(text, i)
        except ShellSyntaxError:
            end = None
        if end is None or end > stop:
            unclosed.add("(")  # unterminated: the shell fails there; nothing to report
            return None, None
        return end, None
    match = _NAME.match(text, i + 1, stop)
    if match:
        return match.end(), match.group(0)
    if following and following in "0123456789@*#?$!-":
        return i + 2, following
    return None, None
