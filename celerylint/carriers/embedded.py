"""Text embedded in other text: a manifest in a script's heredoc, a script in a playbook's YAML.

Each layer that carries text (a YAML block scalar, Jinja rendering, a heredoc's expansions) is an
``OffsetMap`` from the text it produces to the text it was read from: a list of pieces, each
either *literal* (the same characters on both sides, so offsets map one to one and fixes can edit
them) or *computed* (an expansion: its output maps to the whole construct that wrote it). Maps
compose, so a manifest in a heredoc, in a shell task, in a playbook maps to the playbook's lines;
``EmbeddedMap`` then moves findings and fixes there (``model.sourcemap``).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Callable

from celerylint.diagnostics import Edit, Related, Span
from celerylint.model.sourcemap import SourceMap
from celerylint.sources import SourceFile


@dataclass(frozen=True)
class Piece:
    """``text[start:end]`` came from ``source[real:real_end]``; literal when both are equal."""

    start: int
    end: int
    real: int
    real_end: int
    literal: bool


class OffsetMap:
    """Offsets of a produced text -> offsets of the text it came from."""

    def __init__(self, pieces: list[Piece]) -> None:
        self.pieces = sorted(pieces, key=lambda p: p.start)
        self._starts = [p.start for p in self.pieces]

    @classmethod
    def identity(cls, length: int, base: int = 0) -> "OffsetMap":
        return cls([Piece(0, length, base, base + length, True)])

    def _piece(self, offset: int, end: bool) -> Piece | None:
        if not self.pieces:
            return None
        i = bisect_right(self._starts, offset - 1 if end and offset > 0 else offset) - 1
        return self.pieces[max(i, 0)]

    def real(self, offset: int, end: bool = False) -> int:
        """Where an offset of the produced text lies in the source; a place inside a computed
        piece is its construct's start (its end for the end of a span)."""
        piece = self._piece(offset, end)
        if piece is None:
            return 0
        if piece.literal:
            return piece.real + min(max(offset - piece.start, 0), piece.end - piece.start)
        return piece.real_end if end else piece.real

    def literal(self, start: int, end: int) -> bool:
        """Whether ``[start, end)`` lies in literal pieces only; for an insertion (``start ==
        end``), whether the place is inside or at the edge of a literal piece."""
        i = bisect_right(self._starts, start) - 1
        if i < 0:
            return False
        if start == end:
            return self.insertion(start) is not None
        while i < len(self.pieces) and self.pieces[i].start < end:
            piece = self.pieces[i]
            if not piece.literal and piece.end > start:
                return False
            i += 1
        return True

    def insertion(self, offset: int) -> int | None:
        """Where text inserted at ``offset`` goes in the source: inside or at the start of a
        literal piece (after a line's indentation in an embedding that adds some), else at the
        end of the literal piece before it; None inside computed text."""
        i = bisect_right(self._starts, offset) - 1
        for piece in reversed(self.pieces[max(i - 1, 0):i + 1]):
            if piece.literal and piece.start <= offset <= piece.end:
                return piece.real + offset - piece.start
        return None

    def then(self, outer: "OffsetMap") -> "OffsetMap":
        """This map followed by ``outer`` (which maps this map's source to its own source)."""
        pieces: list[Piece] = []
        for piece in self.pieces:
            if not piece.literal:
                pieces.append(Piece(piece.start, piece.end, outer.real(piece.real),
                                    outer.real(piece.real_end, end=True), False))
                continue
            cut = piece.real
            while cut < piece.real_end:
                inner = outer._piece(cut, False)
                stop = min(piece.real_end, inner.end if inner and inner.end > cut else
                           piece.real_end)
                start = piece.start + cut - piece.real
                length = stop - cut
                if inner is not None and inner.literal:
                    real = inner.real + cut - inner.start
                    pieces.append(Piece(start, start + length, real, real + length, True))
                else:
                    pieces.append(Piece(start, start + length, outer.real(cut),
                                        outer.real(stop, end=True), False))
                cut = stop
            if piece.real == piece.real_end:  # an empty literal piece: keep the place
                pieces.append(Piece(piece.start, piece.end, outer.real(piece.real),
                                    outer.real(piece.real), piece.start == piece.end))
        return OffsetMap(pieces)


class EmbeddedMap(SourceMap):
    """Findings in an embedded text (``generated``) moved to the file that writes it.

    ``escape`` turns the text of a fix into what must be written in the file so that the
    embedding produces it again (an unquoted heredoc needs ``\\$`` for ``$``), or None when it
    cannot be written there (Jinja syntax in a playbook)."""

    def __init__(self, generated: SourceFile, real: SourceFile, offsets: OffsetMap,
                 escape: Callable[[str], str | None] = lambda text: text,
                 context: Span | None = None) -> None:
        self.generated = generated.path
        self.text = generated
        self.real = real.path
        self.source = real
        self.offsets = offsets
        self.escape = escape
        self.context = context  # the heredoc or task the text is embedded by

    def span(self, span: Span) -> Span:
        start = self.offsets.real(self.text.offset(span.line, span.column))
        end = self.offsets.real(self.text.offset(span.end_line, span.end_column), end=True)
        end = max(start, end)
        return Span(self.real, *self.source.position(start), *self.source.position(end))

    def related(self, span: Span) -> list[Related]:
        return []

    def edit(self, edit: Edit) -> Edit | None:
        start, end = edit.start, edit.end
        if not self.offsets.literal(start, end):
            return None
        if end > start:
            real_start, real_end = self.offsets.real(start), self.offsets.real(end, end=True)
        else:
            real_start = real_end = self.offsets.insertion(start)
        if self.source.text[real_start:real_end] != self.text.text[start:end]:
            return None  # not one stretch of the file (a line break the embedding adds)
        new = self.escape(edit.content)
        if new is None:
            return None
        line_start = self.text.text.rfind("\n", 0, start) + 1
        real_line = self.offsets.real(line_start)
        prefix = self.source.text[self.source.text.rfind("\n", 0, real_line) + 1:real_line]
        if prefix.strip(" \t"):
            if "\n" in new:
                return None  # the embedded line does not start a line of the file
        else:
            new = new.replace("\n", "\n" + prefix)
        return Edit(self.real, real_start, real_end, new,
                    Span(self.real, *self.source.position(real_start),
                         *self.source.position(real_end)))
