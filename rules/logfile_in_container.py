"""logfile-in-container: celery logs to a file inside the container.

## What it finds
`--logfile`/`-f` on a celery worker, beat or events process that a container or image starts,
or that a launcher runs inside a container: a Procfile process (a Heroku or Dokku dyno), an s6
`run` file, a supervisord program whose file a Dockerfile of the repository copies into an
image, and (as the same warning, "if it is a container's entry point") an entry script that no
launcher of the repository runs but whose name or place says it is one.

## Symptoms
- `kubectl logs`, `docker logs` and `heroku logs` show nothing after start-up, and the
  cluster's log collection never sees the worker's errors.
- The file grows without rotation until the container's writable layer (or its volume) fills;
  on a read-only root filesystem the worker fails to open it at start.

## Why
Container runtimes collect what PID 1 writes to stdout and stderr (and a supervisord or s6
in the container passes on what its programs write there). With `--logfile`, Celery writes its
log records to that file instead.

## Fix
Drop `--logfile` (Celery then logs to stderr). Automatic fix (safe): removes the option and its
value.

## When it stays silent
- `--logfile=/dev/stdout`, `/dev/stderr`, `/proc/1/fd/1`, `/proc/self/fd/2`, `/dev/fd/1` or `-`
  (the streams themselves);
- celery commands that are not a container's job: systemd units, supervisord files that no
  Dockerfile of the repository puts in an image (a host, where a log file is a choice), entry
  scripts whose name does not say a container runs them.

## References
- Celery docs, `celery worker --logfile`: https://docs.celeryq.dev/en/stable/reference/cli.html
- Kubernetes docs, Logging Architecture: https://kubernetes.io/docs/concepts/cluster-administration/logging/
- Heroku Dev Center, Logging (logs are what a dyno's processes write to stdout and stderr):
  https://devcenter.heroku.com/articles/logging
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.commands import remove_words
from celerylint.rules_support import hops, launch_invocations, named

CODE = "CL504"
NAME = "logfile-in-container"
SEVERITY = Severity.WARNING
SUMMARY = "celery logs to a file inside the container instead of stdout/stderr"
FIXABLE = True

#: Where users look for the logs under each launcher.
LOGS = {"procfile": "heroku logs (and honcho's output)", "supervisord": "the container's log",
        "s6": "the container's log", "runit": "the container's log",
        "entry-script": "the container's log"}
STREAMS = ("/dev/stdout", "/dev/stderr", "/proc/1/fd/1", "/proc/1/fd/2", "/proc/self/fd/1",
           "/proc/self/fd/2", "/dev/fd/1", "/dev/fd/2", "-")


def check(context: Context) -> Iterator[Finding]:
    for launch, invocation in launch_invocations(context.deployment):
        option = invocation.option("logfile")
        if option is None or option.dynamic or (option.value or "") in STREAMS or \
                launch.in_container is not True:
            continue  # a host's process may log to a file
        words = option.words
        edits = remove_words(invocation.command, words)
        container = launch.container
        logs = "docker compose logs" if container is not None and \
            container.workload.carrier == "compose" else LOGS.get(launch.launcher, "kubectl logs")
        where = invocation.span(option.flag)
        yield Finding(
            where,
            f"celery {invocation.subcommand} in {named(launch, where)} logs to "
            f"{option.value}: {logs} stays empty",
            "drop --logfile: celery logs to stderr, which the runtime collects (a file in the "
            "container is never rotated)",
            fix=Fix(f"remove {' '.join(w.text for w in words)}", edits) if edits else None,
            related=hops(launch))
