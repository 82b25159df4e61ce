"""Joins of the deployment model, computed once per run: every cross-object question rules ask.

Rules never compare all pairs of anything: an HPA is found by its target, a Service by its
name, the workloads a Service selects through a posting list of labels, a ConfigMap by its
name. Every key starts with the object's *project* (the checked root its file belongs to), so
two projects checked in one run never see each other's Services, HPAs, beats or requirements.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from celerylint.model import KubeObject, Workload
from celerylint.model.kubernetes import dig

#: Kinds whose objects deploy other manifests (Flux, Argo CD, Helm controllers).
GENERATORS = frozenset({"HelmRelease", "HelmChart", "Application", "ApplicationSet"})


@dataclass
class Endpoint:
    """Where a host name leads inside the deployment: a Kubernetes Service, or the compose
    service that answers to the name on its network."""

    name: str
    namespace: str | None  # a Service's namespace; None for compose
    label: str  # "the Service 'redis'", "the compose service 'redis'"
    defined: bool  # False: the name would have to be served here and nothing serves it
    carrier: str
    workloads: list[Workload] = field(default_factory=list)  # what answers there


def namespace(obj: Any) -> str:
    return getattr(obj, "namespace", None) or "default"


class Index:
    """Look-ups built in one pass over the model."""

    def __init__(self, deployment) -> None:
        self.services: dict[tuple[str, str, str], KubeObject] = {}
        self.service_namespaces: dict[str, set[str]] = defaultdict(set)
        self.autoscalers: dict[tuple[str, str, str, str], KubeObject] = {}
        self.configmaps: dict[tuple[str, str, str], KubeObject] = {}
        # the same ConfigMap written in several files (a manifest, and again in a deploy
        # script's here-document): a workload reads the one written beside it
        self.local_configmaps: dict[tuple[str, str, str], KubeObject] = {}
        self.generated: set[str] = set()  # projects whose Services may come from elsewhere
        self._labels: dict[tuple[str, str, str, Any], list[Workload]] = defaultdict(list)
        for obj in deployment.objects:
            project, ns = obj.source.project, namespace(obj)
            if obj.kind == "Service" and obj.name:
                self.services[(project, ns, obj.name)] = obj
                self.service_namespaces[project].add(ns)
            elif obj.kind == "HorizontalPodAutoscaler":
                target = dig(obj.data, "spec", "scaleTargetRef")
                if isinstance(target, dict) and isinstance(target.get("name"), str):
                    key = (project, ns, str(target.get("kind")), target["name"])
                    self.autoscalers.setdefault(key, obj)
            elif obj.kind == "ConfigMap" and obj.name:
                self.configmaps[(project, ns, obj.name)] = obj
                self.local_configmaps[(obj.source.path, ns, obj.name)] = obj
                if obj.namespace is None:  # kustomize or kubectl -n gives it one later
                    self.configmaps.setdefault((project, "", obj.name), obj)
            if obj.kind in GENERATORS or "redis" in obj.kind.lower() or \
                    "rabbitmq" in obj.kind.lower() or \
                    (obj.kind == "Kustomization" and "fluxcd.io" in obj.api_version):
                self.generated.add(project)
        for source in deployment.sources:
            if source.path.endswith(("Chart.yaml", "requirements.yaml", "helmfile.yaml")):
                self.generated.add(source.project)
        self.compose_names: dict[tuple[str, str, str], Workload] = {}
        for workload in deployment.workloads:
            if workload.carrier == "compose":
                for name in workload.hostnames:
                    self.compose_names.setdefault(
                        (workload.source.project, workload.namespace, name), workload)
                continue
            labels = pod_labels(workload)
            for item in labels.items() if isinstance(labels, dict) else ():
                try:
                    self._labels[(workload.source.project, namespace(workload), *item)].append(
                        workload)
                except TypeError:  # an unhashable label value: invalid-manifest's business
                    continue
        self._deployment = deployment
        self.facts: dict[tuple, Any] = {}  # facts rules derive once per run (keyed by the rule)

    @cached_property
    def redbeat(self) -> set[str]:
        """Projects that install celery-redbeat (read once the requirement sets are built)."""
        return {p.project for s in self._deployment.requirement_sets for p in s.requirements
                if p.name == "celery-redbeat"}

    @cached_property
    def celery_specifiers(self) -> dict[str, list]:
        """The specifiers of every ``celery`` requirement, by project."""
        found: dict[str, list] = defaultdict(list)
        for requirement_set in self._deployment.requirement_sets:
            for pinned in requirement_set.requirements:
                if pinned.name == "celery":
                    found[pinned.project].append(pinned.requirement.specifier)
        return found

    def endpoint(self, container, host: str) -> Endpoint | None:
        """What a host name of the container's URLs names here; None for a host outside (an
        external DNS name, a network we cannot see)."""
        workload = container.workload
        project = workload.source.project
        if workload.carrier == "compose":
            if container.network_mode or host in container.resolves:
                return None  # another container's network, the host's, or names given by hand
            found = self.compose_names.get((project, workload.namespace, host))
            if found is not None:
                return Endpoint(host, None, f"the compose service '{found.name}'", True,
                                "compose", workloads=[found])
            if "." in host or workload.network_open:
                return None
            return Endpoint(host, None, f"'{host}'", False, "compose")
        parts = host.split(".")
        if len(parts) == 1:
            name, ns = parts[0], workload.namespace or "default"
        elif len(parts) == 2 or (len(parts) >= 3 and parts[2] == "svc"):
            if len(parts) > 3 and ".".join(parts[2:]) != "svc.cluster.local":
                return None
            name, ns = parts[0], parts[1]
        else:
            return None
        service = self.service(project, name, ns)
        if service is None:
            return Endpoint(name, ns, f"the Service '{name}'", False, "kubernetes")
        return Endpoint(name, ns, f"the Service '{name}'", True, "kubernetes",
                        self.selected(service))

    def autoscaler_of(self, workload: Workload) -> KubeObject | None:
        return self.autoscalers.get((workload.source.project, namespace(workload), workload.kind,
                                     workload.name))

    def service(self, project: str, name: str, ns: str) -> KubeObject | None:
        return self.services.get((project, ns, name))

    def configmap(self, project: str, ns: str | None, name: str, beside: str = ""
                  ) -> KubeObject | None:
        return self.local_configmaps.get((beside, ns or "default", name)) or \
            self.configmaps.get((project, ns or "default", name)) or \
            self.configmaps.get((project, "", name))

    def mounted_configmaps(self, container) -> list[tuple[Any, KubeObject]]:
        """``(mount, ConfigMap)`` for every ConfigMap volume the container mounts."""
        pod = container.workload.pod or {}
        by_volume = {v.get("name"): v["configMap"].get("name")
                     for v in pod.get("volumes", []) or []
                     if isinstance(v, dict) and isinstance(v.get("configMap"), dict)}
        found = []
        for mount in container.mounts:
            name = by_volume.get(mount.name)
            obj = self.configmap(container.workload.source.project, container.workload.namespace,
                                 name, container.workload.source.path) \
                if isinstance(name, str) else None
            if obj is not None:
                found.append((mount, obj))
        return found

    def selected(self, service: KubeObject) -> list[Workload]:
        """The workloads whose pods a Service selects (same project and namespace, every label
        of the selector), found through the rarest of its labels."""
        selector = dig(service.data, "spec", "selector")
        if not isinstance(selector, dict) or not selector:
            return []
        project, ns = service.source.project, namespace(service)
        try:
            postings = [self._labels.get((project, ns, *item), []) for item in selector.items()]
        except TypeError:
            return []
        smallest = min(postings, key=len)
        return [w for w in smallest
                if all(pod_labels(w).get(k) == v for k, v in selector.items())]

    def matching(self, project: str, ns: str, selector: Any) -> list[Workload] | None:
        """The workloads whose pod labels a label selector (``matchLabels`` and
        ``matchExpressions``, as a PodDisruptionBudget or a NetworkPolicy writes it) matches,
        found through the rarest posting list of its ``matchLabels`` or one-value ``In``
        expressions; None when it cannot be looked up that way (an empty selector, which selects
        every pod, or one of ``Exists``/``NotIn`` expressions only, or one we cannot read)."""
        if not isinstance(selector, dict):
            return None
        labels = selector.get("matchLabels") or {}
        expressions = selector.get("matchExpressions") or []
        if not isinstance(labels, dict) or not isinstance(expressions, list) or \
                not all(isinstance(e, dict) for e in expressions):
            return None
        postings = []
        try:
            postings = [self._labels.get((project, ns, *item), []) for item in labels.items()]
            for expression in expressions:
                values = expression.get("values")
                if expression.get("operator") == "In" and isinstance(values, list):
                    postings.append([w for value in values
                                     for w in self._labels.get((project, ns, expression.get(
                                         "key"), value), [])])
        except TypeError:
            return None
        if not postings:
            return None
        smallest = min(postings, key=len)
        return [w for w in smallest if _selects(labels, expressions, pod_labels(w))]


def _selects(labels: dict, expressions: list, pod: dict) -> bool:
    """A label selector against one pod's labels (metav1.LabelSelector semantics)."""
    if any(pod.get(k) != v for k, v in labels.items()):
        return False
    for expression in expressions:
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") if isinstance(expression.get("values"), list) else []
        if operator == "In" and pod.get(key) not in values:
            return False
        if operator == "NotIn" and key in pod and pod[key] in values:
            return False
        if operator == "Exists" and key not in pod:
            return False
        if operator == "DoesNotExist" and key in pod:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def pod_labels(workload: Workload) -> dict:
    labels = dig(workload.data, "metadata", "labels") if workload.kind == "Pod" else \
        dig(workload.data, "spec", "template", "metadata", "labels")
    return labels if isinstance(labels, dict) else {}
