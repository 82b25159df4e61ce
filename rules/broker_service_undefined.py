"""broker-service-undefined: the broker URL names a host that nothing in the deployment serves.

## What it finds
A broker or result-backend URL (`-b`, `CELERY_BROKER_URL`, `CELERY_RESULT_BACKEND`, or the app's
configuration) whose host is
- a Kubernetes Service (`redis`, `redis.shop`, `redis.shop.svc.cluster.local`) that the
  repository does not define, although it defines other Services of that namespace; or
- `localhost`/`127.0.0.1` in a container whose pod runs no broker beside it.
The finding is reported where the URL is set.

## Symptoms
- `consumer: Cannot connect to redis://redis:6379/0: Error -2 connecting to redis:6379. Name or
  service not known.` and `Trying again in 2.00 seconds...` in a loop.
- `Cannot connect to amqp://guest:**@127.0.0.1:5672//: [Errno 111] Connection refused.`
- Workers, beat and Flower start but never process anything.

## Why
In a pod, `localhost` is the pod itself; a Service name resolves only when a Service of that name
exists in that namespace. Seed post-mortem 000's broker host was a Service no manifest defined.

## Fix
Point the URL at a Service the deployment defines (or define it), or run the broker as a sidecar
for a `localhost` URL. No automatic fix: which broker is meant is yours to say.

## When it stays silent
- hosts outside the cluster (`redis.example.com`, managed Redis), Services in namespaces the
  repository defines no Service for (they may come from another repository or chart);
- repositories with a Helm chart (`Chart.yaml`), a HelmRelease, Flux Kustomization or Argo CD
  Application, or a Redis/RabbitMQ operator resource: their Services are not in the manifests;
- a kustomization that can create or rename Services: `namePrefix`/`nameSuffix`, `helmCharts`,
  generator or transformer plugins, or `resources` that are remote or were not read. A
  kustomization that only lists the checked files changes no Service, so it keeps the rule on;
- URLs built from variables, and `sqs://`, `memory://` or other non-network transports.

## References
- Kubernetes docs, DNS for Services and Pods:
  https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/
- Celery docs, `broker_url`; `celery/app/utils.py` (environment variables read directly).
"""

from __future__ import annotations

import os
from typing import Iterator

from celerylint.diagnostics import Finding, Severity
from celerylint.engine import Context
from celerylint.rules_support import LOCALHOSTS, broker_targets, is_redis

#: kustomization keys that can add or rename Services.
RENAMING = ("namePrefix", "nameSuffix", "helmCharts", "helmChartInflationGenerator",
            "generators", "transformers")

CODE = "CL602"
NAME = "broker-service-undefined"
SEVERITY = Severity.ERROR
SUMMARY = "the broker URL names a Service (or localhost) that nothing in the deployment serves"


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    index = deployment.index
    # Services a chart dependency, an operator or a kustomization creates are not in the files
    read = _read_paths(deployment) if deployment.kustomizations else set()
    generated = set(index.generated) | {k.source.project for k in deployment.kustomizations
                                        if _adds_services(k, read)}
    # one finding per place the URL is written, naming every container that uses it
    found: dict[tuple, list[str]] = {}
    for container, setting, _, where, host, target in broker_targets(deployment):
        project = container.workload.source.project
        if host in LOCALHOSTS:
            sidecar = any(is_redis(c) or "rabbitmq" in (c.image or "")
                          for c in container.workload.containers if c is not container)
            if not sidecar:
                found.setdefault((where, setting, host, None), []).append(container.where)
            continue
        if target is None or index.service(project, *target) is not None or \
                target[1] not in index.service_namespaces.get(project, ()) or project in generated:
            continue
        found.setdefault((where, setting, host, target), []).append(container.where)
    for (where, setting, host, target), users in found.items():
        who = " and ".join(users[:2]) + (f" and {len(users) - 2} more" if len(users) > 2 else "")
        if target is None:
            yield Finding(where, f"the {setting} of {who} points at {host}, but no broker runs "
                          "in its pod: Celery cannot connect (Connection refused)",
                          "use the broker's Service name, or run the broker as a sidecar")
        else:
            yield Finding(where, f"the {setting} of {who} names the Service '{target[0]}' in "
                          f"namespace '{target[1]}', which no manifest defines although the "
                          "namespace's other Services are here: the host does not resolve (Name "
                          "or service not known)",
                          f"define the Service {target[0]}, or point the URL at one that exists")


def _read_paths(deployment) -> set[str]:
    """Every file read, and every directory above one."""
    paths: set[str] = set()
    for source in deployment.sources:
        path = source.abspath
        while path and path not in paths:
            paths.add(path)
            path = os.path.dirname(path) if os.path.dirname(path) != path else None
    return paths


def _adds_services(kustomization, read: set[str]) -> bool:
    """Whether a kustomization can create or rename Services we do not see: a name prefix or
    suffix, Helm charts, generator or transformer plugins, or resources that are remote or were
    not read. A kustomization that only lists files of the checked tree changes no Service."""
    data = kustomization.data
    if any(data.get(key) for key in RENAMING):
        return True
    base = os.path.dirname(kustomization.source.abspath or "")
    for key in ("resources", "bases", "components"):
        entries = data.get(key)
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, str) or "://" in entry or "?ref=" in entry or \
                    entry.startswith(("github.com/", "git@", "gitlab.com/")):
                return True
            if os.path.normpath(os.path.join(base, entry)) not in read:
                return True
    return False
