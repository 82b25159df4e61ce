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

from typing import Iterator

from celerylint import kubeschema
from celerylint.diagnostics import Finding, Severity
from celerylint.engine import Context
from celerylint.model.kubernetes import span
from celerylint.schema_errors import locate

CODE = "CL002"
NAME = "invalid-manifest"
SEVERITY = Severity.ERROR
SUMMARY = "a Kubernetes object the API server would reject"
#: The costliest rule (a schema validation per object): ``--jobs`` gives each process a slice.
SHARDED = True



def check(context: Context) -> Iterator[Finding]:
    version = kubeschema.resolve_version(context.settings.kubernetes_version)
    if version is None:
        return
    strict = context.settings.strict_schema
    shard, shards = context.shard
    for obj in context.deployment.objects[shard::shards]:
        if not kubeschema.is_builtin(obj.api_version):
            continue
        name = obj.name or "(unnamed)"
        if kubeschema.validator(version, obj.api_version, obj.kind, strict) is None:
            served = kubeschema.served_versions(version, obj.kind)
            if served and obj.api_version not in served:
                where = span(obj.source, obj.data.value_pos.get("apiVersion", obj.data.pos))
                yield Finding(where, f"Kubernetes {version} does not serve {obj.kind} in "
                              f"{obj.api_version}", f"use apiVersion: {served[-1]}")
            continue
        seen: set[tuple] = set()
        try:
            errors = list(kubeschema.errors(obj.data, version, strict))
        except RecursionError:
            continue  # a schema nested deeper than the validator can follow: not judged
        for error in errors:
            for where, message in locate(obj.data, obj.source, error):
                if (where, message) in seen:
                    continue
                seen.add((where, message))
                yield Finding(where, f"{obj.kind} '{name}': {message}",
                              f"the API server (Kubernetes {version}, "
                              f"{'strict' if strict else 'lenient'} field validation) rejects this")
