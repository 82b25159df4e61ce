"""redis-eviction-policy: the broker's Redis may evict queued tasks under memory pressure.

## What it finds
A Redis that the broker URL's Service selects, running with a `maxmemory-policy` other than
`noeviction`: `--maxmemory-policy allkeys-lru` in its command or args, or `maxmemory-policy` in a
`redis.conf` of a ConfigMap of the deployment.

## Symptoms
- `InconsistencyError: Probably the key ('_kombu.binding.celery') has been removed from the Redis
  database.`
- Tasks that were sent never run, with nothing in any log; queues shrink without workers
  consuming them.

## Why
Under `maxmemory`, an `allkeys-*` policy may evict any key, including the lists that hold queued
messages and the `_kombu.binding.*` sets, which have no TTL. Celery's docs name the error above
and point at `maxmemory-policy`; a `volatile-*` policy only evicts keys with a TTL (result-backend
keys), and Redis's own default is `noeviction`.

## Fix
`--maxmemory-policy noeviction` (and a separate Redis for caching). Automatic fix (unsafe: when
full, Redis then refuses writes instead of dropping keys): sets the policy to `noeviction`.

## When it stays silent
- `noeviction`; Redis instances that the broker URL does not reach through a Service of the
  repository; managed Redis (its parameter group is not in the repository).

## References
- Celery docs, Using Redis, Caveats, "Key eviction":
  https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#key-eviction
- Redis docs, Key eviction: https://redis.io/docs/latest/develop/reference/eviction/
"""

from __future__ import annotations

import re
from typing import Iterator

from celerylint.diagnostics import Applicability, Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.yamledit import edit
from celerylint.model.kubernetes import span
from celerylint.rules_support import (
    broker_targets, is_redis, service_of_target,
)

CODE = "CL604"
NAME = "redis-eviction-policy"
SEVERITY = Severity.ERROR
SUMMARY = "the broker's Redis runs with a maxmemory-policy that can evict queued tasks"
FIXABLE = True

_CONF = re.compile(r"^[ \t]*maxmemory-policy[ \t]+(\S+)", re.M)


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    reported = set()
    for container, setting, _, _, _, target in broker_targets(deployment):
        service = service_of_target(deployment, container, target)
        if setting != "broker_url" or service is None:
            continue
        for workload in deployment.index.selected(service):
            for redis in (c for c in workload.containers if is_redis(c)):
                for finding in _policies(redis, deployment, service.name):
                    if finding.span not in reported:
                        reported.add(finding.span)
                        yield finding


def _policies(redis, deployment, service_name: str) -> Iterator[Finding]:
    """The policy the command line sets wins over redis.conf, as redis-server reads them."""
    source = redis.workload.source
    argv = redis.argv
    if any(a == "--maxmemory-policy" or a.startswith("--maxmemory-policy=") for a in argv):
        yield from _command_line(redis, source, argv, service_name)
        return
    yield from _config_files(redis, deployment, service_name)


def _command_line(redis, source, argv, service_name: str) -> Iterator[Finding]:
    for i, arg in enumerate(argv):
        policy = None
        if arg == "--maxmemory-policy" and i + 1 < len(argv):
            index, policy = i + 1, argv[i + 1]
        elif arg.startswith("--maxmemory-policy="):
            index, policy = i, arg.split("=", 1)[1]
        if policy and policy != "noeviction":
            items, at = redis.argv_items[index]
            pos = items.item_pos[at]
            start, end = source.offset(pos[0], pos[1]), source.offset(pos[2], pos[3])
            text = source.text[start:end]
            fix = None
            if policy in text:
                offset = start + text.index(policy)
                fix = Fix("set maxmemory-policy noeviction",
                          [edit(source, offset, offset + len(policy), "noeviction")],
                          Applicability.UNSAFE)
            yield _finding(policy, service_name, redis, span(source, pos), fix)


def _config_files(redis, deployment, service_name: str) -> Iterator[Finding]:
    for _, obj in deployment.index.mounted_configmaps(redis):
        data = obj.data.get("data")
        if not isinstance(data, dict):
            continue
        for key, text in data.items():
            matches = list(_CONF.finditer(text)) if isinstance(text, str) else []
            if not matches or matches[-1].group(1) == "noeviction":
                continue  # redis-server takes the last line that sets it
            line_text = matches[-1].group(0).strip()
            pos = data.value_pos[key]
            where = span(obj.source, pos)
            for number in range(pos[0], min(pos[2] + 1, len(obj.source.lines) + 1)):
                row = obj.source.lines[number - 1]
                if row.strip() == line_text:
                    column = row.index(line_text) + 1
                    where = span(obj.source, (number, column, number, column + len(line_text)))
            yield _finding(matches[-1].group(1), service_name, redis, where, None)


def _finding(policy: str, service_name: str, redis, where, fix) -> Finding:
    severity = Severity.WARNING if policy.startswith("volatile") else None
    return Finding(
        where,
        f"the broker's Redis ({redis.where}, behind the Service '{service_name}') runs with "
        f"maxmemory-policy {policy}: under memory pressure it can evict queued tasks and kombu's "
        "bindings (InconsistencyError: Probably the key ('_kombu.binding.celery') has been "
        "removed)",
        "run the broker's Redis with --maxmemory-policy noeviction",
        severity=severity, fix=fix)
