"""Run the rules over the deployment model and collect their findings as diagnostics."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import Callable, Iterator

from celerylint.diagnostics import Diagnostic, Finding, Severity
from celerylint.model import Deployment

#: Seconds each kind of start-up work is assumed to take (``probe-too-early``). Deliberately
#: modest: a probe is reported only when it kills the container before even this much time.
DEFAULT_STARTUP_ESTIMATES = {
    "pip install": 60,
    "poetry install": 90,
    "pipenv install": 90,
    "uv pip install": 20,
    "uv sync": 20,
    "apt-get install": 45,
    "apk add": 20,
    "virtualenv": 5,
}

@dataclass
class Settings:
    kubernetes_version: str | None = None  # schemas of the newest bundled version when None
    strict_schema: bool = True
    startup_estimates: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_STARTUP_ESTIMATES))


@dataclass
class Context:
    """What a rule's ``check`` receives."""

    deployment: Deployment
    settings: Settings


@dataclass(frozen=True)
class Rule:
    """A rule module seen through its constants (see ``rules/__init__.py``)."""

    module: ModuleType

    @property
    def code(self) -> str:
        return self.module.CODE

    @property
    def name(self) -> str:
        return self.module.NAME

    @property
    def severity(self) -> Severity:
        return self.module.SEVERITY

    @property
    def summary(self) -> str:
        return self.module.SUMMARY

    @property
    def doc(self) -> str:
        return (self.module.__doc__ or "").strip()

    def section(self, title: str) -> str:
        """The text under ``## title`` in the rule's documentation."""
        match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", self.doc, re.M | re.S)
        return match.group(1).strip() if match else ""

    @property
    def fixable(self) -> bool:
        """Whether the rule proposes fixes (``FIXABLE = True`` in its module)."""
        return getattr(self.module, "FIXABLE", False)

    @property
    def check(self) -> Callable[[Context], Iterator[Finding]]:
        return self.module.check


def all_rules() -> list[Rule]:
    """Every rule, in code order; modules are imported here, not at start-up."""
    from celerylint import rules

    return [Rule(importlib.import_module(f"celerylint.rules.{name}")) for name in rules.MODULES]


def run(deployment: Deployment, settings: Settings, rules: list[Rule] | None = None,
        errors: list[str] | None = None) -> list[Diagnostic]:
    """Diagnostics of every rule, sorted. A rule that fails is reported in ``errors`` (one line
    each) and the others still run: a bug in one rule must not hide the rest."""
    context = Context(deployment, settings)
    diagnostics: dict[tuple, Diagnostic] = {}
    for rule in rules if rules is not None else all_rules():
        try:
            findings = list(rule.check(context))
        except Exception as exc:  # noqa: BLE001 - reported, never a traceback
            if errors is None:
                raise
            errors.append(f"internal error in rule {rule.name}: {type(exc).__name__}: {exc}")
            continue
        for finding in findings:
            hint = finding.hint
            if rule.fixable and finding.fix is None:
                hint += " (no automatic fix here: the edit could not be made safely)"
            diagnostic = Diagnostic(rule.code, rule.name, finding.severity or rule.severity,
                                    finding.span, finding.message, hint, finding.fix)
            # a requirements file reached directly and through -r reports once
            diagnostics.setdefault((rule.code, finding.span, finding.message), diagnostic)
    return sorted(diagnostics.values(), key=Diagnostic.sort_key)
