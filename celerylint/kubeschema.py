"""Kubernetes object validation against the schemas bundled with kubernetes-validate.

We depend on kubernetes-validate for its schema files only: its ``validate()`` re-reads the
1.2 MB definitions file on every call (17-29 ms per document, ``../shared/reference/
dependencies.md`` §1). Here one Draft 2020-12 validator is built per (version, apiVersion, kind,
strict) and cached, which costs about 0.7 ms per document. The package is located without
importing it, and jsonschema is imported only when the first Kubernetes object is validated.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from functools import lru_cache
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


@lru_cache(maxsize=None)
def validator(version: str, api_version: str, kind: str, strict: bool):
    """A cached jsonschema validator, or None when Kubernetes has no schema for the pair."""
    path = os.path.join(_directory(version, strict), _schema_name(api_version, kind))
    if not os.path.isfile(path):
        return None
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
    """jsonschema errors for one object (none for CRDs and kinds without a schema)."""
    check = validator(version, data["apiVersion"], data["kind"], strict)
    if check is None:
        return iter(())
    return check.iter_errors(data)
