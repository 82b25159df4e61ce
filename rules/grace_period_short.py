"""grace-period-short: SIGKILL comes before the worker's tasks can finish, and they are lost.

## What it finds
A celery worker whose runtime kills it sooner after the stop signal than its tasks may run,
while those tasks are acknowledged when they start (no `task_acks_late`):
- the grace period: a pod's `terminationGracePeriodSeconds` (30 s when not set), a compose
  service's `stop_grace_period` (10 s when not set), a supervisord program's `stopwaitsecs`
  (10 s when not set), a systemd unit's `TimeoutStopSec` (90 s when not set);
- what the tasks may take: the worker's `--time-limit` (else `--soft-time-limit`), the app's
  `task_time_limit` (else `task_soft_time_limit`), or a per-task `time_limit`/`soft_time_limit`
  in `task_annotations`, the longest of them.

Also, with Celery 5.5's soft shutdown on (`worker_soft_shutdown_timeout` above 0) and a stop
that reaches it (`REMAP_SIGTERM=SIGQUIT`, or a stop signal of `SIGQUIT`), a grace period that
is not longer than that timeout, whatever the acknowledgement mode.

## Symptoms
- The worker prints `worker: Warm shutdown (MainProcess)` and then nothing more: it is killed
  mid-task (Compose: `exited with code 137`; supervisord: `WARN killing 'celery' (42) with
  SIGKILL`, then `stopped: celery (terminated by SIGKILL)`).
- Tasks that were running during a rollout, a scale-down or a node drain never finish and are
  never retried: Flower shows them `STARTED` (or `RECEIVED`) for ever, and so does the result
  backend with `task_track_started`.
- Soft shutdown: `Initiating Soft Shutdown, terminating in 60 seconds` is the worker's last
  output, with no `Restoring 1 unacknowledged message(s)` after it.

## Why
On SIGTERM a worker does a warm shutdown: it "will finish all currently executing tasks before
it actually terminates" (Celery docs, Worker Shutdown). The runtime waits only the grace period
before SIGKILL, and a task killed then is gone: by default a task message is acknowledged "right
before" the task runs (`task_acks_late`, default disabled), so the broker never redelivers it. A
task may run up to its hard time limit (the soft one only raises an exception in it), so a grace
period below that limit kills the tasks that needed longer. Celery 5.5's soft shutdown waits
`worker_soft_shutdown_timeout` seconds and then cancels the tasks and restores the unacknowledged
messages in a cold shutdown; a SIGKILL before that comes too early for the cold shutdown.

## Fix
Raise the grace period above the longest time limit (or the soft shutdown timeout), with a
margin for the worker to stop, or make the tasks idempotent and set `task_acks_late = True`
(with `task_reject_on_worker_lost` for tasks whose process dies). Automatic fix (safe): sets the
grace period to the time limit plus 10 % and 10 s where it is written as a number
(`terminationGracePeriodSeconds: 60`, `stop_grace_period: 30s`, `stopwaitsecs=10`), or adds it to
the pod spec, compose service or supervisord program that lacks it.

## When it stays silent
- no time limit is known (the worker, the app configuration and `task_annotations` set none, or
  set them from values we cannot read): how long tasks run is not in the repository;
- `task_acks_late` set to anything but `False` (or a per-task `acks_late` in `task_annotations`,
  or an `ACKS_LATE` variable in the environment), and apps whose configuration is not found in
  the repository, or only in part (a settings module or configuration source we cannot read):
  the acknowledgement mode is unknown then; a per-task `acks_late=True` in a `@app.task`
  decorator is not read;
- soft shutdown set while the stop signal is SIGTERM without `REMAP_SIGTERM=SIGQUIT` (the warm
  shutdown then waits for the tasks, and the soft shutdown never starts);
- beat, Flower and one-off commands; a Procfile's processes (honcho waits 5 s, Heroku 30 s: the
  runner is not in the repository); grace periods that a template or variable computes.

## References
- Celery docs, Workers, "Worker Shutdown" (warm, soft, cold), v5.6.3:
  https://docs.celeryq.dev/en/v5.6.3/userguide/workers.html#worker-shutdown
- Celery docs, Configuration: `task_acks_late`, `task_time_limit`, `task_soft_time_limit`,
  `task_annotations`, `worker_soft_shutdown_timeout` (added in 5.5):
  https://docs.celeryq.dev/en/v5.6.3/userguide/configuration.html
- Kubernetes API, PodSpec `terminationGracePeriodSeconds` ("Defaults to 30 seconds"):
  https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#lifecycle
- Compose Specification, services: `stop_grace_period` ("Default value is 10 seconds"),
  `stop_signal`: https://github.com/compose-spec/compose-spec/blob/main/05-services.md
- supervisord docs, `[program:x]` section, `stopwaitsecs` (default 10), supervisor 4.3.0
- systemd.service(5), `TimeoutStopSec=` (`DefaultTimeoutStopSec=`, 90 s)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator

from celerylint.diagnostics import Finding, Fix, Related, Severity, Span
from celerylint.engine import Context
from celerylint.fixes.yamledit import edit, set_value
from celerylint.model import StopGrace
from celerylint.model.appconfig import UNKNOWN
from celerylint.rules_support import launch_invocations, named, place

CODE = "CL509"
NAME = "grace-period-short"
SEVERITY = Severity.WARNING
SUMMARY = "the grace period before SIGKILL is shorter than the worker's tasks may run: they are lost"
FIXABLE = True

#: Launchers whose wait before SIGKILL the repository sets (a Procfile's runner is elsewhere).
LAUNCHERS = {"supervisord": "stopwaitsecs", "systemd": "TimeoutStopSec"}
QUIT = frozenset({"QUIT", "SIGQUIT", "3"})


@dataclass
class Stop:
    """How the worker is stopped: the wait before SIGKILL, and how to change it."""

    seconds: float
    shown: str  # "terminationGracePeriodSeconds: 20", "the default stop_grace_period (10 s)"
    key: str
    span: Span | None  # where the value is written
    signal: str
    fix: Callable[[int], Fix | None]
    default: str = ""  # for the hint: who sends SIGKILL when, when nothing sets the wait


@dataclass
class Limit:
    seconds: float
    shown: str
    span: Span | None


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    sources = {s.path: s for s in deployment.sources}
    reported: set = set()
    for launch, invocation in launch_invocations(deployment):
        if not invocation.is_worker:
            continue
        container = launch.container
        stop = _container_stop(container, launch) if container is not None else \
            _launcher_stop(launch, sources)
        if stop is None:
            continue
        config = container.app_config if container is not None else launch.app_config
        env = {n: v.value for n, v in container.env.items()} if container is not None else {}
        where = place(container) if container is not None else None
        at = stop.span or invocation.span()
        if stop.span is None and container is not None and at.path != container.span.path:
            at = container.span  # celery starts in the image or a script: point at the container
        if at in reported:
            continue
        where = where or named(launch, at)
        # (seconds, what it is under, what a stop does then, why: for the hint, related)
        needed: list[tuple[float, str, str, str, Related | None]] = []
        limit = _longest_limit(invocation, config)
        if limit is not None and limit.seconds > stop.seconds and _acks_early(config, env):
            needed.append((
                limit.seconds, f"its {limit.seconds:g} s task time limit",
                "a stop loses the tasks running",
                f"tasks may run for {limit.seconds:g} s ({limit.shown}) and are acknowledged when "
                "they start (task_acks_late is not set), so a stop (a rollout, a scale-down, a "
                "restart) SIGKILLs the worker in the middle of a longer task, and that task is "
                "lost",
                Related(limit.span, f"the time limit: {limit.shown}") if limit.span else None))
        soft = _soft_shutdown(config)
        quit_on_stop = stop.signal in QUIT or (env.get("REMAP_SIGTERM") or "") == "SIGQUIT"
        if soft is not None and quit_on_stop and soft.seconds >= stop.seconds:
            how = "REMAP_SIGTERM=SIGQUIT" if stop.signal not in QUIT else f"SIG{stop.signal}"
            needed.append((
                soft.seconds, f"its {soft.seconds:g} s soft shutdown",
                "tasks are killed, not restored",
                f"the soft shutdown ({soft.shown}, reached through {how}) does not end before "
                "SIGKILL, so the worker is killed before its cold shutdown cancels the tasks and "
                "restores their messages",
                Related(soft.span, f"the soft shutdown: {soft.shown}") if soft.span else None))
        if not needed:
            continue
        reported.add(at)
        target = max(_with_margin(item[0]) for item in needed)
        hint = "; ".join(([stop.default] if stop.default else []) + [item[3] for item in needed])
        hint += f"; raise {stop.key} to {target} s or more (the longest wait plus a margin)"
        hint += ", or set task_acks_late = True with idempotent tasks" if limit is not None and \
            any(item[1].endswith("task time limit") for item in needed) else \
            ", or lower worker_soft_shutdown_timeout below it"
        yield Finding(
            at, f"{where}: {stop.shown} is under " + " and ".join(item[1] for item in needed)
            + ": " + " and ".join(dict.fromkeys(item[2] for item in needed)),
            hint, fix=stop.fix(target), related=[item[4] for item in needed if item[4] is not None])


def _with_margin(seconds: float) -> int:
    """The limit plus 10 % and 10 s for the worker to finish stopping."""
    return math.ceil(round(seconds * 11 / 10 + 10, 6))


# -- the stop ------------------------------------------------------------------------------------

def _container_stop(container, launch) -> Stop | None:
    grace: StopGrace | None = container.workload.stop_grace
    if grace is None or grace.seconds is None:
        return None
    signal = grace.signal or _image_signal(launch) or "TERM"
    signal = signal.upper().removeprefix("SIG")
    compose = container.workload.carrier == "compose"
    unit = "s" if compose else ""
    default = ""
    if grace.default:
        runtime = "Compose" if compose else "the kubelet"
        shown = f"the default {grace.key} ({grace.seconds:g} s)"
        default = f"{runtime} sends SIGKILL {grace.seconds:g} s after the stop signal"
    else:
        written = grace.source.text[grace.source.offset(grace.span.line, grace.span.column):
                                    grace.source.offset(grace.span.end_line,
                                                        grace.span.end_column)]
        shown = f"{grace.key}: {written}"

    def fix(target: int) -> Fix | None:
        if grace.mapping is None or not _inside(grace):
            return None
        value = f"{target}{unit}" if compose else target
        return Fix(f"set {grace.key}: {value}",
                   [set_value(grace.source, grace.mapping, grace.key, value)])

    return Stop(grace.seconds, shown, grace.key, grace.span, signal, fix, default)


def _inside(grace: StopGrace) -> bool:
    """Whether the value is written in the mapping's own lines (not merged from a YAML anchor
    that other mappings share)."""
    pos = grace.mapping.pos
    return grace.span is None or pos[0] <= grace.span.line <= pos[2]


def _image_signal(launch) -> str | None:
    stage = launch.stage if launch is not None else None
    found = stage.last("STOPSIGNAL") if stage is not None else None
    return found.args.strip() if found is not None and "$" not in found.args else None


def _launcher_stop(launch, sources) -> Stop | None:
    key = LAUNCHERS.get(launch.launcher)
    if key is None or launch.stop_timeout is None:
        return None
    if key == "TimeoutStopSec" and key not in launch.settings and "TimeoutSec" in launch.settings:
        key = "TimeoutSec"
    span = launch.settings.get(key)
    source = sources.get(span.path) if span is not None else None
    if source is not None:
        written = source.text[source.offset(span.line, span.column):
                              source.offset(span.end_line, span.end_column)]
        shown = f"{key}={written}" + (f" ({launch.stop_timeout:g} s)" if written.strip() !=
                                      f"{launch.stop_timeout:g}" else "")
    else:
        shown = f"the default {key} ({launch.stop_timeout:g} s)"

    def fix(target: int) -> Fix | None:
        if launch.launcher != "supervisord":
            return None
        where = span or launch.settings.get("program")
        if where is None or sources.get(where.path) is None:
            return None
        source = sources[where.path]
        if span is not None:
            start = source.offset(span.line, span.column)
            end = source.offset(span.end_line, span.end_column)
            return Fix(f"set stopwaitsecs={target}", [edit(source, start, end, str(target))])
        if where.line >= len(source.lines):
            return None
        at = source.offset(where.line + 1, 1)
        return Fix(f"add stopwaitsecs={target}", [edit(source, at, at, f"stopwaitsecs={target}\n")])

    default = "" if source is not None else \
        f"{launch.launcher} sends SIGKILL {launch.stop_timeout:g} s after the stop signal"
    return Stop(launch.stop_timeout, shown, key, span, launch.stop_signal.upper(), fix, default)


# -- what the tasks may take -----------------------------------------------------------------------

def _seconds(value) -> float | None:
    if isinstance(value, bool) or value is None or value is UNKNOWN:
        return None
    try:
        number = float(value) if isinstance(value, (int, float)) else float(str(value).strip())
    except (ValueError, OverflowError):
        return None
    return number if 0 < number < math.inf else None


def _longest_limit(invocation, config) -> Limit | None:
    """The longest time a task may run: the hard limit (the worker's option, else the app's
    setting), else the soft one, else the longest per-task one. A hard limit written in a way
    we cannot read makes the global bound unknown."""
    scopes: list[Limit] = []
    for option, setting in (("time_limit", "task_time_limit"),
                            ("soft_time_limit", "task_soft_time_limit")):
        if invocation.option(option) is not None:  # the worker's option wins over the app's
            found, written = _cli_limit(invocation, option), True
        else:
            found = _config_limit(config, setting)
            written = config is not None and config.get(setting) is not None
        if found is not None:
            scopes.append(found)
        if written:
            break  # set (readable or not): the soft limit is not the bound then
    scopes += _annotation_limits(config)
    return max(scopes, key=lambda limit: limit.seconds) if scopes else None


def _cli_limit(invocation, option: str) -> Limit | None:
    found = invocation.option(option)
    if found is None or found.dynamic:
        return None
    seconds = _seconds(found.value)
    if seconds is None:
        return None
    return Limit(seconds, f"--{option.replace('_', '-')}={found.value}",
                 invocation.span(found.value_word or found.flag))


def _config_limit(config, name: str) -> Limit | None:
    setting = config.get(name) if config is not None else None
    seconds = _seconds(setting.value) if setting is not None else None
    return Limit(seconds, f"{name} = {seconds:g}", setting.span) if seconds else None


def _annotation_limits(config) -> list[Limit]:
    setting = config.get("task_annotations") if config is not None else None
    value = setting.value if setting is not None else None
    found = []
    for task, attributes in value.items() if isinstance(value, dict) else ():
        if not isinstance(attributes, dict):
            continue
        for key in ("time_limit", "soft_time_limit"):
            seconds = _seconds(attributes.get(key))
            if seconds is not None:
                found.append(Limit(seconds, f"task_annotations {task!r}: {key}={seconds:g}",
                                   getattr(attributes, "spans", {}).get(key, setting.span)))
                break  # the hard limit when set, else the soft one
    return found


def _acks_early(config, env: dict) -> bool:
    """True only when every task is known to be acknowledged before it runs."""
    if config is None or config.opaque or _unread(config) or \
            any("ACKS_LATE" in n.upper() for n in env):
        return False
    for name in ("task_acks_late", "acks_late"):
        setting = config.get(name)
        if setting is not None and setting.value is not False:
            return False
    annotations = config.get("task_annotations")
    if annotations is not None:
        value = annotations.value
        if not isinstance(value, dict) or any(
                not isinstance(a, dict) or a.get("acks_late", False) is not False
                for a in value.values()):
            return False
    return True


#: ``AppConfig.unread`` reasons about the environment only: a variable loaded from a dotenv file
#: changes only the settings that read it, and those are read (as unknown) already.
_ENVIRONMENT_ONLY = ("loads environment variables", "writes the environment",
                     "os.environ is written")


def _unread(config) -> bool:
    """Whether settings may come from what was not read (a module not found, a configuration
    source we cannot evaluate), so that task_acks_late may be set there."""
    return any(not reason.endswith(_ENVIRONMENT_ONLY) for reason in getattr(config, "unread", ()))


def _soft_shutdown(config) -> Limit | None:
    return _config_limit(config, "worker_soft_shutdown_timeout")
