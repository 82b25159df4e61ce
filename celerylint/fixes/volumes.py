"""Edits that give a container a new writable directory, in its carrier's terms: a pod volume
and the mount that uses it (Kubernetes), or a ``tmpfs`` entry of the service (compose)."""

from __future__ import annotations

from celerylint.diagnostics import Edit
from celerylint.fixes.yamledit import append_item
from celerylint.model import Container, Workload


def unique_volume_name(workload: Workload, base: str) -> str:
    name, n = base, 1
    while name in workload.volumes:
        n += 1
        name = f"{base}-{n}"
    return name


def add_writable_dir(container: Container, base_name: str, path: str, memory: bool
                     ) -> tuple[list[Edit], str] | None:
    """Edits that make ``path`` writable, and what they do in words; None when the file's
    shape does not allow it (a ``tmpfs`` written as one string, a pod written elsewhere).

    Kubernetes: an ``emptyDir`` (in memory, 64 MiB, when ``memory``) mounted at ``path``.
    Compose: ``path`` added to the service's ``tmpfs`` (a tmpfs is memory)."""
    workload = container.workload
    if workload.carrier == "compose":
        edit = append_item(workload.source, container.data, "tmpfs", path)
        return ([edit], f"add {path} to the service's tmpfs") if edit is not None else None
    if workload.pod is None:
        return None
    name = unique_volume_name(workload, base_name)
    volume = {"emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"} if memory else {}}
    mount = append_item(workload.source, container.data, "volumeMounts",
                        {"name": name, "mountPath": path})
    pod_volume = append_item(workload.source, workload.pod, "volumes", {"name": name, **volume})
    if mount is None or pod_volume is None:
        return None
    shown = " (medium: Memory, sizeLimit: 64Mi)" if memory else ""
    # the mount first, then the volume: when both land at the same place, the deeper one first
    return [mount, pod_volume], f"mount an emptyDir '{name}'{shown} at {path}"
