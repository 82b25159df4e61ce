"""Edits on a container: command-line arguments, volumes and mounts, probe fields.

Arguments go where the command is written: a new list item for exec form (``args: [...]``, block
or flow), or words inserted into the ``sh -c`` string right after the celery word they belong
to. Inside a string, an edit is made only where the loader can map the word back to the file
exactly; otherwise there is no fix rather than a wrong one.
"""

from __future__ import annotations

import shlex

from celerylint.diagnostics import Edit
from celerylint.fixes.yamledit import append_item, edit, insert_items_after
from celerylint.model import Container, Workload
from celerylint.parse.shell import Word
from celerylint.parse.yamlnodes import locate


def _whole_item(container: Container, word: Word) -> bool:
    return word.start == 0 and word.end == len(container.argv[word.item]) and \
        word.item < len(container.argv_items)


def word_offsets(container: Container, word: Word) -> tuple[int, int] | None:
    """File offsets of a word of the command line, when they can be known exactly."""
    if word.item >= len(container.argv_items):
        return None
    source = container.workload.source
    items, index = container.argv_items[word.item]
    item_pos = items.item_pos[index]
    value = container.argv[word.item]
    pos = locate(source, item_pos, value, word.start, word.end)
    start, end = source.offset(pos[0], pos[1]), source.offset(pos[2], pos[3])
    if source.text[start:end] != value[word.start:word.end]:
        return None
    return start, end


def add_args(container: Container, after: Word, args: list[str]) -> Edit | None:
    """Insert ``args`` right after the word ``after`` of the container's command line."""
    source = container.workload.source
    if _whole_item(container, after):
        items, index = container.argv_items[after.item]
        return insert_items_after(source, items, index, args, items.pos)
    offsets = word_offsets(container, after)
    if offsets is None:
        return None
    return edit(source, offsets[1], offsets[1], "".join(" " + shlex.quote(a) for a in args))


def replace_arg(container: Container, word: Word, text: str) -> Edit | None:
    """Replace one word of the command line (an option's value)."""
    source = container.workload.source
    offsets = word_offsets(container, word)
    if offsets is None:
        return None
    current = source.text[offsets[0]:offsets[1]]
    if current[:1] in ('"', "'") or word.dynamic:
        return None
    prefix = current.partition("=")[0] + "=" if "=" in current and current.startswith("-") else ""
    return edit(source, offsets[0], offsets[1], prefix + (text if _whole_item(container, word)
                                                          else shlex.quote(text)))


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
    return [mount, pod_volume]
