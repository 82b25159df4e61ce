"""A small POSIX shell splitter: enough structure to find and judge celery command lines.

It splits a script into simple commands joined by ``&&``, ``||``, ``;``, ``|``, ``&`` and newlines,
with words that keep their offsets in the script, and knows ``exec``, env assignments,
redirections, quotes, ``$(...)``, backquotes and here-documents. It does not evaluate anything:
a word with an expansion is marked ``dynamic`` and rules treat its value as unknown.

Why not a full parser: bashlex is GPL and raises on common idioms, tree-sitter-bash mis-nests
``a && b 2>&1 | c`` (see ``../shared/reference/dependencies.md`` §5); ``shlex`` keeps no offsets.
Anything this splitter cannot read raises ``ShellSyntaxError``, which callers treat as "unknown".
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"})

#: Words that open or close compound commands; skipped where a command starts.
RESERVED = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!",
                      "{", "}", "time", "esac", "for", "case"})

#: Compound commands, by the reserved word that opens them and the one that closes them.
OPENERS = {"if": "fi", "while": "done", "until": "done", "for": "done", "case": "esac", "{": "}",
           "(": ")"}
CLOSERS = frozenset(OPENERS.values())

_OPERATORS = ("&&", "||", ";;", "|&", ";", "|", "&", "(", ")", "\n")
_REDIRECTS = ("&>>", "<<<", "<<-", ">>", "<<", ">&", "<&", "&>", ">|", "<>", ">", "<")
#: Characters that may start an expansion, a redirection or an operator.
_SPECIAL = frozenset("$`&|;<>()\n")


_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")
_ARRAY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")


def is_python(program: str) -> bool:
    """``python``, ``python3``, ``python3.11``: a program that runs ``-m module``."""
    return bool(_PYTHON.match(program))


class ShellSyntaxError(ValueError):
    """The text is not something this splitter can read (unbalanced quotes, ...)."""


@dataclass
class Word:
    """One shell word: its value with quotes removed, and where it stands in the source.

    ``item`` is the index of the string it came from (an exec-form list item, or the ``-c``
    script), ``start``/``end`` are offsets in that string.
    """

    text: str
    start: int
    end: int
    item: int = 0
    dynamic: bool = False
    array: list["Word"] | None = None  # the items of a bash array assignment ``NAME=(a b)``

    @property
    def name(self) -> str:
        """The program name of a command word (``/usr/local/bin/celery`` -> ``celery``)."""
        return os.path.basename(self.text)


@dataclass
class Heredoc:
    """A here-document: its delimiter as written and where its body lies in the script (offsets
    of the first body line and of the delimiter line that ends it; ``end`` is the text's length
    when the delimiter never comes)."""

    delimiter: str
    quoted: bool  # any quoting of the delimiter turns every expansion off
    strip_tabs: bool  # ``<<-``: leading tabs go, from body lines and the delimiter line
    operator: int  # offset of the ``<<`` in the script
    opener_end: int = -1  # offset after the delimiter word (``<<'EOF'``)
    start: int = -1
    end: int = -1
    closed: bool = False  # its delimiter line came (else the body runs to the end)


@dataclass
class SimpleCommand:
    """One command of a script with how it is connected to the rest."""

    words: list[Word]
    assignments: list[Word] = field(default_factory=list)
    exec_: bool = False
    background: bool = False
    piped_into: bool = False   # its output goes into another command (`celery ... | tee`)
    piped_from: bool = False   # it reads another command's output
    last: bool = False         # nothing runs after it in the script
    shell: str | None = None   # the shell that runs it, None for an exec-form command
    origin: Any = None         # model.origins.Origin: where its words are written
    holders: list["SimpleCommand"] = field(default_factory=list)  # commands, outermost first,
    # whose shell (or su) stays between PID 1 and this one: signals stop there
    implicit_exec: bool = False  # its shell replaces itself with it without an ``exec``
    connector: str | None = None  # the operator before it: "&&", "||", ";", "\n", "|", "&"
    from_file: bool = False    # it is in a script file (not an ``sh -c`` string)
    redirected: bool = False   # it has a redirection (``> log``, ``2>&1``)
    heredoc: bool = False      # it reads a here-document
    prefixed: bool = False     # ``!`` or ``time`` in front of it
    compound: str | None = None  # the innermost compound around it: if, while, for, case, {, (
    trailing_newline: bool = False  # the script it ends (as its last command) ends in a newline
    shell_info: Any = None     # model.shells.Shell: which shell runs it and what it execs
    heredocs: list["Heredoc"] = field(default_factory=list)  # what it reads, in order
    redirects: list[tuple[str, Word]] = field(default_factory=list)  # (operator, target)

    @property
    def replaces_shell(self) -> bool:
        """True when this process becomes the container's main process (no shell stays)."""
        return (self.shell is None or self.exec_ or self.implicit_exec) and not self.holders


def _scan_paren(text: str, i: int) -> int:
    """Index just after the ``)`` closing a ``$(`` whose ``(`` is at ``i``."""
    depth = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            j = text.find("'", i + 1)
            if j < 0:
                raise ShellSyntaxError("unterminated single quote")
            i = j + 1
            continue
        if c == '"':
            i = _scan_double(text, i + 1)[1]
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ShellSyntaxError("unterminated $(")


def _substitution_end(text: str, i: int) -> int | None:
    """End index of a ``$(...)`` or backquote substitution starting at ``i``, else None."""
    if text.startswith("$(", i):
        return _scan_paren(text, i + 1)
    if text[i] == "`":
        j = text.find("`", i + 1)
        if j < 0:
            raise ShellSyntaxError("unterminated backquote")
        return j + 1
    return None


def _is_expansion(text: str, i: int) -> bool:
    """``$NAME``, ``${...}``, ``$1``, ``$@`` ... at ``i``."""
    return text[i] == "$" and i + 1 < len(text) and (
        text[i + 1] in "{_@*#?$!-" or text[i + 1].isalnum())


def _scan_double(text: str, i: int) -> tuple[str, int, bool]:
    """Read a double-quoted string from after its opening quote: value, end index, dynamic."""
    out: list[str] = []
    dynamic = False
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            return "".join(out), i + 1, dynamic
        if c == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "\n":
                i += 2
                continue
            if nxt in '$`"\\':
                out.append(nxt)
                i += 2
                continue
            out.append(c)
            i += 1
            continue
        end = _substitution_end(text, i)
        if end is not None:
            out.append(text[i:end])
            dynamic = True
            i = end
            continue
        dynamic = dynamic or _is_expansion(text, i)
        out.append(c)
        i += 1
    raise ShellSyntaxError("unterminated double quote")


def tokenize(text: str, item: int = 0) -> list[Word | str | Heredoc]:
    """Split a script into words and operator strings (``&&``, ``|``, ``\\n``, ``>`` ...)."""
    tokens: list[Word | str | Heredoc] = []
    heredocs: list[Heredoc] = []
    i, n = 0, len(text)
    buf: list[str] = []
    start = -1
    dynamic = False

    def flush() -> None:
        nonlocal buf, start, dynamic
        if start >= 0:
            tokens.append(Word("".join(buf), start, i, item, dynamic))
        buf, start, dynamic = [], -1, False

    while i < n:
        c = text[i]
        if c in " \t\r":
            flush()
            i += 1
            continue
        if c == "\\":
            if i + 1 < n and text[i + 1] == "\n":
                i += 2
                continue
            if start < 0:
                start = i
            if i + 1 < n:
                buf.append(text[i + 1])
            i += 2
            continue
        if c == "#" and start < 0:
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c == "\n":
            flush()
            tokens.append("\n")
            i += 1
            if heredocs:
                i = _skip_heredocs(text, i, heredocs)
                heredocs = []
            continue
        if c == "'":
            j = text.find("'", i + 1)
            if j < 0:
                raise ShellSyntaxError("unterminated single quote")
            if start < 0:
                start = i
            buf.append(text[i + 1:j])
            i = j + 1
            continue
        if c == '"':
            if start < 0:
                start = i
            value, i, dyn = _scan_double(text, i + 1)
            buf.append(value)
            dynamic = dynamic or dyn
            continue
        if c not in _SPECIAL:  # the common case: an ordinary character of a word
            if start < 0:
                start = i
            buf.append(c)
            i += 1
            continue
        if c == "(" and start >= 0 and _ARRAY_NAME.fullmatch("".join(buf)):
            end = _scan_paren(text, i)  # NAME=(a b c): a bash array, items split as words
            inner = text[i + 1:end - 1]
            items = [] if "(" in inner else [  # arrays do not nest: never recurse deeper
                w for w in tokenize(inner, item) if isinstance(w, Word)]
            for word in items:
                word.start, word.end = word.start + i + 1, word.end + i + 1
            buf.append(text[i:end])
            i = end
            flush()
            tokens[-1].array = items  # type: ignore[union-attr]
            continue
        end = _substitution_end(text, i)
        if end is not None:
            if start < 0:
                start = i
            buf.append(text[i:end])
            dynamic = True
            i = end
            continue
        dynamic = dynamic or _is_expansion(text, i)
        redirect = next((op for op in _REDIRECTS if text.startswith(op, i)), None)
        if redirect:
            if start >= 0 and "".join(buf).isdigit():  # an fd number such as the 2 of 2>&1
                buf, start, dynamic = [], -1, False
            flush()  # a redirection glued to a word (worker>/tmp/log) ends the word
            tokens.append(redirect)
            i += len(redirect)
            if redirect in ("<<", "<<-"):
                operator = i - len(redirect)
                delimiter, quoted, i = _heredoc_delimiter(text, i)
                heredoc = Heredoc(delimiter, quoted, redirect == "<<-", operator, i)
                heredocs.append(heredoc)
                tokens.append(heredoc)
            continue
        op = next((op for op in _OPERATORS if text.startswith(op, i)), None)
        if op and op != "\n":
            flush()
            tokens.append(op)
            i += len(op)
            continue
        if start < 0:
            start = i
        buf.append(c)
        i += 1
    flush()
    return tokens


def _heredoc_delimiter(text: str, i: int) -> tuple[str, bool, int]:
    n = len(text)
    while i < n and text[i] in " \t":
        i += 1
    j = i
    while j < n and text[j] not in " \t\n;&|<>":
        j += 1
    raw = text[i:j]
    word = raw.replace("'", "").replace('"', "").replace("\\", "")
    if not word:
        raise ShellSyntaxError("here-document without a delimiter")
    return word, word != raw, j


def _skip_heredocs(text: str, i: int, heredocs: list[Heredoc]) -> int:
    """Offset after the bodies of the here-documents of one line; records where each lies."""
    for heredoc in heredocs:
        heredoc.start = min(i, len(text))
        while True:
            if i >= len(text):
                heredoc.end = len(text)
                return len(text)
            j = text.find("\n", i)
            line = text[i:] if j < 0 else text[i:j]
            if (line.lstrip("\t") if heredoc.strip_tabs else line) == heredoc.delimiter:
                heredoc.end = i
                heredoc.closed = True
                i = len(text) if j < 0 else j + 1
                break
            i = len(text) if j < 0 else j + 1
    return i


def split(text: str, shell: str | None = "sh", item: int = 0) -> list[SimpleCommand]:
    """The simple commands of a script, in order."""
    commands: list[SimpleCommand] = []
    current = SimpleCommand(words=[], shell=shell)
    pending_redirect = False
    pipe_in = False
    previous_op: str | None = None
    compounds: list[str] = []  # open if/while/until/for/case/{/( around the current command

    def finish(op: str | None) -> None:
        nonlocal current, pipe_in, previous_op
        words = current.words
        while words and words[0].text in RESERVED and not words[0].dynamic:
            word = words.pop(0).text
            if word in OPENERS:
                compounds.append(word)
            elif word in CLOSERS and compounds and OPENERS[compounds[-1]] == word:
                compounds.pop()
            elif word in ("!", "time"):
                current.prefixed = True
        current.compound = compounds[-1] if compounds else None
        while words and _is_assignment(words[0]):
            current.assignments.append(words.pop(0))
        if words and words[0].text == "exec":
            words.pop(0)
            current.exec_ = True
        current.piped_from = pipe_in
        current.piped_into = op in ("|", "|&")
        current.background = op == "&"
        pipe_in = current.piped_into
        if words or current.assignments:
            current.connector = previous_op
            commands.append(current)
            previous_op = None
        if previous_op is None and commands:
            previous_op = op  # the first operator after a command joins it to the next
        current = SimpleCommand(words=[], shell=shell)

    for token in tokenize(text, item):
        if isinstance(token, Word):
            if pending_redirect:
                pending_redirect = False
                if current.redirects:
                    current.redirects[-1] = (current.redirects[-1][0], token)
            else:
                current.words.append(token)
        elif isinstance(token, Heredoc):
            current.heredocs.append(token)
        elif token in ("<<", "<<-"):
            current.heredoc = True  # the tokenizer already took the here-document's delimiter
        elif token in _REDIRECTS:
            pending_redirect = True
            current.redirected = True
            current.redirects.append((token, Word("", 0, 0, item)))
        else:
            finish(token)
            if token == "(":
                compounds.append("(")
            elif token == ")" and compounds and compounds[-1] == "(":
                compounds.pop()
    finish(None)
    if commands:
        commands[-1].last = True
        commands[-1].trailing_newline = text.rstrip(" \t").endswith("\n")
    return commands


def _is_assignment(word: Word) -> bool:
    name, eq, _ = word.text.partition("=")
    if word.array is not None and name.endswith("+"):
        name = name[:-1]  # NAME+=(more items)
    return bool(eq) and name.replace("_", "a").isalnum() and not name[0].isdigit()


def shell_script(argv: list[str]) -> tuple[str, int] | None:
    """``(shell, index of the script)`` when argv is ``sh -c SCRIPT`` (any -c-carrying flag)."""
    if not argv:
        return None
    name = os.path.basename(argv[0])
    i = 1
    if name == "busybox" and len(argv) > 1 and argv[1] in ("sh", "ash"):
        name, i = argv[1], 2
    if name not in SHELLS:
        return None
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "--":
        flags = argv[i]
        if not flags.startswith("--") and "c" in flags[1:]:
            return (name, i + 1) if i + 1 < len(argv) else None
        if not flags.startswith("--") and "o" in flags[1:]:
            i += 1  # -o / -euo takes an option name: bash -euo pipefail -c ...
        i += 1
    return None


def commands_of(argv: list[str], dynamic: list[bool] | None = None) -> list[SimpleCommand]:
    """The simple commands a container's argv runs: one for exec form, several for ``sh -c``.

    Raises ShellSyntaxError when the script cannot be read.
    """
    script = shell_script(argv)
    if script is None:
        flags = dynamic or [False] * len(argv)
        words = [Word(a, 0, len(a), i, flags[i] if i < len(flags) else False)
                 for i, a in enumerate(argv)]
        return [SimpleCommand(words=words, last=True)] if words else []
    name, index = script
    return split(argv[index], shell=name, item=index)
