"""Jinja rendering for Ansible carriers: sandboxed, bounded, and with a map back to the source.

Rendering uses Jinja's own ``ImmutableSandboxedEnvironment`` (no attribute or method that
changes state, no access to Python internals), with ``*`` and ``**`` refused when their result
would be huge, and the output cut at ``MAX_OUTPUT``. An undefined variable (set in an inventory
we cannot see, or on the command line with ``-e``) is never guessed: it renders as ``${name}``,
which every later step treats as an unknown value.

Text with only ``{{ expression }}`` constructs (the common case in playbooks) is rendered one
expression at a time, so each output maps exactly: literal text stays literal (findings and fixes
keep their columns) and each expression's output maps to the ``{{ ... }}`` that wrote it. Text
with statements (``{% if %}``) is rendered whole, with Ansible's ``trim_blocks``, and its lines
are aligned with the template's as Helm's are (``templatemap``): a line written as is maps
exactly, a line with ``{{ }}`` maps its literal stretches exactly and each construct to itself.
Loops, macros and includes are not rendered at all (the text is then unknown): they are how a
hostile template would hang the run.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from celerylint.carriers.embedded import OffsetMap, Piece

MAX_OUTPUT = 1_000_000
MAX_PRODUCT = 100_000  # the largest string or list a * or ** may build
#: Templates with statements longer than this map as one piece (first line, no fixes): the line
#: aligner may search the whole template for a line it cannot place.
MAX_ALIGNED_LINES = 2_000
_CONSTRUCT = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_UNSAFE_STATEMENT = re.compile(r"\{%-?\s*(for|macro|call|include|import|from|extends|block)\b")

_environment = None


def _env():
    global _environment
    if _environment is None:
        _environment = _build()
    return _environment


def _build():
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Unknown(jinja2.Undefined):
        def __str__(self) -> str:
            return "${%s}" % (self._undefined_name or "unknown")

        __iter__ = jinja2.Undefined.__iter__

    class Bounded(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context, operator, left, right):
            if operator == "**":
                if isinstance(right, (int, float)) and abs(right) > 64:
                    raise jinja2.exceptions.SecurityError("exponent too large")
                return left ** right
            size = max((len(v) for v in (left, right) if hasattr(v, "__len__")), default=1)
            count = max((abs(v) for v in (left, right) if isinstance(v, int)), default=1)
            if size * count > MAX_PRODUCT:
                raise jinja2.exceptions.SecurityError("product too large")
            return left * right

    env = Bounded(undefined=Unknown, autoescape=False, keep_trailing_newline=True,
                  trim_blocks=True)  # as Ansible's template module does
    env.filters.update({
        "quote": lambda value: shlex.quote(str(value)),
        "bool": lambda value: str(value).lower() in ("1", "true", "yes", "on", "y"),
        "b64encode": lambda value: __import__("base64").b64encode(str(value).encode()).decode(),
        "to_json": lambda value: __import__("json").dumps(value),
        "mandatory": lambda value: value,
    })
    return env


def has_constructs(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def render(text: str, variables: dict[str, Any]) -> tuple[str, OffsetMap] | None:
    """The rendered text and its map to ``text``, or None when it cannot be rendered here."""
    if not has_constructs(text):
        return text, OffsetMap.identity(len(text))
    if "{%" in text:
        if _UNSAFE_STATEMENT.search(text):
            return None
        output = _render_whole(text, variables)
        if output is None:
            return None
        if text.count("\n") > MAX_ALIGNED_LINES:  # the aligner searches: keep it bounded
            return output, OffsetMap([Piece(0, len(output), 0, len(text), False)])
        return output, _aligned(text, output)
    pieces: list[Piece] = []
    out: list[str] = []
    length = last = 0
    for match in _CONSTRUCT.finditer(text):
        if match.start() > last:
            out.append(text[last:match.start()])
            pieces.append(Piece(length, length + match.start() - last, last, match.start(), True))
            length += match.start() - last
        value = "" if match.group(0).startswith("{#") else _render_whole(match.group(0),
                                                                          variables)
        if value is None:
            value = "${%s}" % _name(match.group(0))
        out.append(value)
        pieces.append(Piece(length, length + len(value), match.start(), match.end(), False))
        length += len(value)
        last = match.end()
        if length > MAX_OUTPUT:
            return None
    out.append(text[last:])
    pieces.append(Piece(length, length + len(text) - last, last, len(text), True))
    return "".join(out), OffsetMap(pieces)


def _aligned(template: str, output: str) -> OffsetMap:
    """The map of a whole render, line by line (``templatemap.TemplateMap``)."""
    from celerylint.carriers.templatemap import TemplateMap

    lines = TemplateMap(template, output)
    starts = [0]
    for row in lines.lines[:-1]:
        starts.append(starts[-1] + len(row) + 1)
    pieces: list[Piece] = []
    rows = output.split("\n")
    at = 0
    for number, row in enumerate(rows, start=1):
        length = len(row) + (1 if number < len(rows) else 0)
        if not length:
            continue  # the empty end after the last line break: nothing to map
        origin = lines.origin(number)
        if not origin.line:
            pieces.append(Piece(at, at + length, 0, len(template), False))
        elif origin.literal and lines.lines[origin.line - 1] == row:
            base = starts[origin.line - 1]
            pieces.append(Piece(at, at + length, base, base + length, True))
        else:
            base = starts[origin.line - 1]
            written = len(lines.lines[origin.line - 1])
            parts = lines.pieces(number, row)
            if not parts:  # the output of include, a filter ...: the construct's whole line
                pieces.append(Piece(at, at + length, base, base + written, False))
            for part in parts:
                pieces.append(Piece(at + part.start, at + part.end, base + part.template_start,
                                    base + part.template_end, part.literal))
            if parts and length > len(row):  # the line break, as written
                pieces.append(Piece(at + len(row), at + length, base + written,
                                    base + written + 1, True))
        at += length
    return OffsetMap(pieces)


def _name(construct: str) -> str:
    match = re.match(r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)", construct)
    return match.group(1) if match else "unknown"


def _render_whole(text: str, variables: dict[str, Any]) -> str | None:
    try:
        template = _env().from_string(text)
        chunks, size = [], 0
        for chunk in template.generate(variables):
            size += len(chunk)
            if size > MAX_OUTPUT:
                return None
            chunks.append(chunk)
        return "".join(chunks)
    except Exception:  # noqa: BLE001 - any template error means "unknown", never a traceback
        return None


def resolve(variables: dict[str, Any], passes: int = 3) -> dict[str, Any]:
    """Variables whose string values refer to others (``url: "redis://{{ host }}"``), rendered
    a few passes deep, as Ansible templates them lazily."""
    resolved = dict(variables)
    for _ in range(passes):
        changed = False
        for key, value in resolved.items():
            if isinstance(value, str) and has_constructs(value):
                rendered = render(value, resolved)
                if rendered is not None and rendered[0] != value:
                    resolved[key] = rendered[0]
                    changed = True
        if not changed:
            break
    return resolved
