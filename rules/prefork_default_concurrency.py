"""prefork-default-concurrency: a prefork worker sized by the node, not by its container.

## What it finds
A worker using the prefork pool (the default) with no `--concurrency`/`-c`, no `--autoscale`
and no concurrency setting in its environment, in a container with CPU or memory limits
(Kubernetes `resources.limits`; compose `deploy.resources.limits` or the legacy `cpus` and
`mem_limit`, which Compose applies without Swarm).

## Symptoms
- The container is OOM-killed (`Reason: OOMKilled`, exit code 137) soon after start or under
  load, or
  `ForkPoolWorker-N` children die with `WorkerLostError: Worker exited prematurely: signal 9 (SIGKILL)`.
- `celery inspect stats` shows `max-concurrency` equal to the node's CPU count (32, 64 ...).
- CPU throttling: many children share a limit of one or two CPUs.

## Why
With no concurrency set, the worker starts one child per CPU: `WorkController.setup_instance`
uses `billiard.cpu_count()`, which returns `os.cpu_count()`, the number of CPUs of the node. It
ignores the container's CPU quota (`resources.limits.cpu`, compose `cpus`) and its memory limit,
so a worker limited to 512 MiB on a 32-core node forks 32 children.

## Fix
Set `--concurrency=N` from the CPU limit (at least 1), and size the memory limit for N children.

Automatic fix (safe): adds `--concurrency=N` right after `worker`, with N the CPU limit rounded
down (at least 1), or 2 when only memory is limited.

## When it stays silent
- pools other than prefork (`solo` runs one task; `threads`, `gevent` and `eventlet` are cheap);
- containers without CPU or memory limits (the node size is then the intended budget);
- `worker_concurrency` in the app's configuration (`CELERY_WORKER_CONCURRENCY` in Django settings);
- any environment variable whose name contains `CONCURRENCY` (a setting we cannot evaluate), or
  `envFrom` a ConfigMap the repository does not define (or a compose `env_file` that is not in the
  repository) when Celery 5 may run (its click CLI
  reads `CELERY_WORKER_CONCURRENCY`); Celery 4's command line reads no environment variable, so
  a project pinned to Celery 4 is still checked;
- the command line ends in an expansion (`$CELERY_ARGS`) that may carry the option.

## References
- `celery/worker/worker.py` (v5.6.3), `setup_instance`: `self.concurrency = cpu_count()`
- `billiard/context.py` (v4.2.4): `cpu_count()` returns `os.cpu_count()`
- Celery docs, `worker_concurrency`: "If not set, the number of CPUs/cores on the host will be used."
  https://docs.celeryq.dev/en/stable/userguide/configuration.html#worker-concurrency
- celery/celery#10320 (cgroup-aware default, open)
- Compose Specification, `deploy.resources.limits`; compose-go `setLimits` applies `cpus` and
  `memory` as NanoCPUs and a memory limit without Swarm
- `celery/bin/celery.py` (5.x), `main()`: `celery(auto_envvar_prefix="CELERY")`, so click maps
  `CELERY_WORKER_CONCURRENCY` to `celery worker --concurrency`; Celery 4's argparse CLI has no
  such mapping
"""

from __future__ import annotations

import math
from typing import Iterator

from celerylint.diagnostics import Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.commands import add_args
from celerylint.rules_support import (
    allows_celery5, app_setting, cpu_quantity, env_mentions, pool_of,
)
from celerylint.rules_support import place

CODE = "CL202"
NAME = "prefork-default-concurrency"
SEVERITY = Severity.WARNING
SUMMARY = "a prefork worker without --concurrency forks one child per node CPU despite its limits"
FIXABLE = True


def check(context: Context) -> Iterator[Finding]:
    # Celery 5's click CLI reads CELERY_WORKER_CONCURRENCY (auto_envvar_prefix="CELERY"), so an
    # envFrom we cannot read may set it; Celery 4's CLI reads no environment variable
    for container in context.deployment.containers():
        limits = {k: v for k, v in container.limits.items() if k in ("cpu", "memory") and v}
        env_can_set = container.env_open and allows_celery5(context.deployment,
                                                            container.workload.source.project)
        if not limits or env_can_set or \
                env_mentions(container, "CONCURRENCY"):
            continue
        for invocation in container.celery:
            if pool_of(container, invocation) != "prefork" or invocation.open_ended:
                continue
            if invocation.option("concurrency") or invocation.option("autoscale"):
                continue
            if any(app_setting(container, s)[0] for s in ("worker_concurrency", "worker_autoscaler")):
                continue  # set in the app's configuration (or set to something we cannot read)
            cpu = cpu_quantity(limits["cpu"]) if "cpu" in limits else None
            suggested = max(1, math.floor(cpu)) if cpu is not None else 2
            shown = ", ".join(f"{k}: {v}" for k, v in limits.items())
            anchor = invocation.subcommand_word or invocation.program
            argument = add_args(invocation.command, anchor, [f"--concurrency={suggested}"])
            yield Finding(
                invocation.span(anchor),
                f"prefork worker in {place(container)} has no --concurrency: one child per node "
                f"CPU overruns its limits ({shown})",
                f"add --concurrency={suggested} to the worker command "
                + ("(from the CPU limit)" if cpu is not None else
                   "(no readable CPU limit: size it to the memory limit)")
                + ": Celery forks os.cpu_count() children, ignoring the container limits, so the "
                "container is OOM-killed or throttled on large machines",
                fix=Fix(f"add --concurrency={suggested}", [argument]) if argument else None,
            )
