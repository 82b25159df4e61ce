"""probe-inspect-ping: a probe built on `celery inspect ping` that cannot say what it claims.

## What it finds
A liveness, readiness or startup probe, or a compose `healthcheck`, whose command asks the
workers through remote control: `celery inspect ping` (or another `inspect` command),
`celery status`, or `app.control.ping(...)`/`app.control.inspect(...).ping()` in a `python -c`
program; exec probes are followed through `sh -c` and into the repository's scripts
(`/opt/app/celery_status.sh`). It reports, one finding each:
- a probe on a container that runs **beat**, Flower or `celery events` and no worker: a worker
  ping says nothing about that process;
- a broker whose transport has no remote control (`sqs://`, and every kombu transport without
  fanout exchanges), or `worker_enable_remote_control = False`: no worker ever answers;
- a `-d` node name the worker does not have: its `-n` makes another name, or `$HOSTNAME` reaches
  celery unexpanded (an exec probe or `CMD` test has no shell) or expanded by Compose from the
  shell that runs `docker compose` (`$HOSTNAME` with one `$` in a compose file);
- no `-t` (`timeout=`): Celery waits 1 s for the replies;
- a probe timeout (`timeoutSeconds`, default 1 s; a healthcheck's `timeout`, default 30 s)
  below `-t` plus the 2 s the command needs to start Python and import the app;
- no `-d` (`destination=`) while other workers share the broker (replicas, an autoscaler, other
  worker containers): any of them answering makes every pod pass.

## Symptoms
- `Error: No nodes replied within time constraint`
- `Liveness probe errored: rpc error: code = DeadlineExceeded desc = failed to exec in container: timeout 1s exceeded: context deadline exceeded`
- `Health check exceeded timeout (10s)` in `docker inspect`'s health log, with the workers' `pong`
  replies printed before it.
- Workers restarted every few minutes although they process tasks; a beat restarted whenever the
  workers are busy or down; a hung worker (or beat) that is never restarted.

## Why
`celery inspect ping` and `celery status` (`celery/bin/control.py`) broadcast a request on the
broker's remote-control exchange, collect replies for `--timeout` seconds (default 1.0) and
exit 69 with "No nodes replied within time constraint" only when no node at all replied. Without
`--destination` they wait the whole timeout and any worker's reply counts; with it, they stop at
the first reply of the named node (kombu `Mailbox._broadcast`), so the name must be exactly the
worker's: `celery@` and the host name by default, or what its `-n` makes of `%h`. Only workers
answer: beat and Flower have no remote control. The worker starts its remote control only when
`worker_enable_remote_control` is on and the transport supports fanout exchanges
(`celery/worker/consumer/control.py`), which SQS, Kafka, Azure, Consul, etcd, Zookeeper,
SQLAlchemy and Pyro transports do not (kombu 5.6). Each probe also starts Python and imports the
app: about 2 s for a Django app (3 s measured with the 1 s wait). Kubernetes kills an exec probe
at `timeoutSeconds` (enforced since 1.20; default 1 s), Docker a healthcheck at its `timeout`.

## Fix
Probe the worker's own node with a window it can meet and a probe timeout above it:
`celery -A proj inspect ping -d celery@$HOSTNAME -t 10` run through `sh -c`, with
`timeoutSeconds: 15` (compose: `$$HOSTNAME`, `timeout: 15s`) and a long `periodSeconds`. For beat,
check its schedule file's age or its logs, not the workers. Better still, probe a heartbeat file
the worker touches. Automatic fixes (safe): a missing `-t` is added, 10 s or less so that the
probe's timeout still covers it and the start-up (with the timeout raised to 15 s when not even
2 s would fit); not in a script, which other probes may run. A probe timeout below `-t` plus 2 s
is raised to that, rounded up to 5 s.

## When it stays silent
- probes that do not ask the workers (a heartbeat file, `celery report`), and `-t`, `-d` or a
  node name built at run time beyond `$HOSTNAME` (`$(hostname -f)`, `$NODE`);
- no `-d` when nothing shows another worker on the broker (one replica, no autoscaler, no other
  worker container), or a Python program whose destination is computed;
- a worker whose `-n` cannot be read (a variable, `%i`), or a container that runs several workers
  under other names (`celery multi`);
- `-t` or `-d` set through Celery's environment variables (`CELERY_INSPECT_TIMEOUT`,
  `CELERY_STATUS_DESTINATION` ...).

## References
- Celery 5.6.3 `celery/bin/control.py` (`--timeout` default 1.0, exit 69, "Availability:
  RabbitMQ (AMQP) and Redis transports"), `celery/app/control.py` (`Inspect`, `Control.ping`,
  `timeout=1.0`), `celery/worker/consumer/control.py` (`include_if`), `celery/utils/nodenames.py`
  and `celery/bin/worker.py` (`-n` default `celery@%h`).
- kombu 5.6.2 `kombu/pidbox.py` (reply limit = number of destinations), `Transport.implements`
  of each transport (fanout).
- Kubernetes docs, Configure Liveness, Readiness and Startup Probes (`timeoutSeconds`, exec probe
  timeouts enforced since 1.20); API reference `ExecAction` (not run in a shell).
- Compose Specification, interpolation (`$$`) and `healthcheck`; Docker `HEALTHCHECK` (timeout).
- celery/celery#4079 (no official probe command), #7251 (beat has no remote control).
"""

from __future__ import annotations

import math
import re
from typing import Iterator

from celerylint.diagnostics import Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.commands import add_args
from celerylint.fixes.yamledit import set_value
from celerylint.model import Container, Deployment, Probe
from celerylint.model.images import split_image
from celerylint.model.kubernetes import span
from celerylint.model.probe_commands import DEFAULT_WINDOW, Ping, remote_control
from celerylint.rules_support import app_setting, broker_scheme, broker_urls, hops, place, scaling

CODE = "CL304"
NAME = "probe-inspect-ping"
SEVERITY = Severity.WARNING
SUMMARY = "a probe built on celery inspect ping that times out, asks the wrong node or process"
FIXABLE = True

#: Seconds a probe needs beyond the reply window: start Python, import celery and the app
#: (date-website PR #1040: 2.97 s real for a Django app, 1 s of it the reply window).
IMPORT_SECONDS = 2
#: kombu 5.6.2 transports whose ``implements.exchange_type`` has no fanout: the worker's remote
#: control bootstep is never started (celery/worker/consumer/control.py ``include_if``).
NO_REMOTE_CONTROL = frozenset({
    "sqs", "kafka", "confluentkafka", "azurestoragequeues", "azureservicebus", "consul", "etcd",
    "zookeeper", "sqlalchemy", "sqla", "pyro", "slmq"})
NOT_WORKERS = ("beat", "flower", "events")
#: What to check instead, for each of them.
CHECK = {"beat": "check beat itself (the age of its schedule file, or its log)",
         "flower": "probe Flower's own /healthcheck", "events": "check the process itself"}
#: How a probe names its own host, expanded by a shell.
_HOST = re.compile(r"\$HOSTNAME\b|\$\{HOSTNAME\}|\$\(hostname\)|`hostname`")
#: Celery's -n place holders (celery/utils/nodenames.py ``host_format``).
_PLACEHOLDER = re.compile(r"%(.)")


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    sharing = _workers(deployment)
    for container in deployment.containers():
        for probe in container.probes.values():
            if probe.launch is None:
                continue
            said = set()  # `ping || ping` (two app paths): each problem once per probe
            for ping in remote_control(probe.launch.commands, set(container.env)):
                for finding in _judge(deployment, container, probe, ping, sharing):
                    if finding.message not in said:
                        said.add(finding.message)
                        yield finding


def _judge(deployment: Deployment, container: Container, probe: Probe, ping: Ping,
           sharing: dict) -> Iterator[Finding]:
    name = "healthcheck" if probe.kind == "healthcheck" else f"{probe.kind}Probe"
    head = f"{name} of {place(container)} runs `{ping.what}`"
    related = hops(probe.launch)
    processes = {i.subcommand for i in container.celery}
    workers = [i for i in container.celery if i.is_worker or i.subcommand == "multi"]
    if container.celery and not workers and processes & set(NOT_WORKERS):
        process = next(p for p in NOT_WORKERS if p in processes)
        yield Finding(ping.span, f"{head}, a worker request, in a {process} container: it "
                      f"checks the workers, not {process}",
                      f"{process} never answers it, so the probe {_consequence(probe, process)}; "
                      f"drop the worker ping from the {process} container; {CHECK[process]}",
                      related=related)
        return
    broken = _no_remote_control(container, ping)
    if broken:
        short, why = broken
        yield Finding(ping.span, f"{head}, but {short}: it always fails",
                      f"{why}, so no worker ever answers (No nodes replied within time "
                      "constraint); probe a heartbeat file the worker touches instead",
                      related=related)
        return
    wrong = _wrong_node(container, probe, ping, workers)
    if wrong:
        short, why = wrong
        yield Finding(ping.destination_span or ping.span,
                      f"{name} of {place(container)} pings -d {ping.destination}, but {short}: it "
                      "always fails",
                      (f"{why}; " if why else "") + "no node replies (No nodes replied within "
                      "time constraint); name the worker's node exactly "
                      "(`celery@$HOSTNAME` run through `sh -c`, or the name its -n makes)",
                      related=related)
        return
    option = "timeout=" if ping.invocation is None else "-t"
    covered = False
    if not ping.window_given:
        fix = _window_fix(container, probe, ping)
        covered = fix is not None
        short = f" ({_timeout_text(probe)} is even shorter)" \
            if probe.timeout < DEFAULT_WINDOW + IMPORT_SECONDS else ""
        yield Finding(ping.span, f"{head} without {option}: any reply later than 1 s fails "
                      f"it{short}",
                      f"give it {'-t 10' if ping.invocation else 'timeout=10'} and a probe "
                      "timeout above it (15 s): a busy event loop, a solo pool running a task or "
                      "a slow broker delays the reply", fix=fix,
                      related=related)
    if not covered and ping.window is not None and \
            probe.timeout < ping.window + IMPORT_SECONDS:
        yield _too_short(container, probe, ping, name, related)
    if ping.destination is None:
        why = _others(deployment, container, sharing)
        if why:
            yield Finding(ping.span, f"{head} without -d: any worker answers ({why}), so a "
                          "hung worker passes", "ask this container's worker only: "
                          "`-d celery@$HOSTNAME` (through `sh -c`); any worker on the broker "
                          "answers a broadcast ping", related=related)


def _consequence(probe: Probe, process: str) -> str:
    if probe.kind == "healthcheck":
        return (f"marks {process} unhealthy whenever the workers are busy or down, and healthy "
                f"while {process} itself hangs")
    if probe.kind == "readiness":
        return f"follows the workers' health, never {process}'s"
    return (f"restarts {process} whenever the workers are busy or down, and never restarts a "
            f"hung {process}")


def _timeout_key(probe: Probe) -> str:
    return "timeout" if probe.kind == "healthcheck" else "timeoutSeconds"


def _timeout_text(probe: Probe) -> str:
    return f"timeout {probe.timeout} s" if probe.kind == "healthcheck" else \
        f"timeoutSeconds {probe.timeout}"


def _set_timeout(container: Container, probe: Probe, seconds: int):
    key = _timeout_key(probe)
    value = f"{seconds}s" if probe.kind == "healthcheck" else seconds
    return set_value(probe.source or container.workload.source, probe.data, key, value)


def _window_fix(container: Container, probe: Probe, ping: Ping) -> Fix | None:
    """Add ``-t``: 10 s, or less so that the probe's timeout still covers it and the start-up;
    with a raised probe timeout when even 2 s would not fit. Not in a script (other probes or
    people may run it) nor in Python."""
    invocation = ping.invocation
    if invocation is None or ping.command.from_file:
        return None
    after = invocation.positionals[0] if invocation.subcommand == "inspect" and \
        invocation.positionals else invocation.subcommand_word
    window = min(10, probe.timeout - IMPORT_SECONDS)
    raise_to = None
    if window < 2:
        window, raise_to = 10, 15
    added = add_args(ping.command, after, ["-t", str(window)])
    if added is None:
        return None
    edits = [added] + ([_set_timeout(container, probe, raise_to)] if raise_to else [])
    more = f" and raise {_timeout_key(probe)} to {raise_to}" if raise_to else ""
    return Fix(f"add -t {window} to `{ping.what}`{more}", edits)


def _too_short(container: Container, probe: Probe, ping: Ping, name: str,
               related: list) -> Finding:
    needed = max(5, math.ceil((ping.window + IMPORT_SECONDS) / 5) * 5)
    waits = "always waits" if ping.destination is None else "may wait"
    key = _timeout_key(probe)
    source = probe.source or container.workload.source
    where = span(source, probe.data.value_pos[key]) if key in probe.data else probe.span
    killed = "Docker stops the check" if probe.kind == "healthcheck" else \
        "the kubelet kills the command"
    return Finding(
        where,
        f"{name} of {place(container)} has {_timeout_text(probe)}, but `{ping.what}` {waits} "
        f"{ping.window:g} s: " + ("it always fails" if ping.destination is None else
                                  "a slow reply fails it"),
        f"it waits for replies, and needs about {IMPORT_SECONDS} s to start (Python, the app's "
        f"imports): {killed} first and counts a failure; set {key} to at least {needed}",
        fix=Fix(f"raise {key} to {needed}", [_set_timeout(container, probe, needed)]),
        related=related)


def _no_remote_control(container: Container, ping: Ping) -> tuple[str, str] | None:
    """(why no worker answers, in a few words; the same in full), or None."""
    for setting, url, _ in broker_urls(container, ping.invocation):
        scheme = broker_scheme(url)
        if setting == "broker_url" and scheme in NO_REMOTE_CONTROL:
            return (f"its broker `{scheme}://` has no remote control",
                    f"`{scheme}://` is a transport without remote control (no fanout exchange), "
                    "so the workers never start it")
    known, value = app_setting(container, "worker_enable_remote_control")
    if known and value is False:
        return ("the app sets worker_enable_remote_control = False",
                "the workers start no remote control")
    return None


def _wrong_node(container: Container, probe: Probe, ping: Ping,
                workers: list) -> tuple[str, str] | None:
    """Why the ``-d`` node cannot be this container's worker (in a few words; more for the
    hint), or None when it may be."""
    destination = ping.destination
    if destination is None or not ping.fixed_destination:
        return None
    if _HOST.search(destination):
        if probe.kind == "healthcheck" and "HOSTNAME" in probe.compose_variables and \
                re.search(r"\$\{?HOSTNAME", destination):
            return ("Compose replaces `$HOSTNAME` when it reads the file",
                    "Compose puts in the variable of the shell that runs `docker compose` "
                    "(usually unset: an empty name); write `$$HOSTNAME` for the container's")
        if ping.command.shell is None:
            return ("no shell expands it",
                    "the probe runs without a shell, so celery gets `$HOSTNAME` as written; run "
                    "it through `sh -c`")
    names = {_template(part.strip(), True) for part in destination.split(",") if part.strip()}
    if None in names or not workers or any(i.subcommand == "multi" for i in workers):
        return None
    made = []
    for invocation in workers:
        node = _worker_node(container, invocation)
        if node is None:
            return None
        if node[0] in names:
            return None
        made.append(node[1])
    return f"the worker is named {' and '.join(made)}", ""


def _worker_node(container: Container, invocation) -> tuple[str, str] | None:
    """The worker's node name as a template (``celery@{h}``) and as it is written."""
    option = invocation.option("hostname")
    if option is None:
        env = container.env.get("CELERY_WORKER_HOSTNAME")  # click's auto environment variable
        if env is None:
            return "celery@{h}", "celery@ and the host name (no -n)"
        if env.value is None:
            return None
        written = env.value
    elif option.value is None:
        return None
    else:
        written = option.value
    if "$" in written and invocation.command.shell is None:
        return None
    template = _template(written, False)
    if template is None:
        return None
    if "@" not in template:
        template = "celery@" + template
    return template, f"`{written}` (-n)"


def _template(name: str, probe: bool) -> str | None:
    """A node name with its host part as ``{h}``: ``$HOSTNAME`` and friends (expanded by a
    shell) and, in a worker's ``-n``, ``%h``/``%n`` (pod and container host names have no
    dots); None when another part is only known at run time."""
    name = _HOST.sub("{h}", name)
    if not probe:
        unknown = False

        def place(match: re.Match) -> str:
            nonlocal unknown
            letter = match.group(1)
            if letter in ("h", "n"):
                return "{h}"
            if letter == "%":
                return "%"
            unknown = True
            return ""

        name = _PLACEHOLDER.sub(place, name)
        if unknown:
            return None
    if any(c in name for c in "$`"):
        return None
    return name


def _workers(deployment: Deployment) -> dict:
    """Worker containers by what they share: the place (a compose project, a Kubernetes
    namespace of one checked project) and the broker URL, or when it is unknown the image.
    Built in one pass; ``_others`` looks a container's key up."""
    found: dict[tuple, list[Container]] = {}
    for container in deployment.containers():
        if any(i.is_worker or i.subcommand == "multi" for i in container.celery):
            found.setdefault(_key(container), []).append(container)
    return found


def _key(container: Container) -> tuple:
    workload = container.workload
    broker = next((url for setting, url, _ in broker_urls(container, container.celery[0])
                   if setting == "broker_url"), None) if container.celery else None
    image = None
    if not broker:
        image = split_image(container.image)[0]
        if not image:
            return ()  # nothing to say that another worker shares its broker
    return (workload.source.project, workload.carrier, workload.namespace or "default",
            broker or None, image)


def _others(deployment: Deployment, container: Container, sharing: dict) -> str | None:
    """Why other workers answer the same broadcast, or None when nothing shows any: scaling,
    or other workers in the same place on the same broker URL (both unknown: the same image)."""
    scaled = scaling(deployment, container.workload)
    if scaled:
        return scaled
    key = _key(container)
    shown: list[str] = []
    for other in sharing.get(key, []) if key else []:
        label = other.workload.label if other.workload is not container.workload else \
            f"container '{other.name}' beside it"
        if other is container or (other.workload is not container.workload and
                                  other.workload.name == container.workload.name):
            continue  # itself, or the same workload written again (another overlay, a copy)
        if label not in shown:
            shown.append(label)
            if len(shown) == 3:
                break
    return f"other workers share it ({', '.join(shown)})" if shown else None
