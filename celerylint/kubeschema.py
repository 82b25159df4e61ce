"""Kubernetes object validation against the schemas bundled with kubernetes-validate.

We depend on kubernetes-validate for its schema files only: its ``validate()`` re-reads the
1.2 MB definitions file on every call (17-29 ms per document, ``../shared/reference/
dependencies.md`` §1). Here one Draft 2020-12 validator is built per (version, apiVersion, kind,
strict) and cached, which costs about 0.7 ms per document with jsonschema. The package is located
without importing it, and the validator library is imported only when the first Kubernetes object
is validated.

Two backends give the same findings: jsonschema-rs (``kubeschema_rs``: the ``fast`` extra, about
80 times faster) when it is installed, unless ``CELERYLINT_SCHEMA_BACKEND=jsonschema``; otherwise
jsonschema, which is also the fallback for the rest of a run when jsonschema-rs fails in a way
that suggests its API changed, and the judge of the odd object it could read differently.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import warnings
from functools import lru_cache
from types import ModuleType
from typing import Any, Iterator

#: API groups served by Kubernetes itself; anything else is a CRD and is never judged.
BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "autoscaling", "policy", "extensions", "networking.k8s.io",
    "rbac.authorization.k8s.io", "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io",
    "discovery.k8s.io", "node.k8s.io", "apiextensions.k8s.io", "admissionregistration.k8s.io",
    "certificates.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
})


_FULL_GROUPS = {group.split(".")[0]: group for group in BUILTIN_GROUPS if group}


@lru_cache(maxsize=1)
def schema_root() -> str | None:
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = os.path.join(list(spec.submodule_search_locations)[0], "kubernetes-json-schema")
    return root if os.path.isdir(root) else None


@lru_cache(maxsize=1)
def versions() -> tuple[str, ...]:
    """Bundled Kubernetes versions as "1.NN", oldest first."""
    root = schema_root()
    if root is None:
        return ()
    found = {m.group(1) for name in os.listdir(root)
             if (m := re.match(r"^v(\d+\.\d+)\.\d+-local$", name))}
    return tuple(sorted(found, key=lambda v: tuple(int(x) for x in v.split("."))))


def resolve_version(wanted: str | None) -> str | None:
    """The newest bundled version not newer than ``wanted`` (the newest when None)."""
    available = versions()
    if not available:
        return None
    if wanted is None:
        return available[-1]
    wanted = wanted.lstrip("v")
    match = re.match(r"^(\d+)\.(\d+)", wanted)
    if not match:
        return None
    key = (int(match.group(1)), int(match.group(2)))
    fitting = [v for v in available if tuple(int(x) for x in v.split(".")) <= key]
    return fitting[-1] if fitting else None


def _schema_name(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    short_group = group.split(".")[0]
    return f"{kind.lower()}-{short_group}-{version}.json" if group else f"{kind.lower()}-{version}.json"


def _directory(version: str, strict: bool) -> str:
    return os.path.join(schema_root() or "", f"v{version}.0-local" + ("-strict" if strict else ""))


@lru_cache(maxsize=None)
def _definitions(version: str, strict: bool) -> Any:
    with open(os.path.join(_directory(version, strict), "_definitions.json"), encoding="utf-8") as f:
        return json.load(f)


#: ``jsonschema`` here makes every run use jsonschema even where jsonschema-rs is installed.
BACKEND_ENV = "CELERYLINT_SCHEMA_BACKEND"
_UNCHOSEN: Any = object()
_fast_backend: Any = _UNCHOSEN


def _fast() -> ModuleType | None:
    """celerylint.kubeschema_rs when this run uses jsonschema-rs (chosen once), else None."""
    global _fast_backend
    if _fast_backend is _UNCHOSEN:
        _fast_backend = None
        if os.environ.get(BACKEND_ENV, "").strip().lower() != "jsonschema":
            try:
                from celerylint import kubeschema_rs
                _fast_backend = kubeschema_rs
            except ImportError:
                pass  # the fast extra is not installed
            except Exception as exc:  # a broken or incompatible install: not worth a crash
                _give_up(exc)
    return _fast_backend


def _give_up(exc: BaseException) -> None:
    """jsonschema-rs failed unexpectedly (a release that changed its API?): jsonschema from now."""
    global _fast_backend
    _fast_backend = None
    warnings.warn(f"jsonschema-rs failed ({type(exc).__name__}: {exc}); validating Kubernetes "
                  f"objects with jsonschema instead", RuntimeWarning, stacklevel=3)


def backend() -> str:
    """The schema backend this run uses: ``jsonschema-rs`` or ``jsonschema``."""
    return "jsonschema" if _fast() is None else "jsonschema-rs"


def reset() -> None:
    """Choose the backend again at the next validation (tests, and a changed environment)."""
    global _fast_backend
    _fast_backend = _UNCHOSEN


@lru_cache(maxsize=None)
def _schema_path(version: str, api_version: str, kind: str, strict: bool) -> str | None:
    path = os.path.join(_directory(version, strict), _schema_name(api_version, kind))
    return path if os.path.isfile(path) else None


def validator(version: str, api_version: str, kind: str, strict: bool) -> Any:
    """The cached validator of the backend in use (``errors`` uses it), or None when Kubernetes
    has no schema for the pair."""
    path = _schema_path(version, api_version, kind, strict)
    if path is None:
        return None
    fast = _fast()
    if fast is not None:
        try:
            return fast.validator(path, version, strict)
        except Exception as exc:  # noqa: BLE001 - not our data: the jsonschema-rs API changed
            _give_up(exc)
    return _jsonschema_validator(path, version, strict)


@lru_cache(maxsize=None)
def _jsonschema_validator(path: str, version: str, strict: bool) -> Any:
    import jsonschema
    from referencing import Registry, Resource

    with open(path, encoding="utf-8") as f:
        schema = json.load(f)
    registry = Resource.from_contents(_definitions(version, strict)) @ (
        Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


@lru_cache(maxsize=None)
def served_versions(version: str, kind: str) -> tuple[str, ...]:
    """apiVersions under which a built-in kind is served (``("apps/v1",)`` for Deployment)."""
    directory = _directory(version, False)
    prefix = kind.lower() + "-"
    found = []
    for name in os.listdir(directory):
        if name.startswith(prefix) and name.endswith(".json"):
            rest = name[len(prefix):-5].split("-")
            if len(rest) == 1:
                found.append(rest[0])
            elif len(rest) == 2:  # file names keep the group's first label only
                found.append(f"{_FULL_GROUPS.get(rest[0], rest[0])}/{rest[1]}")
    return tuple(sorted(found))


def is_builtin(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    return group in BUILTIN_GROUPS


def errors(data: Any, version: str, strict: bool) -> Iterator[Any]:
    """Schema errors for one object, as ``schema_errors.locate`` reads them (none for CRDs and
    kinds without a schema). RecursionError: nested deeper than the validator follows."""
    path = _schema_path(version, data["apiVersion"], data["kind"], strict)
    if path is None:
        return iter(())
    fast = _fast()
    if fast is not None:
        try:
            return iter(fast.errors(fast.validator(path, version, strict), data))
        except (fast.Inexact, RecursionError):
            pass  # an object it could read differently (.inf, depth, keys): jsonschema judges
        except Exception as exc:  # noqa: BLE001 - not our data: the jsonschema-rs API changed
            _give_up(exc)
    return _jsonschema_validator(path, version, strict).iter_errors(data)
