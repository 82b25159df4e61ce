"""prefork-no-writable-tmp: a prefork worker with no writable temporary directory.

## What it finds
A worker using the prefork pool (the default) in a container with `readOnlyRootFilesystem: true`
(compose: `read_only: true`) where none of the places Python's `tempfile` tries is writable: `$TMPDIR`, `$TEMP`, `$TMP`, `/tmp`,
`/var/tmp`, `/usr/tmp` and the working directory.

## Symptoms
- `CRITICAL/MainProcess] Unrecoverable error: FileNotFoundError(2, "No usable temporary directory found in ['/tmp', '/var/tmp', '/usr/tmp', '/app']")`
- The worker exits right after its banner and the container restarts in a loop.

## Why
billiard allocates shared values for each pool process (`Pool._create_worker_process` ->
`ctx.Value`), backed by an arena file from `tempfile.mkstemp(dir=util.get_temp_dir())`. Unlike
CPython's multiprocessing it does not fall back to `/dev/shm`. A read-only root filesystem leaves
`/dev/shm` writable (it is a separate tmpfs), so the semaphores work and the folklore about
`/dev/shm` or capabilities is wrong: it is the temporary directory that is missing.

## Fix
Mount an `emptyDir` at `/tmp` (`medium: Memory` with a `sizeLimit`), or in compose add `/tmp` to
the service's `tmpfs`; or set `TMPDIR=/dev/shm`.

Automatic fix (safe): adds a volume `tmp` (`emptyDir: {medium: Memory, sizeLimit: 64Mi}`) and
mounts it at `/tmp`; in compose, adds `/tmp` to the service's `tmpfs` list (creating it in the
file that defines the service). None when something is already mounted at `/tmp` (read-only on
purpose: a person should decide), or when `tmpfs` is written as a single string.

## When it stays silent
- pools `solo`, `threads`, `gevent`, `eventlet`, a custom pool, or a pool set from a variable;
- `TMPDIR`/`TEMP`/`TMP` is set (to a writable path, or to a value we cannot see);
- a writable volume is mounted at one of the candidates, or at the working directory (the
  container's `workingDir`, a `cd` in its script, or the `WORKDIR` of the image the repository
  builds), or, when the working directory is unknown, at a path the repository's Dockerfiles use
  as `WORKDIR` or a conventional one (`/app`, `/code`, `/srv`, `/usr/src/app` ...); a volume
  elsewhere, such as `/var/cache/app`, is not taken for the working directory;
- `envFrom` a ConfigMap the repository does not define, or a compose `env_file` that is not in
  the repository (either may set `TMPDIR`);
- the command line ends in an expansion (`$CELERY_ARGS`) that may choose another pool.

## References
- billiard 4.2.4 `billiard/heap.py` (`Arena`), `billiard/pool.py` (`_create_worker_process`)
- Python docs, `tempfile.gettempdir`: https://docs.python.org/3/library/tempfile.html#tempfile.gettempdir
- grafana/oncall#445 (the same error under readOnlyRootFilesystem)
- moby/moby#28639: `--read-only` does not apply to `/dev/shm`
- Compose Specification, services: `read_only`, `tmpfs` (mounted writable)
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.volumes import add_writable_dir
from celerylint.model import Container
from celerylint.rules_support import may_hold_workdir, place, pool_of, working_directory, writable

CODE = "CL201"
NAME = "prefork-no-writable-tmp"
SEVERITY = Severity.ERROR
SUMMARY = "a prefork worker on a read-only root filesystem has no writable temporary directory"
FIXABLE = True

TEMP_ENV = ("TMPDIR", "TEMP", "TMP")
TEMP_DIRS = ("/tmp", "/var/tmp", "/usr/tmp")


def check(context: Context) -> Iterator[Finding]:
    for container in context.deployment.containers():
        if not container.read_only_root:
            continue
        if container.env_open or any(v in container.env for v in TEMP_ENV):
            continue  # TMPDIR may be set where we cannot see
        for invocation in container.celery:
            if pool_of(container, invocation) != "prefork" or invocation.open_ended:
                continue
            cwd = working_directory(container, invocation)
            candidates = list(TEMP_DIRS) + ([cwd] if cwd else [])
            if any(writable(container, d)[0] for d in candidates):
                continue
            if cwd is None and may_hold_workdir(container, context.deployment):
                continue  # the image's working directory may be on that volume
            tried = ", ".join(f"'{d}'" for d in candidates + ([] if cwd else ["<working dir>"]))
            yield Finding(
                invocation.span(),
                f"prefork worker in {place(container)} dies at start: no writable temporary "
                "directory (read-only root filesystem)",
                ("add /tmp to the service's tmpfs" if container.workload.carrier == "compose"
                 else "mount an emptyDir at /tmp (emptyDir: {medium: Memory, sizeLimit: 64Mi})")
                + ", or set the env var TMPDIR=/dev/shm: billiard cannot create its pool "
                "('Unrecoverable error: FileNotFoundError(2, \"No usable temporary directory "
                f"found in [{tried}]\")')",
                fix=_fix(container),
            )


def _fix(container: Container) -> Fix | None:
    if any(m.path.rstrip("/") == "/tmp" for m in container.mounts):
        return None  # /tmp is mounted read-only on purpose: that is for a person to change
    added = add_writable_dir(container, "tmp", "/tmp", memory=True)
    return Fix(added[1], added[0]) if added else None
