"""broker-on-replica-service: the broker URL's Service sends writes to Redis replicas.

## What it finds
A broker URL whose Service selects Redis pods that run as replicas: `--replicaof`/`--slaveof` in
their command, `replicaof` in a mounted `redis.conf`, Bitnami's `REDIS_REPLICATION_MODE=slave`,
or a StatefulSet of several Redis pods behind one Service (a primary and its replicas, as
replication charts deploy them), without Sentinel. In compose, a broker URL naming a service
whose Redis runs as a replica (its command line, its environment, or a bind-mounted
`redis.conf` that its command line names).

## Symptoms
- `redis.exceptions.ReadOnlyError: You can't write against a read only replica.` in workers and
  in the code that sends tasks, on some connections and not others.
- Tasks that are sometimes accepted and sometimes fail to publish; beat errors at random.

## Why
A Service balances connections across all the pods it selects. Redis replicas are read-only, so
every connection that lands on one fails to publish, acknowledge or consume.

## Fix
Point the broker at the primary's own Service (charts create one, such as `redis-master`), or use
Sentinel: `sentinel://redis-sentinel:26379` with `broker_transport_options =
{"master_name": "mymaster"}`. No automatic fix: the right address depends on the chart.

## When it stays silent
- a single Redis pod, or a Service that selects only the primary;
- a `sentinel://` broker URL; Redis outside the repository.

## References
- Redis docs, Replication: replicas are read-only by default (`replica-read-only yes`).
- Docker docs, Networking in Compose: a service is reached by its name.
- Celery docs, Using Redis, Sentinel: https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html
"""

from __future__ import annotations

import re
from typing import Iterator

from celerylint.diagnostics import Finding, Related, Severity
from celerylint.engine import Context
from celerylint.rules_support import (
    broker_targets, is_redis, mounted_configs,
)
from celerylint.rules_support import place

CODE = "CL603"
NAME = "broker-on-replica-service"
SEVERITY = Severity.ERROR
SUMMARY = "the broker URL's Service balances writes across read-only Redis replicas"


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    # one finding per URL and Service, however many containers and settings use it
    groups: dict[tuple, list[tuple]] = {}
    for container, setting, url, where, _, endpoint in broker_targets(deployment):
        if endpoint is None or not endpoint.defined or url.lower().startswith("sentinel"):
            continue
        key = (container.workload.source.project, endpoint.carrier, endpoint.namespace,
               endpoint.label, url)
        groups.setdefault(key, []).append((where, setting, container, endpoint))
    for uses in groups.values():
        endpoint = uses[0][3]
        why = _replicas(endpoint.workloads, deployment)
        if not why:
            continue
        settings = " and ".join(dict.fromkeys(setting for _, setting, _, _ in uses))
        users = list(dict.fromkeys(place(container) for _, _, container, _ in uses))
        who = " and ".join(users[:2]) + (f" and {len(users) - 2} more" if len(users) > 2 else "")
        places = list(dict.fromkeys(where for where, _, _, _ in uses))
        yield Finding(
            places[0],
            f"the {settings} of {who} goes through {endpoint.label}, which "
            + ("selects Redis replicas" if endpoint.carrier == "kubernetes" else "is a Redis replica")
            + ": writes fail with ReadOnlyError",
            f"{why}, and a replica refuses writes (You can't write against a read only replica); "
            "point the broker at the primary's "
            + ("Service" if endpoint.carrier == "kubernetes" else "service")
            + ", or use a sentinel:// URL with master_name",
            related=[Related(p, "the same URL is set here") for p in places[1:]])


def _replicas(workloads, deployment=None) -> str | None:
    redis = [(w, c) for w in workloads for c in w.containers if is_redis(c)]
    for workload, container in redis:
        mode = (container.env.get("REDIS_REPLICATION_MODE") or container.env.get("REDIS_MASTER_HOST"))
        if mode is not None and (mode.value or "").lower() not in ("master", "primary", ""):
            return f"{workload.label} runs as a replica ({mode.name}={mode.value})"
        if deployment is not None and _conf_replica(container, deployment):
            return f"{workload.label} has replicaof in its redis.conf"
        if any(a.startswith(("--replicaof", "--slaveof", "replicaof", "slaveof")) for a in container.argv) \
                or any(" --replicaof " in f" {a} " or " --slaveof " in f" {a} " for a in container.argv):
            return f"{workload.label} runs with --replicaof"
        if workload.kind == "StatefulSet" and (workload.replicas or 1) > 1:
            return f"StatefulSet '{workload.name}' runs {workload.replicas} Redis pods"
    if len({w.name for w, _ in redis}) > 1:
        return f"{len({w.name for w, _ in redis})} Redis workloads"
    return None


def _conf_replica(container, deployment) -> bool:
    """A configuration file the container reads (a mounted ConfigMap, a bind-mounted file its
    command line names) that says replicaof/slaveof."""
    return any(re.search(r"^[ \t]*(replicaof|slaveof)[ \t]+\S", config.text, re.M)
               for config in mounted_configs(container, deployment))
