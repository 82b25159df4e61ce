"""migrate-after-rollout: a deploy script waits for beat before it runs the migrations beat needs.

## What it finds
A deploy script that runs `manage.py migrate` (directly, through `kubectl exec`, or
`docker compose exec`/`run`) only after it waits for a beat that uses django-celery-beat's
`DatabaseScheduler` to be ready: `kubectl rollout status deployment/<beat>`, `kubectl wait
--for=condition=available deployment/<beat>` (or `--all`), `docker compose up --wait`,
`helm upgrade|install --wait` of the chart that runs beat.

## Symptoms
- On a fresh database (a new environment, a restored backup from before the app was added) beat
  crash-loops at start: `django.db.utils.ProgrammingError: relation
  "django_celery_beat_periodictask" does not exist`, raised from
  `DatabaseScheduler.setup_schedule` (`install_default_entries`).
- The wait times out (`error: timed out waiting for the condition`, `Waiting for deployment
  "celery-beat" rollout to finish: 0 of 1 updated replicas are available...`), the script stops
  before the migrations, and the deployment never recovers by itself.

## Why
`DatabaseScheduler` reads its `PeriodicTask` table when beat starts (`Scheduler.__init__` calls
`setup_schedule`, which installs the default entries and reads every task), so its tables must
exist first: they come from django-celery-beat's migrations, which `manage.py migrate` applies. A
script that waits for beat to be available before migrating waits for something that cannot
happen on a database without those tables.

## Fix
Run the migrations before beat starts: a Kubernetes `Job` (or a Helm `pre-install,pre-upgrade`
hook) that the script waits for first, an init container of the beat Deployment, or
`manage.py migrate` before the wait in the script. No automatic fix: the order of a deployment
is the team's to choose.

## When it stays silent
- beat's scheduler is not `DatabaseScheduler` (file scheduler, RedBeat) or cannot be read;
- the script runs no `migrate` (it may run in an init container, a Job or CI we do not read),
  or runs it before the wait;
- waits for other workloads only (`rollout status deployment/web`).

## References
- django-celery-beat `django_celery_beat/schedulers.py` (`DatabaseScheduler.setup_schedule`,
  `install_default_entries`, `all_as_schedule`); the crash reported in celery/django-celery-beat#75
  and bookwyrm-social/bookwyrm#2122 ("dc up: relation "django_celery_beat_periodictask" does not
  exist").
- django-celery-beat docs, Installation: "Apply Django database migrations so that the necessary
  tables are created: `python manage.py migrate`".
- kubectl reference: `rollout status`, `wait`; Docker Compose `up --wait`; Helm `--wait`.
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Finding, Related, Severity
from celerylint.engine import Context
from celerylint.rules_support import app_setting

CODE = "CL106"
NAME = "migrate-after-rollout"
SEVERITY = Severity.ERROR
SUMMARY = "a deploy script waits for a DatabaseScheduler beat before running the migrations"


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    beats = _database_beats(deployment)
    if not beats:
        return
    for source, commands in deployment.scripts:
        project_beats = beats.get(source.project)
        if not project_beats:
            continue
        migrate = next((i for i, c in enumerate(commands) if _migrates(c)), None)
        if migrate is None:
            continue
        for command in commands[:migrate]:
            waited = _waits_for(command, project_beats)
            if waited is None:
                continue
            beat, scheduler_span = waited
            yield Finding(
                command.origin.span(command.words[0]),
                f"this script waits for {beat.label} before manage.py migrate, which its "
                "DatabaseScheduler needs: on a fresh database the wait never ends",
                "beat crash-loops until django-celery-beat's tables exist (relation "
                "\"django_celery_beat_periodictask\" does not exist); migrate first (a Job or "
                "pre-install hook the script waits for, or an init container), then wait for beat",
                related=[Related(commands[migrate].origin.span(commands[migrate].words[0]),
                                 "the migrations run here"),
                         Related(scheduler_span, "beat uses DatabaseScheduler here")])
            break  # one finding per script: the first wait is the one that hangs


def _database_beats(deployment) -> dict[str, list]:
    """``(workload, span of the scheduler)`` of every beat on DatabaseScheduler, by project."""
    found: dict[str, list] = {}
    for container in deployment.containers():
        for invocation in container.celery:
            if invocation.subcommand != "beat":
                continue
            option = invocation.option("scheduler")
            if option is not None:
                if option.value and "DatabaseScheduler" in option.value:
                    where = option.value_word or option.flag
                    found.setdefault(container.workload.source.project, []).append(
                        (container.workload, invocation.span(where)))
                continue
            known, configured = app_setting(container, "beat_scheduler")
            if known and isinstance(configured, str) and "DatabaseScheduler" in configured:
                found.setdefault(container.workload.source.project, []).append(
                    (container.workload, invocation.span()))
    return found


def _migrates(command) -> bool:
    texts = [w.text for w in command.words]
    if "migrate" not in texts:
        return False
    before = texts[:texts.index("migrate")]
    return any(t.endswith("manage.py") or t == "django-admin" for t in before)


def _waits_for(command, beats: list):
    """The beat (with its scheduler's span) a command waits for, or None."""
    texts = [w.text for w in command.words]
    if not texts:
        return None
    program = command.words[0].name
    if program in ("kubectl", "oc") and len(texts) > 2:
        waiting = (texts[1] == "rollout" and texts[2] == "status") or (
            texts[1] == "wait" and any("condition=available" in t.lower() or
                                       "condition=ready" in t.lower() for t in texts))
        if not waiting:
            return None
        targets = [t for t in texts[2:] if not t.startswith("-")]
        for workload, span in beats:
            if workload.carrier == "compose":
                continue
            if "--all" in texts or any(_names(t, workload.name) for t in targets):
                return workload, span
        return None
    compose = (program == "docker" and texts[1:2] == ["compose"]) or program == "docker-compose"
    if compose and "up" in texts and any(t == "--wait" or t.startswith("--wait=")
                                         for t in texts):
        return next(((w, s) for w, s in beats if w.carrier == "compose"), None)
    if program == "helm" and texts[1:2] in (["upgrade"], ["install"]) and any(
            t in ("--wait", "--atomic") for t in texts):
        return next(((w, s) for w, s in beats if w.carrier != "compose"), None)
    return None


def _names(target: str, name: str) -> bool:
    """``deployment/celery-beat``, ``deploy/celery-beat``, ``celery-beat``."""
    return target.rsplit("/", 1)[-1] == name
