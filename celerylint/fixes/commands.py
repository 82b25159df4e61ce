"""Edits on command lines, wherever they are written (see ``model/origins.py``).

Arguments go where the command is: new items in a YAML exec-form list (block or flow), new
elements in a Dockerfile JSON array, or words in shell text (``sh -c`` strings, shell-form
instructions, entry scripts). An edit is made only where the word is placed exactly; otherwise
there is no fix rather than a wrong one.
"""

from __future__ import annotations

import json
import shlex

from celerylint.diagnostics import Edit
from celerylint.fixes.yamledit import edit, insert_items_after, is_flow
from celerylint.parse.shell import SimpleCommand, Word


def add_args(command: SimpleCommand, after: Word, args: list[str]) -> Edit | None:
    """Insert ``args`` right after the word ``after``."""
    origin = command.origin
    source = origin.source_of(after)
    item = origin.list_item(after)
    if item is not None:
        items, index = item
        return insert_items_after(source, items, index, args, items.pos)
    element = origin.json_element(after)
    if element is not None:
        return edit(source, element[1], element[1], "".join(", " + json.dumps(a) for a in args))
    offsets = origin.offsets(after)
    if offsets is None:
        return None
    return edit(source, offsets[1], offsets[1], "".join(" " + shlex.quote(a) for a in args))


def replace_arg(command: SimpleCommand, word: Word, text: str) -> Edit | None:
    """Replace one word (an option's value; ``--opt=value`` keeps its ``--opt=``)."""
    origin = command.origin
    offsets = origin.offsets(word)
    if offsets is None or word.dynamic:
        return None
    source = origin.source_of(word)
    current = source.text[offsets[0]:offsets[1]]
    if current[:1] in ('"', "'"):
        return None
    prefix = current.partition("=")[0] + "=" if current.startswith("-") and "=" in current else ""
    whole = origin.list_item(word) is not None or origin.json_element(word) is not None
    return edit(source, offsets[0], offsets[1], prefix + (text if whole else shlex.quote(text)))


def remove_words(command: SimpleCommand, words: list[Word]) -> list[Edit] | None:
    """Delete words (an option and its value) with their separator."""
    origin = command.origin
    edits = []
    for word in words:
        source = origin.source_of(word)
        item = origin.list_item(word)
        element = origin.json_element(word)
        if item is not None:
            items, index = item
            pos = items.item_pos[index]
            if not is_flow(source, items.pos):  # a block list item: delete its line
                line_start = source.offset(pos[0], 1)
                edits.append(edit(source, line_start, source.offset(pos[0] + 1, 1), ""))
                continue
            edits.append(_remove_element(source, source.offset(pos[0], pos[1]),
                                         source.offset(pos[2], pos[3])))
        elif element is not None:
            edits.append(_remove_element(source, *element))
        else:
            offsets = origin.offsets(word)
            if offsets is None:
                return None
            start, end = offsets
            cut = start
            while cut > 0 and source.text[cut - 1] in " \t":
                cut -= 1
            edits.append(edit(source, cut, end, ""))
    return edits


def _remove_element(source, start: int, end: int) -> Edit:
    """Remove one element of a flow list or JSON array with the comma that separates it."""
    text = source.text
    before = start
    while before > 0 and text[before - 1] in " \t\n":
        before -= 1
    if before > 0 and text[before - 1] == ",":  # not the first: take the comma before it
        return edit(source, before - 1, end, "")
    after = end
    while after < len(text) and text[after] in " \t\n":
        after += 1
    if after < len(text) and text[after] == ",":  # the first: take the comma after it
        after += 1
        while after < len(text) and text[after] in " \t":
            after += 1
        return edit(source, start, after, "")
    return edit(source, start, end, "")  # the only element


def remove_flag(command: SimpleCommand, flag: Word, letter: str) -> list[Edit] | None:
    """Remove a flag; from a bundle (``-BE``, ``-BP gevent``) only its letter."""
    text = flag.text
    if text.startswith("--") or len(text) == 2:
        return remove_words(command, [flag])
    if letter not in text[1:]:
        return None
    offsets = command.origin.offsets(flag)
    if offsets is None:
        return None
    source = command.origin.source_of(flag)
    index = source.text.index(letter, offsets[0] + 1, offsets[1])
    return [edit(source, index, index + 1, "")]


def insert_exec(command: SimpleCommand, first: Word) -> Edit | None:
    """``exec `` before the command's first word, so that it replaces the shell."""
    offsets = command.origin.offsets(first)
    if offsets is None or command.assignments or command.origin.list_item(first) is not None:
        return None
    return edit(command.origin.source_of(first), offsets[0], offsets[0], "exec ")
