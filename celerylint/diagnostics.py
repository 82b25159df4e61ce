"""Findings as data: what every rule yields and every reporter formats.

A diagnostic is plain data (ruff's model): reporters only format it and never decide anything.
Positions are 1-based; ``end_column`` is exclusive, as in LSP and SARIF.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(str, enum.Enum):
    """How bad a finding is."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, order=True)
class Span:
    """A range in one file: 1-based lines and columns, end column exclusive."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Related:
    """Another place that explains a finding (a route to the queue, a hop to celery): shown as
    SARIF ``relatedLocations`` and JSON ``related``, so messages need no line numbers."""

    span: Span
    message: str


class Applicability(str, enum.Enum):
    """Whether a fix may be applied unattended (``--fix``) or needs review (``--unsafe-fixes``)."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` of one file by ``content`` (insert: start == end).

    Offsets index the file's text as read (``\n`` line ends); the span is for people and JSON.
    """

    path: str
    start: int
    end: int
    content: str
    span: Span


@dataclass
class Fix:
    """A patch for one finding: text edits on the original files, ruff-style."""

    title: str
    edits: list[Edit]
    applicability: Applicability = Applicability.SAFE
    diff: str = ""  # the unified diff of this fix alone, filled in before reporting


@dataclass
class Finding:
    """What a rule yields; the engine stamps the rule's code, name and severity on it."""

    span: Span
    message: str
    hint: str = ""
    severity: Severity | None = None  # None: the rule's default
    fix: Fix | None = None
    related: list[Related] = field(default_factory=list)


@dataclass
class Diagnostic:
    """One finding of one rule at one place."""

    code: str
    name: str
    severity: Severity
    span: Span
    message: str
    hint: str = ""
    fix: Fix | None = None
    related: list[Related] = field(default_factory=list)
    fingerprint: str = ""  # stable across line moves (see suppress.Locator)

    @property
    def path(self) -> str:
        return self.span.path

    @property
    def stable_id(self) -> str:
        """The fingerprint, or for a diagnostic made outside a run a hash of rule, file and
        message (never of a position)."""
        import hashlib

        return self.fingerprint or hashlib.sha256(f"{self.code}\0{self.path}\0{self.message}".encode(
            "utf-8", "surrogateescape")).hexdigest()

    def sort_key(self) -> tuple:
        s = self.span
        return (s.path, s.line, s.column, self.code, self.message)
