"""Applying fixes: merge the edits of many findings, re-lint, and write files safely.

Fixes whose edits overlap (or insert at the same point) are not merged: the first is applied and
the next pass, run on the edited text, computes the others afresh. Passes happen in memory (the
loader reads edited files from an overlay), so ``--diff`` and ``--fix`` share every step but the
last: the write, which is atomic (a temporary file in the same directory, renamed over the
original, with its mode kept), never touches a file that had a parse error, and refuses a file that
changed on disk since it was read.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass, field

from celerylint.diagnostics import Applicability, Diagnostic, Edit, Fix
from celerylint.sources import SourceFile

MAX_PASSES = 10


def apply_edits(text: str, edits: list[Edit]) -> str:
    out, cursor = [], 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        out.append(text[cursor:e.start])
        out.append(e.content)
        cursor = max(cursor, e.end)
    out.append(text[cursor:])
    return "".join(out)


def _clashes(a: Edit, b: Edit) -> bool:
    return a.path == b.path and a.start <= b.end and b.start <= a.end


def unified_diff(source: SourceFile, new_text: str) -> str:
    """A git-style diff (``a/``, ``b/``) that ``git apply`` and ``patch -p1`` accept."""
    old = source.encode(source.text).decode(source.encoding).splitlines(keepends=True)
    new = source.encode(new_text).decode(source.encoding).splitlines(keepends=True)
    lines = []
    for line in difflib.unified_diff(old, new, f"a/{source.path}", f"b/{source.path}"):
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        lines.append(line)
    return "".join(lines)


def fix_diff(fix: Fix, sources: dict[str, SourceFile]) -> str:
    """The diff of one fix alone, against the files as read."""
    parts = []
    for path in dict.fromkeys(e.path for e in fix.edits):
        source = sources[path]
        parts.append(unified_diff(source, apply_edits(source.text, [e for e in fix.edits if e.path == path])))
    return "".join(parts)


@dataclass
class FixRun:
    """The outcome of fixing: edited files, how many findings were fixed, what remains."""

    originals: dict[str, SourceFile] = field(default_factory=dict)  # by display path
    edited: dict[str, SourceFile] = field(default_factory=dict)
    fixed: int = 0
    remaining: list[Diagnostic] = field(default_factory=list)
    deployment: object = None
    skipped: list = field(default_factory=list)

    def diff(self) -> str:
        return "".join(unified_diff(self.originals[p], self.edited[p].text)
                       for p in sorted(self.edited) if self.edited[p].text != self.originals[p].text)


def wanted(fix: Fix | None, unsafe: bool) -> bool:
    return fix is not None and (fix.applicability is Applicability.SAFE or unsafe)


def fix_all(lint, unsafe: bool) -> FixRun:
    """Lint, apply what can be applied, and lint again until nothing more applies.

    ``lint(overlay)`` returns ``(deployment, skipped, diagnostics)`` with the edited files of
    ``overlay`` (absolute path -> SourceFile) read instead of the disk.
    """
    run = FixRun()
    overlay: dict[str, SourceFile] = {}
    broken: set[str] | None = None
    for _ in range(MAX_PASSES + 1):
        deployment, skipped, diagnostics = lint(overlay)
        run.deployment, run.skipped, run.remaining = deployment, skipped, diagnostics
        sources = {s.path: s for s in deployment.sources}
        if broken is None:
            broken = {p.path for p in deployment.problems}
            run.originals = dict(sources)
        chosen: list[Edit] = []
        taken = 0
        for diagnostic in diagnostics:
            fix = diagnostic.fix
            if not wanted(fix, unsafe) or any(
                    e.path in broken or e.path not in sources or sources[e.path].abspath is None
                    for e in fix.edits):
                continue
            if any(_clashes(e, c) for e in fix.edits for c in chosen):
                continue
            chosen.extend(fix.edits)
            taken += 1
        if not taken:
            break
        run.fixed += taken
        for path in dict.fromkeys(e.path for e in chosen):
            source = sources[path]
            text = apply_edits(source.text, [e for e in chosen if e.path == path])
            edited = dataclasses.replace(source, text=text)
            overlay[source.abspath] = edited
            run.edited[path] = edited
    return run


def write(run: FixRun) -> list[str]:
    """Write the edited files; return the problems (files left alone, and why)."""
    problems = []
    for path, edited in sorted(run.edited.items()):
        original = run.originals[path]
        if edited.text == original.text or original.abspath is None:
            continue
        try:
            with open(original.abspath, "rb") as f:
                current = f.read()
            if hashlib.sha256(current).hexdigest() != original.digest:
                problems.append(f"{path}: changed on disk since it was read; not fixed")
                continue
            mode = stat.S_IMODE(os.stat(original.abspath).st_mode)
            directory = os.path.dirname(original.abspath)
            fd, temporary = tempfile.mkstemp(dir=directory, prefix=".celerylint-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(original.encode(edited.text))
                    f.flush()
                    os.fsync(f.fileno())
                os.chmod(temporary, mode)
                os.replace(temporary, original.abspath)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError as exc:
            problems.append(f"{path}: cannot write: {exc.strerror or exc}")
    return problems
