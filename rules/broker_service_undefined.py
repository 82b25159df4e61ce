"""broker-service-undefined: the broker URL names a host that nothing in the deployment serves.

## What it finds
A broker or result-backend URL (`-b`, `CELERY_BROKER_URL`, `CELERY_RESULT_BACKEND`, or the app's
configuration) whose host is
- a Kubernetes Service (`redis`, `redis.shop`, `redis.shop.svc.cluster.local`) that the
  repository does not define, although it defines other Services of that namespace;
- in a compose project, a name that no service of the project answers to (its service names,
  `container_name`, `hostname`, network aliases).
The finding is reported where the URL is set.

## Symptoms
- `consumer: Cannot connect to redis://redis:6379/0: Error -2 connecting to redis:6379. Name or
  service not known.` and `Trying again in 2.00 seconds...` in a loop.
- Workers, beat and Flower start but never process anything.

## Why
A Service name resolves only when a Service of that name exists in that namespace. Seed post-mortem 000's broker host was a Service no manifest defined.
In compose, each service "is discoverable by its service name" on the project's network, with
its container name, hostname and aliases.

## Fix
Point the URL at a Service the deployment defines (or define it). No automatic fix: which broker
is meant is yours to say.

## When it stays silent
- hosts outside the cluster (`redis.example.com`, managed Redis), Services in namespaces the
  repository defines no Service for (they may come from another repository or chart);
- repositories with a Helm chart (`Chart.yaml`), a HelmRelease, Flux Kustomization or Argo CD
  Application, or a Redis/RabbitMQ operator resource: their Services are not in the manifests;
- a kustomization that can create or rename Services: `namePrefix`/`nameSuffix`, `helmCharts`,
  generator or transformer plugins, or `resources` that are remote or were not read. A
  kustomization that only lists the checked files changes no Service, so it keeps the rule on;
- URLs built from variables, and `sqs://`, `memory://` or other non-network transports;
- `localhost`, `127.0.0.1` and `::1`: `broker-localhost` (CL605) reports those;
- compose services on an `external` network (names there come from other projects), with a
  `network_mode`, `links`, `external_links` or `extra_hosts` naming the host, and compose files
  beside other compose files not read with them (they may be run together with `-f`; list them in
  `[tool.celerylint.compose] projects` to have them checked together).

## References
- Kubernetes docs, DNS for Services and Pods:
  https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/
- Celery docs, `broker_url`; `celery/app/utils.py` (environment variables read directly).
- Docker docs, Networking in Compose: https://docs.docker.com/compose/how-tos/networking/
"""

from __future__ import annotations

import os
from typing import Iterator

from celerylint.diagnostics import Finding, Severity
from celerylint.engine import Context
from celerylint.rules_support import broker_targets, is_loopback, place

#: kustomization keys that can add or rename Services.
RENAMING = ("namePrefix", "nameSuffix", "helmCharts", "helmChartInflationGenerator",
            "generators", "transformers")

CODE = "CL602"
NAME = "broker-service-undefined"
SEVERITY = Severity.ERROR
SUMMARY = "the broker URL names a Service or compose service that nothing in the deployment serves"


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    index = deployment.index
    # Services a chart dependency, an operator or a kustomization creates are not in the files
    read = _read_paths(deployment) if deployment.kustomizations else set()
    generated = set(index.generated) | {k.source.project for k in deployment.kustomizations
                                        if _adds_services(k, read)}
    # one finding per place the URL is written, naming every container that uses it
    found: dict[tuple, list[str]] = {}
    for container, setting, _, where, host, endpoint in broker_targets(deployment):
        project = container.workload.source.project
        compose = container.workload.carrier == "compose"
        if is_loopback(host):
            continue  # broker-localhost
        if endpoint is None or endpoint.defined or not compose and (
                endpoint.namespace not in index.service_namespaces.get(project, ()) or
                project in generated):
            continue
        found.setdefault((where, setting, host, (endpoint.name, endpoint.namespace)),
                         []).append(container)
    for (where, setting, host, endpoint), users in found.items():
        names = list(dict.fromkeys(place(c) for c in users))
        who = " and ".join(names[:2]) + (f" and {len(names) - 2} more" if len(names) > 2 else "")
        compose = users[0].workload.carrier == "compose"
        if compose:
            yield Finding(where, f"the {setting} of {who} names '{host}', which no service of "
                          "its compose project answers to: Name or service not known",
                          "add the broker's service to the compose file, or point the URL at "
                          "the service that runs it (a host resolves by a service name, "
                          "container_name, hostname or network alias)")
        else:
            yield Finding(where, f"the {setting} of {who} names the Service '{endpoint[0]}' in "
                          f"namespace '{endpoint[1]}', which no manifest defines: Name or service "
                          "not known",
                          f"define the Service {endpoint[0]}, or point the URL at one that "
                          "exists (the namespace's other Services are defined here)")


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
