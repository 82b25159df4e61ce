"""multiple-beats: more than one beat scheduler at a time, so periodic tasks run twice.

## What it finds
- a beat workload (`celery beat`) with `replicas` above 1, scaled by a HorizontalPodAutoscaler,
  or run as a DaemonSet (one per node); a compose service with `deploy.replicas` or `scale`
  above 1 (Compose starts that many containers without Swarm);
- a worker started with `-B` (an embedded beat) in such a workload;
- a worker with `-B` while the deployment also runs a separate `celery beat` workload.

## Symptoms
- Every periodic task runs two (or N) times at each due time: duplicate emails, double
  charges, reports generated twice.
- `Scheduler: Sending due task ...` logged by several pods for the same entry.

## Why
Celery's docs: "You have to ensure only a single scheduler is running for a schedule at a time,
otherwise you'd end up with duplicate tasks." Beat keeps no lock: each instance sends every due
task. django-celery-beat's DatabaseScheduler has no lock either; RedBeat holds one.

## Fix
Run exactly one beat: a dedicated workload with `replicas: 1` (and `strategy: Recreate`, see
`beat-rolling-update`), no HPA, and no `-B` on workers. Automatic fix: sets `replicas: 1` on a
beat workload (compose: `deploy.replicas: 1` or `scale: 1`, where it is written) (safe); removes `-B` from a worker when a separate beat workload exists (safe), or
when it does not (unsafe: you then need a beat workload).

## When it stays silent
- the scheduler is RedBeat (`-S redbeat.RedBeatScheduler`, `REDBEAT_*` settings in the
  environment, or celery-redbeat in the requirements), whose lock keeps one active beat;
- one replica (or none given, which is 1) and no HPA;
- a worker `-B` and a beat of different apps (another `-A`, namespace or project checked in the
  same run, or another compose project: `docker-compose.dev.yml` and `docker-compose.prod.yml`
  never run together unless the configuration says so): each app has its own schedule.

## References
- Celery docs, Periodic Tasks: https://docs.celeryq.dev/en/stable/userguide/periodic-tasks.html
- Celery docs, `worker -B`: "not commonly used and for that reason isn't recommended for
  production use"; sibson/redbeat `docs/config.rst` (`redbeat_lock_key`).
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Applicability, Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.commands import remove_flag
from celerylint.fixes.yamledit import set_value
from celerylint.model.kubernetes import span
from celerylint.rules_support import place, scaling, uses_redbeat

CODE = "CL102"
NAME = "multiple-beats"
SEVERITY = Severity.ERROR
SUMMARY = "more than one beat scheduler runs at once: periodic tasks are sent twice"
FIXABLE = True


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    beats = [(w, c, i) for w in deployment.workloads for c in w.containers if not c.init
             for i in c.celery if i.runs_beat and not uses_redbeat(c, i, deployment)]
    # the standalone beats of one app: its project, namespace and -A (two apps, two schedules)
    standalone: dict[tuple, list] = {}
    for w, c, i in beats:
        if i.subcommand == "beat":
            group = standalone.setdefault(_app_key(w, i), [])
            if len(group) < 2:
                group.append((w, c))
    reported: set = set()
    for workload, container, invocation in beats:
        why = scaling(deployment, workload)
        embedded = invocation.subcommand == "worker"
        others = [(w, c) for w, c in standalone.get(_app_key(workload, invocation), [])
                  if c is not container]
        if embedded and (why or others):
            other = others[0] if others else None
            reason = why or (f"container '{other[1].name}' in the same pod runs beat as well"
                             if other[0] is workload else f"the {other[0].label} runs beat as well")
            reason = reason.replace("the HorizontalPodAutoscaler ", "the HPA ")
            flag = invocation.option("beat").flag
            edits = remove_flag(invocation.command, flag, "B")
            safe = not why and bool(others)
            yield Finding(
                invocation.span(flag),
                f"worker -B in {place(container)} embeds a beat, and {reason}: duplicate "
                "periodic tasks",
                "run beat once, in its own workload with replicas: 1, and drop -B from workers: "
                "each beat sends every periodic task",
                fix=Fix("remove -B" + ("" if safe else " (a beat workload with "
                        "replicas: 1 must then run the schedule)"), edits,
                        Applicability.SAFE if safe else Applicability.UNSAFE) if edits else None)
        elif not embedded and why and id(workload) not in reported:
            why = why.replace("the HorizontalPodAutoscaler ", "the HPA ")
            reported.add(id(workload))  # one finding per workload, however many beat containers
            at = workload.replicas_at
            where = span(at[0], at[1].value_pos[at[2]]) if at else invocation.span()
            fix = None
            if at and workload.kind != "DaemonSet" and why.startswith("it has"):
                fix = Fix(f"set {at[3]}: 1", [set_value(at[0], at[1], at[2], 1)])
            yield Finding(
                where,
                f"beat in the {workload.label} runs more than once ({why}): duplicate periodic "
                "tasks",
                ("run exactly one beat: one replica (deploy.replicas: 1, no scale)"
                 if workload.carrier == "compose" else
                 "run exactly one beat: replicas: 1, no autoscaler, a Deployment (not a "
                 "DaemonSet)") + "; or RedBeat, which holds a lock: each beat sends every "
                "periodic task",
                fix=fix)


def _app_key(workload, invocation) -> tuple:
    """Beats of the same app in the same place send the same schedule."""
    return workload.source.project, workload.namespace or "default", invocation.app
