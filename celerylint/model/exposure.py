"""Which pods something outside the cluster can reach: Services that open them (NodePort,
a public LoadBalancer, externalIPs) and Ingress routes to Services, found once per run.

An internal load balancer (the cloud providers' annotations) or one limited to private source
ranges is reachable from the network around the cluster only, so it does not count; nor does an
Ingress whose annotations show an authenticating controller in front (``auth-url``, Traefik
middlewares, Kong plugins).
"""

from __future__ import annotations

import ipaddress
from typing import Any, Iterator

from celerylint.diagnostics import Span
from celerylint.model.index import namespace
from celerylint.model.kubernetes import dig, span

#: ``(annotation, values that make the load balancer internal)``; an empty tuple: any value.
INTERNAL_LB = (
    ("service.beta.kubernetes.io/aws-load-balancer-internal", ("true", "0.0.0.0/0")),
    ("service.beta.kubernetes.io/aws-load-balancer-scheme", ("internal",)),
    ("networking.gke.io/load-balancer-type", ("internal",)),
    ("cloud.google.com/load-balancer-type", ("internal",)),
    ("service.beta.kubernetes.io/azure-load-balancer-internal", ("true",)),
    ("service.beta.kubernetes.io/oci-load-balancer-internal", ("true",)),
    ("service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type", ("private",)),
)

#: A way in: ``(port an Ingress names or None, what, where it is written)``.
Way = tuple[Any, str, Span]


def exposures(deployment) -> dict[int, list[tuple[dict, list[Way]]]]:
    """Workload id -> ``(Service spec, ways)`` for each Service that opens its pods beyond the
    cluster. One pass over the objects; Services find their workloads through the label index."""
    found: dict[int, list[tuple[dict, list[Way]]]] = {}
    routed: dict[tuple[str, str, str], list[Way]] = {}
    for obj in deployment.objects:
        if obj.kind != "Ingress":
            continue
        annotations = dig(obj.data, "metadata", "annotations")
        if isinstance(annotations, dict) and any(
                "auth" in str(k).lower() or "middlewares" in str(k) or "plugins" in str(k)
                for k in annotations):
            continue
        for service, port in _backends(obj.data.get("spec")):
            routed.setdefault((obj.source.project, namespace(obj), service), []).append(
                (port, obj.name, obj.span))
    for obj in deployment.objects:
        if obj.kind != "Service" or not isinstance(obj.data.get("spec"), dict):
            continue
        spec = obj.data["spec"]
        kind = spec.get("type") if isinstance(spec.get("type"), str) else "ClusterIP"
        ways: list[Way] = []
        if kind == "NodePort" or (kind == "LoadBalancer" and not _internal(obj.data)):
            ways.append((None, f"the {kind} Service '{obj.name}'",
                         span(obj.source, spec.value_pos["type"])))
        elif spec.get("externalIPs"):
            ways.append((None, f"the Service '{obj.name}' with externalIPs", obj.span))
        for port, ingress, where in routed.get((obj.source.project, namespace(obj), obj.name), []):
            ways.append((port, f"the Ingress '{ingress}' (through the Service '{obj.name}')",
                         where))
        if ways:
            for workload in deployment.index.selected(obj):
                found.setdefault(id(workload), []).append((spec, ways))
    return found


def _internal(data: dict) -> bool:
    """A load balancer with an address only inside the provider's network, or one that admits
    private source ranges only."""
    annotations = dig(data, "metadata", "annotations")
    if isinstance(annotations, dict):
        for key, values in INTERNAL_LB:
            if str(annotations.get(key, "")).strip().lower() in values:
                return True
    ranges = dig(data, "spec", "loadBalancerSourceRanges")
    if not isinstance(ranges, list) or not ranges:
        return False
    try:
        return all(ipaddress.ip_network(str(r).strip(), strict=False).is_private for r in ranges)
    except ValueError:
        return False


def _backends(spec: Any) -> Iterator[tuple[str, Any]]:
    """``(service name, port)`` of every backend of an Ingress (v1 and v1beta1)."""
    if not isinstance(spec, dict):
        return
    backends = [spec.get("defaultBackend"), spec.get("backend")]
    for rule in spec.get("rules") or [] if isinstance(spec.get("rules"), list) else []:
        paths = dig(rule, "http", "paths")
        backends += [p.get("backend") for p in paths or [] if isinstance(p, dict)] \
            if isinstance(paths, list) else []
    for backend in backends:
        if not isinstance(backend, dict):
            continue
        service = backend.get("service")
        if isinstance(service, dict) and isinstance(service.get("name"), str):
            port = service.get("port")
            yield service["name"], (port.get("number") or port.get("name")) \
                if isinstance(port, dict) else None
        elif isinstance(backend.get("serviceName"), str):
            yield backend["serviceName"], backend.get("servicePort")
