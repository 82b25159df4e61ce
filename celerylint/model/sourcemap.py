"""Source maps: where the text of a generated source was written by a person.

Some sources are not files (a rendered Helm template, a manifest in a script's heredoc): rules
read and report them like any other, and the engine then moves each finding to the file and line
a person would edit, through the source map of the generated source. A fix survives only when
every edit lands on text that is literal there; a fix of a computed value is dropped, and the
finding says where the value comes from instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from celerylint.diagnostics import Edit, Finding, Fix, Related, Span


class SourceMap:
    """Base: maps spans and edits of one generated source (``generated``) to real files."""

    generated: str  # the path the generated source is known by inside the run
    real: str = ""  # the file its text comes from (a template)
    label: str = ""  # which variant it is (a Helm value set), "" when there is one

    def span(self, span: Span) -> Span:
        raise NotImplementedError

    def related(self, span: Span) -> list[Related]:
        """Other places behind a span (the values key a template line reads)."""
        return []

    def edit(self, edit: Edit) -> Edit | None:
        """The edit on the real file, or None when the text is not literal there."""
        return None


@dataclass
class Remapper:
    """Moves findings out of generated sources (the engine's last step before suppressions)."""

    maps: dict[str, SourceMap] = field(default_factory=dict)

    def finding(self, finding: Finding) -> Finding:
        source_map = self.maps.get(finding.span.path)
        related = [self._related(r) for r in finding.related]
        if source_map is None and related == finding.related and not self._fix_mapped(finding.fix):
            return finding
        fix = self._fix(finding.fix)
        hint = finding.hint
        if finding.fix is not None and fix is None:
            hint += " (the template computes this text: edit it there, or the values it reads)"
        span = finding.span
        if source_map is not None:
            related = related + source_map.related(span)
            span = source_map.span(span)
        return replace(finding, span=span, related=related, fix=fix, hint=hint)

    def label(self, path: str) -> str:
        source_map = self.maps.get(path)
        return source_map.label if source_map is not None else ""

    def labels(self, real: str) -> set[str]:
        """Every variant label of the generated sources of one real file."""
        found = self.__dict__.setdefault("_labels", {})
        if not found:
            for source_map in self.maps.values():
                found.setdefault(source_map.real, set()).add(source_map.label)
        return found.get(real, set())

    def _related(self, related: Related) -> Related:
        source_map = self.maps.get(related.span.path)
        return Related(source_map.span(related.span), related.message) if source_map else related

    def _fix_mapped(self, fix: Fix | None) -> bool:
        return fix is not None and any(e.path in self.maps for e in fix.edits)

    def _fix(self, fix: Fix | None) -> Fix | None:
        if fix is None or not self._fix_mapped(fix):
            return fix
        edits = []
        for e in fix.edits:
            source_map = self.maps.get(e.path)
            moved = source_map.edit(e) if source_map is not None else e
            if moved is None:
                return None
            edits.append(moved)
        return replace(fix, edits=edits)
