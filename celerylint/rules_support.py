"""Questions several rules ask of a container: where celery runs, what is writable, limits."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from celerylint.diagnostics import Span
from celerylint.model import Container, Deployment, Workload
from celerylint.parse.celery_cli import CeleryInvocation
from celerylint.parse.requirements import pip_install_args
from celerylint.parse.shell import SimpleCommand
from celerylint.sources import SourceFile


def working_directory(container: Container, invocation: CeleryInvocation) -> str | None:
    """The directory celery runs in: ``--workdir``, a ``cd`` earlier in the script, the
    container's ``workingDir``, or the WORKDIR of the image when the repository builds it. None
    when it cannot be known."""
    workdir = invocation.option("workdir")
    if workdir is not None:
        return workdir.value if workdir.value and not workdir.dynamic and \
            workdir.value.startswith("/") else None
    cwd = container.working_dir
    for command in container.commands or []:
        if command is invocation.command:
            break
        if command.words and command.words[0].text == "cd":
            target = command.words[1] if len(command.words) > 1 else None
            if target is None or target.dynamic or not target.text.startswith("/"):
                cwd = None  # cd to somewhere we cannot know
            else:
                cwd = target.text
    if cwd is None and container.launch is not None and container.launch.stage is not None:
        cwd = container.launch.stage.workdir  # the WORKDIR of the image the repository builds
    if cwd is None or "$" in cwd or not cwd.startswith("/"):
        return None
    return posixpath.normpath(cwd)


#: Working directories images conventionally use (python images' docs, cookiecutter-django ...).
CONVENTIONAL_WORKDIRS = frozenset({"/app", "/code", "/src", "/srv", "/srv/app", "/usr/src/app",
                                   "/usr/app", "/opt/app", "/var/app", "/var/www", "/home/app",
                                   "/workspace", "/workdir"})


def may_hold_workdir(container: Container, deployment: Deployment) -> bool:
    """When the working directory is unknown: whether a writable volume is mounted where the
    repository's Dockerfiles put a WORKDIR, or at a conventional one (``/app``, ``/code`` ...), so
    that it may be the image's working directory. A volume elsewhere (``/var/cache/app``) is
    not taken for it."""
    workdirs = deployment.dockerfile_workdirs | CONVENTIONAL_WORKDIRS
    return any(m.writable and any(w == posixpath.normpath(m.path) or
                                  w.startswith(posixpath.normpath(m.path).rstrip("/") + "/")
                                  for w in workdirs) for m in container.mounts)


def writable(container: Container, directory: str) -> tuple[bool, str]:
    """Whether a directory is writable in the container, and why not when it is not.

    ``/dev/shm`` is a tmpfs of its own that a read-only root filesystem does not cover."""
    if directory == "/dev/shm" or directory.startswith("/dev/shm/"):
        return True, ""
    mount = container.mount_for(directory)
    if mount is not None:
        return (True, "") if mount.writable else (False, mount.why_read_only())
    if container.read_only_root:
        return False, (f"{directory} is on the read-only root filesystem "
                       f"({container.read_only_how})")
    return True, ""


def cpu_quantity(value: object) -> float | None:
    """Kubernetes CPU quantity in cores: ``500m`` -> 0.5, ``2`` -> 2.0."""
    text = str(value).strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m?)", text)
    if not match:
        return None
    number = float(match.group(1))
    return number / 1000 if match.group(2) else number


def env_mentions(container: Container, *needles: str) -> bool:
    """True when an env var name contains one of ``needles`` (settings we cannot evaluate)."""
    return any(needle in name.upper() for name in container.env for needle in needles)


def slow_step(command: SimpleCommand) -> str | None:
    """The kind of slow start-up work a command does, as named in the estimates."""
    words = [w.text for w in command.words]
    if not words:
        return None
    name = command.words[0].name
    if pip_install_args(command) is not None:
        return "uv pip install" if name == "uv" else "pip install"
    second = words[1] if len(words) > 1 else ""
    if name == "poetry" and second in ("install", "sync"):
        return "poetry install"
    if name == "pipenv" and second in ("install", "sync"):
        return "pipenv install"
    if name == "uv" and second == "sync":
        return "uv sync"
    if name in ("apt-get", "apt") and "install" in words:
        return "apt-get install"
    if name == "apk" and second == "add":
        return "apk add"
    if name == "virtualenv" or (name.startswith("python") and words[1:3] == ["-m", "venv"]):
        return "virtualenv"
    return None


def launch_invocations(deployment):
    """``(launch, invocation)`` for every celery command a container or image starts with.

    A command reached from a container and again from its image (``docker run``) is given once,
    with the container's launch, whose message says more. Listed once per run (several rules
    ask)."""
    found = deployment.index.facts.get("launch_invocations")
    if found is None:
        seen = set()
        found = deployment.index.facts["launch_invocations"] = []
        for launch in deployment.launches:
            for invocation in launch.celery:
                where = invocation.span()
                if where not in seen:
                    seen.add(where)
                    found.append((launch, invocation))
    return iter(found)


def reached(launch) -> str:
    """`` (through compose/start)`` when entry scripts were followed to celery; each step is in
    ``hops(launch)``."""
    return f" (through {' and '.join(launch.scripts)})" if launch.scripts else ""


def hops(launch) -> list:
    """Each step from the container to celery as a related location, when there are several."""
    from celerylint.diagnostics import Related

    return [Related(h.span, h.text) for h in launch.hops if h.span is not None] \
        if len(launch.hops) > 1 else []


def place(container) -> str:
    """How a message names a container: ``container 'celery' of Deployment 'worker'``, only
    ``Deployment 'worker'`` when the container is the pod's only one or has the workload's name,
    ``compose service 'worker'``."""
    workload = container.workload
    if workload.carrier != "compose" and (container.name == workload.name or
                                          len(workload.containers) == 1):
        return workload.label
    return container.where


def named(launch, span) -> str:
    """How a message names a launch: its label, without the file of a launcher (Procfile,
    supervisord, s6, systemd, entry script, Dockerfile) when the finding is in that file, or
    with a short name for it when a related hop points into it: the location says the rest.
    Scripts followed on the way are the related hops, never the message's."""
    label = launch.label
    if launch.container is not None:
        label = label.replace(launch.container.where, place(launch.container))
    hopped = [related.span.path for related in hops(launch)]
    for path in dict.fromkeys([span.path] + hopped):
        label = label.replace(f" ({path})", "")
    if label.startswith(f"entry script {span.path} ("):
        return "this entry script " + label[len(f"entry script {span.path} "):]
    if label == f"the image built by {span.path}":
        return "the image built by this Dockerfile"
    for path in hopped:
        short = "/".join(path.split("/")[-2:])
        if label.startswith(f"entry script {path} ("):
            return f"entry script {short} " + label[len(f"entry script {path} "):]
        if label == f"the image built by {path}":
            return f"the image built by {short}"
    return label


LONG_RUNNING = frozenset({"worker", "beat", "flower", "events", "multi"})


def uses_redbeat(container: Container, invocation: CeleryInvocation,
                 deployment: Deployment | None = None) -> bool:
    """RedBeat holds a lock, so several beats are safe with it. Configured in Python (which we
    cannot see), it shows as ``REDBEAT_*`` settings in the environment or celery-redbeat in the
    requirements: either keeps the beat rules silent."""
    scheduler = invocation.value("scheduler") or ""
    if scheduler:
        return "redbeat" in scheduler.lower()
    known, configured = app_setting(container, "beat_scheduler")
    if known:
        return not isinstance(configured, str) or "redbeat" in configured.lower()
    if any(name.upper().startswith(("REDBEAT_", "CELERY_REDBEAT_")) or
           ("SCHEDULER" in name.upper() and "redbeat" in (v.value or "").lower())
           for name, v in container.env.items()):
        return True
    return deployment is not None and container.workload.source.project in deployment.index.redbeat


def scaling(deployment: Deployment, workload: Workload) -> str | None:
    """Why a workload runs more than one pod, or None."""
    if workload.kind == "DaemonSet":
        return "it is a DaemonSet (one pod per node)"
    if workload.replicas is not None and workload.replicas > 1:
        shown = workload.replicas_at[3] if workload.replicas_at else "replicas"
        return f"it has {shown}: {workload.replicas}"
    hpa = deployment.index.autoscaler_of(workload)
    return f"the HorizontalPodAutoscaler '{hpa.name}' scales it" if hpa is not None else None


def app_setting(container: Container, name: str):
    """``(known, value)`` of a setting in the app's Python configuration: ``(False, None)`` when
    the app was not found or does not set it; a value that cannot be read is ``UNKNOWN``."""
    config = container.app_config
    if config is None or config.get(name) is None:
        return False, None
    return True, config.get(name).value


def pool_of(container: Container, invocation: CeleryInvocation) -> str | None:
    """The pool: ``-P`` first, then ``worker_pool`` from the app's settings, then prefork."""
    if invocation.option("pool") is not None or not invocation.is_worker:
        return invocation.pool
    known, value = app_setting(container, "worker_pool")
    if not known:
        return invocation.pool
    return value if isinstance(value, str) else None


# -- brokers -------------------------------------------------------------------------------------

#: kombu transports with network URLs (``valkey://`` is none: kombu#2245, "No such transport")
BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp", "sentinel")


def is_loopback(host: str | None) -> bool:
    """``localhost`` or an address of 127.0.0.0/8 or ``::1`` (brackets allowed)."""
    import ipaddress

    if not host:
        return False
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def broker_scheme(url: str) -> str:
    """The transport of a URL, without its ``+driver`` suffix: ``sqla+postgresql://`` -> sqla."""
    return url.split("://", 1)[0].split("+")[0].lower() if "://" in url else ""


def broker_urls(container: Container, invocation: CeleryInvocation | None = None):
    """``(setting, url, span)`` for the broker and result backend URLs a container uses, from
    ``-b``, the environment Celery reads, or the app's configuration; only URLs known for sure."""
    found = []
    if invocation is not None and invocation.option("broker") is not None:
        option = invocation.option("broker")
        if option.value and not option.dynamic:
            found.append(("broker_url", option.value, invocation.span(option.value_word or option.flag)))
    if invocation is not None and invocation.option("result_backend") is not None:
        option = invocation.option("result_backend")
        if option.value and not option.dynamic:
            found.append(("result_backend", option.value,
                          invocation.span(option.value_word or option.flag)))
    for variable, setting in (("CELERY_BROKER_URL", "broker_url"),
                              ("CELERY_RESULT_BACKEND", "result_backend")):
        var = container.env.get(variable)
        if var is not None and var.value:
            found.append((setting, var.value, var.span))
    config = container.app_config
    if container.env_open or container.env_from_secret:
        config = None  # CELERY_BROKER_URL may come from there and override the configuration
    for setting in ("broker_url", "result_backend"):
        value = config.get(setting) if config is not None else None
        if value is not None and isinstance(value.value, str) and value.span is not None and \
                not any(s == setting for s, _, _ in found):
            found.append((setting, value.value, value.span))
    return [(s, u, where) for s, u, where in found if "$" not in u]


def url_host(url: str) -> str | None:
    """The host of a broker URL, or None when it is not a network URL we understand."""
    from urllib.parse import urlsplit

    if broker_scheme(url) not in BROKER_SCHEMES:
        return None
    try:
        host = urlsplit(url.split(";")[0]).hostname
    except ValueError:
        return None
    if host and any(c in host for c in "${}()"):
        return None  # a variable the run cannot see (``${redis_host}``): unknown, not a name
    return host


@dataclass
class ConfigText:
    """A configuration file a container reads: a ConfigMap value mounted in it, or a file of the
    tree bind-mounted (compose) and named on its command line."""

    text: str
    source: SourceFile
    pos: tuple[int, int, int, int] | None  # the ConfigMap value holding it; None: a whole file

    def span_of(self, offset: int, line_text: str) -> Span:
        """Where the line at ``offset`` of the text (reading ``line_text``) is written."""
        if self.pos is None:
            line, column = self.source.position(offset)
            return Span(self.source.path, line, column, line, column + len(line_text))
        where = Span(self.source.path, *self.pos)
        for number in range(self.pos[0], min(self.pos[2] + 1, len(self.source.lines) + 1)):
            row = self.source.lines[number - 1]
            if row.strip() == line_text:
                column = row.index(line_text) + 1
                where = Span(self.source.path, number, column, number, column + len(line_text))
        return where


def mounted_configs(container: Container, deployment: Deployment) -> list[ConfigText]:
    found = []
    for _, obj in deployment.index.mounted_configmaps(container):
        data = obj.data.get("data")
        for key, text in data.items() if isinstance(data, dict) else ():
            if isinstance(text, str):
                found.append(ConfigText(text, obj.source, data.value_pos[key]))
    found += [ConfigText(m.content.text, m.content, None) for m in container.mounts
              if m.content is not None]
    return found


def is_redis(container: Container) -> bool:
    image = (container.image or "").lower()
    return any(name in image.split("/")[-1] for name in ("redis", "valkey", "keydb")) or \
        any("redis-server" in a for a in container.argv)


def broker_targets(deployment: Deployment):
    """``(container, setting, url, span, host, endpoint)`` for every broker or backend URL of a
    celery container; ``endpoint`` (``model.index.Endpoint``) is what the host names in the
    deployment (a Service, a compose service), None for a host outside it."""
    for container in deployment.containers():
        if not container.celery:
            continue
        for setting, url, where in broker_urls(container, container.celery[0]):
            host = url_host(url)
            if host is not None:
                yield container, setting, url, where, host, deployment.index.endpoint(container,
                                                                                       host)


def allows_celery5(deployment: Deployment, project: str) -> bool:
    """False when a requirement of the project (requirements files, ``pyproject.toml``,
    ``setup.cfg``, ``Pipfile``, the version a lock file pins, ``pip install`` in a container or a
    Dockerfile RUN) admits Celery 4 releases and none of the recorded 5.x ones (decided once per
    project)."""
    known = deployment.index.facts.get(("celery5", project))
    if known is None:
        known = deployment.index.facts[("celery5", project)] = _allows_celery5(deployment, project)
    return known


def _allows_celery5(deployment: Deployment, project: str) -> bool:
    from celerylint.resolver import releases

    if not deployment.index.celery_specifiers.get(project):
        return True  # no specifier: nothing to compare with the recorded releases
    recorded = [r.version for r in releases().get("celery", [])]
    for specifier in set(deployment.index.celery_specifiers.get(project, ())):
        admitted = [v for v in recorded if specifier.contains(v, prereleases=True)]
        if admitted and all(v.major < 5 for v in admitted):
            return False
    return True  # nothing pins Celery 4: pip installs the newest, a 5.x


# -- compose -------------------------------------------------------------------------------------

def compose_command_strings(deployment: Deployment):
    """``(source, service, key, text, pos)`` for each ``command``/``entrypoint`` written as a
    string in a compose file: Compose splits it into argv itself (no shell)."""
    for source, data in deployment.compose_files:
        services = data.get("services")
        for name, service in services.items() if isinstance(services, dict) else ():
            if not isinstance(service, dict):
                continue
            for key in ("entrypoint", "command"):
                value = service.get(key)
                if isinstance(value, str) and key in service.value_pos:
                    yield source, str(name), key, value, service.value_pos[key]
