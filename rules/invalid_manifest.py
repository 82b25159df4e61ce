"""invalid-manifest: a Kubernetes object that the API server would reject.

## What it finds
Built-in Kubernetes objects that break their OpenAPI schema: wrong types (`containerPort: "8080"`),
missing required fields (a Deployment without `selector`), unknown fields (`imagePullPolicyy`, in
strict mode, the default), and an `apiVersion` that the Kubernetes version no longer serves
(`extensions/v1beta1` Deployments). Each error is reported at the offending key or value.

## Symptoms
`kubectl apply` fails with `error validating data: ValidationError(Deployment.spec): missing
required field "selector"` or `strict decoding error: unknown field "spec.template.spec.containers[0].imagePullPolicyy"`,
or `no matches for kind "Deployment" in version "extensions/v1beta1"`.

## Why
A manifest the API server rejects never deploys; an unknown field that a lenient client drops
silently (a misspelt `readOnlyRootFilesystem`) leaves the setting you thought you had unset.

## Fix
Correct the field at the reported position. Choose the schema version with
`--kubernetes-version 1.NN` (default: the newest bundled) and lenient mode with `--no-strict`.

## When it stays silent
CRDs and kinds from API groups that Kubernetes does not serve itself; objects inside Helm
templates that do not parse (those are `parse-error`); `null` values, which the API server
accepts. Quantity formats (`memory: 1Gb`) are not checked by the schemas.

## References
- Schemas bundled by kubernetes-validate (generated from the Kubernetes OpenAPI spec, 1.25-1.37).
- Kubernetes API conventions, field validation:
  https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from celerylint import kubeschema
from celerylint.diagnostics import Finding, Severity, Span
from celerylint.engine import Context
from celerylint.model.kubernetes import span
from celerylint.parse.yamlnodes import YList, YMap

CODE = "CL002"
NAME = "invalid-manifest"
SEVERITY = Severity.ERROR
SUMMARY = "a Kubernetes object the API server would reject"

_UNEXPECTED = re.compile(r"'([^']+)' (?:was|were) unexpected|\('([^']+)'")


def check(context: Context) -> Iterator[Finding]:
    version = kubeschema.resolve_version(context.settings.kubernetes_version)
    if version is None:
        return
    strict = context.settings.strict_schema
    for obj in context.deployment.objects:
        if not kubeschema.is_builtin(obj.api_version):
            continue
        if kubeschema.validator(version, obj.api_version, obj.kind, strict) is None:
            served = kubeschema.served_versions(version, obj.kind)
            if served and obj.api_version not in served:
                where = span(obj.source, obj.data.value_pos.get("apiVersion", obj.data.pos))
                yield Finding(where, f"Kubernetes {version} does not serve {obj.kind} in "
                              f"{obj.api_version}", f"use apiVersion: {served[-1]}")
            continue
        seen: set[tuple] = set()
        for error in kubeschema.errors(obj.data, version, strict):
            where, message = _locate(obj, error)
            if (where, message) in seen:
                continue
            seen.add((where, message))
            yield Finding(where, f"{obj.kind} '{obj.name}': {message}",
                          f"the API server (Kubernetes {version}, "
                          f"{'strict' if strict else 'lenient'} field validation) rejects this")


def _path_text(path: list) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def _locate(obj, error) -> tuple[Span, str]:
    """Map a schema error's path back to the YAML position of what it names."""
    path = list(error.absolute_path)
    node: Any = obj.data
    parent: Any = None
    for part in path:
        parent = node
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
    where = _value_pos(obj.data, path) or obj.data.pos
    message = f"{_path_text(path)}: {error.message}"
    if error.validator == "additionalProperties" and isinstance(node, YMap):
        match = _UNEXPECTED.search(error.message)
        key = match and (match.group(1) or match.group(2))
        if key in node.key_pos:
            where = node.key_pos[key]
            message = f"{_path_text(path + [key])}: unknown field '{key}'"
    elif error.validator == "required":
        where = _key_pos(obj.data, path) or where
    del parent
    return span(obj.source, where), message


def _value_pos(data: Any, path: list):
    node, pos = data, None
    for part in path:
        if isinstance(node, YMap) and part in node:
            pos = node.value_pos[part]
        elif isinstance(node, YList) and isinstance(part, int) and part < len(node):
            pos = node.item_pos[part]
        else:
            return pos
        node = node[part]
    return pos


def _key_pos(data: Any, path: list):
    """The position of the key that holds the object at ``path`` (``spec:`` for spec)."""
    if not path:
        return None
    node = data
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    last = path[-1]
    if isinstance(node, YMap):
        return node.key_pos.get(last)
    if isinstance(node, YList) and isinstance(last, int) and last < len(node):
        return node.item_pos[last]
    return None
