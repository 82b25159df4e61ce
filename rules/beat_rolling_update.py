"""beat-rolling-update: a beat Deployment whose rollouts run two beats side by side.

## What it finds
A Deployment that runs beat (`celery beat`, or a worker with `-B`) with one replica and the
default `RollingUpdate` strategy (no `strategy`, or `type: RollingUpdate` with a `maxSurge`
other than 0).

## Symptoms
- Periodic tasks due during a rollout run twice: the new pod starts its beat before the old one
  stops.
- With a ReadWriteOnce volume for the schedule, the new pod hangs in `ContainerCreating`:
  `Multi-Attach error for volume ... Volume is already used by pod(s) ...`.

## Why
A Deployment's default strategy is RollingUpdate with `maxSurge: 25%`, which rounds up to one
pod: Kubernetes starts the new pod, and stops the old one only once the new one is ready. For a
scheduler that must run alone, that overlap duplicates whatever falls due inside it.

## Fix
`strategy: {type: Recreate}`: the old pod stops before the new one starts. Automatic fix (safe):
adds it when the Deployment has no `strategy`, or sets `type: Recreate` when `strategy` holds
only a type (a `rollingUpdate` block must then go too, which is left to you).

## When it stays silent
- `strategy: {type: Recreate}`, or RollingUpdate with `maxSurge: 0`;
- RedBeat (its lock keeps one beat active);
- beat workloads that already run several pods (`multiple-beats` reports those);
- StatefulSets (their rolling update stops a pod before starting its replacement).

## References
- Kubernetes docs, Deployment strategy: https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#strategy
- Celery docs, Periodic Tasks ("only a single scheduler ... at a time").
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.yamledit import set_value
from celerylint.model.kubernetes import span
from celerylint.rules_support import place, scaling, uses_redbeat

CODE = "CL103"
NAME = "beat-rolling-update"
SEVERITY = Severity.WARNING
SUMMARY = "a beat Deployment's default rolling update overlaps two beats on every rollout"
FIXABLE = True


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    for workload in deployment.workloads:
        if workload.kind != "Deployment" or scaling(deployment, workload):
            continue
        beat = next(((c, i) for c in workload.containers if not c.init for i in c.celery
                     if i.runs_beat and not uses_redbeat(c, i, deployment)), None)
        spec = workload.data.get("spec")
        if beat is None or not isinstance(spec, dict):
            continue
        strategy = spec.get("strategy")
        if isinstance(strategy, dict) and (strategy.get("type") == "Recreate" or _surge_zero(strategy)):
            continue
        container, invocation = beat
        rwo = [m.name for m in container.mounts
               if m.volume is not None and m.volume.kind == "persistentVolumeClaim"]
        if strategy is None:
            where = span(workload.source, spec.key_pos.get(
                "strategy", spec.key_pos.get("replicas", workload.data.key_pos["spec"])))
            fix = Fix("add strategy: {type: Recreate}",
                      [set_value(workload.source, spec, "strategy", {"type": "Recreate"})])
        else:
            where = span(workload.source, spec.key_pos["strategy"])
            only_type = isinstance(strategy, dict) and set(strategy) <= {"type"}
            fix = Fix("set strategy type: Recreate",
                      [set_value(workload.source, strategy, "type", "Recreate")]) if only_type else None
        yield Finding(
            where,
            f"beat in {place(container)} rolls out with RollingUpdate: due tasks are sent twice"
            + (f", and volume {rwo[0]} can block it (Multi-Attach)" if rwo else ""),
            "use strategy: {type: Recreate} for the beat Deployment"
            + (" (RollingUpdate is the default)" if strategy is None else "")
            + ": a rolling update starts the new beat before the old one stops",
            fix=fix)


def _surge_zero(strategy) -> bool:
    surge = strategy.get("rollingUpdate", {}).get("maxSurge") if isinstance(
        strategy.get("rollingUpdate"), dict) else None
    return surge in (0, "0", "0%")
