"""Compose services as workloads: one container each, read through the service's layers.

Compose's rules (Compose Specification 05-services.md and 13-merge.md, the engine's behaviour
from moby and compose-go, ``../shared/reference/carriers.md`` §1):
- a later layer (an override file, the service over its ``extends`` base) wins key by key, and
  mappings (``deploy``, ``healthcheck``, ``build``, ``environment``) merge key by key;
  ``command``, ``entrypoint`` and ``healthcheck.test`` are replaced whole; ``volumes`` merge by
  target; ``tmpfs`` and ``env_file`` lists add up; ``!reset`` removes a value;
- ``entrypoint`` replaces the image's ENTRYPOINT and drops its CMD; ``command`` alone replaces
  the CMD; a string is split into argv by Compose (``parse/shellwords.py``), never run by a shell;
- ``scale`` else ``deploy.replicas`` is the number of containers; ``deploy.resources.limits``
  (or the legacy ``cpus``/``mem_limit``) are applied without Swarm;
- a failing ``healthcheck`` restarts nothing: it only holds back ``depends_on`` with
  ``condition: service_healthy``; ``init: true`` puts docker-init (tini, without ``-g``) first.
"""

from __future__ import annotations

import os
import re
from typing import Any

from celerylint.carriers.compose import ENV, Layer, Project, Service
from celerylint.carriers.compose_env import Interpolated, interpolate, parse_env_file
from celerylint.diagnostics import Span
from celerylint.model import Container, EnvVar, Mount, Probe, Volume, Workload
from celerylint.model import compose_argv, compose_facts
from celerylint.parse import celery_cli, shell
from celerylint.parse.yamlnodes import YList, YMap
from celerylint.sources import Skip, SourceFile

#: Docker's healthcheck defaults (moby ``daemon/health.go``): interval 30 s, timeout 30 s,
#: retries 3, start_period 0.
HEALTHCHECK_DEFAULTS = {"interval": 30, "timeout": 30, "retries": 3, "start_period": 0}


def workloads(project: Project, read) -> list[Workload]:
    """One workload per service of the project; ``read(path, kind)`` reads files of the tree
    (env files, bind-mounted configuration)."""
    names: dict[str, set[str]] = {}
    waiting: dict[str, list[str]] = {}
    for name, service in project.services.items():
        names[name] = _hostnames(name, service)
        for needed in _healthy_dependencies(service):
            waiting.setdefault(needed, []).append(name)
    found = []
    for name, service in project.services.items():
        found.append(_workload(project, service, names[name], waiting.get(name, []), read))
        _read_named_files(found[-1].containers[0], read)
    # a service that only names the image another service builds runs that build
    built = {c.image: c.build for w in found for c in w.containers if c.build and c.image}
    for workload in found:
        container = workload.containers[0]
        if container.build is None and container.image in built:
            container.build = built[container.image]
    return found


def _read_named_files(container: Container, read) -> None:
    """Read the bind-mounted files of the tree that the command line names (a ``redis.conf``
    given to ``redis-server``): configuration rules read them."""
    for mount in container.mounts:
        path = mount.host_path
        if path is None or not any(mount.path in item for item in container.argv):
            continue
        for item in container.argv:
            for word in item.split():
                if word == mount.path or word.startswith(mount.path.rstrip("/") + "/"):
                    host = os.path.normpath(path + word[len(mount.path):])
                    result = read(host) if os.path.isfile(host) else None
                    if isinstance(result, SourceFile):
                        mount.content = result
                        return


class _Fields:
    """A service's values through its layers, the last layer that writes a key winning."""

    def __init__(self, service: Service) -> None:
        self.layers = service.layers

    def last(self, *path: str) -> tuple[Any, YMap, Layer] | None:
        """The value at ``path`` from the last layer that writes it, with its mapping."""
        for layer in reversed(self.layers):
            node: Any = layer.data
            for key in path[:-1]:
                node = node.get(key) if isinstance(node, YMap) else None
            if isinstance(node, YMap) and path[-1] in node:
                if node is layer.data and layer.tagged(path[-1], "!reset"):
                    return None
                return node[path[-1]], node, layer
        return None

    def text(self, *path: str) -> tuple[Interpolated, YMap, Layer] | None:
        found = self.last(*path)
        if found is None or found[0] is None or isinstance(found[0], (dict, list)):
            return None
        return interpolate(str(found[0]), found[2].variables), found[1], found[2]

    def flag(self, *path: str) -> tuple[bool, YMap, Layer] | None:
        found = self.text(*path)
        if found is None or found[0].dynamic:
            return None
        return found[0].text.lower() in ("true", "1", "yes"), found[1], found[2]

    def layered(self, key: str):
        """``(value, layer)`` of each layer that writes ``key``, from the last ``!reset`` on."""
        found = []
        for layer in self.layers:
            if key in layer.data:
                if layer.tagged(key, "!reset") or layer.tagged(key, "!override"):
                    found = []
                if not layer.tagged(key, "!reset"):
                    found.append((layer.data[key], layer))
        return found


def _span(layer: Layer, pos) -> Span:
    return Span(layer.source.path, *pos)


def _workload(project: Project, service: Service, hostnames: set[str], waiting: list[str],
              read) -> Workload:
    fields = _Fields(service)
    home = service.home
    replicas, replicas_at = _replicas(fields)
    profiles = fields.last("profiles")
    workload = Workload(
        kind="ComposeService", name=service.name, namespace=f"compose:{project.label}",
        replicas=replicas, span=_span(home, home.key_pos), source=home.source, data=home.data,
        carrier="compose", replicas_at=replicas_at,
        profiles=tuple(str(p) for p in profiles[0]) if profiles and isinstance(profiles[0], list)
        else (), hostnames=frozenset(hostnames), network_open=project.open_names)
    image = fields.text("image")
    env, env_open = _environment(fields, project, read)
    argv, dynamic, origin, from_command = compose_argv.argv(fields, workload.span)
    try:
        commands = shell.commands_of(argv, dynamic)
    except shell.ShellSyntaxError:
        commands = None
    for command in commands or []:
        command.origin = origin
    read_only = fields.flag("read_only")
    working_dir = fields.text("working_dir")
    network_mode = fields.text("network_mode")
    restart = fields.text("restart")
    container = Container(
        name=service.name, image=image[0].text if image else None,
        argv=argv, argv_dynamic=dynamic, argv_from_command=from_command, commands=commands,
        celery=celery_cli.invocations(commands or []),
        working_dir=working_dir[0].text if working_dir and not working_dir[0].dynamic else None,
        env=env, env_open=env_open, env_from_secret=False, mounts=_mounts(fields),
        read_only_root=bool(read_only and read_only[0]), limits=_limits(fields),
        probes=_healthcheck(fields, waiting), span=workload.span, workload=workload,
        data=home.data, build=_build(fields),
        init_process="docker-init" if (fields.flag("init") or (False,))[0] else None,
        read_only_how="read_only: true",
        network_mode=network_mode[0].text if network_mode else None,
        restart=restart[0].text if restart and not restart[0].dynamic else "no",
        resolves=frozenset(_resolves(fields)),
    )
    container.ports = compose_facts.ports(fields)
    workload.stop_grace = compose_facts.stop_grace(fields, home)
    workload.containers.append(container)
    for mount in container.mounts:
        if mount.volume is not None:
            workload.volumes.setdefault(mount.volume.name, mount.volume)
    return workload


def _replicas(fields: _Fields):
    for path, shown in ((("scale",), "scale"), (("deploy", "replicas"), "deploy.replicas")):
        found = fields.text(*path)
        if found is not None and found[0].text.isdigit():
            return int(found[0].text), (found[2].source, found[1], path[-1], shown)
    return None, None


# -- environment ---------------------------------------------------------------------------------

def _environment(fields: _Fields, project: Project, read):
    """``env_file`` files, then ``environment``, layer by layer: (variables, env_open)."""
    env: dict[str, EnvVar] = {}
    env_open = False
    for value, layer in fields.layered("env_file"):
        for path, required in _env_files(value, layer):
            source = read(path, ENV) if os.path.isfile(path) else None
            if not isinstance(source, SourceFile):
                env_open = env_open or required
                if source is not None:  # refused: outside the tree, too large, unreadable
                    notice = Skip(layer.source.path, f"env_file {path}: {source.reason}",
                                  layer.data.key_pos["env_file"][0])
                    if notice not in project.notices:
                        project.notices.append(notice)
                continue
            if source not in project.env_files:
                project.env_files.append(source)
            for item in parse_env_file(source.text, layer.variables):
                env[item.name] = EnvVar(item.name, item.value, Span(
                    source.path, item.line, item.column, item.line, item.end_column))
    for value, layer in fields.layered("environment"):
        if isinstance(value, YMap):
            for name, raw in value.items():
                env[str(name)] = EnvVar(str(name), _env_value(raw, str(name), layer),
                                        _span(layer, value.key_pos[name]))
        elif isinstance(value, YList):
            for item, pos in zip(value, value.item_pos):
                if isinstance(item, str) and item:
                    name, eq, raw = item.partition("=")
                    env[name] = EnvVar(name, _env_value(raw if eq else None, name, layer),
                                       _span(layer, pos))
    return env, env_open


def _env_value(raw: Any, name: str, layer: Layer) -> str | None:
    """A variable's value; ``NAME`` without one takes the shell's (or ``.env``'s) value."""
    if raw is None:
        return layer.variables.get(name)
    if isinstance(raw, bool):
        raw = "true" if raw else "false"
    done = interpolate(str(raw), layer.variables)
    return None if done.dynamic else done.text


def _env_files(value: Any, layer: Layer) -> list[tuple[str, bool]]:
    entries = value if isinstance(value, list) else [value]
    found = []
    for entry in entries:
        path, required = entry, True
        if isinstance(entry, dict):
            path, required = entry.get("path"), entry.get("required") is not False
        if isinstance(path, str):
            done = interpolate(path, layer.variables)
            if not done.dynamic:
                found.append((os.path.normpath(os.path.join(layer.directory, done.text)),
                               required))
    return found


# -- filesystem ------------------------------------------------------------------------------------

def _mounts(fields: _Fields) -> list[Mount]:
    """``volumes`` (merged by target, the last layer winning) and ``tmpfs`` (added up)."""
    by_target: dict[str, Mount] = {}
    for value, layer in fields.layered("volumes"):
        for item, pos in zip(value, value.item_pos) if isinstance(value, YList) else ():
            mount = _volume(item, layer, _span(layer, pos))
            if mount is not None:
                by_target[mount.path] = mount
    for value, layer in fields.layered("tmpfs"):
        entries = list(zip(value, value.item_pos)) if isinstance(value, YList) else \
            [(value, layer.data.value_pos["tmpfs"])] if isinstance(value, str) else []
        for item, pos in entries:
            if isinstance(item, str) and item.startswith("/"):
                target = item.split(":", 1)[0]
                where = _span(layer, pos)
                by_target[target] = Mount(target, target, False, None, where,
                                          Volume(target, "tmpfs", where), ":ro")
    return list(by_target.values())


def _volume(item: Any, layer: Layer, where: Span) -> Mount | None:
    if isinstance(item, str):
        done = interpolate(item, layer.variables)
        if done.dynamic:
            return None
        parts = done.text.split(":")
        if len(parts) == 1:
            source, target, mode = "", parts[0], ""
        else:
            source, target = parts[0], parts[1]
            mode = parts[2] if len(parts) > 2 else ""
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        read_only = "ro" in mode.split(",")
    elif isinstance(item, dict) and isinstance(item.get("target"), str):
        source, target = str(item.get("source") or ""), item["target"]
        kind = str(item.get("type") or "volume")
        read_only = item.get("read_only") is True
    else:
        return None
    if not target.startswith("/"):
        return None
    host = None
    if kind == "bind" and not source.startswith("~"):
        host = os.path.normpath(os.path.join(layer.directory, source))
    name = source or target
    return Mount(name, target, read_only, None, where, Volume(name, kind, where),
                 ":ro" if isinstance(item, str) else "read_only: true", host)


# -- resources, probes, build --------------------------------------------------------------------

def _limits(fields: _Fields) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    for key, paths in (("cpu", (("deploy", "resources", "limits", "cpus"), ("cpus",))),
                       ("memory", (("deploy", "resources", "limits", "memory"), ("mem_limit",)))):
        for path in paths:
            found = fields.text(*path)
            if found is not None and not found[0].dynamic and found[0].text not in ("", "0"):
                limits[key] = found[0].text
                break
    return limits


def _seconds(text: str) -> float | None:
    """A compose duration (``1m30s``, ``500ms``) in seconds; a healthcheck also takes a bare
    number of seconds."""
    text = text.strip()
    return float(text) if re.fullmatch(r"\d+", text) else compose_facts.duration(text)


def _healthcheck(fields: _Fields, waiting: list[str]) -> dict[str, Probe]:
    found = fields.last("healthcheck")
    if found is None or not isinstance(found[0], YMap):
        return {}
    data, layer = found[0], found[2]
    test = fields.last("healthcheck", "test")
    disabled = fields.flag("healthcheck", "disable")
    handler = "exec"
    if disabled and disabled[0]:
        handler = ""
    elif test is None or (isinstance(test[0], list) and test[0][:1] == ["NONE"]):
        handler = ""  # the image's HEALTHCHECK (unknown here) or none
    values = {}
    for key, default in HEALTHCHECK_DEFAULTS.items():
        value = fields.text("healthcheck", key)
        number = _seconds(value[0].text) if value and not value[0].dynamic and key != "retries" \
            else (int(value[0].text) if value and value[0].text.isdigit() else None)
        values[key] = int(number) if number is not None and number > 0 else default
    return {"healthcheck": Probe(
        "healthcheck", handler, values["start_period"], values["interval"], values["timeout"],
        values["retries"], Span(layer.source.path, *layer.data.key_pos["healthcheck"]), data,
        waiting=list(waiting), source=layer.source)}


def _build(fields: _Fields) -> tuple[str, str | None] | None:
    """The Dockerfile and target stage a ``build`` names, when its context is in the tree."""
    found = fields.last("build")
    if found is None or found[0] is None:
        return None
    context = fields.text("build", "context") if isinstance(found[0], YMap) else fields.text("build")
    if context is None or context[0].dynamic or "://" in context[0].text or \
            context[0].text.startswith(("git@", "github.com/")) or \
            fields.last("build", "dockerfile_inline") is not None:
        return None
    directory = os.path.join(context[2].directory, context[0].text)
    dockerfile = fields.text("build", "dockerfile") if isinstance(found[0], YMap) else None
    if dockerfile is not None and dockerfile[0].dynamic:
        return None
    target = fields.text("build", "target") if isinstance(found[0], YMap) else None
    path = os.path.join(directory, dockerfile[0].text if dockerfile else "Dockerfile")
    return os.path.normpath(path), target[0].text if target and not target[0].dynamic else None


# -- networking ------------------------------------------------------------------------------------

def _hostnames(name: str, service: Service) -> set[str]:
    """Names peers reach the service by: its name, container_name, hostname, network aliases."""
    fields = _Fields(service)
    names = {name}
    for key in ("container_name", "hostname"):
        found = fields.text(key)
        if found is not None and not found[0].dynamic:
            names.add(found[0].text)
    for networks, _ in fields.layered("networks"):
        for network in networks.values() if isinstance(networks, dict) else ():
            aliases = network.get("aliases") if isinstance(network, dict) else None
            names.update(a for a in aliases or () if isinstance(a, str))
    return names


def _resolves(fields: _Fields) -> set[str]:
    """Names only this container resolves: ``links`` aliases, ``external_links``,
    ``extra_hosts``."""
    names = set()
    for key in ("links", "external_links"):
        for value, _ in fields.layered(key):
            for entry in value if isinstance(value, list) else ():
                if isinstance(entry, str):
                    names.update(entry.split(":"))
    for value, _ in fields.layered("extra_hosts"):
        entries = value.keys() if isinstance(value, dict) else value if isinstance(value, list) \
            else ()
        for entry in entries:
            if isinstance(entry, str):
                names.add(re.split(r"[:=]", entry, maxsplit=1)[0])
    return names


def _healthy_dependencies(service: Service) -> list[str]:
    """The services this one waits for with ``condition: service_healthy``."""
    found = []
    for value, _ in _Fields(service).layered("depends_on"):
        if isinstance(value, dict):
            found += [str(name) for name, spec in value.items()
                      if isinstance(spec, dict) and spec.get("condition") == "service_healthy"]
    return found

