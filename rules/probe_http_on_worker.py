"""probe-http-on-worker: an HTTP or TCP probe on a worker or beat, where nothing listens.

## What it finds
An `httpGet` or `tcpSocket` probe (liveness, readiness or startup) on a container that runs a
celery worker or beat, and a compose healthcheck (or exec probe) that only requests a local port
(`curl http://localhost:8000/...`, `wget`, `nc -z localhost 8000`), when nothing in that container
or its pod can be listening on the port: the container's commands, scripts followed, start only
celery (`--statedb` and `--pidfile` are files, not servers). The usual origin is a worker
manifest or compose service copied from the web one, probe and `containerPort` included.

## Symptoms
- `Liveness probe failed: Get "http://10.244.1.23:8000/health/": dial tcp 10.244.1.23:8000: connect: connection refused`
- `Readiness probe failed: dial tcp 10.244.1.23:8000: connect: connection refused`
- The worker restarts every 30 s or so while its log shows it working (`RESTARTS` climbing,
  CrashLoopBackOff); or, with a readiness probe, the pod is never `Ready` and
  `kubectl rollout status` waits until the deadline.
- Compose: `curl: (7) Failed to connect to localhost port 8000` in the health log, the service
  `(unhealthy)`, and `dependency failed to start: container shop-worker-1 is unhealthy` for the
  services that wait for it.

## Why
A Celery worker or beat opens no port: it talks to its broker as a client. The kubelet sends
HTTP and TCP probes to the pod's IP, where only a process of the pod could answer; a connection
refused is a failure. A liveness (or startup) probe that can never pass restarts the container
after `failureThreshold` tries, in a loop; a readiness probe keeps the pod out of `Ready` for
good; a compose healthcheck keeps the container `unhealthy`.

## Fix
Remove the copied probe, or probe the worker itself: an exec probe
`celery -A proj inspect ping -d celery@$HOSTNAME -t 10` with `timeoutSeconds: 15`, or a heartbeat
file the worker touches. An HTTP probe fits only when something in the pod serves it (an exporter
sidecar, an in-process health server such as celery-healthcheck). No automatic fix: which probe
to keep is the application's decision.

## When it stays silent
- another process may listen in the container or its pod: a sidecar container (or an init
  container with `restartPolicy: Always`), a command sent to the background or run after a
  backgrounded celery, a server or daemon in the commands (Flower, gunicorn, nginx, supervisord
  ...), a command or environment value that names the port, compose `network_mode`;
- the project installs a package that serves HTTP from inside celery (celery-healthcheck,
  celery-live, prometheus-client's `start_http_server` ...), the app's module mentions a
  server or the port, or a module of the app's package starts a server from a worker signal
  or bootstep (`start_http_server(...)` in a `worker_init` handler);
- a probe with a `host` of its own, a named port the container does not declare, gRPC probes;
- a container whose start cannot be read (an image's unknown ENTRYPOINT, a command built at run
  time).

## References
- Kubernetes docs, Configure Liveness, Readiness and Startup Probes (HTTP and TCP probes go to
  the pod's IP; a refused connection fails); API reference `HTTPGetAction`, `TCPSocketAction`.
- Celery docs, Workers Guide and `celery/bin/worker.py` 5.6.3: no listening option (`--statedb`
  is a file).
- Compose Specification, `healthcheck`; Docker `HEALTHCHECK` (exit status 1 is unhealthy).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator

from celerylint.diagnostics import Finding, Severity, Span
from celerylint.engine import Context
from celerylint.model import Container, Deployment, Probe
from celerylint.model.kubernetes import span
from celerylint.parse.shell import SimpleCommand
from celerylint.rules_support import is_loopback, place

CODE = "CL305"
NAME = "probe-http-on-worker"
SEVERITY = Severity.ERROR
SUMMARY = "an HTTP or TCP probe on a celery worker or beat, where nothing listens"

#: Programs that serve a port or start something that may (a daemon, a supervisor).
SERVERS = frozenset({
    "gunicorn", "uvicorn", "daphne", "hypercorn", "uwsgi", "waitress-serve", "granian", "nginx",
    "httpd", "apache2", "apachectl", "caddy", "flower", "node", "npm", "java", "php-fpm",
    "socat", "nc", "ncat", "netcat", "supervisord", "service", "s6-svscan", "runsvdir",
    "honcho", "circusd", "redis-server", "sshd", "crond", "celery-exporter", "busybox",
    "systemctl", "start-stop-daemon", "envoy", "haproxy", "traefik", "prometheus",
})
#: What ``python -m X`` or ``manage.py X`` runs when it serves HTTP.
SERVING_ARGUMENTS = frozenset({"runserver", "runserver_plus", "http.server", "gunicorn", "uvicorn",
                               "daphne", "hypercorn", "flask", "runfcgi"})
#: Commands that neither listen nor keep running beside celery.
HARMLESS = frozenset({"wait", "echo", "printf", "exit", "true", ":", "sleep", "trap", "set",
                      "export", "cd", "tail", "cat", "test", "["})
#: Python packages that serve HTTP from inside a celery process (PyPI descriptions).
IN_PROCESS = frozenset({
    "celery-healthcheck", "celery-live", "celery-local-exporter", "celery-prometheus",
    "celery-worker-healthcheck", "celery-redis-prometheus", "prometheus-client",
    "django-celery-heartbeat", "celery-probes",
})
#: Servers a module starts itself, and the hooks that run it inside the worker.
_CODE_SERVERS = re.compile(r"start_http_server|start_wsgi_server|HTTPServer\(|make_server\(|"
                           r"TCPServer\(|web\.run_app|uvicorn\.run\(")
_WORKER_HOOKS = re.compile(r"worker_init|worker_process_init|worker_ready|celeryd_init|bootsteps")
_APP_SERVERS = re.compile(r"start_http_server|HTTPServer|make_server|socketserver|wsgiref|"
                          r"aiohttp|run_app|bottle|uvicorn|fastapi|flask|health.?check", re.I)
_LOCAL_URL = re.compile(r"(https?)://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])"
                        r"(?::(\d+))?(?:/|$)")


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    serving = _serving_projects(deployment)
    for container in deployment.containers():
        celery = [i for i in container.celery if i.is_worker or i.runs_beat]
        if not celery or container.commands is None or container.workload.source.project in serving:
            continue
        if not container.argv_from_command and (container.launch is None or
                                                container.launch.stage is None):
            continue  # only args: the ENTRYPOINT of an image we cannot see runs first
        for probe in container.probes.values():
            target = _target(container, probe)
            if target is None:
                continue
            port, how, where = target
            if _may_listen(container, port) or _worker_code_serves(deployment, container):
                continue
            yield _finding(container, probe, port, how, where,
                           "beat" if all(i.subcommand == "beat" for i in celery) else "worker")


def _finding(container: Container, probe: Probe, port: int, how: str, where: Span,
             process: str) -> Finding:
    if probe.kind == "healthcheck":
        waiting = ", ".join(f"'{name}'" for name in probe.waiting)
        consequence = f"{waiting} never start{'s' if len(probe.waiting) == 1 else ''}" \
            if waiting else "it is never healthy"
        return Finding(where, f"healthcheck of {place(container)} {how}, but celery {process} "
                       f"serves no port: {consequence}",
                       f"check the {process} itself (a heartbeat file, `celery inspect ping -d "
                       "celery@$$HOSTNAME -t 10`), or drop the copied healthcheck: the container "
                       f"runs only celery {process}, so Docker marks it unhealthy for good"
                       + (f" and the services that wait for it ({waiting}) never start"
                          if waiting else ""),
                       severity=Severity.ERROR if waiting else Severity.WARNING)
    if probe.kind == "readiness":
        consequence = "the pod never becomes Ready"
        detail = "the pod never becomes Ready: rollouts never complete and disruption budgets " \
            "count it as down"
    else:
        consequence = f"it restarts every {probe.deadline} s"
        detail = (f"the kubelet restarts it about {probe.deadline} s after every start, in a "
                  "loop (CrashLoopBackOff), while it works")
    return Finding(where, f"{probe.kind}Probe of {place(container)} {how}, but celery {process} "
                   f"serves no port: {consequence}",
                   f"probe the {process} itself (an exec probe: `celery inspect ping -d "
                   "celery@$HOSTNAME -t 10`, or a heartbeat file), or drop the copied probe: the "
                   f"container runs only celery {process}, the connection is refused and {detail}")


def _target(container: Container, probe: Probe) -> tuple[int, str, Span] | None:
    """The local port a probe connects to, how it does, and where that is written."""
    source = probe.source or container.workload.source
    for handler, verb in (("httpGet", "requests"), ("tcpSocket", "connects to")):
        spec = probe.data.get(handler)
        if probe.handler != handler or not isinstance(spec, dict):
            continue
        if spec.get("host"):
            return None  # another host: not this pod
        port = _port(container, spec.get("port"))
        if port is None:
            return None
        where = span(source, spec.value_pos["port"]) if "port" in spec.value_pos else probe.span
        path = spec.get("path", "/") if handler == "httpGet" else ""
        shown = f"{verb} port {port}" + (f" ({path})" if isinstance(path, str) and path else "")
        return port, shown, where
    if probe.launch is not None and probe.launch.commands:
        return _local_request(probe.launch.commands)
    return None


def _port(container: Container, value) -> int | None:
    """A probe's port: a number, or the name of one of the container's ``ports``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value < 65536 else None
    if not isinstance(value, str):
        return None
    if value.isdigit():
        return _port(container, int(value))
    ports = container.data.get("ports") if container.workload.carrier != "compose" else None
    for item in ports if isinstance(ports, list) else ():
        if isinstance(item, dict) and item.get("name") == value:
            return _port(container, item.get("containerPort"))
    return None


def _local_request(commands: list[SimpleCommand]) -> tuple[int, str, Span] | None:
    """A probe command that only requests a port of its own host: ``curl``/``wget`` of a
    localhost URL, ``nc -z localhost PORT``; None for anything else in the command."""
    found = None
    for command in commands:
        words = command.words
        if not words:
            continue
        name = words[0].name
        if name in ("exit", "true", "false", "[", "test", "echo"):
            continue
        if name in ("curl", "wget"):
            urls = [(w, _LOCAL_URL.match(w.text)) for w in words[1:] if not w.dynamic]
            urls = [(w, m) for w, m in urls if m]
            if len(urls) != 1:
                return None
            word, match = urls[0]
            port = int(match.group(2)) if match.group(2) else (443 if match.group(1) == "https"
                                                               else 80)
            shown = f"requests {word.text}"
        elif name in ("nc", "ncat", "netcat"):
            texts = [w.text for w in words[1:] if not w.text.startswith("-")]
            if len(texts) != 2 or not (is_loopback(texts[0]) or texts[0] == "0.0.0.0") or not texts[1].isdigit():
                return None
            word, port = words[-1], int(texts[1])
            shown = f"connects to {texts[0]}:{port}"
        else:
            return None
        if found is not None:
            return None
        found = (port, shown, command.origin.span(word))
    return found


def _may_listen(container: Container, port: int) -> bool:
    """Whether anything in the container or its pod may serve the port."""
    number = re.compile(rf"(?<![0-9]){port}(?![0-9])")
    if container.network_mode:
        return True  # another container's (or the host's) network: its ports are there
    if any(i.subcommand == "flower" for i in container.celery):
        return True
    if _sidecars(container):
        return True
    celery_commands = {id(i.command) for i in container.celery}
    backgrounded = False
    for command in container.commands or []:
        words = command.words
        if not words:
            continue
        if id(command) in celery_commands:
            backgrounded = backgrounded or command.background
            if any(number.search(w.text) for w in words):
                return True  # the port on celery's own line (a wrapper's option, a plugin's)
            continue
        if words[0].text in ("$@", "${@}"):
            continue  # the hand-over to the container's command, followed after it
        if words[0].dynamic:
            return True  # a program we cannot name
        if words[0].name in HARMLESS and not command.background:
            continue
        if command.background or backgrounded:
            return True  # it runs beside celery
        if words[0].name in SERVERS or any(number.search(w.text) for w in words) or \
                any(w.text in SERVING_ARGUMENTS for w in words[1:4]):
            return True
    if any(v.value and number.search(v.value) for v in container.env.values()):
        return True
    config = container.app_config
    text = config.source.text if config is not None and config.source is not None else ""
    return bool(text and (_APP_SERVERS.search(text) or number.search(text)))


def _sidecars(container: Container) -> bool:
    """Another container of the pod runs beside it and is not itself only a worker or beat."""
    workload = container.workload
    if workload.carrier == "compose":
        return False
    for other in workload.containers:
        if other is container:
            continue
        if other.init and not (isinstance(other.data, dict) and
                               other.data.get("restartPolicy") == "Always"):
            continue
        if other.commands is None or not other.celery or \
                any(i.subcommand == "flower" for i in other.celery):
            return True
        if not all(i.is_worker or i.runs_beat for i in other.celery):
            return True
    return False


def _worker_code_serves(deployment: Deployment, container: Container) -> bool:
    """Whether a module of the app's package starts a server from a worker signal or bootstep
    (``start_http_server`` on ``worker_init``): it listens in the worker whatever starts it.
    Read once per package, and only when a finding is about to be made."""
    config = container.app_config
    where = config.source.abspath if config is not None and config.source is not None else None
    if not where or deployment.scope is None:
        return False
    package = Path(where).parent
    while (package.parent / "__init__.py").is_file() and deployment.scope.contains(package.parent):
        package = package.parent
    cache = deployment.index.facts.setdefault((NAME, "code"), {})
    if package not in cache:
        cache[package] = (package / "__init__.py").is_file() and any(
            _WORKER_HOOKS.search(text) and _CODE_SERVERS.search(text)
            for text in _python_texts(package, deployment.scope))
    return cache[package]


def _python_texts(root: Path, scope) -> Iterator[str]:
    """The text of a package's Python modules, read as every file is (``sources.read``: regular
    files inside the checked tree only, up to 512 KiB), walked as ``discover`` walks (no hidden,
    cache or virtualenv folders), 5,000 files at most."""
    from celerylint import discover
    from celerylint import sources as src

    read = 0
    for directory, folders, files in os.walk(root):
        folders[:] = sorted(f for f in folders if not f.startswith(".") and
                            f not in discover.SKIPPED_DIRS)
        for name in sorted(f for f in files if f.endswith(".py")):
            read += 1
            if read > 5000:
                return
            result = src.read(Path(directory, name), src.PYTHON, 512 * 1024, None, scope)
            if isinstance(result, src.SourceFile):
                yield result.text


def _serving_projects(deployment: Deployment) -> set[str]:
    """Projects whose requirements install an in-process HTTP server for celery (one pass)."""
    return {pinned.project for requirement_set in deployment.requirement_sets
            for pinned in requirement_set.requirements if pinned.name in IN_PROCESS}
