"""Run the rules over the deployment model and collect their findings as diagnostics."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field, replace
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
    # for rules that judge the run itself (``META = True``, such as unused-suppression)
    directives: list | None = None  # inline suppressions, None when they are switched off
    selected: list["Rule"] = field(default_factory=list)
    all_rules: list["Rule"] = field(default_factory=list)
    #: ``(k, n)``: a rule marked ``SHARDED`` checks only the k-th of n slices of the objects
    #: (``--jobs`` splits the costliest rule across processes)
    shard: tuple[int, int] = (0, 1)


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
    def doc_url(self) -> str:
        from celerylint import RULE_DOCS

        return f"{RULE_DOCS}/{self.name}.md"

    @property
    def security_severity(self) -> float | None:
        """CVSS-like score (0-10) of a rule about security (``SECURITY_SEVERITY`` in its module);
        GitHub code scanning ranks such alerts by it."""
        return getattr(self.module, "SECURITY_SEVERITY", None)

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


@dataclass
class Analysis:
    """What a run reports, and what it was told not to."""

    diagnostics: list[Diagnostic]
    suppressed: list = field(default_factory=list)  # (Diagnostic, suppress.Suppression)


def run(deployment: Deployment, settings: Settings, rules: list[Rule] | None = None,
        errors: list[str] | None = None) -> list[Diagnostic]:
    """Diagnostics of ``rules`` (default: all), sorted, with no configuration applied."""
    return analyse(deployment, settings, errors=errors, rules=rules).diagnostics


def analyse(deployment: Deployment, settings: Settings, config=None, inline: bool = True,
            errors: list[str] | None = None, rules: list[Rule] | None = None,
            jobs: int = 1) -> Analysis:
    """Run the selected rules, apply suppressions and severity overrides, then the meta rules.

    A rule that fails is reported in ``errors`` (one line each) and the others still run: a bug
    in one rule must not hide the rest. With ``jobs`` above 1 a large model's rules run in
    that many processes (the same findings, in the same order)."""
    from celerylint import config as configuration
    from celerylint import suppress

    config = config or configuration.Config()
    everything = all_rules()
    selected = rules if rules is not None else configuration.selected(config, everything)
    context = Context(deployment, settings, selected=selected, all_rules=everything)
    if inline:
        context.directives = suppress.directives(deployment)
    plain = [r for r in selected if not getattr(r.module, "META", False)]
    meta = [r for r in selected if getattr(r.module, "META", False)]
    found = _collect(plain, context, errors, jobs)
    outcome = suppress.apply(found, deployment, config, inline, context.directives)
    kept = outcome.kept + _collect(meta, context, errors)
    locator = suppress.Locator(deployment)
    for diagnostic in kept:
        diagnostic.severity = _severity(config, diagnostic)
        diagnostic.fingerprint = locator.fingerprint(diagnostic)
    for diagnostic, _ in outcome.suppressed:
        diagnostic.fingerprint = locator.fingerprint(diagnostic)
    return Analysis(sorted(kept, key=Diagnostic.sort_key), outcome.suppressed)


def _checked(rules: list[Rule], context: Context, catch: bool, jobs: int
             ) -> list[tuple[Rule, list[Finding], str | None]]:
    """``(rule, findings, failure)`` for each rule, in order: run here, or by ``jobs`` forked
    processes when the model is large (a ``SHARDED`` rule split into ``jobs`` slices)."""
    from celerylint import parallel, timing

    size = len(context.deployment.objects) + len(context.deployment.workloads)
    if not parallel.usable(jobs, size):
        outcomes = []
        for rule in rules:
            with timing.stage(f"rule {rule.name}"):
                outcomes.append((rule, *_check(rule, context, catch)))
        return outcomes
    # the slices of the costly rules first, one task at a time: each process takes the next
    # when it is free (slices of one rule must not share a process)
    tasks = sorted([(rule, (k, shards)) for rule in rules
                    for shards in [jobs if getattr(rule.module, "SHARDED", False) else 1]
                    for k in range(shards)], key=lambda task: -task[1][1])
    with timing.stage(f"rules ({jobs} processes)"):
        done = parallel.run(lambda i: _check(tasks[i][0], replace(context, shard=tasks[i][1]),
                                             catch), len(tasks), jobs, chunks_per_job=len(tasks))
    merged: dict[str, tuple[Rule, list[Finding], str | None]] = {}
    for (rule, _), (findings, failure) in zip(tasks, done):
        _, before, failed = merged.get(rule.code, (rule, [], None))
        merged[rule.code] = (rule, before + findings, failed or failure)
    return list(merged.values())


def _check(rule: Rule, context: Context, catch: bool) -> tuple[list[Finding], str | None]:
    try:
        return list(rule.check(context)), None
    except Exception as exc:  # noqa: BLE001 - reported, never a traceback
        if not catch:
            raise
        return [], f"internal error in rule {rule.name}: {type(exc).__name__}: {exc}"


def _severity(config, diagnostic: Diagnostic) -> Severity:
    """The most specific override: the rule's name, then the longest code prefix, then ALL."""
    best, weight = diagnostic.severity, -1
    for selector, severity in config.severity.items():
        if selector == diagnostic.name:
            rank = 100
        elif selector == "ALL":
            rank = 0
        elif selector.startswith("CL") and diagnostic.code.startswith(selector):
            rank = len(selector)
        else:
            continue
        if rank > weight:
            best, weight = severity, rank
    return best


def _collect(rules: list[Rule], context: Context, errors: list[str] | None,
             jobs: int = 1) -> list[Diagnostic]:
    """Each rule's findings as diagnostics, moved out of generated sources (rendered templates)
    to the files people edit; a finding that only some value sets of a chart produce says
    which."""
    diagnostics: dict[tuple, Diagnostic] = {}
    labels: dict[tuple, set[str]] = {}
    remapper = context.deployment.remapper
    for rule, findings, failure in _checked(rules, context, errors is not None, jobs):
        if failure is not None:
            assert errors is not None
            errors.append(failure)
            continue
        for finding in findings:
            label = remapper.label(finding.span.path)
            finding = remapper.finding(finding)
            hint = finding.hint
            if rule.fixable and finding.fix is None and "template computes" not in hint:
                hint += " (no automatic fix for this case)"
            diagnostic = Diagnostic(rule.code, rule.name, finding.severity or rule.severity,
                                    finding.span, finding.message, hint, finding.fix,
                                    finding.related)
            # a requirements file reached directly and through -r reports once, and so does a
            # template line rendered with several value sets
            key = (rule.code, finding.span, finding.message)
            diagnostics.setdefault(key, diagnostic)
            labels.setdefault(key, set()).add(label)
    for key, found in labels.items():
        if "" not in found and found != remapper.labels(key[1].path):  # only some value sets
            diagnostics[key].message += f" (values: {', '.join(sorted(found))})"
    return sorted(diagnostics.values(), key=Diagnostic.sort_key)


_STOPWORDS = frozenset({"the", "and", "for", "with", "from", "that", "this", "not", "are", "was",
                        "error", "errno", "celery", "info", "warning", "critical", "mainprocess",
                        "you", "your", "can", "has", "have", "but", "all", "its", "our", "how"})


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[\"'`]", "", text.lower()).split())


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9_./-]{3,}", text) if w not in _STOPWORDS}


@dataclass
class Explanation:
    """Rules a query refers to, best first, and whether the best one is a confident match."""

    rules: list[Rule]
    confident: bool


def explain_query(query: str, rules: list[Rule]) -> Explanation:
    """Rules that a code, a name, or a pasted log line or symptom refers to, best first.

    A pasted message is matched against each rule's *Symptoms* (the log lines users see) and the
    rest of its documentation, each word weighted by how few rules mention it (a word every rule
    uses says nothing, a word no rule uses weighs most). The best rule is a confident answer
    when the whole message is in its Symptoms, or when its documentation covers at least 60% of
    the weight of the message's words; otherwise the matches are only the closest, weak ones."""
    import math

    text = query.strip()
    exact = [r for r in rules if text.upper() == r.code or text.lower() == r.name]
    if exact:
        return Explanation(exact, True)
    wanted = _normal(text)
    docs = {r.code: (_normal(r.section("Symptoms")), _normal(r.doc)) for r in rules}
    vocabulary = {r.code: (_words(docs[r.code][0]), _words(docs[r.code][1])) for r in rules}
    weights = {}
    total = 0.0  # words no rule mentions weigh most: a message about something else
    for word in _words(wanted):
        mentioned = sum(1 for symptoms, doc in vocabulary.values() if word in doc)
        weight = math.log((1 + len(rules)) / max(mentioned, 1))
        total += weight
        if mentioned:
            weights[word] = weight
    scored = []
    for rule in rules:
        symptoms, doc = vocabulary[rule.code]
        whole = bool(wanted) and wanted in docs[rule.code][0]
        covered = sum(w for word, w in weights.items() if word in doc)
        score = (100 if whole else 0) + sum(3 * w for word, w in weights.items() if word in symptoms) \
            + covered
        if score:
            # between rules that both quote the message, the one whose symptom is the message
            # itself (the shortest bullet holding it) before one that mentions it in passing
            bullet = min((len(b) for b in (_normal(b) for b in re.split(
                r"\n- ", rule.section("Symptoms"))) if wanted in b), default=0) if whole else 0
            scored.append((score, bullet, whole, covered, rule))
    scored.sort(key=lambda item: (-item[0], item[1]))
    if not scored:
        return Explanation([], False)
    _, _, whole, covered, _ = scored[0]
    return Explanation([rule for *_, rule in scored], whole or covered >= 0.6 * total)
