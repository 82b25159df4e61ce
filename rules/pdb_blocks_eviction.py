"""pdb-blocks-eviction: a PodDisruptionBudget that allows no eviction of celery's pods.

## What it finds
A PodDisruptionBudget selecting the pods of a celery workload (worker, beat, Flower) whose
`minAvailable` (a number, or a percentage rounded up) is at least the number of pods the
selected workloads run at their lowest, or whose `maxUnavailable` is `0` (or `0%`). The lowest
count is the HorizontalPodAutoscaler's `minReplicas` (1 when not set) when one scales the
workload, else its `replicas` (1 when not set). The budget's pods are found through its
namespace and label selector (`matchLabels`, `matchExpressions`).

## Symptoms
- `kubectl drain` never ends: `error when evicting pods/"celery-worker-7d9f8c6b5-x2x9k" -n
  "jewelry-shop" (will retry after 5s): Cannot evict pod as it would violate the pod's
  disruption budget.`, over and over.
- `kubectl get pdb` shows `ALLOWED DISRUPTIONS 0`; node pool upgrades, the cluster autoscaler's
  scale-down and managed node group updates stall or time out on the node that runs the pod
  (EKS: `PodEvictionFailure: Reached max retries while trying to evict pods from nodes in node
  group`).

## Why
An eviction is allowed only while at least `minAvailable` selected pods stay available after
it (or at most `maxUnavailable` become unavailable); a percentage is rounded up. Kubernetes' own
guide says it: "If you set `maxUnavailable` to 0% or 0, or you set `minAvailable` to 100% or the
number of replicas, you are requiring zero voluntary evictions ... the drain never completes."
With an autoscaler the count falls to `minReplicas` whenever the queues are quiet, so a budget
sized for the manifest's `replicas` blocks every drain at night. Seed 000's repository
(jewelry-shop) asked for `minAvailable: 2` of the workers that its HPA scales down to one.

## Fix
Allow at least one eviction: `maxUnavailable: 1` keeps following the replica count, or a
`minAvailable` below the lowest count (and a `minReplicas` of 2 or more for workloads that must
never drop to zero pods). A worker's warm shutdown finishes its tasks when the pod is evicted,
and another pod takes the queue. No automatic fix: which count is right depends on the team's
capacity and availability needs.

## When it stays silent
- budgets that leave room for one eviction at the lowest count; budgets of workloads that run no
  celery (the web tier is other tools' business);
- selectors that also pick pods that are not a Deployment's, StatefulSet's, ReplicaSet's or
  ReplicationController's (bare pods, Jobs, DaemonSets, operators' pods), a workload that a
  KEDA `ScaledObject` scales, a count or budget that is not a literal, and empty selectors
  (which select every pod of the namespace);
- workloads scaled to zero (no pod to evict).

## References
- Kubernetes docs, Specifying a Disruption Budget for your Application (rounding up
  percentages; zero voluntary evictions):
  https://kubernetes.io/docs/tasks/run-application/configure-pdb/
- Kubernetes docs, Disruptions, "Pod disruption budgets":
  https://kubernetes.io/docs/concepts/workloads/pods/disruptions/
- Kubernetes API, PodDisruptionBudgetSpec (`minAvailable`, `maxUnavailable`, `selector`)
- Amazon EKS docs, managed node update behavior (`PodEvictionFailure`):
  https://docs.aws.amazon.com/eks/latest/userguide/managed-node-update-behavior.html
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterator

from celerylint.diagnostics import Finding, Related, Severity, Span
from celerylint.engine import Context
from celerylint.model.images import split_image
from celerylint.model.index import namespace
from celerylint.model.kubernetes import dig, span

CODE = "CL510"
NAME = "pdb-blocks-eviction"
SEVERITY = Severity.WARNING
SUMMARY = "a PodDisruptionBudget that allows no eviction of celery's pods: node drains hang"

SCALED = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"})
_PERCENT = re.compile(r"(\d+)%")


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    keda = {(o.source.project, namespace(o), dig(o.data, "spec", "scaleTargetRef", "name"))
            for o in deployment.objects if o.kind == "ScaledObject"}
    for budget in deployment.objects:
        if budget.kind != "PodDisruptionBudget" or not isinstance(budget.data.get("spec"), dict):
            continue
        spec = budget.data["spec"]
        key = "maxUnavailable" if "maxUnavailable" in spec else "minAvailable"
        if key not in spec:
            continue
        workloads = deployment.index.matching(budget.source.project, namespace(budget),
                                              spec.get("selector"))
        if not workloads or not any(_celery(c) for w in workloads for c in w.containers):
            continue
        counted = _lowest(workloads, deployment, keda)
        if counted is None:
            continue
        total = sum(count for count, _, _ in counted.values())
        value = spec[key]
        if total == 0 or not _blocks(key, value, total):
            continue
        lowest = "" if key == "maxUnavailable" else \
            f" ({total} pod{'s' if total > 1 else ''} at the lowest)"
        why = "" if key == "maxUnavailable" else _describe(counted, total) + "; "
        yield Finding(
            span(budget.source, spec.value_pos[key]),
            f"the PodDisruptionBudget '{budget.name}' ({key}: {value}) allows no eviction of "
            f"{_names(counted)}{lowest}: node drains hang",
            f"{why}`kubectl drain`, node upgrades and autoscaler scale-downs wait forever on the "
            "nodes that run them; allow one eviction at the lowest count (maxUnavailable: 1, or "
            "a smaller minAvailable); which count is right depends on the capacity the team needs",
            related=[Related(where, text) for _, text, where in counted.values()
                     if where is not None])


def _blocks(key: str, value: Any, total: int) -> bool:
    """Whether the budget allows no eviction when all ``total`` pods are healthy (the
    disruption controller rounds percentages up)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _PERCENT.fullmatch(value.strip()):
        number = math.ceil(int(value.strip()[:-1]) * total / 100)
    else:
        return False  # a template, a variable: unknown
    return number <= 0 if key == "maxUnavailable" else number >= total


def _lowest(workloads, deployment, keda) -> dict | None:
    """``(kind, name) -> (count, how, where)``: the fewest pods each selected workload runs.
    The same workload written twice (a dev and a prod variant, a kustomize build) counts once,
    with its highest count."""
    counted: dict[tuple[str, str], tuple[int, str, Span | None]] = {}
    for workload in workloads:
        if workload.kind not in SCALED or \
                (workload.source.project, namespace(workload), workload.name) in keda:
            return None
        hpa = deployment.index.autoscaler_of(workload)
        if hpa is not None:
            floor = dig(hpa.data, "spec", "minReplicas")
            spec = hpa.data.get("spec")
            if floor is None:
                floor = 1
            if not isinstance(floor, int) or isinstance(floor, bool):
                return None
            where = span(hpa.source, spec.value_pos["minReplicas"]) \
                if "minReplicas" in spec else hpa.span
            found = (floor, f"the HorizontalPodAutoscaler '{hpa.name}' scales {workload.kind} "
                     f"'{workload.name}' down to minReplicas: {floor}", where)
        else:
            spec = workload.data.get("spec")
            if isinstance(spec, dict) and "replicas" in spec and workload.replicas is None:
                return None  # written, but not a number we can read
            count = workload.replicas if workload.replicas is not None else 1
            where = span(workload.source, spec.value_pos["replicas"]) \
                if isinstance(spec, dict) and "replicas" in spec else None
            shown = f"replicas: {count}" if where is not None else "no replicas (1 pod)"
            found = (count, f"{workload.kind} '{workload.name}' has {shown}", where)
        name = (workload.kind, workload.name)
        if name not in counted or found[0] > counted[name][0]:
            counted[name] = found
    return counted


def _celery(container) -> bool:
    """Runs celery (worker, beat, Flower), or the Flower image with its own command."""
    return bool(container.celery) or split_image(container.image)[0].endswith("mher/flower")


def _names(counted: dict) -> str:
    return ", ".join(f"{kind} '{name}'" for kind, name in counted)


def _describe(counted: dict, total: int) -> str:
    parts = [text for _, text, _ in counted.values()]
    if len(parts) == 1:
        return parts[0]
    return f"its pods number {total} at the lowest (" + "; ".join(parts) + ")"
