"""probe-too-early: a probe that gives up before the container can be ready.

## What it finds
A container that does slow work when it starts (`pip install`, `poetry install`, `apt-get install`,
creating a virtualenv ...) with a liveness or startup probe whose kill deadline comes before that
work can finish. The deadline is when the last allowed failure happens:
`initialDelaySeconds + (failureThreshold - 1) x periodSeconds + timeoutSeconds`, with Kubernetes'
defaults (0, 3, 10 s, 1 s). The work is estimated per step (`pip install` 60 s, `poetry install`
90 s, `apt-get install` 45 s ...; set your own with `--startup-estimate "pip install=120"`). A readiness probe in the same
situation is reported as `info`: it does not restart the container, it only keeps it unready.

A compose `healthcheck` restarts nothing outside Swarm (Docker's restart policy does not read
health): it only holds back the services that wait for it with `depends_on: {condition:
service_healthy}`. It is reported (as a warning) only when such a service exists, with Docker's
deadline: `start_period + retries x interval` (defaults 0 s, 3, 30 s).

## Symptoms
- `Liveness probe failed: Get "http://10.0.0.12:5555/": dial tcp 10.0.0.12:5555: connect: connection refused`
- `Container flower failed liveness probe, will be restarted`
- The pod restarts every minute or so (`RESTARTS` climbing, CrashLoopBackOff) and never serves.
- Compose: `dependency failed to start: container shop-worker-1 is unhealthy`, and the services
  that wait for it are never started.

## Why
The kubelet starts probing `initialDelaySeconds` after the container starts, whether or not the
process inside has finished installing its dependencies. A liveness or startup probe that fails
`failureThreshold` times in a row restarts the container, which starts the installation again.

## Fix
Bake the dependencies into the image (a Dockerfile `RUN pip install ...`), so that start-up takes
seconds. Until then, add a `startupProbe` whose deadline covers the installation, or raise the
liveness probe's `initialDelaySeconds` (compose: the healthcheck's `start_period`).

Automatic fix (safe): raises the probe's `initialDelaySeconds` (to a multiple of 10) so that its
deadline covers the estimate; for a startup probe, raises `failureThreshold` instead; for a
compose healthcheck, sets `start_period`.

## When it stays silent
- no slow step in the container's own command (init containers finish before probes start);
- a `startupProbe` exists and its deadline covers the estimate (liveness and readiness probes do
  not run until it succeeds);
- a command that cannot be read;
- a compose healthcheck that no service waits for (`condition: service_healthy`): it changes
  nothing at run time.

## References
- Kubernetes, Configure Liveness, Readiness and Startup Probes (defaults and `failureThreshold`):
  https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/
- Kubernetes API reference, core/v1 Probe.
- Seed post-mortem 002: Flower restarted while `pip install celery[redis]` ran (30-60 s).
- Compose Specification, `healthcheck` and `depends_on` (`service_healthy`); moby
  `daemon/health.go` (defaults) and its restart manager, which never reads health (moby#28400).
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.yamledit import set_value
from celerylint.rules_support import place, slow_step
from celerylint.model import Container, Probe

CODE = "CL301"
NAME = "probe-too-early"
SEVERITY = Severity.ERROR
SUMMARY = "a liveness or startup probe kills the container before its slow start-up can finish"
FIXABLE = True


def _deadline_text(probe: Probe) -> str:
    return (f"initialDelaySeconds {probe.initial_delay} + (failureThreshold "
            f"{probe.failure_threshold} - 1) x periodSeconds {probe.period} + timeoutSeconds "
            f"{probe.timeout}")


def check(context: Context) -> Iterator[Finding]:
    estimates = context.settings.startup_estimates
    for container in context.deployment.containers():
        if not container.probes or container.commands is None:
            continue
        steps = [s for s in (slow_step(c) for c in container.commands) if s]
        if not steps:
            continue
        estimate = sum(estimates.get(s, 0) for s in steps)
        if estimate <= 0:
            continue
        work = " and ".join(dict.fromkeys(steps))
        startup = container.probes.get("startup")
        watched = [startup] if startup else [
            p for k, p in container.probes.items() if k in ("liveness", "readiness")
            or (k == "healthcheck" and p.handler and p.waiting)]
        for probe in watched:
            if probe.deadline >= estimate:
                continue
            yield _finding(container, probe, work, estimate)


def _finding(container: Container, probe: Probe, work: str, estimate: int) -> Finding:
    if probe.kind == "healthcheck":
        waiting = ", ".join(f"'{name}'" for name in probe.waiting)
        return Finding(
            probe.span,
            f"healthcheck of {place(container)} fails {probe.deadline} s after start, before "
            f"its {work} ends (~{estimate} s): {waiting} fail"
            f"{'s' if len(probe.waiting) == 1 else ''} to start",
            f"the deadline is start_period {probe.initial_delay} s + retries "
            f"{probe.failure_threshold} x interval {probe.period} s, and the services that wait "
            "for it to be healthy fail with 'dependency failed to start: container ... is "
            "unhealthy' (a healthcheck restarts nothing); bake the dependencies into the image; "
            f"until then set the healthcheck's start_period above {estimate} s",
            severity=Severity.WARNING, fix=_fix(container, probe, estimate))
    if probe.kind == "readiness":
        what = f"fails from {probe.deadline} s after start"
        consequence = "no traffic until then"
        detail = ("it gets no Service traffic and the kubelet logs probe failures until the "
                  "installation ends (readiness never restarts a container)")
    else:
        what = f"gives up {probe.deadline} s after start"
        consequence = "a restart loop"
        detail = "the kubelet restarts it before it is ready, and the restart installs again"
    return Finding(
        probe.span,
        f"{probe.kind}Probe of {place(container)} {what}, before its {work} ends "
        f"(~{estimate} s): {consequence}",
        f"the deadline is {_deadline_text(probe)}; {detail}; bake the dependencies into the "
        f"image; until then add a startupProbe whose deadline exceeds {estimate} s (for example "
        f"failureThreshold: {estimate // 10 + 3}, periodSeconds: 10)",
        severity=Severity.INFO if probe.kind == "readiness" else None,
        fix=_fix(container, probe, estimate),
    )


def _fix(container: Container, probe: Probe, estimate: int) -> Fix:
    """Make the probe patient enough: a later first probe, or for a startup probe (whose job is
    exactly this) more allowed failures."""
    source = probe.source or container.workload.source
    if probe.kind == "healthcheck":
        needed = max(-(-(estimate - probe.failure_threshold * probe.period) // 10) * 10, 10)
        return Fix(f"set the healthcheck's start_period to {needed}s",
                   [set_value(source, probe.data, "start_period", f"{needed}s")])
    if probe.kind == "startup":
        needed = -(-(estimate - probe.initial_delay - probe.timeout) // probe.period) + 1
        return Fix(f"raise startupProbe failureThreshold to {needed}",
                   [set_value(source, probe.data, "failureThreshold", needed)])
    needed = estimate - (probe.failure_threshold - 1) * probe.period - probe.timeout
    needed = max(-(-needed // 10) * 10, probe.initial_delay)
    return Fix(f"raise {probe.kind}Probe initialDelaySeconds to {needed}",
               [set_value(source, probe.data, "initialDelaySeconds", needed)])
