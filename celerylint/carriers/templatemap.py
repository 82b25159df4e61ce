"""Which template line produced each line of a rendered Helm template, and which values it read.

Helm's engine keeps no line map, so the rendered text is aligned with the template, line by
line, in order: a rendered line that equals a template line without ``{{ }}`` is that line
(*literal*: columns and fixes carry over); a rendered line that matches a template line with its
``{{ }}`` taken as wildcards came from that line (*construct*); a line that matches nothing
(the output of ``include``, ``toYaml ... | nindent``) came from the last template construct before
the current place. Loops (``range``) and documents in another order are found by searching the
whole template when the next lines do not match. A template line's values are the ``.Values``
paths its constructs read, with ``with``/``range`` blocks taken into account
(``{{- with .Values.worker }}`` ... ``{{ .concurrency }}`` reads ``worker.concurrency``).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

_CONSTRUCT = re.compile(r"\{\{.*?\}\}")
_ONLY_CONSTRUCTS = re.compile(r"^\s*(\{\{.*?\}\}\s*)+$")
_VALUES = re.compile(r"\$?\.Values((?:\.[A-Za-z_][\w-]*)+)")
_RELATIVE = re.compile(r"(?<![\w$)\]])\.([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)")
_BLOCK = re.compile(r"\{\{-?\s*(if|with|range|define|block)\b(.*?)-?\}\}")
_END = re.compile(r"\{\{-?\s*end\b")
_BUILTINS = ("Values", "Release", "Chart", "Capabilities", "Template", "Files", "Subcharts")
#: How far ahead the next matching template line is looked for before searching everywhere.
WINDOW = 64


@dataclass(frozen=True)
class Origin:
    """Where one rendered line came from: a 1-based template line (0 when unknown)."""

    line: int
    literal: bool
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Piece:
    """A stretch of a rendered construct line: 0-based columns in the rendered line and in the
    template line, literal text or a construct's output (with the values it reads)."""

    start: int
    end: int
    template_start: int
    template_end: int
    literal: bool
    values: tuple[str, ...] = ()


class TemplateMap:
    """Rendered line (1-based) -> Origin, for one template and one of its renders."""

    def __init__(self, template: str, rendered: str) -> None:
        self.lines = template.split("\n")
        self.values = _values_by_line(self.lines)
        literal: dict[str, list[int]] = {}
        patterns: list[tuple[int, re.Pattern]] = []
        self.construct_lines: list[int] = []
        for i, line in enumerate(self.lines):
            if "{{" not in line:
                if line.strip():
                    literal.setdefault(line.rstrip(), []).append(i)
                continue
            self.construct_lines.append(i)
            if not _ONLY_CONSTRUCTS.match(line):
                parts = _CONSTRUCT.split(line.rstrip())
                patterns.append((i, re.compile("^" + "(.*?)".join(re.escape(p) for p in parts)
                                               + "$")))
        self.patterns = dict(patterns)
        self.origins = self._align(rendered.split("\n"), literal, patterns)

    def pieces(self, line: int, text: str) -> list[Piece]:
        """The literal stretches and construct outputs of a rendered construct line (1-based
        line, its text), or [] when the line is not a construct line's output."""
        origin = self.origin(line)
        pattern = self.patterns.get(origin.line - 1)
        match = pattern.match(text.rstrip()) if pattern is not None and not origin.literal else None
        if match is None:
            return []
        template = self.lines[origin.line - 1]
        constructs = list(_CONSTRUCT.finditer(template))
        pieces, rendered_at, template_at = [], 0, 0
        for k, construct in enumerate(constructs):
            start, end = match.span(k + 1)
            pieces.append(Piece(rendered_at, start, template_at, construct.start(), True))
            refs = tuple(v for v in origin.values if v.split(".")[-1] in construct.group(0))
            pieces.append(Piece(start, end, construct.start(), construct.end(), False, refs))
            rendered_at, template_at = end, construct.end()
        pieces.append(Piece(rendered_at, len(text), template_at, len(template), True))
        return pieces

    def origin(self, line: int) -> Origin:
        return self.origins[line - 1] if 0 < line <= len(self.origins) else Origin(0, False)

    def _align(self, rendered: list[str], literal: dict[str, list[int]],
               patterns: list[tuple[int, re.Pattern]]) -> list[Origin]:
        origins: list[Origin] = []
        pointer = 0
        pattern_lines = [i for i, _ in patterns]
        for text in rendered:
            found = self._literal(literal.get(text.rstrip()), pointer) if text.strip() else None
            exact = found is not None
            if found is None and text.strip():
                found = self._pattern(patterns, pattern_lines, text.rstrip(), pointer)
            if found is not None:
                origins.append(Origin(found + 1, exact, self.values[found]))
                pointer = found + 1
                continue
            construct = self._construct_before(pointer)
            origins.append(Origin(construct + 1, False, self.values[construct])
                           if construct is not None else Origin(min(pointer, len(self.lines)) or 1,
                                                                False))
        return origins

    @staticmethod
    def _literal(candidates: list[int] | None, pointer: int) -> int | None:
        """The first candidate at or after the pointer (within the window), else the first."""
        if not candidates:
            return None
        at = bisect_left(candidates, pointer)
        if at < len(candidates) and candidates[at] - pointer <= WINDOW:
            return candidates[at]
        return candidates[at] if at < len(candidates) else candidates[0]

    @staticmethod
    def _pattern(patterns, lines: list[int], text: str, pointer: int) -> int | None:
        start = bisect_left(lines, pointer)
        order = list(range(start, min(start + WINDOW, len(patterns)))) + \
            list(range(0, start)) + list(range(start + WINDOW, len(patterns)))
        for k in order:
            line, pattern = patterns[k]
            if pattern.match(text):
                return line
        return None

    def _construct_before(self, pointer: int) -> int | None:
        at = bisect_left(self.construct_lines, pointer)
        return self.construct_lines[at - 1] if at > 0 else None


def _values_by_line(lines: list[str]) -> list[tuple[str, ...]]:
    """The ``.Values`` paths each template line reads (``worker.concurrency``), following the
    ``with`` and ``range`` blocks around it."""
    frames: list[str | None] = []  # the values path a block binds ``.`` to, None for others
    found: list[tuple[str, ...]] = []
    for line in lines:
        refs: list[str] = [m.group(1)[1:] for m in _VALUES.finditer(line)]
        bound = next((f for f in reversed(frames) if f is not None), None)
        if bound is not None:
            for construct in _CONSTRUCT.findall(line):
                inner = _VALUES.sub("", construct)
                refs += [f"{bound}.{m.group(1)}" for m in _RELATIVE.finditer(inner)
                         if m.group(1).split(".")[0] not in _BUILTINS]
        found.append(tuple(dict.fromkeys(refs)))
        for construct in _CONSTRUCT.findall(line):
            block = _BLOCK.match(construct)
            if block:
                target = _VALUES.search(block.group(2)) if block.group(1) in ("with", "range") \
                    else None
                frames.append(target.group(1)[1:] if target else None)
            elif _END.match(construct) and frames:
                frames.pop()
    return found
