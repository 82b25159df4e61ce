"""A compose service's command line: ``entrypoint`` + ``command`` as Compose joins them.

A YAML list is taken verbatim (exec form); a string is split into argv by Compose itself, with no
shell (``parse/shellwords.py``). Each item keeps where it is written, through interpolation
(``${VAR}`` replaced from ``.env``) and YAML folding, so findings and fixes land on the word.
"""

from __future__ import annotations

from celerylint.carriers.compose_env import interpolate
from celerylint.diagnostics import Span
from celerylint.model.origins import Joined, SplitString, YamlArgv
from celerylint.parse import shellwords
from celerylint.parse.shell import Word
from celerylint.parse.yamlnodes import YList
from celerylint.sources import SourceFile


def argv(fields, fallback: Span):
    """``entrypoint`` + ``command`` as Compose joins them: (argv, dynamic, origin, from_command).
    ``from_command`` is False when only ``command`` is set (the image's ENTRYPOINT runs)."""
    entrypoint = _words("entrypoint", fields.last("entrypoint"))
    command = _words("command", fields.last("command"))
    if entrypoint is not None and not entrypoint[0]:
        entrypoint = None if command is not None else entrypoint  # `entrypoint: []`
    if command is not None and not command[0] and entrypoint is None:
        command = None  # `command: []` keeps the image's CMD
    parts = (entrypoint or ([], [], [])), (command or ([], [], []))
    items = parts[0][0] + parts[1][0]
    dynamic = parts[0][1] + parts[1][1]
    origin = Joined(parts[0][2] + parts[1][2], fallback)
    return items, dynamic, origin, entrypoint is not None


def _words(key: str, found):
    """The argv items of a ``command``/``entrypoint`` value: (texts, dynamic, origin parts)."""
    if found is None or found[0] is None:
        return None
    value, mapping, layer = found
    source = layer.source
    where = Span(source.path, *mapping.value_pos[key])
    if isinstance(value, YList):
        texts, dynamic = [], []
        for item in value:
            done = interpolate("" if item is None else str(item), layer.variables)
            texts.append(done.text)
            dynamic.append(done.dynamic)
        origin = YamlArgv(source, texts, [(value, i) for i in range(len(value))], where)
        return texts, dynamic, [(origin, Word(t, 0, len(t), i, d))
                                for i, (t, d) in enumerate(zip(texts, dynamic))]
    if isinstance(value, dict):
        return None
    written = str(value)
    done = interpolate(written, layer.variables)
    try:
        split = shellwords.split(done.text)
    except shellwords.InvalidCommandLine:
        return None  # Compose refuses the file: invalid-compose-file says so
    raw = _placed(source, mapping.value_pos[key], written,
                  [done.written(w.start, w.end) for w in split.words])
    texts = [w.text for w in split.words]
    flags = [done.dynamic and "${" in done.text[w.start:w.end] for w in split.words]
    origin = SplitString(source, texts, raw, where)
    return texts, flags, [(origin, Word(t, 0, len(t), i, d))
                          for i, (t, d) in enumerate(zip(texts, flags))]


def _placed(source: SourceFile, pos, written: str,
            ranges: list[tuple[int, int] | None]) -> list[tuple[int, int] | None]:
    """File offsets of the words of a scalar, given where each is in its value (None for a word
    a substitution made). Words are found in order, the file text between two of them being the
    value's text between them once blanks, line breaks and quotes are set aside (a folded or
    quoted scalar); from the first word that is not found so, none is placed."""
    cursor = source.offset(pos[0], pos[1])
    end = source.offset(pos[2], pos[3])
    if source.text[cursor:cursor + 1] in (">", "|"):
        cursor = source.text.find("\n", cursor, end) + 1 or end
    placed: list[tuple[int, int] | None] = []
    done = 0  # how far the value has been matched
    for at in ranges:
        word = written[at[0]:at[1]] if at else ""
        found = source.text.find(word, cursor, end) if word else -1
        if found < 0 or _bare(source.text[cursor:found]) != _bare(written[done:at[0]]):
            placed.append(None)
            if at is not None:
                return placed + [None] * (len(ranges) - len(placed))
            continue
        placed.append((found, found + len(word)))
        cursor, done = found + len(word), at[1]
    return placed


def _bare(text: str) -> str:
    return "".join(c for c in text if c not in " \t\r\n\"'")
