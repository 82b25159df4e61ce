"""Edits on a pod: volumes and the container mounts that use them."""

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


def add_volume(container: Container, name: str, volume: dict, mount_path: str) -> list[Edit] | None:
    """Mount a new pod volume in the container: the mount first, then the volume (when both
    land at the same place, the deeper one must come first)."""
    workload = container.workload
    if workload.pod is None:
        return None
    source = workload.source
    mount = append_item(source, container.data, "volumeMounts", {"name": name, "mountPath": mount_path})
    pod_volume = append_item(source, workload.pod, "volumes", {"name": name, **volume})
    return [mount, pod_volume] if mount is not None and pod_volume is not None else None
