"""Can pip install these requirements together? A real resolver over recorded package metadata.

``resolvelib`` (pip's own resolver core) runs over ``data/packages.json``, the Requires-Dist and
Requires-Python of every release of Celery's stack, read from the real wheels by
``scripts/refresh_package_data.py``. Packages outside that data are never judged, and a requirement
that matches no recorded release (a newer release than the data, or a typo) makes the whole set
unknown rather than a conflict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterable, Iterator, Mapping, Sequence

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

#: Interpreters tried when the image does not say which Python runs: a conflict is reported
#: only when it happens on every one of them.
PYTHONS = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14")

_OPERATOR_ORDER = {">=": 0, ">": 1, "~=": 2, "==": 3, "===": 3, "<=": 4, "<": 5, "!=": 6}


@dataclass(frozen=True)
class Release:
    name: str
    version: Version
    requires_python: SpecifierSet
    requires_dist: tuple[Requirement, ...]
    yanked: bool


@lru_cache(maxsize=1)
def releases() -> dict[str, list[Release]]:
    """Recorded releases per package, newest first (loaded once, on first use)."""
    raw = json.loads(resources.files("celerylint").joinpath("data/packages.json").read_text())
    table: dict[str, list[Release]] = {}
    for name, versions in raw["packages"].items():
        entries = []
        for version, record in versions.items():
            entries.append(Release(
                name, Version(version), SpecifierSet(record.get("requires_python") or ""),
                tuple(Requirement(r) for r in record.get("requires_dist", [])),
                bool(record.get("yanked"))))
        table[name] = sorted(entries, key=lambda r: r.version, reverse=True)
    return table


def newest_fitting(pinned: Sequence, culprit, conflict: Conflict, python: str | None,
                   allow_pre: bool = False) -> Version | None:
    """The newest release of the culprit's package that, pinned instead, lets the set install."""
    from dataclasses import replace

    if conflict.needed is None:
        return None
    name = canonicalize_name(culprit.requirement.name)
    for release in releases().get(name, []):
        if release.yanked or (release.version.is_prerelease and not allow_pre):
            continue
        if not conflict.needed.contains(release.version, prereleases=True):
            continue
        requirement = Requirement(str(culprit.requirement))
        requirement.specifier = SpecifierSet(f"=={release.version}")
        trial = [replace(p, requirement=requirement) if p is culprit else p for p in pinned]
        if check(trial, python or conflict.python, allow_pre) is None:
            return release.version
    return None


def fitting_range(pinned: Sequence, culprit, conflict: Conflict, python: str | None,
                  allow_pre: bool = False) -> SpecifierSet | None:
    """The range the requiring release asks for, when the set installs with the culprit's range
    replaced by it (``redis>=5.0`` -> ``redis>=4.5.2,<5.0.0,!=4.5.5``)."""
    from dataclasses import replace

    if conflict.needed is None or not str(conflict.needed):
        return None
    requirement = Requirement(str(culprit.requirement))
    requirement.specifier = conflict.needed
    trial = [replace(p, requirement=requirement) if p is culprit else p for p in pinned]
    return conflict.needed if check(trial, python or conflict.python, allow_pre) is None else None


def known(name: str) -> bool:
    return canonicalize_name(name) in releases()


def format_specifier(specifier: SpecifierSet) -> str:
    """``>=4.5.2,<5.0.0,!=4.5.5``: lower bounds first, as people write them."""
    parts = sorted(specifier, key=lambda s: (_OPERATOR_ORDER.get(s.operator, 9), s.version))
    return ",".join(str(p) for p in parts)


@dataclass(frozen=True)
class Wanted:
    """One requirement in the resolution: from the user (``origin`` set) or from a release."""

    name: str
    extras: frozenset[str]
    specifier: SpecifierSet
    origin: object = None  # the user's PinnedRequirement
    exact: bool = False

    @property
    def key(self) -> str:
        return self.name + ("[" + ",".join(sorted(self.extras)) + "]" if self.extras else "")


@dataclass(frozen=True)
class Candidate:
    release: Release
    extras: frozenset[str]

    @property
    def key(self) -> str:
        return self.release.name + ("[" + ",".join(sorted(self.extras)) + "]" if self.extras else "")


def _environment(python: str, extra: str = "") -> dict[str, str]:
    return {"python_version": python, "python_full_version": python + ".0",
            "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
            "implementation_name": "cpython", "platform_python_implementation": "CPython",
            "platform_machine": "x86_64", "extra": extra}


def _marker_true(marker: Marker | None, python: str, extra: str = "") -> bool:
    if marker is None:
        return True
    try:
        return marker.evaluate(_environment(python, extra))
    except Exception:  # an unknown marker variable: treat the requirement as present
        return True


class _Provider:
    """The resolvelib provider: candidates come from the recorded releases."""

    def __init__(self, python: str, allow_pre: bool, constraints: Mapping[str, SpecifierSet]):
        self.python = python
        self.allow_pre = allow_pre
        self.constraints = constraints

    def identify(self, requirement_or_candidate) -> str:
        return requirement_or_candidate.key

    def get_preference(self, identifier, resolutions, candidates, information, backtrack_causes):
        """Like pip: what caused backtracking first, then exact pins, then fewer candidates."""
        causes = {c.requirement.key for c in backtrack_causes} | {
            c.parent.key for c in backtrack_causes if c.parent is not None}
        exact = any(i.requirement.exact for i in information[identifier])
        return (identifier not in causes, not exact, sum(1 for _ in candidates[identifier]),
                identifier)

    def narrow_requirement_selection(self, identifiers, resolutions, candidates, information,
                                     backtrack_causes):
        return identifiers

    def find_matches(self, identifier, requirements, incompatibilities) -> Iterator[Candidate]:
        wanted = list(requirements[identifier])
        if not wanted:
            return iter(())
        name, extras = wanted[0].name, wanted[0].extras
        bad = {c.release.version for c in incompatibilities[identifier]}
        exact = any(w.exact for w in wanted)
        specifiers = [w.specifier for w in wanted]
        if extras:  # an extra's release must also fit what is asked of the package itself
            specifiers.extend(w.specifier for w in requirements.get(name, ()))
        if name in self.constraints:
            specifiers.append(self.constraints[name])
        prereleases = self.allow_pre or any(
            s.prereleases for spec in specifiers for s in spec) or None
        matches = []
        for release in releases()[name]:
            if release.version in bad or (release.yanked and not exact):
                continue
            if release.version.is_prerelease and not prereleases:
                continue
            if not release.requires_python.contains(self.python + ".0", prereleases=True):
                continue
            if all(spec.contains(release.version, prereleases=True) for spec in specifiers):
                matches.append(Candidate(release, extras))
        return iter(matches)

    def is_satisfied_by(self, requirement: Wanted, candidate: Candidate) -> bool:
        return requirement.specifier.contains(candidate.release.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> Iterable[Wanted]:
        release = candidate.release
        deps: list[Wanted] = []
        if candidate.extras:  # an extra depends on its own package at the same version
            deps.append(Wanted(release.name, frozenset(), SpecifierSet(f"=={release.version}")))
        for requirement in release.requires_dist:
            name = canonicalize_name(requirement.name)
            if name not in releases():
                continue
            if candidate.extras:  # only what the extra adds; the base brings the rest
                if _marker_true(requirement.marker, self.python) or not any(
                        _marker_true(requirement.marker, self.python, e) for e in candidate.extras):
                    continue
            elif not _marker_true(requirement.marker, self.python):
                continue
            deps.append(Wanted(name, frozenset(canonicalize_name(e) for e in requirement.extras),
                               requirement.specifier))
        return deps


@dataclass
class Conflict:
    """Why a set of requirements cannot be installed, for the message and the location."""

    culprit: object  # the user's PinnedRequirement that the finding is reported at
    message: str
    python: str
    needed: SpecifierSet | None = None  # what a release requires of the culprit's package
    about_python: bool = False  # no release fits the interpreter (Requires-Python)
    requirer: object | None = None  # the user's requirement that pulls in the other side


def _user_wanted(pinned: Sequence, python: str) -> tuple[list[Wanted], dict[str, SpecifierSet],
                                                          dict[str, Wanted]] | None:
    """The user's requirements and constraints on known packages, or None when the set cannot
    be judged."""
    wanted: list[Wanted] = []
    constraints: dict[str, SpecifierSet] = {}
    constraint_origins: dict[str, Wanted] = {}
    for item in pinned:
        requirement: Requirement = item.requirement
        name = canonicalize_name(requirement.name)
        if name not in releases() or not _marker_true(requirement.marker, python):
            continue
        if requirement.url:
            return None  # installed from a URL: its version is not ours to know
        if not any(requirement.specifier.contains(r.version, prereleases=True)
                   for r in releases()[name]):
            return None  # names a release we have no record of
        if item.constraint:
            constraints[name] = constraints.get(name, SpecifierSet()) & requirement.specifier
            constraint_origins[name] = Wanted(name, frozenset(), requirement.specifier, item)
            continue
        specifier = requirement.specifier
        exact = any(s.operator in ("==", "===") and "*" not in s.version for s in specifier)
        wanted.append(Wanted(name, frozenset(canonicalize_name(e) for e in requirement.extras),
                             specifier, item, exact))
    return wanted, constraints, constraint_origins


@dataclass(frozen=True)
class _Stand:
    """A requirement as the resolver sees it (its text and whether it only constrains), so that
    identical sets, written in many places, are resolved once."""

    index: int
    requirement: Requirement
    constraint: bool


def check(pinned: Sequence, python: str | None, allow_pre: bool = False) -> Conflict | None:
    """A Conflict when no install can satisfy ``pinned`` on ``python`` (or on any Python when
    it is unknown); None when some install can, or when the set cannot be judged. Sets with the
    same requirements are resolved once per run (a monorepo repeats them by the thousand)."""
    key = tuple((str(p.requirement), bool(p.constraint)) for p in pinned)
    found = _check_cached(key, python, allow_pre)
    if found is None:
        return None
    culprit, message, version, needed, about_python, requirer = found
    return Conflict(pinned[culprit], message, version, needed, about_python,
                    pinned[requirer] if requirer is not None else None)


@lru_cache(maxsize=4096)
def _check_cached(key: tuple, python: str | None, allow_pre: bool) -> tuple | None:
    stand = [_Stand(i, Requirement(text), constraint) for i, (text, constraint) in enumerate(key)]
    conflict = _check(stand, python, allow_pre)
    if conflict is None:
        return None
    requirer = conflict.requirer.index if conflict.requirer is not None else None
    return (conflict.culprit.index, conflict.message, conflict.python, conflict.needed,
            conflict.about_python, requirer)


def installed(pinned: Sequence, python: str | None, allow_pre: bool = False
              ) -> tuple[str, dict[str, Version]] | None:
    """``(python, {package: version})`` that pip would install for ``pinned`` (newest releases
    first, as pip chooses), on ``python`` or the first recorded Python that can install it; None
    when no install can, or the set cannot be judged. Resolved once per distinct set."""
    key = tuple((str(p.requirement), bool(p.constraint)) for p in pinned)
    return _installed_cached(key, python, allow_pre)


@lru_cache(maxsize=4096)
def _installed_cached(key: tuple, python: str | None, allow_pre: bool
                      ) -> tuple[str, dict[str, Version]] | None:
    from resolvelib import BaseReporter, Resolver
    from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

    stand = [_Stand(i, Requirement(text), constraint) for i, (text, constraint) in enumerate(key)]
    for version in ([python] if python else PYTHONS):
        user = _user_wanted(stand, version)
        if user is None or not user[0]:
            return None
        resolver = Resolver(_Provider(version, allow_pre, user[1]), BaseReporter())
        try:
            result = resolver.resolve(user[0], max_rounds=500)
        except ResolutionImpossible:
            continue
        except (ResolutionTooDeep, RecursionError):
            return None
        return version, {c.release.name: c.release.version for c in result.mapping.values()}
    return None


def _check(pinned: Sequence, python: str | None, allow_pre: bool = False) -> Conflict | None:
    from resolvelib import BaseReporter, Resolver
    from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

    conflict: Conflict | None = None
    for version in ([python] if python else PYTHONS):
        user = _user_wanted(pinned, version)
        if user is None:
            return None
        wanted, constraints, constraint_origins = user
        if not wanted:
            return None
        resolver = Resolver(_Provider(version, allow_pre, constraints), BaseReporter())
        try:
            resolver.resolve(wanted, max_rounds=500)
        except ResolutionImpossible as exc:
            conflict = _explain(exc.causes, wanted, constraint_origins, version,
                                python is not None)
            continue
        except (ResolutionTooDeep, RecursionError):
            return None
        return None  # this interpreter can install the set
    return conflict


def _explain(causes, wanted: list[Wanted], constraints: dict[str, Wanted], python: str,
             python_known: bool) -> Conflict:
    by_name = {w.name: w for w in wanted}
    # an extra's dependency on its own package ("kombu[redis] 5.5.4 requires kombu==5.5.4") says
    # nothing to the user: explain with the dependencies between packages
    from_releases = [c for c in causes
                     if c.parent is not None and c.requirement.name != c.parent.release.name]
    if not from_releases:
        return _explain_python([c for c in causes if c.parent is None] or list(causes), python,
                               python_known)
    pinned_causes = [c for c in from_releases if c.requirement.name in by_name]
    cause = max(pinned_causes or from_releases, key=lambda c: c.parent.release.version)
    parent: Candidate = cause.parent
    versions = sorted({c.parent.release.version for c in from_releases
                       if c.parent.key == parent.key and c.requirement.name == cause.requirement.name
                       and c.requirement.specifier == cause.requirement.specifier})
    who = _describe(parent, versions)
    verb = "require" if len(versions) > 1 else "requires"
    chain = _chain(parent, by_name, python)
    needed = f"{cause.requirement.name}{format_specifier(cause.requirement.specifier)}"
    user = by_name.get(cause.requirement.name) or constraints.get(cause.requirement.name)
    if user is not None:
        pinned = f"{user.name}{format_specifier(user.specifier)}"
        how = "constrained" if user.origin.constraint else "pinned"
        message = f"{chain}{who} {verb} {needed}, but {pinned} is {how}"
        requirer = (by_name.get(parent.release.name) or _requirer(parent, by_name, python))
        return Conflict(user.origin, message, python, cause.requirement.specifier,
                        requirer=requirer.origin if requirer is not None else None)
    other = next((c for c in from_releases if c.requirement.name == cause.requirement.name
                  and c.parent.release.name != parent.release.name), None)
    detail = ""
    if other is not None:
        detail = (f", while {_describe(other.parent, [other.parent.release.version])} requires "
                  f"{other.requirement.name}{format_specifier(other.requirement.specifier)}")
    root = by_name.get(parent.release.name) or wanted[0]
    return Conflict(root.origin, f"{chain}{who} {verb} {needed}{detail}", python)


def _describe(candidate: Candidate, versions: list[Version]) -> str:
    extras = f" [{','.join(sorted(candidate.extras))}]" if candidate.extras else ""
    name = candidate.release.name
    if len(versions) > 1:
        return f"{name} {versions[0]} to {versions[-1]}{extras}"
    return f"{name} {candidate.release.version}{extras}"


def _requirer(parent: Candidate, by_name: dict[str, Wanted], python: str) -> Wanted | None:
    """The user's requirement whose newest allowed release pulls ``parent`` in."""
    found = _pulled_in(parent, by_name, python)
    return found[0] if found else None


def _chain(parent: Candidate, by_name: dict[str, Wanted], python: str) -> str:
    """"celery 5.5.3 [redis] requires kombu[redis]>=5.5.2,<5.6, and " when the user did not
    ask for ``parent`` themselves but a package they pinned pulls it in."""
    if parent.release.name in by_name:
        return ""
    found = _pulled_in(parent, by_name, python)
    if found is None:
        return ""
    user, release, requirement = found
    extras = f" [{','.join(sorted(user.extras))}]" if user.extras else ""
    extra_text = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return (f"{release.name} {release.version}{extras} requires {requirement.name}"
            f"{extra_text}{format_specifier(requirement.specifier)}, and ")


def _pulled_in(parent: Candidate, by_name: dict[str, Wanted], python: str):
    """``(user requirement, its release, its Requires-Dist entry)`` that brings ``parent``."""
    for user in by_name.values():
        allowed = [r for r in releases()[user.name]
                   if user.specifier.contains(r.version, prereleases=True)]
        if not allowed:
            continue
        release = allowed[0]
        for requirement in release.requires_dist:
            if canonicalize_name(requirement.name) != parent.release.name or frozenset(
                    canonicalize_name(e) for e in requirement.extras) != parent.extras:
                continue
            if any(_marker_true(requirement.marker, python, e) for e in user.extras | {""}):
                return user, release, requirement
    return None


def _explain_python(causes, python: str, python_known: bool) -> Conflict:
    """Nothing but the user asks for the package: no release fits on this Python."""
    target: Wanted = causes[0].requirement
    where = f"Python {python}" if python_known else "any Python from 3.8 to 3.14"
    allowed = [r for r in releases()[target.name]
               if target.specifier.contains(r.version, prereleases=True)]
    needs = ", ".join(sorted({str(r.requires_python) for r in allowed[:3]})) or "another Python"
    spec = format_specifier(target.specifier)
    return Conflict(target.origin, f"{target.name}{spec} needs Python {needs}, which does not "
                    f"include {where}", python, about_python=True)
