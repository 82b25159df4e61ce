"""broker-localhost: the broker is `localhost` (or not set at all) in a container that runs none.

## What it finds
A celery worker, beat, Flower or events container whose broker or result backend URL names
`localhost`, `127.0.0.1` or `::1` (from `-b`/`--result-backend`, `CELERY_BROKER_URL`,
`CELERY_RESULT_BACKEND`, or the app's configuration), while nothing in its network namespace can
answer there: no other container of the pod runs a broker or a proxy to one (and none declares
the URL's port), no compose `network_mode`, no `hostNetwork`. Also such a container with no
broker at all: no `-b`, no `CELERY_BROKER_URL`, and an app whose configuration was read in
full and sets no `broker_url` (or sets it from an environment variable that nothing sets), so
kombu falls back to `amqp://guest:guest@localhost:5672//`. A default of
`os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")` counts only when nothing
sets the variable: not the container, not the image (`ENV` in the project's Dockerfiles), not
the entry script, and the app loads no dotenv file.

## Symptoms
- `consumer: Cannot connect to amqp://guest:**@127.0.0.1:5672//: [Errno 111] Connection refused.`
- `consumer: Cannot connect to redis://localhost:6379/0: Error 111 connecting to localhost:6379. Connection refused..`
- `No hostname was supplied. Reverting to default 'localhost'`
- `Trying again in 2.00 seconds... (1/100)`, then the worker gives up; beat and Flower log the
  same and never publish or show anything.

## Why
A container has its own network namespace: `localhost` is the container itself (in Kubernetes,
its pod), never the machine's or another service's. Celery reads `CELERY_BROKER_URL` before its
configuration (`celery/app/utils.py`, `Settings.broker_url`), and `-b` sets that variable
(`celery/bin/celery.py`). With no broker URL at all, kombu's `Connection` uses the `amqp`
transport with host `localhost` and user and password `guest` (`kombu/connection.py`,
`_init_params` and `_info`; `kombu/transport/pyamqp.py`, `default_connection_params`).

## Fix
Name the broker by its compose service or Kubernetes Service (`redis://redis:6379/0`,
`redis://redis.shop.svc.cluster.local:6379/0`), or set `CELERY_BROKER_URL` in the container
(from a Secret when it holds a password). No automatic fix: which broker is meant (a service,
the host, a managed one) is yours to say.

## When it stays silent
- a broker (`redis-server`, RabbitMQ, Valkey, KeyDB) in the same pod, including a native
  sidecar, or started by the container itself; a proxy or tunnel container in the pod (stunnel,
  envoy, haproxy, socat, ghostunnel, twemproxy ...) or one declaring the URL's port;
- compose `network_mode` (`host`, `service:redis`, `container:...`) and pods with
  `hostNetwork: true`: `localhost` is then another namespace, which may run the broker;
- processes outside containers (supervisord, systemd, Procfile on a host), where `localhost` is
  the machine that may well run the broker;
- URLs built from variables we cannot see; a configuration that may come from elsewhere: an
  `envFrom` we cannot read (a Secret, a ConfigMap outside the repository), a compose `env_file`
  that is missing, an app whose module is not in the repository, a `config_from_object` or
  settings module we cannot read, a Celery app made in a function (Flask factories), settings
  that load a dotenv file (`load_dotenv()`, `environ.Env.read_env()`) or write `os.environ`;
- an entry script that exports a `*BROKER*` variable or sources a file, a wrapper that injects
  the environment (`doppler run`, `envconsul`), `--config`/`--loader`, or options added by a
  variable we cannot see; a Dockerfile of the project that sets the variable;
- `broker_read_url`/`broker_write_url` configured (the worker then uses those).

## References
- Celery `celery/app/utils.py` (v5.6.3): `Settings.broker_url`, `broker_read_url`,
  `broker_write_url`; `celery/bin/celery.py` (v5.6.3): `-b` sets `CELERY_BROKER_URL`;
  `celery/worker/consumer/consumer.py` (v5.6.3): `CONNECTION_ERROR`.
- kombu `kombu/connection.py` (v5.6.2): `Connection.__init__(hostname='localhost')`,
  `_init_params` (`transport or 'amqp'`), `_info` ("No hostname was supplied");
  `kombu/transport/pyamqp.py` (v5.6.2): `default_connection_params` (guest, guest, localhost).
- Docker docs, Networking in Compose: https://docs.docker.com/compose/how-tos/networking/ and
  `network_mode`: https://docs.docker.com/reference/compose-file/services/#network_mode
- Kubernetes docs, Pods, "Resource sharing and communication" (containers of a pod share
  `localhost`): https://kubernetes.io/docs/concepts/workloads/pods/
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from celerylint.diagnostics import Finding, Related, Severity, Span
from celerylint.engine import Context
from celerylint.model import Container
from celerylint.model.images import split_image
from celerylint.parse.celery_cli import CeleryInvocation
from celerylint.rules_support import (LONG_RUNNING, broker_urls, is_loopback, is_redis, place,
    url_host)

CODE = "CL605"
NAME = "broker-localhost"
SEVERITY = Severity.ERROR
SUMMARY = ("the broker URL names localhost, or no broker is set (amqp://guest@localhost//), in "
           "a container that runs none")

#: Subcommands that connect to the broker when they start.
CONNECTING = LONG_RUNNING | {"call", "purge", "inspect", "control", "status", "result"}
#: Image names of brokers, and of proxies that forward a local port to one.
SERVER_IMAGES = ("redis", "valkey", "keydb", "rabbitmq", "stunnel", "envoy", "haproxy", "socat",
                 "ghostunnel", "twemproxy", "nutcracker", "spiped", "proxy", "tunnel")
#: Programs that do the same.
SERVER_PROGRAMS = frozenset({"redis-server", "valkey-server", "keydb-server", "rabbitmq-server",
                             "stunnel", "stunnel4", "envoy", "haproxy", "socat", "ghostunnel",
                             "twemproxy", "nutcracker", "spiped", "supervisord", "service",
                             "systemctl", "s6-svscan", "runsvdir"})
#: Wrappers in front of celery that set variables: secret managers, and runners that load a
#: ``.env`` file (pipenv always does; uv, pdm and hatch can).
ENV_WRAPPERS = frozenset({"env", "doppler", "pipenv", "uv", "pdm", "hatch"})
#: Commands that may load variables from somewhere we do not read.
LOADERS = frozenset({"source", ".", "eval", "envdir", "dotenv"})
SETTERS = frozenset({"export", "declare", "typeset", "readonly", "env"})
DEFAULT_PORTS = {"redis": 6379, "rediss": 6379, "amqp": 5672, "amqps": 5671,
                 "pyamqp": 5672, "sentinel": 26379}
FALLBACK = "amqp://guest:**@localhost:5672//"


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    image_env = _image_env(deployment)
    local: dict[tuple[Span, str, str], list[Container]] = defaultdict(list)
    unset: dict[Span, tuple[str, list[Container]]] = {}
    for container in deployment.containers():
        invocation = next((i for i in container.celery if i.subcommand in CONNECTING), None)
        if invocation is None or _other_namespace(container) or _serves_locally(container):
            continue
        urls = broker_urls(container, invocation)
        for setting, url, where in urls:
            host = url_host(url)
            if is_loopback(host) and not _port_served(container, url) and \
                    not _overridden(container, invocation, setting, where, image_env):
                local[(where, setting, host)].append(container)
        if invocation.subcommand in LONG_RUNNING and \
                not any(setting == "broker_url" and url for setting, url, _ in urls):
            why = _no_broker(container, invocation, image_env)
            if why is not None:
                entry = unset.setdefault(invocation.span(), (why, []))
                entry[1].append(container)
    for (where, setting, host), users in local.items():
        carriers = {u.workload.carrier for u in users}
        compose = carriers == {"compose"}
        place = "container" if compose else \
            "pod" if "compose" not in carriers else "container or pod"
        default = _default_of(users[0], setting, where)
        yield Finding(
            where,
            f"the {setting} of {_who(users)} points at {host}{default}, but no broker runs in "
            f"its {place}: Connection refused",
            "use the broker's " + ("compose service name (redis://redis:6379/0)" if compose else
                                   "Service name (redis://redis.<namespace>.svc:6379/0)")
            + ", or run the broker beside it" + ("" if compose else " as a sidecar"))
    for where, (why, users) in unset.items():
        yield Finding(
            where,
            f"no broker is configured for {_who(users)}: Celery falls back to {FALLBACK} "
            "(Connection refused)",
            f"{why}; set CELERY_BROKER_URL in the container (from a Secret when it holds a "
            "password), or broker_url in the app's configuration",
            related=[Related(u.span, "runs here") for u in users[1:2]])


def _default_of(container: Container, setting: str, where: Span) -> str:
    """`` (the default for CELERY_BROKER_URL, unset)`` for a configuration value that
    stands for unset environment variables."""
    config = container.app_config
    value = config.get(setting) if config is not None else None
    if value is None or value.span != where or not value.env_vars:
        return ""
    names = ", ".join(sorted(value.env_vars))
    return f" (the default for {names}, unset)"


def _who(users: list[Container]) -> str:
    names = list(dict.fromkeys(place(c) for c in users))
    return " and ".join(names[:2]) + (f" and {len(names) - 2} more" if len(names) > 2 else "")


def _other_namespace(container: Container) -> bool:
    """compose ``network_mode`` (host, service:x, container:x) or a pod on the node's network:
    ``localhost`` is then a namespace that may run the broker."""
    pod = container.workload.pod
    mode = container.network_mode or ""
    return mode == "host" or mode.startswith(("service:", "container:")) or \
        (isinstance(pod, dict) and pod.get("hostNetwork") is True)


def _starts_server(container: Container) -> bool:
    """Whether a container may run a broker or a proxy to one: its image, or a program its
    start runs (``redis-server --daemonize yes && exec celery ...``, a process supervisor)."""
    image = split_image(container.image)[0].lower().rsplit("/", 1)[-1]
    if is_redis(container) or any(name in image for name in SERVER_IMAGES):
        return True
    if container.commands is None:
        return True  # a start we could not read may run anything
    return any(w.name in SERVER_PROGRAMS for command in container.commands
               for w in command.words[:2])


def _serves_locally(container: Container) -> bool:
    """A broker or proxy in the same network namespace: the container itself, or another
    container of the pod that keeps running beside it (an init container only as a native
    sidecar, ``restartPolicy: Always``: the others have exited before celery starts)."""
    return _starts_server(container) or any(
        _starts_server(c) for c in container.workload.containers
        if c is not container and not c.celery and
        (not c.init or c.data.get("restartPolicy") == "Always"))


def _port_served(container: Container, url: str) -> bool:
    """Another container of the pod declares the URL's port (it listens there)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.split(";")[0])
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.split("+")[0].lower())
    except ValueError:
        return True
    return any(p.target == port for c in container.workload.containers if c is not container
               for p in getattr(c, "ports", ()) or ())


def _image_env(deployment) -> dict[str, set[str]]:
    """Variables any Dockerfile of a project sets with ``ENV`` (one pass): an image built from
    the project may set what the container does not."""
    found: dict[str, set[str]] = defaultdict(set)
    for parsed in deployment.dockerfiles:
        for stage in parsed.stages:
            found[parsed.source.project].update(stage.env)
    return found


def _launch_sets(container: Container, names: set[str]) -> bool:
    """The start may set one of ``names`` (or a ``*BROKER*`` variable): it sources a file,
    exports or assigns the variable, or runs celery behind a wrapper that injects the
    environment."""
    for command in container.commands or []:
        words = command.words
        if not words:
            continue
        first = words[0].text
        if first in LOADERS or (first == "set" and any(w.text in ("-a", "allexport")
                                                        for w in words[1:])):
            return True
        assigned = command.assignments + (words[1:] if first in SETTERS else [])
        for word in assigned:
            name = word.text.split("=", 1)[0]
            if word.dynamic and "=" not in word.text or name in names or "BROKER" in name.upper():
                return True
    for invocation in container.celery:
        words = invocation.command.words
        before = words[:words.index(invocation.program)] if invocation.program in words else []
        if any(w.name in ENV_WRAPPERS or "=" in w.text for w in before):
            return True
    return False


def _config_open(container: Container, names: set[str], image_env) -> bool:
    """Whether the app's configuration, or the environment variables its values stand for, may
    come from somewhere we cannot see."""
    config = container.app_config
    if config is None or config.unread or container.env_open or container.env_from_secret:
        return True
    if names & image_env.get(container.workload.source.project, set()):
        return True
    return _launch_sets(container, names)


def _overridden(container: Container, invocation: CeleryInvocation, setting: str, where: Span,
                image_env) -> bool:
    """Whether a URL we read may not be the one Celery uses: ``-b`` wins over the environment,
    the environment over the configuration, and a configuration default stands for variables
    that the image, the start or a dotenv file may set."""
    variable = "CELERY_BROKER_URL" if setting == "broker_url" else "CELERY_RESULT_BACKEND"
    option = invocation.option("broker" if setting == "broker_url" else "result_backend")
    if option is not None:
        return where != invocation.span(option.value_word or option.flag)
    if setting == "broker_url" and _split_urls(container):
        return True
    env = container.env.get(variable)
    if env is not None and env.span == where:
        return _launch_sets(container, {variable})  # the container's value wins over the image's
    config = container.app_config
    value = config.get(setting) if config is not None else None
    names = {variable} | set(value.env_vars if value is not None else ())
    return _config_open(container, names, image_env)


def _split_urls(container: Container) -> bool:
    """``broker_read_url``/``broker_write_url``: the worker consumes from the read URL."""
    if any(n in container.env for n in ("CELERY_BROKER_READ_URL", "CELERY_BROKER_WRITE_URL")):
        return True
    config = container.app_config
    return config is not None and any(config.get(n) is not None
                                      for n in ("broker_read_url", "broker_write_url"))


def _no_broker(container: Container, invocation: CeleryInvocation, image_env) -> str | None:
    """Why no broker URL reaches celery, when that is sure; None when one may."""
    if invocation.open_ended or any(invocation.option(n) is not None
                                    for n in ("broker", "config", "loader")):
        return None
    if any("BROKER" in name.upper() or name in ("CELERY_CONFIG_MODULE", "CELERY_LOADER")
           for name in container.env):
        return None
    config = container.app_config
    setting = config.get("broker_url") if config is not None else None
    if config is not None and config.get("broker_host") is not None:
        return None
    names = {"CELERY_BROKER_URL"} | set(setting.env_vars if setting is not None else ())
    if _config_open(container, names, image_env) or _split_urls(container):
        return None
    app = f"the app {config.module}"
    if setting is None:
        return f"no -b, no CELERY_BROKER_URL, and {app} sets no broker_url"
    if setting.value is None or setting.value == "":
        variables = ", ".join(sorted(setting.env_vars)) or "its variable"
        return (f"{app} reads broker_url from {variables}, which nothing sets, and its default "
                "is empty")
    return None
