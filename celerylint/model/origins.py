"""Where the words of a command line are written: one mechanism for spans and edits.

A command may come from a Kubernetes ``command``/``args`` list (each item a word, or an
``sh -c`` script in one item), from a Dockerfile instruction (shell form text, or a JSON array),
or from an entry script in the repository. Each ``SimpleCommand`` carries its ``Origin``, so rules
report at the exact word and fixes edit it, wherever it was written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

from celerylint.diagnostics import Span
from celerylint.parse.shell import Word
from celerylint.parse.yamlnodes import YList, locate
from celerylint.sources import SourceFile

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


class Origin:
    """Base: a source file and how a word maps to offsets in it."""

    source: SourceFile
    fallback: Span  # where to point when a word cannot be placed exactly

    def offsets(self, word: Word) -> tuple[int, int] | None:
        """Exact offsets of the word's text in ``source_of(word).text``, or None."""
        raise NotImplementedError

    def source_of(self, word: Word) -> SourceFile:
        return self.source

    def part(self, word: Word) -> "Origin":
        """The origin that writes this word (itself, except for a joined argv)."""
        return self

    def span(self, word: Word) -> Span:
        offsets = self.offsets(word)
        if offsets is None:
            return self.fallback
        source = self.source_of(word)
        return Span(source.path, *source.position(offsets[0]), *source.position(offsets[1]))

    def list_item(self, word: Word) -> tuple[YList, int] | None:
        """The YAML list and index when the word is a whole exec-form item."""
        return None

    def json_element(self, word: Word) -> tuple[int, int] | None:
        """Offsets of the whole quoted JSON element when the word is one (Dockerfile exec form)."""
        return None


@dataclass
class YamlArgv(Origin):
    """A container's ``command`` + ``args`` items."""

    source: SourceFile
    argv: list[str]
    items: list[tuple[YList, int]]
    fallback: Span

    def _item_span(self, word: Word) -> Span:
        if word.item >= len(self.items):
            return self.fallback
        items, index = self.items[word.item]
        return Span(self.source.path, *items.item_pos[index])

    def offsets(self, word: Word) -> tuple[int, int] | None:
        if word.item >= len(self.items):
            return None
        items, index = self.items[word.item]
        value = self.argv[word.item]
        pos = locate(self.source, items.item_pos[index], value, word.start, word.end)
        start, end = self.source.offset(pos[0], pos[1]), self.source.offset(pos[2], pos[3])
        if self.source.text[start:end] != value[word.start:word.end]:
            return None
        return start, end

    def span(self, word: Word) -> Span:
        return super().span(word) if self.offsets(word) else self._item_span(word)

    def list_item(self, word: Word) -> tuple[YList, int] | None:
        if word.item < len(self.items) and word.start == 0 and word.end == len(self.argv[word.item]):
            return self.items[word.item]
        return None


@dataclass
class SplitString(Origin):
    """A compose string ``command``/``entrypoint`` that Compose splits into argv items (no
    shell): each item's raw text in the file, quotes included, when it could be placed."""

    source: SourceFile
    values: list[str]
    raw: list[tuple[int, int] | None]  # file offsets of each item's written text
    fallback: Span

    def offsets(self, word: Word) -> tuple[int, int] | None:
        if word.item >= len(self.raw) or self.raw[word.item] is None:
            return None
        start, end = self.raw[word.item]
        written, value = self.source.text[start:end], self.values[word.item]
        if written != value:
            if not (len(written) == len(value) + 2 and written[0] == written[-1]
                    and written[0] in "'\"" and written[1:-1] == value):
                return None
            start += 1
        return start + word.start, start + word.end


@dataclass
class ScriptText(Origin):
    """A shell script written in a file from ``base`` on: an entry script, a Dockerfile
    shell-form instruction or heredoc."""

    source: SourceFile
    text: str
    base: int
    fallback: Span

    def offsets(self, word: Word) -> tuple[int, int] | None:
        start, end = self.base + word.start, self.base + word.end
        if self.source.text[start:end] != self.text[word.start:word.end]:
            return None
        return start, end


@dataclass
class JsonArray(Origin):
    """A Dockerfile exec-form instruction: ``CMD ["celery", "-A", "proj", "worker"]``."""

    source: SourceFile
    elements: list[tuple[int, int]]  # offsets of each quoted element, quotes included
    values: list[str]
    fallback: Span

    @classmethod
    def parse(cls, source: SourceFile, start: int, text: str, fallback: Span) -> "JsonArray":
        elements, values = [], []
        for match in _JSON_STRING.finditer(text):
            elements.append((start + match.start(), start + match.end()))
            values.append(json.loads(match.group(0)))
        return cls(source, elements, values, fallback)

    def offsets(self, word: Word) -> tuple[int, int] | None:
        if word.item >= len(self.elements):
            return None
        start, end = self.elements[word.item]
        raw = self.source.text[start + 1:end - 1]
        if raw != self.values[word.item]:
            return None  # escapes inside: not placed exactly
        return start + 1 + word.start, start + 1 + word.end

    def json_element(self, word: Word) -> tuple[int, int] | None:
        if word.item < len(self.elements) and word.start == 0 and \
                word.end == len(self.values[word.item]):
            return self.elements[word.item]
        return None


@dataclass
class Joined(Origin):
    """An argv assembled from several places: ENTRYPOINT items followed by CMD or ``args``."""

    parts: list[tuple[Origin, Word]]  # for each argv item: its origin and its word there
    fallback: Span

    def _inner(self, word: Word) -> tuple[Origin, Word] | None:
        if word.item >= len(self.parts):
            return None
        origin, there = self.parts[word.item]
        return origin, replace(there, start=there.start + word.start, end=there.start + word.end)

    @property
    def source(self) -> SourceFile:  # type: ignore[override]
        return self.parts[0][0].source_of(Word("", 0, 0)) if self.parts else None

    def source_of(self, word: Word) -> SourceFile:
        inner = self._inner(word)
        return inner[0].source_of(inner[1]) if inner else self.source

    def part(self, word: Word) -> Origin:
        inner = self._inner(word)
        return inner[0].part(inner[1]) if inner else self

    def offsets(self, word: Word) -> tuple[int, int] | None:
        inner = self._inner(word)
        return inner[0].offsets(inner[1]) if inner else None

    def span(self, word: Word) -> Span:
        inner = self._inner(word)
        return inner[0].span(inner[1]) if inner else self.fallback

    def list_item(self, word: Word):
        inner = self._inner(word)
        return inner[0].list_item(inner[1]) if inner else None

    def json_element(self, word: Word):
        inner = self._inner(word)
        return inner[0].json_element(inner[1]) if inner else None
