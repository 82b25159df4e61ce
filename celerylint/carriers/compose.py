"""docker-compose projects: which files Compose reads together, and the layers of each service.

Facts (Compose Specification and compose-go, ``../shared/reference/carriers.md`` §1):
- in a directory, the main file is the first of ``compose.yaml``, ``compose.yml``,
  ``docker-compose.yml``, ``docker-compose.yaml``, and the override file, chosen on its own, the
  first of the ``*.override.*`` names; both are read together. Other compose files
  (``docker-compose.prod.yml``) are projects of their own here, unless the configuration
  (``[tool.celerylint.compose] projects``) lists files to read together, as ``-f`` would;
- variables come from the ``.env`` of the project directory (the first file's), and each file is
  interpolated before anything is merged (interpolation happens as values are read, here);
- ``extends`` is resolved in each file before files are merged; ``include`` loads another
  project (its own directory and ``.env``) whose services join this one;
- YAML anchors and ``<<`` merge keys are file-local (the loader resolves them, and a merged key
  keeps the position of the anchor that writes it); ``x-`` keys are ignored.

A service is kept as its *layers*: its mapping in each file that writes it (an ``extends`` base
first, an override last). ``model/compose.py`` reads each field through the layers with
Compose's merge rules, so every value keeps the file and line that really writes it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Callable

from celerylint.carriers.compose_env import Variables, interpolate, parse_env_file
from celerylint.parse import yamlnodes
from celerylint.parse.yamlnodes import Pos, YMap
from celerylint.sources import YAML, Skip, SourceFile

#: The kind of source of ``.env`` and ``env_file`` files.
ENV = "env"
MAIN_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_NAMES = ("compose.override.yml", "compose.override.yaml",
                  "docker-compose.override.yml", "docker-compose.override.yaml")
TOP_LEVEL_KEYS = frozenset({"version", "name", "include", "services", "networks", "volumes",
                            "secrets", "configs", "models"})
#: Keys one of which a mapping under ``services`` must have to be taken for a compose service
#: when the file's name does not say it is a compose file.
SERVICE_KEYS = frozenset({"image", "build", "command", "entrypoint", "environment", "ports",
                          "volumes", "depends_on", "extends", "deploy", "healthcheck", "restart",
                          "env_file", "networks", "container_name", "working_dir", "expose",
                          "profiles", "labels", "links", "user", "read_only", "tmpfs"})
_NAME = re.compile(r"(docker-)?compose([._-][^/]*)?\.ya?ml", re.I)
#: A remote resource (``git@...``, ``oci://...``, a resource loader's ``name:...``), never read.
_REMOTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:|git@")
#: ``extends`` chains and nested ``include``\\ s followed at most.
MAX_DEPTH = 10

#: Reads a file of the checked tree as a kind of source (a Skip when refused).
Reader = Callable[[str, str], "SourceFile | Skip | None"]


@dataclass
class Layer:
    """A service's mapping in one file, with what its values are read against."""

    source: SourceFile
    data: YMap
    key_pos: Pos  # the service's key in that file
    variables: Variables
    directory: str  # relative paths (build, env_file, bind mounts) resolve against it
    base: bool = False  # an ``extends`` base, under the service that extends it

    def tagged(self, key: str, tag: str) -> bool:
        return tagged(self.source, self.data, key, tag)


@dataclass
class Service:
    name: str
    layers: list[Layer] = field(default_factory=list)

    @property
    def home(self) -> Layer:
        """The layer of the file that defines the service (not an ``extends`` base)."""
        return next((layer for layer in self.layers if not layer.base), self.layers[-1])


@dataclass
class Project:
    """Files Compose reads together, and their services."""

    files: list[SourceFile]
    directory: str
    variables: Variables
    services: dict[str, Service] = field(default_factory=dict)
    env_files: list[SourceFile] = field(default_factory=list)  # .env and env_file files read
    notices: list[Skip] = field(default_factory=list)  # files its services name and cannot read
    external_networks: bool = False  # names may resolve to containers of other projects
    alone: bool = False  # other compose files of its directory may be run with it (-f)

    @property
    def open_names(self) -> bool:
        """Whether host names may resolve to services of files not in the project."""
        return self.external_networks or self.alone

    @property
    def label(self) -> str:
        return " + ".join(f.path for f in self.files)


def tagged(source: SourceFile, mapping: YMap, key: str, tag: str) -> bool:
    """Whether the value of ``key`` is written with a YAML tag (``!reset``, ``!override``), which
    the loader reads as the plain value."""
    pos = mapping.value_pos.get(key)
    return pos is not None and source.text.startswith(tag, source.offset(pos[0], pos[1]))


def is_compose(doc: yamlnodes.Document) -> bool:
    """A compose file: a mapping of compose's top-level keys (and ``x-`` ones), named like one
    or with services that look like compose services (never a Kubernetes object)."""
    data = doc.data
    if not isinstance(data, YMap) or not data or \
            (isinstance(data.get("kind"), str) and isinstance(data.get("apiVersion"), str)):
        return False
    if any(not isinstance(k, str) or (k not in TOP_LEVEL_KEYS and not k.startswith("x-"))
           for k in data):
        return False
    if is_compose_name(os.path.basename(doc.source.path)):
        return True
    services = data.get("services")
    return isinstance(services, dict) and any(
        isinstance(s, dict) and SERVICE_KEYS.intersection(s) for s in services.values())


def is_compose_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name))


class Loader:
    """Builds projects from the compose files read in the tree, reading what they refer to."""

    def __init__(self, read: Reader, notices: list[Skip]) -> None:
        self.read = read
        self.notices = notices
        self.documents: dict[str, YMap | None] = {}  # by absolute path
        self.sources: dict[str, SourceFile] = {}
        self.referenced: set[str] = set()  # files another file extends or includes
        self.project_files: set[str] = set()  # files read as (part of) a project

    # -- files -----------------------------------------------------------------------------------
    def add(self, doc: yamlnodes.Document) -> None:
        path = doc.source.abspath or doc.source.path
        self.documents.setdefault(path, doc.data)
        self.sources.setdefault(path, doc.source)

    def load(self, path: str, why: str, source: SourceFile | None = None,
             line: int | None = None) -> tuple[SourceFile, YMap] | None:
        """A compose file by absolute path (read once); a notice at ``source:line`` when it
        cannot be read."""
        if path not in self.documents:
            result = self.read(path, YAML)
            data = None
            if isinstance(result, SourceFile):
                self.sources[path] = result
                docs = [d for d in yamlnodes.load(result) if isinstance(d, yamlnodes.Document)]
                data = docs[0].data if docs and isinstance(docs[0].data, YMap) else None
                if data is None and source is not None:
                    self._notice(source, line, f"{why} {result.path}: not a compose file "
                                 "that can be read")
            elif source is not None:
                reason = result.reason if isinstance(result, Skip) else "no such file"
                self._notice(source, line, f"{why} {path}: {reason}")
            self.documents[path] = data
        data = self.documents[path]
        return (self.sources[path], data) if data is not None else None

    def _notice(self, source: SourceFile, line: int | None, reason: str) -> None:
        self.notices.append(Skip(source.path, reason, line))

    def variables(self, directory: str) -> tuple[Variables, SourceFile | None]:
        """The ``.env`` of a project directory (missing: no variables)."""
        path = os.path.join(directory, ".env")
        result = self.read(path, ENV) if os.path.isfile(path) else None
        if not isinstance(result, SourceFile):
            return Variables(), None
        return Variables({a.name: a.value for a in parse_env_file(result.text)}), result

    # -- projects --------------------------------------------------------------------------------
    def projects(self, groups: list[list[str]]) -> list[Project]:
        """Projects of the compose files added: the configured groups, then per directory the
        main and override files read together, then every other compose file alone."""
        walked = list(self.documents)
        for path in walked:
            if self.documents[path] is not None:
                self._references(path, self.documents[path])
        done: set[str] = set()
        found: list[Project] = []
        for group in groups:
            present = [p for p in group if os.path.isfile(p)]
            if any(p in self.documents for p in present):
                found.append(self.project(present))
                done.update(present)
        by_directory: dict[str, list[str]] = {}
        for path in walked:
            if path not in done and path not in self.referenced:
                by_directory.setdefault(os.path.dirname(path), []).append(path)
        for directory, paths in by_directory.items():
            pair = [p for p in (_first(directory, MAIN_NAMES), _first(directory, OVERRIDE_NAMES))
                    if p is not None and p not in done]
            if any(p in paths for p in pair):
                found.append(self.project(pair))
                found[-1].alone = _others(directory, pair)
                done.update(pair)
            for path in paths:
                if path not in done and self.documents.get(path) is not None:
                    found.append(self.project([path]))
                    found[-1].alone = _others(directory, [path])
                    done.add(path)
        return found

    def _references(self, path: str, data: YMap) -> None:
        """Files this one includes or extends from: parts of its project, not projects."""
        directory = os.path.dirname(path)
        for entry in _include_entries(data):
            for item in entry[0]:
                self.referenced.add(os.path.normpath(os.path.join(directory, item)))
        services = data.get("services")
        for service in services.values() if isinstance(services, dict) else ():
            extends = service.get("extends") if isinstance(service, dict) else None
            if isinstance(extends, dict) and isinstance(extends.get("file"), str) and \
                    "$" not in extends["file"]:
                self.referenced.add(os.path.normpath(os.path.join(directory, extends["file"])))

    def project(self, paths: list[str], depth: int = 0) -> Project:
        directory = os.path.dirname(paths[0])
        variables, dotenv = self.variables(directory)
        loaded = [(p, self.load(p, "compose file")) for p in paths]
        self.project_files.update(p for p, found in loaded if found is not None)
        project = Project([x[1][0] for x in loaded if x[1] is not None], directory, variables)
        if dotenv is not None:
            project.env_files.append(dotenv)
        for path, found in loaded:
            if found is None:
                continue
            source, data = found
            self._include(project, source, data, depth)
            networks = data.get("networks")
            if isinstance(networks, dict) and any(
                    isinstance(n, dict) and n.get("external") not in (None, False)
                    for n in networks.values()):
                project.external_networks = True
            services = data.get("services")
            if not isinstance(services, YMap):
                continue
            for name, service in services.items():
                if isinstance(name, str) and tagged(source, services, name, "!reset"):
                    project.services.pop(name, None)  # `name: !reset null` removes the service
                    continue
                if not isinstance(name, str) or not isinstance(service, YMap):
                    continue
                layer = Layer(source, service, services.key_pos[name], variables,
                              os.path.dirname(path))
                layers = self._extends(layer, services, depth=0, seen=set())
                project.services.setdefault(name, Service(name)).layers.extend(layers)
        return project

    def _include(self, project: Project, source: SourceFile, data: YMap, depth: int) -> None:
        """``include``: each entry is a project of its own whose services join this one."""
        directory = os.path.dirname(source.abspath or source.path)
        for paths, line in _include_entries(data):
            if depth >= MAX_DEPTH:
                self._notice(source, line, f"include nested more than {MAX_DEPTH} deep: not read")
                return
            paths = [interpolate(p, project.variables).text for p in paths]
            if any(_REMOTE.match(p) for p in paths):
                self._notice(source, line, "include of a remote project (git, OCI): not read")
                continue
            resolved = [os.path.normpath(os.path.join(directory, p)) for p in paths]
            for path in resolved:
                self.load(path, "include", source, line)
            readable = [p for p in resolved if self.documents.get(p) is not None]
            if not readable:
                continue
            included = self.project(readable, depth + 1)
            project.env_files.extend(included.env_files)
            project.external_networks = project.external_networks or included.external_networks
            for name, service in included.services.items():
                mine = project.services.setdefault(name, Service(name))
                mine.layers[:0] = service.layers

    def _extends(self, layer: Layer, services: YMap, depth: int, seen: set) -> list[Layer]:
        """The layers of a service with those it extends first (``extends: name`` or
        ``{service, file}``)."""
        extends = layer.data.get("extends")
        if extends is None:
            return [layer]
        line = layer.data.key_pos["extends"][0] if "extends" in layer.data.key_pos else None
        if isinstance(extends, str):
            name, file = extends, None
        elif isinstance(extends, dict) and isinstance(extends.get("service"), str):
            name = extends["service"]
            file = extends.get("file") if isinstance(extends.get("file"), str) else None
        else:
            return [layer]
        key = (layer.source.abspath, id(services), name, file)
        if depth >= MAX_DEPTH or key in seen:
            self._notice(layer.source, line, "extends: a cycle or a chain deeper than "
                         f"{MAX_DEPTH}: the base is not read")
            return [layer]
        seen.add(key)
        source, base_services, directory = layer.source, services, layer.directory
        if file is not None:
            file = interpolate(file, layer.variables).text
            if _REMOTE.match(file):
                self._notice(layer.source, line, f"extends from a remote file ({file}): not read")
                return [layer]
            path = os.path.normpath(os.path.join(layer.directory, file))
            found = self.load(path, "extends", layer.source, line)
            if found is None:
                return [layer]
            source, data = found
            base_services = data.get("services")
            directory = os.path.dirname(path)
        base = base_services.get(name) if isinstance(base_services, YMap) else None
        if not isinstance(base, YMap):
            self._notice(layer.source, line, f"extends: no service '{name}' in {source.path}")
            return [layer]
        base_layer = Layer(source, base, base_services.key_pos[name], layer.variables,
                           directory, base=True)
        bases = self._extends(base_layer, base_services, depth + 1, seen)
        for item in bases:
            item.base = True
        return bases + [layer]


def _others(directory: str, members: list[str]) -> bool:
    """Whether compose files other than ``members`` sit in the directory (they may be run with
    them through ``-f``)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return False
    return any(is_compose_name(n) and os.path.join(directory, n) not in members for n in names)


def _first(directory: str, names: tuple[str, ...]) -> str | None:
    for name in names:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    return None


def _include_entries(data: YMap) -> list[tuple[list[str], int]]:
    """``(paths, line)`` of each ``include`` entry (short or long syntax)."""
    entries = data.get("include")
    found = []
    if not isinstance(entries, list):
        return found
    for entry, pos in zip(entries, getattr(entries, "item_pos", [])):
        paths = entry.get("path") if isinstance(entry, dict) else entry
        if isinstance(paths, str):
            paths = [paths]
        if isinstance(paths, list) and all(isinstance(p, str) for p in paths):
            found.append((paths, pos[0]))
    return found

