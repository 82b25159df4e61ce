"""Text edits on YAML that keep comments, quoting, key order and indentation.

Fixes never re-serialise a document (the Polaris lesson): they insert or replace text at the
positions the loader recorded, and new YAML is written in the style of what surrounds it, block
or flow, with the indentation of its siblings.
"""

from __future__ import annotations

import json
import re
from typing import Any

from celerylint.diagnostics import Edit, Span
from celerylint.parse.yamlnodes import Pos, YList, YMap
from celerylint.sources import SourceFile

_PLAIN = re.compile(r"^[A-Za-z0-9/_.=@%+-][A-Za-z0-9/_.=,@%+-]*$")
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})


def edit(source: SourceFile, start: int, end: int, content: str) -> Edit:
    line, column = source.position(start)
    end_line, end_column = source.position(end)
    return Edit(source.path, start, end, content, Span(source.path, line, column, end_line, end_column))


def scalar(value: Any, quoted: bool = False) -> str:
    """A YAML scalar: plain when that reads back as the same string, else double-quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if not quoted and _PLAIN.match(text) and text.lower() not in _YAML_WORDS \
            and not re.fullmatch(r"[-+]?[0-9][0-9_.:eE+-]*", text) and not text.startswith("- "):
        return text
    return json.dumps(text)


def flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def block(value: dict, indent: int, dash: int = 2) -> list[str]:
    """Lines of a block mapping at ``indent``; nested lists get their dashes ``dash`` deeper."""
    lines = []
    pad = " " * indent
    for key, item in value.items():
        if isinstance(item, dict) and item:
            lines.append(f"{pad}{key}:")
            lines.extend(block(item, indent + 2, dash))
        elif isinstance(item, list) and item:
            lines.append(f"{pad}{key}:")
            lines.extend(list_item(v, indent + dash, dash) for v in item)
        else:
            lines.append(f"{pad}{key}: {flow(item)}")
    return lines


def list_item(value: Any, dash_column: int, dash: int = 2) -> str:
    """One block sequence item (possibly several lines) with its dash at ``dash_column``."""
    if isinstance(value, dict) and value:
        body = block(value, dash_column + 2, dash)
        return " " * dash_column + "- " + body[0].lstrip() + "".join("\n" + b for b in body[1:])
    return " " * dash_column + "- " + flow(value)


def is_flow(source: SourceFile, pos: Pos) -> bool:
    line = source.lines[pos[0] - 1] if pos[0] - 1 < len(source.lines) else ""
    return line[pos[1] - 1:pos[1]] in ("[", "{")


def last_content_line(source: SourceFile, pos: Pos) -> int:
    """The last line that holds a block node's own text (not the next key, not trailing
    comments or blank lines)."""
    start, _, end_line, end_column = pos
    lines = source.lines
    last = end_line
    if end_line - 1 >= len(lines) or not lines[end_line - 1][:end_column - 1].strip():
        last = end_line - 1
    while last > start and (not lines[last - 1].strip() or lines[last - 1].lstrip().startswith("#")):
        last -= 1
    return max(last, start)


def _after_line(source: SourceFile, line: int) -> tuple[int, str]:
    """Offset of the start of the line after ``line``, and a newline to prefix when the file
    ends without one."""
    if line >= len(source.lines) or (line == len(source.lines) - 1 and source.lines[-1] == ""):
        if source.text.endswith("\n"):
            return len(source.text), ""
        return len(source.text), "\n"
    return source.offset(line + 1, 1), ""


def dash_column(source: SourceFile, items: YList) -> int:
    """0-based column of the dashes of a block sequence."""
    line, column = items.item_pos[0][0], items.item_pos[0][1]
    text = source.lines[line - 1]
    dash = text.rfind("-", 0, column - 1)
    return dash if dash >= 0 else max(column - 3, 0)


def _dash_offset(source: SourceFile, mapping: YMap) -> int:
    """How far the dashes of this mapping's block lists sit right of its keys (0 or 2)."""
    for key, value in mapping.items():
        if isinstance(value, YList) and value and not is_flow(source, mapping.value_pos[key]):
            return max(dash_column(source, value) - (mapping.key_pos[key][1] - 1), 0)
    return 2


def append_item(source: SourceFile, mapping: YMap, key: str, item: Any) -> Edit | None:
    """Add ``item`` to the list ``mapping[key]``, creating the key when it is missing; None when
    the key holds something else (a mapping, a scalar): that is for a person to mend."""
    items = mapping.get(key)
    if isinstance(items, YList):
        pos = mapping.value_pos[key]
        if is_flow(source, pos):
            close = source.offset(pos[2], pos[3]) - 1
            return edit(source, close, close, (", " if items else "") + flow(item))
        if items:
            column = dash_column(source, items)
            offset, prefix = _after_line(source, last_content_line(source, items.pos))
            return edit(source, offset, offset,
                        prefix + list_item(item, column, _dash_offset(source, mapping)) + "\n")
    if key in mapping and mapping[key] not in (None, ""):
        return None  # a mapping or scalar where a list belongs: rewriting it changes its meaning
    if key in mapping:  # present but null or empty: replace the value
        pos = mapping.value_pos[key]
        start = source.offset(pos[0], pos[1])
        end = source.offset(pos[2], pos[3])
        if is_flow(source, mapping.pos) or start != end:
            return edit(source, start, end, flow([item]))
        key_column = mapping.key_pos[key][1] - 1
        return edit(source, start, end,
                    "\n" + list_item(item, key_column + _dash_offset(source, mapping)))
    return add_key(source, mapping, key, [item])


def add_key(source: SourceFile, mapping: YMap, key: str, value: Any) -> Edit:
    """Add ``key: value`` at the end of a mapping, in its style."""
    if is_flow(source, mapping.pos):
        close = source.offset(mapping.pos[2], mapping.pos[3]) - 1
        return edit(source, close, close, (", " if mapping else "") + f"{key}: {flow(value)}")
    indent = mapping.pos[1] - 1
    lines = block({key: value}, indent, _dash_offset(source, mapping))
    offset, prefix = _after_line(source, last_content_line(source, mapping.pos))
    return edit(source, offset, offset, prefix + "\n".join(lines) + "\n")


def set_value(source: SourceFile, mapping: YMap, key: str, value: Any) -> Edit:
    """Replace the scalar (or null) value of ``key``, or add the key."""
    if key in mapping and not isinstance(mapping[key], (YMap, YList)):
        pos = mapping.value_pos[key]
        start, end = source.offset(pos[0], pos[1]), source.offset(pos[2], pos[3])
        text = flow(value)
        if start == end:  # `key:` with nothing after it
            key_end = source.offset(*mapping.key_pos[key][2:])
            colon = source.text.find(":", key_end)
            return edit(source, colon + 1, colon + 1, " " + text)
        return edit(source, start, end, text)
    return add_key(source, mapping, key, value)


def insert_items_after(source: SourceFile, items: YList, index: int, values: list[str],
                       pos: Pos) -> Edit:
    """Insert scalar items after ``items[index]`` (whose list is written at ``pos``)."""
    item_pos = items.item_pos[index]
    text = source.lines[item_pos[0] - 1]
    quoted = text[item_pos[1] - 1:item_pos[1]] in ('"', "'")
    if is_flow(source, pos):
        end = source.offset(item_pos[2], item_pos[3])
        return edit(source, end, end, "".join(", " + scalar(v, quoted) for v in values))
    column = dash_column(source, items)
    last = last_content_line(source, item_pos) if item_pos[2] > item_pos[0] else item_pos[0]
    offset, prefix = _after_line(source, last)
    return edit(source, offset, offset,
                prefix + "".join(" " * column + "- " + scalar(v, quoted) + "\n" for v in values))
