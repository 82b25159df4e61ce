"""Applying fixes: merge the edits of many findings, re-lint, check, and write files safely.

Fixes whose edits overlap (or insert at the same point) are not merged: the first is applied and
the next pass, run on the edited text, computes the others afresh. Passes happen in memory (the
loader reads edited files from an overlay), so ``--diff`` and ``--fix`` share every step but the
last. After each pass every edited file is checked as the next lint reads it: a fix that makes a
file unparsable, changes its number of documents or adds an ``invalid-manifest`` finding is a
celerylint bug; it is undone, never written, and reported as such.

The write is atomic and refuses whatever it cannot do faithfully: a file outside the checked
tree, a symlink or a file with other hard links (the edit would land elsewhere or split them), a
file the user cannot write, a file whose owner cannot be kept, and a file changed on disk since
it was read (checked again after the temporary file is written, just before the rename).
"""

from __future__ import annotations

import bisect
import difflib
import gc
import hashlib
import os
import stat
import tempfile
from collections import Counter
from dataclasses import dataclass, field

from celerylint.diagnostics import Applicability, Diagnostic, Edit, Fix
from celerylint.secrets import mask
from celerylint.sources import SourceFile

MAX_PASSES = 10
CONTEXT = 3  # lines of context in a diff, as diff -u


def apply_edits(text: str, edits: list[Edit]) -> str:
    out, cursor = [], 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        out.append(text[cursor:e.start])
        out.append(e.content)
        cursor = max(cursor, e.end)
    out.append(text[cursor:])
    return "".join(out)


def edit_source(source: SourceFile, edits: list[Edit]) -> SourceFile:
    """The file with the edits applied; a file with mixed line ends keeps each line's end (new
    lines take the end of the line they are inserted in)."""
    text = apply_edits(source.text, edits)
    if source.eols is None:
        return source.edited(text, None)
    eols, old, row = [], source.eols, 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        first = bisect.bisect_right(source.starts, e.start) - 1
        last = bisect.bisect_right(source.starts, e.end) - 1
        if first < row:
            continue  # overlaps an edit already taken (apply_edits skips it the same way)
        eols.extend(old[row:first])  # the lines before, as they were
        here = old[first] if first < len(old) else (old[-1] if old else "\n")
        eols.extend([here] * e.content.count("\n"))  # the edit's own line breaks
        row = last  # the line ends inside the replaced text are gone
    eols.extend(old[row:])
    return source.edited(text, tuple(eols[:text.count("\n")]))


def _clashes(a: Edit, b: Edit) -> bool:
    return a.path == b.path and a.start <= b.end and b.start <= a.end


def unified_diff(source: SourceFile, new: SourceFile) -> str:
    """A git-style diff (``a/``, ``b/``) that ``git apply`` and ``patch -p1`` accept, unless
    one of its lines holds a password: that is masked (``_render``), and then the patch does not
    apply (the masked line no longer matches); ``--fix`` writes the edits themselves."""
    old_lines = source.encode(source.text, source.eols).decode(source.encoding).splitlines(True)
    new_lines = new.encode(new.text, new.eols).decode(source.encoding).splitlines(True)
    return _render(difflib.unified_diff(old_lines, new_lines, f"a/{source.path}",
                                        f"b/{source.path}", n=CONTEXT))


def _render(lines) -> str:
    """The diff's text, passwords masked: a diff is for display (a terminal, a CI log, the
    JSON ``diff`` field), and its context lines may hold a password no fix is about."""
    out = []
    for line in lines:
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return mask("".join(out))


def fix_diff(fix: Fix, sources: dict[str, SourceFile]) -> str:
    """The diff of one fix alone, against the files as read. Only the lines around its edits
    are compared (with the usual context), so a fix in a large file costs its own size."""
    parts = []
    for path in dict.fromkeys(e.path for e in fix.edits):
        source = sources[path]
        edits = [e for e in fix.edits if e.path == path]
        starts = source.starts
        first = max(bisect.bisect_right(starts, min(e.start for e in edits)) - 1 - CONTEXT, 0)
        last = min(bisect.bisect_right(starts, max(e.end for e in edits)) - 1 + CONTEXT + 1,
                   len(starts))
        begin = starts[first]
        end = starts[last] if last < len(starts) else len(source.text)
        window = source.text[begin:end]
        shifted = [Edit(e.path, e.start - begin, e.end - begin, e.content, e.span) for e in edits]
        old = _window_lines(source, window, first)
        new = _window_lines(source, apply_edits(window, shifted), first)
        body = list(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}", n=CONTEXT))
        parts.append(_render(_shift_hunks(body, first)))
    return "".join(parts)


def _window_lines(source: SourceFile, text: str, first: int) -> list[str]:
    """Lines of a window of the file, with the file's own line ends."""
    rows = text.split("\n")
    ends = source.eols[first:] if source.eols is not None else ()
    default = "\r\n" if source.crlf else "\n"
    lines = [row + (ends[i] if i < len(ends) else default) for i, row in enumerate(rows[:-1])]
    if rows[-1]:
        lines.append(rows[-1])
    return lines


def _shift_hunks(lines: list[str], offset: int) -> list[str]:
    """Hunk headers of a window's diff, renumbered to the file's lines."""
    import re

    def shift(match: re.Match) -> str:
        a, b = int(match.group(1)) + offset, int(match.group(3)) + offset
        return f"@@ -{a}{match.group(2) or ''} +{b}{match.group(4) or ''} @@"

    return [re.sub(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@", shift, line) if line.startswith("@@")
            else line for line in lines]


@dataclass
class FixRun:
    """The outcome of fixing: edited files, how many findings were fixed, what remains."""

    originals: dict[str, SourceFile] = field(default_factory=dict)  # by display path
    edited: dict[str, SourceFile] = field(default_factory=dict)
    fixed: int = 0
    remaining: list[Diagnostic] = field(default_factory=list)
    deployment: object = None
    skipped: list = field(default_factory=list)
    bugs: list[str] = field(default_factory=list)  # fixes undone because they broke a file

    def diff(self) -> str:
        return "".join(unified_diff(self.originals[p], self.edited[p])
                       for p in sorted(self.edited) if self.edited[p].text != self.originals[p].text)


def wanted(fix: Fix | None, unsafe: bool) -> bool:
    return fix is not None and (fix.applicability is Applicability.SAFE or unsafe)


def _key(diagnostic: Diagnostic) -> tuple:
    """What identifies a fix (an undone pass restores the positions it had)."""
    return (diagnostic.code, diagnostic.path, diagnostic.message, diagnostic.fix.title,
            diagnostic.span)


def fix_all(lint, unsafe: bool) -> FixRun:
    """Lint, apply what can be applied, and lint again until nothing more applies.

    ``lint(overlay)`` returns ``(deployment, skipped, diagnostics)`` with the edited files of
    ``overlay`` (absolute path -> SourceFile) read instead of the disk.
    """
    run = FixRun()
    overlay: dict[str, SourceFile] = {}
    broken: set[str] | None = None
    bad: set[tuple] = set()
    last: dict[str, tuple[SourceFile | None, list[tuple]]] = {}  # what the last pass changed
    health: dict[str, tuple[int, int, int]] = {}
    applied: set[tuple] = set()  # fixes made, by where they start: one that comes back failed
    for passes in range(2 * MAX_PASSES + 1):
        if passes:
            gc.collect()  # the model the last pass built is garbage now (the CLI turns GC off)
        deployment, skipped, diagnostics = lint(overlay)
        run.deployment, run.skipped, run.remaining = deployment, skipped, diagnostics
        sources = {s.path: s for s in deployment.sources}
        now = _health(deployment, diagnostics)
        if broken is None:
            broken = {p.path for p in deployment.problems}
            run.originals = dict(sources)
            health = now
        undone = [path for path in last if _worse(now.get(path), health.get(path))]
        for path in undone:  # the last pass broke this file: undo it, never retry those fixes
            previous, keys = last[path]
            original = run.originals[path]
            if previous is None or previous.text == original.text:
                overlay.pop(original.abspath, None)
                run.edited.pop(path, None)
            else:
                overlay[original.abspath] = run.edited[path] = previous
            bad.update(keys)
            run.fixed -= len(keys)
            run.bugs.extend(f"{path}: celerylint bug: the fix '{k[3]}' ({k[0]}) would break this "
                            "file (it no longer parses the same, or the API server would reject "
                            "it); not applied. Please report it." for k in keys)
        last = {}
        if undone:
            continue  # lint the undone state before choosing again
        chosen: list[Edit] = []
        keys_by_path: dict[str, list[tuple]] = {}
        for diagnostic in diagnostics:
            fix = diagnostic.fix
            if not wanted(fix, unsafe) or _key(diagnostic) in bad or any(
                    e.path in broken or e.path not in sources or sources[e.path].abspath is None
                    for e in fix.edits):
                continue
            if any(_clashes(e, c) for e in fix.edits for c in chosen):
                continue
            again = (*_key(diagnostic)[:4], diagnostic.span.line, diagnostic.span.column)
            if again in applied:  # made once and the same finding starts at the same place
                bad.add(_key(diagnostic))
                run.fixed -= 1
                run.bugs.append(f"{diagnostic.path}: celerylint bug: the fix "
                                f"'{diagnostic.fix.title}' ({diagnostic.code}) did not remove "
                                "its finding; applied once only. Please report it.")
                continue
            applied.add(again)
            chosen.extend(fix.edits)
            for path in dict.fromkeys(e.path for e in fix.edits):
                keys_by_path.setdefault(path, []).append(_key(diagnostic))
        if not chosen:
            break
        run.fixed += len({k for keys in keys_by_path.values() for k in keys})
        for path in dict.fromkeys(e.path for e in chosen):
            source = sources[path]
            last[path] = (run.edited.get(path), keys_by_path.get(path, []))
            edited = edit_source(source, [e for e in chosen if e.path == path])
            overlay[source.abspath] = edited
            run.edited[path] = edited
    return run


def _health(deployment, diagnostics) -> dict[str, tuple[int, int, int]]:
    """Per file: its parse problems, its number of documents (the loader's own count), and the
    findings that say the runtime would reject it (invalid-manifest, invalid-compose-file)."""
    problems = Counter(p.path for p in deployment.problems)
    invalid = Counter(d.path for d in diagnostics
                      if d.name in ("invalid-manifest", "invalid-compose-file"))
    embedded = deployment.embedded_documents
    return {s.path: (problems[s.path], s.documents + embedded.get(s.path, 0), invalid[s.path])
            for s in deployment.sources}


def _worse(now: tuple[int, int, int] | None, before: tuple[int, int, int] | None) -> bool:
    """A fix broke the file: more parse problems, another number of documents, or more that the
    runtime rejects (a fix may well remove an invalid field)."""
    if now is None or before is None:
        return now != before
    return now[0] > before[0] or now[1] != before[1] or now[2] > before[2]


def write(run: FixRun) -> list[str]:
    """Write the edited files; return the problems (files left alone, and why)."""
    problems = list(run.bugs)
    scope = getattr(run.deployment, "scope", None)
    for path, edited in sorted(run.edited.items()):
        original = run.originals[path]
        if edited.text == original.text or original.abspath is None:
            continue
        refused = _refusal(original, scope)
        if refused:
            problems.append(f"{path}: {refused}; not fixed")
            continue
        try:
            problems.extend(_replace(original, edited))
        except OSError as exc:
            problems.append(f"{path}: cannot write: {exc.strerror or exc}")
    return problems


def _refusal(original: SourceFile, scope) -> str | None:
    """Why a file must not be rewritten, or None."""
    target = original.abspath
    shown = os.path.abspath(original.path)
    if scope is not None and not scope.contains(target):
        return "outside the checked tree"
    try:
        if os.path.islink(shown) or os.path.realpath(shown) != target:
            return f"a symlink (to {os.path.realpath(shown)}): fix its target instead"
        info = os.lstat(target)
    except OSError as exc:
        return f"cannot write: {exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_nlink > 1:
        return f"has {info.st_nlink} hard links: rewriting it would split them"
    if not os.access(target, os.W_OK):
        return "read-only for you"
    return None


def _digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _replace(original: SourceFile, edited: SourceFile) -> list[str]:
    """Write ``edited`` over the file through a temporary file in its directory, keeping mode,
    owner and group; nothing is written when the file changed since it was read."""
    target = original.abspath
    if _digest(target) != original.digest:
        return [f"{original.path}: changed on disk since it was read; not fixed"]
    info = os.stat(target)
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".celerylint-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(original.encode(edited.text, edited.eols))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, stat.S_IMODE(info.st_mode))
        if (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()) and hasattr(os, "chown"):
            try:
                os.chown(temporary, info.st_uid, info.st_gid)
            except OSError:
                os.unlink(temporary)
                return [f"{original.path}: its owner or group cannot be kept; not fixed"]
        if _digest(target) != original.digest:  # changed while the temporary file was written
            os.unlink(temporary)
            return [f"{original.path}: changed on disk since it was read; not fixed"]
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return []
