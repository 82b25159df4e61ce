"""replicas-with-hpa: a Deployment or StatefulSet that sets `replicas` while an HPA scales it.

## What it finds
A Deployment or StatefulSet running celery with `spec.replicas` in the manifest, targeted by a
HorizontalPodAutoscaler in the same namespace.

## Symptoms
- After every `kubectl apply` (or Argo CD / Flux sync) the pod count jumps back to the manifest's
  number, then the HPA scales it again: workers are started and stopped for nothing.
- Workers receive SIGTERM, finish their tasks and log `worker: Warm shutdown (MainProcess)`, then
  the container exits 0: the "exit 0 right after the banner" of seed post-mortem 000.

## Why
Both the manifest and the HPA own `spec.replicas`. Applying the manifest resets it, and the HPA
corrects it on its next loop; each change deletes or adds pods.

## Fix
Remove `replicas` from the manifest and let the HPA's `minReplicas` set the floor. Kubernetes'
own guide warns that removing the field from a Deployment that `kubectl apply` manages makes the
next apply set it to 1, the default, before the HPA scales it back: first run
`kubectl apply edit-last-applied` (or the server-side apply field-manager migration) as the guide
describes, then remove it. Automatic fix (unsafe, `--unsafe-fixes`): deletes the `replicas` line;
review the migration before you apply it.

## When it stays silent
- no HPA targets the workload, or the HPA is in another namespace;
- workloads that do not run celery.

## References
- Kubernetes docs, Horizontal Pod Autoscaling, "Migrating Deployments and StatefulSets to
  horizontal autoscaling": https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#migrating-deployments-and-statefulsets-to-horizontal-autoscaling
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Applicability, Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.yamledit import edit
from celerylint.model.kubernetes import span

CODE = "CL506"
NAME = "replicas-with-hpa"
SEVERITY = Severity.WARNING
SUMMARY = "spec.replicas fights the HorizontalPodAutoscaler that scales the same workload"
FIXABLE = True


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    for workload in deployment.workloads:
        spec = workload.data.get("spec")
        if workload.kind not in ("Deployment", "StatefulSet") or not isinstance(spec, dict) or \
                "replicas" not in spec or not any(c.celery for c in workload.containers):
            continue  # a linter for Celery: other workloads are someone else's business
        hpa = deployment.index.autoscaler_of(workload)
        if hpa is None:
            continue
        source = workload.source
        line = spec.key_pos["replicas"][0]
        text = source.lines[line - 1]
        fix = None
        if text.strip().startswith("replicas:"):  # its own line: delete it
            fix = Fix("remove spec.replicas (unsafe: the next kubectl apply drops the workload "
                      "to 1 replica until the HPA scales it back, unless you migrate it first)",
                      [edit(source, source.offset(line, 1), source.offset(line + 1, 1), "")],
                      Applicability.UNSAFE)
        yield Finding(
            span(source, spec.value_pos["replicas"]),
            f"{workload.kind} '{workload.name}' sets replicas: {spec['replicas']}, but HPA "
            f"'{hpa.name}' scales it: each apply restarts workers",
            "remove replicas from the manifest; set the floor with the HPA's minReplicas (each "
            "apply resets the count and the HPA scales it back: workers are stopped with a warm "
            "shutdown, then started again, for nothing)",
            fix=fix)
