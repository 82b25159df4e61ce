"""Reporters: each formats a ``Result`` and decides nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from celerylint.diagnostics import Diagnostic
from celerylint.sources import Skip


@dataclass
class Result:
    """What one run found, as every reporter sees it."""

    diagnostics: list[Diagnostic]
    files: int
    skipped: list[Skip] = field(default_factory=list)
    fixed: int | None = None  # findings fixed by --fix (None when not fixing)
    unsafe_fixes: bool = False  # unsafe fixes count as applicable

    def fixable(self) -> int:
        from celerylint.diagnostics import Applicability

        return sum(1 for d in self.diagnostics if d.fix is not None and (
            self.unsafe_fixes or d.fix.applicability is Applicability.SAFE))

    def counts(self) -> dict[str, int]:
        counts = {"error": 0, "warning": 0, "info": 0}
        for d in self.diagnostics:
            counts[d.severity.value] += 1
        return counts
