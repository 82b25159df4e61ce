"""queue-not-consumed: tasks routed to a queue that no worker of the deployment consumes.

## What it finds
A queue that the app sends tasks to (a `task_routes` entry, a `beat_schedule` entry's
`options.queue`, or `task_default_queue`) that none of the deployment's workers consumes: a
worker consumes its `-Q` queues, or the default queue when it has no `-Q`. The Kubernetes
workloads of a repository are one deployment, and each compose project another: a compose stack
for development does not consume the queues of the cluster, nor the other way round.

## Symptoms
- Tasks are accepted (`.delay()` returns an id) and never run: `celery inspect active` is empty
  while the broker's queue (`LLEN billing` in Redis) keeps growing.
- Periodic tasks are "sent" by beat on time and never executed.

## Why
A worker only fetches from the queues it was told to consume. Celery creates the routed queue on
the broker when a task is sent to it (`task_create_missing_queues`), so nothing fails: the
messages just wait.

## Fix
Add the queue to a worker's `-Q` list, or start a worker for it, or route the task to a queue a
worker consumes. No automatic fix: which worker should take the load is a capacity decision.

Each unconsumed queue is reported once: at the worker's `-Q` list when exactly one worker lists
its queues (that is where the fix goes), else at the first route to it; every route and beat
entry that sends to it is a related location.

## When it stays silent
- the repository runs no worker, or a worker's `-Q` comes from a variable, or a worker without
  `-Q` takes its queues from a `task_queues` setting we cannot read, or a command that mentions
  celery could not be read, or `celery multi` starts the workers;
- routes and schedules that cannot be read statically.

## References
- Celery docs, Routing Tasks: https://docs.celeryq.dev/en/stable/userguide/routing.html
- Celery docs, `task_default_queue`, `task_create_missing_queues`.
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Finding, Related, Severity
from celerylint.engine import Context

CODE = "CL601"
NAME = "queue-not-consumed"
SEVERITY = Severity.ERROR
SUMMARY = "tasks are routed to a queue that no worker consumes"


def consumed(context: Context) -> dict[tuple[str, str], tuple[set[str], list] | None]:
    """Per project and deployment (its Kubernetes workloads, or one compose project): the
    queues its workers consume and the workers with an explicit ``-Q`` (their invocations);
    None when that cannot be known. Deployments without a worker are absent."""
    found: dict[tuple[str, str], tuple[set[str], list] | None] = {}
    for container in context.deployment.containers():
        workload = container.workload
        project = (workload.source.project,
                   workload.namespace if workload.carrier == "compose" else "")
        if project in found and found[project] is None:
            continue
        known = _consumes(container)
        if known is False:
            continue  # no worker here
        if known is None:
            found[project] = None
            continue
        queues, listed = found.setdefault(project, (set(), []))
        queues.update(known[0])
        listed.extend(known[1])
    return found


def _consumes(container) -> tuple[set[str], list] | None | bool:
    """The queues one container's workers consume; None when unknown, False without a worker."""
    if container.commands is None or (not container.celery and any(
            "celery" in a or a.startswith("-Q") for a in container.argv)):
        return None  # a command we could not read may start a worker for any queue
    queues: set[str] = set()
    listed = []
    workers = 0
    for invocation in container.celery:
        if invocation.subcommand == "multi" or any(
                w.text.startswith("-Q:") for w in invocation.words):
            return None  # celery multi's per-node queues: not judged
        if not invocation.is_worker:
            continue
        workers += 1
        option = invocation.option("queues")
        if option is not None:
            if invocation.queues is None:
                return None
            queues.update(invocation.queues)
            listed.append(invocation)
            continue
        config = container.app_config
        if config is not None and config.get("task_queues") is not None:
            return None  # it consumes task_queues, which we cannot read
        default = config.value("task_default_queue") if config else "celery"
        if not isinstance(default, str):
            return None
        queues.add(default)
    return (queues, listed) if workers else False


def sent_to(config) -> Iterator[tuple[str, object, str]]:
    """(queue, span, how) for each queue the app's configuration sends tasks to."""
    routes = config.get("task_routes")
    if routes is not None and isinstance(routes.value, dict):
        for pattern, route in routes.value.items():
            queue = route.get("queue") if isinstance(route, dict) else route
            if isinstance(queue, str):
                where = route.spans.get("queue") if hasattr(route, "spans") else None
                yield queue, where or routes.value.spans.get(pattern) or routes.span, \
                    f"task_routes sends {pattern} to it"
    schedule = config.get("beat_schedule")
    if schedule is not None and isinstance(schedule.value, dict):
        for name, entry in schedule.value.items():
            options = entry.get("options") if isinstance(entry, dict) else None
            queue = options.get("queue") if isinstance(options, dict) else None
            if isinstance(queue, str):
                where = options.spans.get("queue") if hasattr(options, "spans") else None
                yield queue, where or schedule.span, f"beat schedule entry '{name}' sends to it"
    default = config.get("task_default_queue")
    if default is not None and isinstance(default.value, str):
        yield default.value, default.span, "it is task_default_queue"


def check(context: Context) -> Iterator[Finding]:
    by_project = consumed(context)
    units: dict[str, list[tuple[str, str]]] = {}
    for key in by_project:
        units.setdefault(key[0], []).append(key)
    # one finding per deployment and queue, whatever number of routes and entries send to it
    senders: dict[tuple[tuple[str, str], str], list[Related]] = {}
    for config in context.deployment.apps:
        for unit in units.get(config.project, []):
            known = by_project[unit]
            if known is None:
                continue
            for queue, where, how in sent_to(config):
                if queue not in known[0] and where is not None:
                    related = senders.setdefault((unit, queue), [])
                    if all(r.span != where for r in related):
                        related.append(Related(where, how))
    for (unit, queue), related in senders.items():
        queues, listed = by_project[unit]
        among = "" if len(units[unit[0]]) == 1 else \
            f" of {unit[1].removeprefix('compose:')}" if unit[1] else " of the Kubernetes manifests"
        hows = "; ".join(r.message for r in related[:2]) + \
            (f" and {len(related) - 2} more" if len(related) > 2 else "")
        # with one worker listing its queues, the fix belongs in that list
        at = listed[0].span(listed[0].option("queues").value_word) if len(listed) == 1 else \
            related[0].span
        yield Finding(
            at,
            f"no worker{among} consumes the queue '{queue}': its tasks never run (workers "
            f"consume: {', '.join(sorted(queues))})",
            f"{hows}, and its tasks wait on the broker; add {queue} to a worker's -Q, start a "
            "worker for it, or route the tasks to a consumed queue",
            related=related)
