"""Suppressions: inline comments, Kubernetes annotations, per-file ignores, and the baseline.

Inline, in YAML, Dockerfiles, requirements files and shell scripts (any ``#`` comment)::

    # celerylint: ignore[beat-schedule-read-only] -- the schedule is on a PVC
    # celerylint: ignore-file[CL202, pip-install-at-start]

``ignore`` applies to findings on its own line or the line after it; ``ignore-file`` to the
whole file. On a Kubernetes object (the workload or its pod template), for manifests rendered
from charts you cannot edit::

    metadata:
      annotations:
        celerylint.io/ignore: "multiple-beats,CL503"
        celerylint.io/ignore-beat-rolling-update: "rollouts happen outside the schedule window"

A suppressed finding is not reported, but its reason travels in the JSON (``suppressed``) and
SARIF (``suppressions``) outputs.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from celerylint.config import Config, matches
from celerylint.diagnostics import Diagnostic, Span
from celerylint.model import Deployment
from celerylint.model.kubernetes import POD_SPEC_PATHS, dig
from celerylint.sources import display_path

DIRECTIVE = re.compile(
    r"#\s*celerylint:\s*(ignore-file|ignore)\[([^\]]*)\](?:\s*--\s*([^#]*))?")
ANNOTATION = "celerylint.io/ignore"


@dataclass
class Directive:
    """One inline suppression comment."""

    kind: str  # "ignore" or "ignore-file"
    selectors: list[str]
    reason: str
    span: Span
    used: bool = False

    def covers(self, diagnostic: Diagnostic) -> bool:
        if diagnostic.path != self.span.path or not any(
                matches(s, diagnostic.code, diagnostic.name) for s in self.selectors):
            return False
        return self.kind == "ignore-file" or diagnostic.span.line in (self.span.line,
                                                                      self.span.line + 1)


@dataclass
class Suppression:
    """Why a finding is not reported."""

    kind: str  # "inline", "annotation", "per-file-ignores"
    reason: str
    where: str


@dataclass
class Outcome:
    kept: list[Diagnostic]
    suppressed: list[tuple[Diagnostic, Suppression]] = field(default_factory=list)


def directives(deployment: Deployment) -> list[Directive]:
    found = []
    for source in deployment.sources:
        if "celerylint:" not in source.text:
            continue
        for number, text in enumerate(source.lines, start=1):
            match = DIRECTIVE.search(text)
            if match:
                selectors = [s.strip() for s in match.group(2).split(",") if s.strip()]
                span = Span(source.path, number, match.start() + 1, number, match.end() + 1)
                found.append(Directive(match.group(1), selectors, (match.group(3) or "").strip(),
                                       span))
    return found


def _annotated(deployment: Deployment) -> list[tuple[str, int, int, list[str], str, str]]:
    """(path, first line, last line, selectors, reason, where) of annotated objects."""
    found = []
    for obj in deployment.objects:
        path = POD_SPEC_PATHS.get(obj.kind, ())
        template = path[:-1] + ("metadata",) if path and path[-1] == "spec" and len(path) > 1 else ()
        for marks in (dig(obj.data, "metadata", "annotations"),
                      dig(obj.data, *template, "annotations") if template else None):
            if not isinstance(marks, dict):
                continue
            for key, value in marks.items():
                if not isinstance(key, str) or not key.startswith(ANNOTATION):
                    continue
                if key == ANNOTATION:
                    selectors, reason = [s.strip() for s in str(value).split(",") if s.strip()], ""
                elif key.startswith(ANNOTATION + "-"):
                    selectors, reason = [key[len(ANNOTATION) + 1:]], str(value or "")
                else:
                    continue
                pos = obj.data.pos
                found.append((obj.source.path, pos[0], pos[2], selectors, reason,
                              f"{obj.kind} '{obj.name}' annotation {key}"))
    return found


def apply(diagnostics: list[Diagnostic], deployment: Deployment, config: Config,
          inline: bool = True, found_directives: list[Directive] | None = None) -> Outcome:
    """Split findings into those reported and those suppressed (with why)."""
    outcome = Outcome([])
    comments = found_directives if found_directives is not None else (
        directives(deployment) if inline else [])
    annotated = _annotated(deployment) if inline else []
    for d in diagnostics:
        suppression = None
        for directive in comments:
            if directive.covers(d):
                directive.used = True
                suppression = suppression or Suppression(
                    "inline", directive.reason, f"{directive.span.path}:{directive.span.line}")
        for path, first, last, selectors, reason, where in annotated:
            if suppression is None and d.path == path and first <= d.span.line <= last and any(
                    matches(s, d.code, d.name) for s in selectors):
                suppression = Suppression("annotation", reason, where)
        if suppression is None and any(matches(s, d.code, d.name)
                                       for s in config.ignored_here(d.path)):
            where = display_path(config.path) if config.path else "configuration"
            suppression = Suppression("per-file-ignores", "", where)
        if suppression is None:
            outcome.kept.append(d)
        else:
            outcome.suppressed.append((d, suppression))
    return outcome


# -- fingerprints and the baseline ----------------------------------------------------------

class Locator:
    """Keys of findings that survive lines moving: the offending line's text (whitespace
    normalised) and the object it is in, looked up through indexes built once per run."""

    def __init__(self, deployment: Deployment) -> None:
        self.sources = {s.path: s for s in deployment.sources}
        self.objects: dict[str, list[tuple[int, int, str]]] = {}
        for o in deployment.objects:
            self.objects.setdefault(o.source.path, []).append(
                (o.data.pos[0], o.data.pos[2], f"{o.kind}/{o.namespace or ''}/{o.name}"))
        for spans in self.objects.values():
            spans.sort()
        self.starts = {path: [first for first, _, _ in spans] for path, spans in self.objects.items()}

    def key(self, d: Diagnostic) -> tuple[str, str]:
        source = self.sources.get(d.path)
        text = source.lines[d.span.line - 1] if source and d.span.line <= len(source.lines) else ""
        owner = ""
        spans = self.objects.get(d.path)
        if spans:
            index = bisect.bisect_right(self.starts[d.path], d.span.line) - 1
            if index >= 0 and spans[index][0] <= d.span.line <= spans[index][1]:
                owner = spans[index][2]
        return " ".join(text.split()), owner

    def baseline(self, d: Diagnostic) -> str:
        """The baseline's key: rule, file, line text and object."""
        snippet, owner = self.key(d)
        return _hash(d.code, d.path, snippet, owner)[:24]

    def fingerprint(self, d: Diagnostic) -> str:
        """SARIF's and GitLab's key: the baseline's plus the message (two findings of one rule on
        one line differ by it); messages carry no line numbers, so it survives lines moving."""
        snippet, owner = self.key(d)
        return _hash(d.code, d.path, snippet, owner, d.message)


def _hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def write_baseline(path: Path, diagnostics: list[Diagnostic], deployment: Deployment) -> None:
    locator = Locator(deployment)
    entries = [{"fingerprint": locator.baseline(d), "code": d.code, "name": d.name,
                "path": d.path} for d in diagnostics]
    path.write_text(json.dumps({"version": 1, "findings": entries}, indent=2) + "\n")


def read_baseline(path: Path) -> Counter:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Counter(entry["fingerprint"] for entry in data["findings"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a celerylint baseline ({exc})") from None


def subtract_baseline(diagnostics: list[Diagnostic], baseline: Counter,
                      deployment: Deployment) -> tuple[list[Diagnostic], int]:
    """Findings not in the baseline (each baseline entry absorbs one finding), and how many were."""
    left = Counter(baseline)
    kept, absorbed = [], 0
    locator = Locator(deployment)
    for d in diagnostics:
        key = locator.baseline(d)
        if left[key] > 0:
            left[key] -= 1
            absorbed += 1
        else:
            kept.append(d)
    return kept, absorbed
