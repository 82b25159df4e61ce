"""kustomize overlays, built with kustomize itself, offline.

Each top kustomization of the checked tree (one no other kustomization uses as a resource) is
built with ``kustomize build`` (or ``kubectl kustomize``) from a copy of the tree's files as read,
so nothing outside the checked tree is loaded; one with remote resources or Helm charts is not
built (that would need the network) and is said so. The objects it builds replace the objects of
the files it uses, and each finding moves to the file that holds the text: for a field, the last
patch that sets it, else the base resource (``KustomizeMap``). Without kustomize or kubectl, the
bases are checked as they are, and one notice says the overlays were not applied.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celerylint import sources as src
from celerylint.diagnostics import Edit, Span
from celerylint.model.sourcemap import SourceMap
from celerylint.parse import yamlnodes
from celerylint.parse.yamlnodes import YList, YMap
from celerylint.sources import Skip, SourceFile

BUILD_TIMEOUT = 120
NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
#: Kustomization keys that name other files or folders.
REFERENCES = ("resources", "bases", "components")
PATCHES = ("patchesStrategicMerge", "patches", "patchesJson6902")


@dataclass
class Built:
    """What building the overlays gave: generated sources and maps, the files they replace."""

    generated: list[SourceFile] = field(default_factory=list)
    maps: list[SourceMap] = field(default_factory=list)
    replaced: set[str] = field(default_factory=set)  # absolute paths of the files used
    notices: list[Skip] = field(default_factory=list)


def engine() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def build(kustomizations: list, documents: list, patches: set[str], scope,
          overlay: dict | None = None) -> Built:
    """Build the top kustomizations; ``documents`` are every YAML document read (bases and
    ``patches``), by which built objects are traced back to their files."""
    out = Built()
    by_dir = {os.path.dirname(k.source.abspath): k for k in kustomizations if k.source.abspath}
    used = {target for k in by_dir.values() for target in _references(k)}
    tops = [k for d, k in sorted(by_dir.items()) if d not in used]
    overlays = [k for k in tops if _is_overlay(k, by_dir)]
    if not overlays:
        return out
    command = engine()
    if command is None:
        out.notices.append(Skip(overlays[0].source.path, "kustomize overlays were not applied: "
                                "their bases are checked as written (install kustomize or "
                                "kubectl to check the overlays)"))
        return out
    origins = _origins(documents, patches)
    for kustomization in overlays:
        reason = _needs_network(kustomization)
        if reason:
            out.notices.append(Skip(kustomization.source.path, f"not built ({reason}): its "
                                    "files are checked as written"))
            continue
        files, used = _files(kustomization, by_dir, documents, scope)
        text = _run(command, kustomization, files, scope, out, overlay or {})
        if text is None:
            continue
        label = os.path.relpath(os.path.dirname(kustomization.source.abspath)) \
            if len(overlays) > 1 else ""
        generated = SourceFile(f"{kustomization.source.path}@built", src.YAML, text, None,
                               project=kustomization.source.project + (f"@{label}" if label else ""))
        out.generated.append(generated)
        out.maps.append(KustomizeMap(generated, origins, kustomization.source, label))
        out.replaced |= used
    return out


def _references(kustomization) -> list[str]:
    base = os.path.dirname(kustomization.source.abspath)
    found = []
    for key in REFERENCES:
        entries = kustomization.data.get(key)
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, str) and "://" not in entry:
                found.append(os.path.normpath(os.path.join(base, entry)))
    return found


def _is_overlay(kustomization, by_dir: dict) -> bool:
    """A kustomization that changes what it uses: patches, name prefixes, replicas, images ...
    (one that only lists files builds them unchanged: nothing to do)."""
    data = kustomization.data
    changes = set(data) - {"apiVersion", "kind", "resources", "namespace"}
    return bool(changes) or any(r in by_dir for r in _references(kustomization))


def _needs_network(kustomization) -> str:
    data = kustomization.data
    if data.get("helmCharts") or data.get("helmChartInflationGenerator"):
        return "it inflates Helm charts"
    for key in REFERENCES:
        for entry in data.get(key) if isinstance(data.get(key), list) else []:
            if isinstance(entry, str) and ("://" in entry or "?ref=" in entry or
                                           entry.startswith(("github.com/", "git@"))):
                return "remote resources"
    return ""


def _files(kustomization, by_dir: dict, documents: list, scope) -> tuple[set[str], set[str]]:
    """The files to copy for a build (every YAML file of the kustomization folders it reaches,
    and the kustomizations), and the resource files it really uses (their objects are then
    checked as built: a file the kustomization does not list stays checked as written)."""
    folders, used, stack = set(), set(), [os.path.dirname(kustomization.source.abspath)]
    while stack:
        folder = stack.pop()
        if folder in folders or not scope.contains(folder):
            continue
        folders.add(folder)
        for target in _references(by_dir[folder]) if folder in by_dir else ():
            if os.path.isdir(target):
                stack.append(target)
            else:
                used.add(target)
    copied = {d.source.abspath for d in documents if d.source.abspath and
              os.path.dirname(d.source.abspath) in folders}
    copied |= {os.path.join(f, n) for f in folders for n in NAMES
               if os.path.isfile(os.path.join(f, n))}
    return copied, used


def _run(command: list[str], kustomization, files: set[str], scope, out: Built,
         overlay: dict) -> str | None:
    """The built objects, from a copy of the files read (a reference out of the tree fails),
    with the edits of ``--fix`` passes in memory."""
    root = os.path.commonpath(list(files) + [os.path.dirname(kustomization.source.abspath)])
    root = root if os.path.isdir(root) else os.path.dirname(root)
    scratch = tempfile.mkdtemp(prefix="celerylint-kustomize-")
    try:
        for path in files:
            edited = overlay.get(path)
            data = edited.encode(edited.text, edited.eols) if edited is not None else \
                src.read_bytes(path, src.DEFAULT_MAX_FILE_SIZE) if scope.contains(path) else None
            if isinstance(data, bytes):
                target = Path(scratch, os.path.relpath(path, root))
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        folder = os.path.join(scratch, os.path.relpath(os.path.dirname(kustomization.source.abspath),
                                                        root))
        done = subprocess.run(command + [folder], capture_output=True, text=True,
                              timeout=BUILD_TIMEOUT, cwd=scratch)
    except (OSError, subprocess.TimeoutExpired) as exc:
        out.notices.append(Skip(kustomization.source.path, f"not built ({exc})"))
        return None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if done.returncode != 0:
        error = (done.stderr.strip().splitlines() or ["failed"])[-1].replace(scratch, ".")
        out.notices.append(Skip(kustomization.source.path, f"not built ({error[:200]}): its files "
                                "are checked as written"))
        return None
    return done.stdout


def _origins(documents: list, patches: set[str]) -> dict[tuple[str, str], list]:
    """Documents by (kind, name): a base resource first, then the patches that name it."""
    found: dict[tuple[str, str], list] = {}
    for doc in documents:
        data = doc.data
        if isinstance(data, YMap) and isinstance(data.get("kind"), str):
            metadata = data.get("metadata")
            name = metadata.get("name") if isinstance(metadata, dict) else None
            if isinstance(name, str):
                patch = os.path.normpath(doc.source.abspath or "") in patches
                found.setdefault((data["kind"], name), []).append((doc, patch))
    for entries in found.values():
        entries.sort(key=lambda item: item[1])  # the base before its patches
    return found


class KustomizeMap(SourceMap):
    """A built overlay's fields, moved to the base or patch file that writes them."""

    def __init__(self, generated: SourceFile, origins: dict, kustomization: SourceFile,
                 label: str) -> None:
        self.generated = generated.path
        self.real = kustomization.path
        self.label = label
        self.kustomization = kustomization
        self.origins = origins
        self.documents = [d for d in yamlnodes.load(generated) if isinstance(d, yamlnodes.Document)]

    def _locate(self, span: Span) -> tuple[SourceFile, Any, Any] | None:
        """The file and position that write the field at ``span`` in the built text, and the
        field's position there: a kustomization transformer (``replicas``, ``images``), else the
        last patch that sets it, else the base."""
        doc = next((d for d in self.documents if d.pos[0] <= span.line <= d.pos[2]), None)
        if doc is None or not isinstance(doc.data, YMap):
            return None
        path = _path_at(doc.data, span.line, span.column)
        here = _position(doc.data, path)
        transformer = self._transformer(doc.data, path)
        if transformer is not None:
            return self.kustomization, transformer, here
        kind = doc.data.get("kind")
        name = doc.data.get("metadata", {}).get("name") if isinstance(doc.data.get("metadata"), dict) else None
        candidates = [entries for (k, n), entries in self.origins.items()
                      if k == kind and isinstance(name, str) and n in name]
        if not candidates:
            return None
        entries = max(candidates, key=lambda e: len(e[0][0].data["metadata"]["name"]))
        for depth in range(len(path), -1, -1):  # the deepest field some origin writes
            for origin, _ in reversed(entries):
                pos = _position(origin.data, path[:depth])
                if pos is not None:
                    return origin.source, pos, here if depth == len(path) else None
        return None

    def _transformer(self, data: YMap, path: list):
        """The position of the kustomization entry that sets a field: ``replicas`` for
        ``spec.replicas``, ``images`` for a container's ``image``."""
        name = data.get("metadata", {}).get("name", "") if isinstance(data.get("metadata"), dict) else ""
        kustomization = next((d for d in yamlnodes.load(self.kustomization)
                              if isinstance(d, yamlnodes.Document)), None)
        entries, field_ = (None, None)
        if path == ["spec", "replicas"]:
            entries, field_ = kustomization.data.get("replicas") if kustomization else None, "count"
            match = lambda e: isinstance(name, str) and name.endswith(str(e.get("name")))  # noqa: E731
        elif path and path[-1] == "image":
            entries, field_ = kustomization.data.get("images") if kustomization else None, "newTag"
            image = str(_value(data, path) or "")
            match = lambda e: image.split(":")[0].split("@")[0].endswith(  # noqa: E731
                str(e.get("newName") or e.get("name")))
        for index, entry in enumerate(entries if isinstance(entries, YList) else []):
            if isinstance(entry, YMap) and match(entry):
                key = field_ if field_ in entry else next(iter(entry), None)
                return entry.key_pos[key][:2] + entry.value_pos[key][2:] if key else entries.item_pos[index]
        return None

    def span(self, span: Span) -> Span:
        found = self._locate(span)
        if found is None:
            return Span(self.kustomization.path, 1, 1, 1, 1)
        return Span(found[0].path, *found[1])

    def edit(self, edit: Edit) -> Edit | None:
        """An edit inside a one-line scalar whose value the origin file writes as it is (kustomize
        re-quotes what it prints, so the values are compared without their quotes)."""
        found = self._locate(edit.span)
        if found is None or found[2] is None or edit.span.line != edit.span.end_line:
            return None
        source, pos, here = found
        built = self.documents[0].source if self.documents else None
        if built is None:
            return None
        origin = _scalar_text(source, pos)
        rendered = _scalar_text(built, here)
        if origin is None or rendered is None or origin[2] != rendered[2] or \
                not rendered[0] <= edit.start <= edit.end <= rendered[1]:
            return None
        shift = origin[0] - rendered[0]
        start, end = edit.start + shift, edit.end + shift
        return Edit(source.path, start, end, edit.content,
                    Span(source.path, *source.position(start), *source.position(end)))


def _path_at(node: Any, line: int, column: int) -> list:
    """The keys and indexes leading to the innermost node written at (line, column)."""
    path: list = []
    while True:
        step = None
        if isinstance(node, YMap):
            for key in node:
                kp, vp = node.key_pos[key], node.value_pos[key]
                if (kp[0], kp[1]) <= (line, column) < (vp[2], vp[3]) or kp[0] == line:
                    step = key
                    break
        elif isinstance(node, YList):
            for index, pos in enumerate(node.item_pos):
                if (pos[0], pos[1]) <= (line, column) < (pos[2], pos[3]) or pos[0] == line:
                    step = index
                    break
        if step is None:
            return path
        path.append(_name_of(node, step))
        node = node[step]


def _name_of(node: Any, step) -> Any:
    """A list item of a named object (a container, a volume) is found by its name, as patches
    merge them."""
    if isinstance(node, YList) and isinstance(node[step], dict) and isinstance(node[step].get("name"), str):
        return ("name", node[step]["name"])
    return step


def _position(node: Any, path: list):
    """The position of the node at ``path`` in an origin document, or None."""
    pos = getattr(node, "pos", None)
    for step in path:
        if isinstance(step, tuple) and isinstance(node, YList):
            index = next((i for i, item in enumerate(node)
                          if isinstance(item, dict) and item.get("name") == step[1]), None)
            if index is None:
                return None
            pos, node = node.item_pos[index], node[index]
        elif isinstance(node, YMap) and step in node:
            pos, node = node.key_pos[step][:2] + node.value_pos[step][2:], node[step]
        elif isinstance(node, YList) and isinstance(step, int) and step < len(node):
            pos, node = node.item_pos[step], node[step]
        else:
            return None
    return pos


def _value(node: Any, path: list) -> Any:
    for step in path:
        if isinstance(step, tuple) and isinstance(node, list):
            node = next((i for i in node if isinstance(i, dict) and i.get("name") == step[1]), None)
        elif isinstance(node, (dict, list)):
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                return None
        else:
            return None
    return node


def _scalar_text(source: SourceFile, pos) -> tuple[int, int, str] | None:
    """The offsets and text of the one-line scalar value at the end of ``pos`` (after a
    ``key:``, without its quotes), or None."""
    if pos[0] != pos[2]:
        return None
    start, end = source.offset(pos[0], pos[1]), source.offset(pos[2], pos[3])
    text = source.text[start:end]
    if ":" in text and not text.lstrip().startswith(("'", '"')):
        key, _, value = text.partition(":")
        start += len(key) + 1
        text = value
    lead = len(text) - len(text.lstrip())
    start, text = start + lead, text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        start, text = start + 1, text[1:-1]
        if "\\" in text or "''" in text:
            return None  # escapes: the offsets would not match the value
    return start, start + len(text), text
