"""beat-schedule-read-only: beat would write its schedule file where it cannot.

## What it finds
A beat (`celery beat`, or a worker started with `-B`) using the default file-based scheduler whose
schedule file (`celerybeat-schedule` in the working directory, or the `-s` path) lies on a
read-only place: the read-only root filesystem (`readOnlyRootFilesystem: true`, compose
`read_only: true`) with no writable volume there, a ConfigMap, Secret, projected or downwardAPI volume (always read-only), or a mount
with `readOnly: true` (compose: `:ro`).

## Symptoms
- `OSError: [Errno 30] Read-only file system: 'celerybeat-schedule'`
- `Removing corrupted schedule file 'celerybeat-schedule': OSError(30, 'Read-only file system')`
- `beat raised exception <class 'OSError'>: OSError(30, 'Read-only file system')`
- The beat container exits with status 1 and goes into CrashLoopBackOff; periodic tasks stop.

## Why
`beat_schedule_filename` defaults to the relative path `celerybeat-schedule`, resolved against the
process working directory; the persistent scheduler opens it with `shelve` at start and re-raises
any failure after trying to delete the "corrupted" file. Celery's docs: beat "needs access to write
in the current directory, or alternatively you can specify a custom location for this file".

## Fix
Pass `-s /var/lib/celery/celerybeat-schedule` (any path on a writable volume) and mount an
`emptyDir` (or a PersistentVolumeClaim, to keep last-run times across restarts) there. Or use a
scheduler that keeps no local file: `django_celery_beat.schedulers:DatabaseScheduler` or RedBeat.

In compose, a named volume keeps the file across restarts; a `tmpfs` entry is enough to start.

Automatic fix (safe): adds `-s <dir>/celerybeat-schedule` right after `beat` (or `-B`), as new
list items in exec form or as words in an `sh -c` string, or rewrites an existing `-s` value. The
directory is a writable volume the container already mounts (a PersistentVolumeClaim, or a compose
named volume, first), else a new `emptyDir` mounted at `/var/lib/celery` (compose: `/var/lib/celery`
added to the service's `tmpfs`). None when `/var/lib/celery` is already mounted read-only or the
command is built from variables.

## When it stays silent
- `-S/--scheduler` names any other scheduler (django-celery-beat, RedBeat, a custom class), or the
  app's configuration does (`beat_scheduler`, `CELERY_BEAT_SCHEDULER` in Django settings, read
  statically), or sets it to something that cannot be read;
- the schedule settings are set through environment variables we cannot evaluate
  (`CELERY_BEAT_SCHEDULER`, `CELERY_BEAT_SCHEDULE_FILENAME` and their old names);
- `-s` or the working directory comes from a variable;
- the working directory is unknown (no `workingDir`, no `cd`, an image the repository does not
  build) and a writable volume is mounted where it could be: a path the repository's Dockerfiles
  use as `WORKDIR`, or a conventional one (`/app`, `/code`, `/srv`, `/usr/src/app` ...).

## References
- Celery 5.6 docs, Periodic Tasks, "Starting the Scheduler":
  https://docs.celeryq.dev/en/stable/userguide/periodic-tasks.html#starting-the-scheduler
- `celery/app/defaults.py` (v5.6.3): `schedule_filename=Option('celerybeat-schedule')`
- `celery/beat.py` (v5.6.3): `PersistentScheduler.setup_schedule`
- Kubernetes: ConfigMap and Secret volumes are mounted read-only,
  https://kubernetes.io/docs/concepts/storage/volumes/#configmap
- Compose Specification, services: `read_only`, `tmpfs`, `volumes` (`:ro`, `read_only`)
"""

from __future__ import annotations

import posixpath
from typing import Iterator

from celerylint.diagnostics import Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.commands import add_args, replace_arg
from celerylint.fixes.volumes import add_writable_dir
from celerylint.model import Container
from celerylint.parse.celery_cli import CeleryInvocation, Option
from celerylint.parse.shell import Word
from celerylint.rules_support import (
    app_setting, env_mentions, may_hold_workdir, working_directory, writable,
)
from celerylint.rules_support import place

CODE = "CL101"
NAME = "beat-schedule-read-only"
SEVERITY = Severity.ERROR
SUMMARY = "beat's schedule file would be written on a read-only filesystem"
FIXABLE = True

DEFAULT_FILE = "celerybeat-schedule"
FILE_SCHEDULERS = ("celery.beat:PersistentScheduler", "celery.beat.PersistentScheduler")
#: Volumes here are temporary space, never an image's working directory.
TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
#: Where the fix mounts a new emptyDir when the pod has no writable volume to reuse.
STATE_DIR = "/var/lib/celery"


def check(context: Context) -> Iterator[Finding]:
    for container in context.deployment.containers():
        for invocation in container.celery:
            if not invocation.runs_beat or invocation.open_ended:
                continue
            scheduler = invocation.option("scheduler")
            if scheduler is not None and (scheduler.dynamic or scheduler.value not in FILE_SCHEDULERS):
                continue
            if env_mentions(container, "BEAT_SCHEDULE", "BEAT_SCHEDULER", "CELERYBEAT_"):
                continue
            known, configured = app_setting(container, "beat_scheduler")
            if scheduler is None and known and configured not in FILE_SCHEDULERS:
                continue  # the app's settings choose a scheduler with no file (or one unknown)
            known_file, configured_file = app_setting(container, "beat_schedule_filename")
            if invocation.option("schedule") is None and known_file and \
                    not isinstance(configured_file, str):
                continue
            schedule = invocation.option("schedule")
            if schedule is not None and (schedule.dynamic or not schedule.value):
                continue
            filename = schedule.value if schedule is not None else (
                configured_file if known_file else DEFAULT_FILE)
            cwd = working_directory(container, invocation)
            if filename.startswith("/"):
                directory = posixpath.dirname(posixpath.normpath(filename))
            elif cwd is not None:
                directory = posixpath.dirname(posixpath.join(cwd, filename))
            else:
                directory = None
            if directory is None:
                if not container.read_only_root or may_hold_workdir(container, context.deployment):
                    continue  # a writable volume could be the image's working directory
                reason = (f"the root filesystem is read-only ({container.read_only_how}) and no "
                          "writable volume is mounted where the working directory could be")
                where = "the working directory"
            else:
                ok, reason = writable(container, directory)
                if ok:
                    continue
                where = posixpath.join(directory, posixpath.basename(filename))
            anchor = invocation.option("beat").flag if invocation.subcommand == "worker" \
                else invocation.subcommand_word
            what = "worker -B" if invocation.subcommand == "worker" else "beat"
            yield Finding(
                invocation.span(anchor),
                f"{what} in {place(container)} crashes at start: its schedule file "
                + (f"{where} is read-only" if directory is not None else
                   "goes to a read-only working directory"),
                f"{reason} (OSError: [Errno 30] Read-only file system: '{filename}'); pass -s "
                "<dir>/celerybeat-schedule with <dir> on a writable volume ("
                + ("a tmpfs, or a named volume" if container.workload.carrier == "compose" else
                   "an emptyDir, or a PersistentVolumeClaim")
                + " to keep last-run times), or use a scheduler that "
                "keeps no file (django-celery-beat's DatabaseScheduler, RedBeat)",
                fix=_fix(container, invocation, anchor, schedule) if anchor else None,
            )


def _fix(container: Container, invocation: CeleryInvocation, anchor: Word,
         schedule: Option | None) -> Fix | None:
    """``-s`` on a writable volume: the pod's own emptyDir or PVC (a compose named volume or
    tmpfs), else a new emptyDir (compose: tmpfs)."""
    candidates = [m for m in container.mounts if m.writable and m.volume is not None
                  and m.volume.kind in ("emptyDir", "persistentVolumeClaim", "volume", "tmpfs")
                  and not m.sub_path and m.path.rstrip("/")]
    # a PersistentVolumeClaim (a named volume) keeps last-run times; temp space comes last
    candidates.sort(key=lambda m: (m.volume.kind not in ("persistentVolumeClaim", "volume"),
                                   m.path.rstrip("/") in TEMP_DIRS))
    reuse = candidates[0] if candidates else None
    if reuse is not None:
        directory, volume_edits = reuse.path.rstrip("/"), []
        where = f"on the writable volume '{reuse.name}'"
    else:
        if any(m.path.rstrip("/") == STATE_DIR for m in container.mounts):
            return None
        added = add_writable_dir(container, "beat-schedule", STATE_DIR, memory=False)
        if added is None:
            return None
        directory, volume_edits, where = STATE_DIR, added[0], "and " + added[1]
    path = f"{directory}/celerybeat-schedule"
    if schedule is not None:
        argument = replace_arg(invocation.command, schedule.value_word, path) \
            if schedule.value_word else None
    else:
        argument = add_args(invocation.command, anchor, ["-s", path])
    if argument is None:
        return None
    return Fix(f"pass -s {path} {where}", [argument, *volume_edits])
