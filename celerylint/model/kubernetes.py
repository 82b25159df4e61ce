"""Kubernetes objects from YAML documents: workloads, their pods and containers.

Anything that is not a Kubernetes object (compose files, CI YAML, Helm values) is skipped quietly;
fields of the wrong type are ignored here and reported by ``invalid-manifest``.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from celerylint.diagnostics import Span
from celerylint.model import (
    Container, EnvVar, KubeObject, Mount, Port, Probe, StopGrace, Volume, Workload,
)
from celerylint.model.origins import YamlArgv
from celerylint.parse import celery_cli, shell
from celerylint.parse.yamlnodes import Document, Pos, YList, YMap
from celerylint.sources import Skip, SourceFile

#: kind -> path from the object to its pod spec
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}

#: Kubernetes probe defaults: core/v1 Probe (initialDelaySeconds 0, periodSeconds 10,
#: timeoutSeconds 1, failureThreshold 3).
PROBE_DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1,
                  "failureThreshold": 3}
PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")

#: The pod's grace period when ``terminationGracePeriodSeconds`` is not set (core/v1 PodSpec:
#: "Defaults to 30 seconds").
DEFAULT_GRACE = 30

#: What ``$(VAR)`` expansion may add to one container's command line (references to a huge
#: value, repeated, would otherwise take gigabytes).
MAX_EXPANSION = 1024 * 1024

_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def span(source: SourceFile, pos: Pos) -> Span:
    return Span(source.path, *pos)


def dig(node: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def key_span(source: SourceFile, parent: YMap, key: str) -> Span:
    return span(source, parent.key_pos.get(key, parent.pos))


def objects(documents: list[Document]) -> Iterator[tuple[YMap, SourceFile, Pos]]:
    """Kubernetes objects in documents, with ``kind: List`` items unpacked."""
    for doc in documents:
        data = doc.data
        if not _is_object(data):
            continue
        if data["kind"].endswith("List") and isinstance(data.get("items"), YList):
            items = data["items"]
            for item, pos in zip(items, items.item_pos):
                if _is_object(item):
                    yield item, doc.source, pos
        else:
            yield data, doc.source, data.pos


def _is_object(data: Any) -> bool:
    """A Kubernetes object; a strategic-merge patch (``$patch``) is only part of one."""
    return (isinstance(data, YMap) and isinstance(data.get("kind"), str)
            and isinstance(data.get("apiVersion"), str) and "$patch" not in data)


ConfigMaps = dict[tuple[str, str | None, str], tuple[YMap, SourceFile]]


def build(documents: list[Document], notices: list[Skip] | None = None
          ) -> tuple[list[KubeObject], list[Workload]]:
    """All objects of all documents; workloads see every ConfigMap, whichever file defines it.
    Limits reached on the way (``$(VAR)`` expansion) are added to ``notices``."""
    found = list(objects(documents))
    configmaps: ConfigMaps = {}
    for data, source, _ in found:
        if data["kind"] == "ConfigMap":
            name = dig(data, "metadata", "name")
            namespace = dig(data, "metadata", "namespace")
            if isinstance(name, str):
                configmaps[(source.project, namespace if isinstance(namespace, str) else None,
                            name)] = (data, source)
    kube_objects: list[KubeObject] = []
    workloads: list[Workload] = []
    for data, source, pos in found:
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        name = metadata.get("name") if isinstance(metadata.get("name"), str) else None
        namespace = metadata.get("namespace") if isinstance(metadata.get("namespace"), str) else None
        obj = KubeObject(data["kind"], data["apiVersion"], name, namespace, data, span(source, pos),
                         source)
        kube_objects.append(obj)
        path = POD_SPEC_PATHS.get(obj.kind)
        pod = dig(data, *path) if path else None
        if isinstance(pod, YMap):
            workloads.append(_workload(obj, pod, configmaps, notices))
    return kube_objects, workloads


def _workload(obj: KubeObject, pod: YMap, configmaps: ConfigMaps,
              notices: list[Skip] | None) -> Workload:
    replicas = dig(obj.data, "spec", "replicas")
    spec = obj.data.get("spec")
    workload = Workload(
        kind=obj.kind, name=obj.name or "(unnamed)", namespace=obj.namespace,
        replicas=replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else None,
        span=obj.span, source=obj.source, data=obj.data, pod=pod,
        replicas_at=(obj.source, spec, "replicas", "replicas")
        if isinstance(spec, YMap) and "replicas" in spec else None,
    )
    source = obj.source
    workload.stop_grace = _grace(pod, source)
    volumes = pod.get("volumes")
    if isinstance(volumes, YList):
        for item, pos in zip(volumes, volumes.item_pos):
            if isinstance(item, YMap) and isinstance(item.get("name"), str):
                kind = next((k for k in item if k != "name"), "unknown")
                workload.volumes[item["name"]] = Volume(item["name"], str(kind), span(source, pos))
    for key, init in (("initContainers", True), ("containers", False)):
        items = pod.get(key)
        if isinstance(items, YList):
            for item, pos in zip(items, items.item_pos):
                if isinstance(item, YMap):
                    workload.containers.append(
                        _container(item, span(source, pos), workload, init, configmaps, notices))
    return workload


def _container(data: YMap, where: Span, workload: Workload, init: bool,
               configmaps: ConfigMaps, notices: list[Skip] | None) -> Container:
    source = workload.source
    env, env_open, env_from_secret = _env(data, source, workload.namespace, configmaps)
    argv, argv_items, dynamic, from_command = _argv(data, env)
    if notices is not None and any(d is None for d in dynamic):
        notices.append(Skip(source.path, f"$(VAR) expansion in container '{data.get('name')}' "
                            f"would exceed {MAX_EXPANSION // 1024} KiB: its command is treated "
                            "as unknown", where.line))
        dynamic = [True if d is None else d for d in dynamic]
    commands: list[shell.SimpleCommand] | None
    try:
        commands = shell.commands_of(argv, dynamic)
    except shell.ShellSyntaxError:
        commands = None
    origin = YamlArgv(source, argv, argv_items, where)
    for command in commands or []:
        command.origin = origin
    mounts = []
    raw_mounts = data.get("volumeMounts")
    if isinstance(raw_mounts, YList):
        for item, pos in zip(raw_mounts, raw_mounts.item_pos):
            if isinstance(item, YMap) and isinstance(item.get("mountPath"), str):
                name = str(item.get("name"))
                sub_path = item.get("subPath")
                mounts.append(Mount(name, item["mountPath"], item.get("readOnly") is True,
                                    sub_path if isinstance(sub_path, str) else None,
                                    span(source, pos), workload.volumes.get(name)))
    security = data.get("securityContext")
    read_only_root = isinstance(security, YMap) and security.get("readOnlyRootFilesystem") is True
    limits = dig(data, "resources", "limits")
    working_dir = data.get("workingDir")
    image = data.get("image")
    return Container(
        name=str(data.get("name", "(unnamed)")),
        image=image if isinstance(image, str) else None,
        argv=argv, argv_dynamic=dynamic, argv_from_command=from_command, commands=commands,
        celery=celery_cli.invocations(commands or []),
        working_dir=working_dir if isinstance(working_dir, str) else None,
        env=env, env_open=env_open, env_from_secret=env_from_secret, mounts=mounts,
        read_only_root=read_only_root,
        limits=dict(limits) if isinstance(limits, dict) else {},
        probes=_probes(data, source), span=where, workload=workload, data=data, init=init,
        ports=_ports(data, source),
    )


def _grace(pod: YMap, source: SourceFile) -> StopGrace:
    key = "terminationGracePeriodSeconds"
    if key not in pod:
        return StopGrace(DEFAULT_GRACE, key, source, pod)
    value = pod[key]
    seconds = value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else None
    return StopGrace(seconds, key, source, pod, span(source, pod.value_pos[key]))


def _ports(data: YMap, source: SourceFile) -> list[Port]:
    """``ports``: the container's ports, and the ``hostPort`` that publishes one on its node."""
    found = []
    items = data.get("ports")
    for item, pos in zip(items, items.item_pos) if isinstance(items, YList) else ():
        if not isinstance(item, YMap):
            continue
        number, host = item.get("containerPort"), item.get("hostPort")
        name, host_ip = item.get("name"), item.get("hostIP")
        found.append(Port(number if isinstance(number, int) and not isinstance(number, bool)
                          else None, span(source, pos),
                          name if isinstance(name, str) else None,
                          str(host) if isinstance(host, int) and host else None,
                          host_ip if isinstance(host_ip, str) and host_ip else None))
    return found


def _env(data: YMap, source: SourceFile, namespace: str | None,
         configmaps: ConfigMaps) -> tuple[dict[str, EnvVar], bool, bool]:
    env: dict[str, EnvVar] = {}
    env_open = False
    from_secret = False
    env_from = data.get("envFrom")
    if isinstance(env_from, YList):
        for item in env_from:
            ref = dig(item, "configMapRef", "name")
            if not isinstance(ref, str):
                from_secret = from_secret or isinstance(dig(item, "secretRef", "name"), str)
                continue  # secrets hold credentials (broker URLs ...), not Celery tuning
            found = configmaps.get((source.project, namespace, ref)) or \
                configmaps.get((source.project, None, ref))
            values = dig(found[0], "data") if found else None
            if not isinstance(values, YMap):
                env_open = True
                continue
            prefix = item.get("prefix") if isinstance(item.get("prefix"), str) else ""
            for key, value in values.items():
                env[prefix + str(key)] = EnvVar(prefix + str(key), str(value),
                                                span(found[1], values.value_pos[key]))
    raw = data.get("env")
    if isinstance(raw, YList):
        for item, pos in zip(raw, raw.item_pos):
            if isinstance(item, YMap) and isinstance(item.get("name"), str):
                value = item.get("value")
                text = None if "valueFrom" in item else ("" if value is None else str(value))
                env[item["name"]] = EnvVar(item["name"], text, span(source, pos))
    return env, env_open, from_secret


def _argv(data: YMap, env: dict[str, EnvVar]) -> tuple[
        list[str], list[tuple[YList, int]], list[bool | None], bool]:
    """``command + args`` as Kubernetes joins them, with ``$(VAR)`` expanded where known. The
    expansions of one container share one budget; items past it stay as written, flagged None."""
    argv: list[str] = []
    positions: list[tuple[YList, int]] = []
    dynamic: list[bool | None] = []
    budget = MAX_EXPANSION
    for key in ("command", "args"):
        items = data.get(key)
        if isinstance(items, YList):
            for index, item in enumerate(items):
                text = str(item) if item is not None else ""
                expanded, dyn = expand(text, env, budget)
                if dyn is not None:
                    budget -= len(expanded) - len(text)
                argv.append(expanded)
                positions.append((items, index))
                dynamic.append(dyn)
    return argv, positions, dynamic, isinstance(data.get("command"), YList)


def expand(text: str, env: dict[str, EnvVar], budget: int = MAX_EXPANSION
           ) -> tuple[str, bool | None]:
    """Kubernetes ``$(VAR)`` expansion; unknown values make the result dynamic (True). When the
    values would add more than ``budget`` characters the text stays as written, flagged None."""
    if "$" not in text:
        return text, False
    dynamic = False
    added = 0

    def replace(match: re.Match) -> str:
        nonlocal dynamic, added
        if match.group(0) == "$$":
            return "$"
        var = env.get(match.group(1))
        if var is None:
            return match.group(0)  # Kubernetes leaves unresolvable references as written
        if var.value is None:
            dynamic = True
            return match.group(0)
        added += len(var.value)
        if added > budget:
            raise _TooLarge
        return var.value

    try:
        return _VAR_REF.sub(replace, text), dynamic
    except _TooLarge:
        return text, None


class _TooLarge(Exception):
    pass


def _probes(data: YMap, source: SourceFile) -> dict[str, Probe]:
    probes: dict[str, Probe] = {}
    for kind in ("liveness", "readiness", "startup"):
        raw = data.get(kind + "Probe")
        if not isinstance(raw, YMap):
            continue
        values = {}
        for key, default in PROBE_DEFAULTS.items():
            value = raw.get(key)
            # the API server defaults 0 like an absent field (except initialDelaySeconds)
            valid = isinstance(value, int) and not isinstance(value, bool) and (
                value > 0 or key == "initialDelaySeconds" and value == 0)
            values[key] = value if valid else default
        handler = next((h for h in PROBE_HANDLERS if h in raw), "")
        probes[kind] = Probe(
            kind, handler, values["initialDelaySeconds"], values["periodSeconds"],
            values["timeoutSeconds"], values["failureThreshold"],
            key_span(source, data, kind + "Probe"), raw,
        )
    return probes
