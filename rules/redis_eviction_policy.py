"""redis-eviction-policy: the broker's Redis may evict queued tasks under memory pressure.

## What it finds
A Redis that the broker URL reaches (the pods its Service selects, or the compose service it
names), running with a `maxmemory-policy` other than `noeviction`: `--maxmemory-policy allkeys-lru`
on its command line (exec form, a compose string, or an `sh -c` script), or `maxmemory-policy` in
a `redis.conf` of a ConfigMap it mounts, or of a file of the repository that a compose service
bind-mounts and names on `redis-server`'s command line.

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
full, Redis then refuses writes instead of dropping keys): sets the policy on the command line to
`noeviction` (a configuration file is left to a person).

## When it stays silent
- `noeviction`; Redis instances that the broker URL does not reach through a Service (or a
  compose service) of the repository; managed Redis (its parameter group is not in the
  repository); a compose `redis.conf` mounted but not named on the command line (the official
  image reads no configuration file by default).

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
from celerylint.fixes.commands import replace_arg
from celerylint.rules_support import broker_targets, is_redis, mounted_configs, place

CODE = "CL604"
NAME = "redis-eviction-policy"
SEVERITY = Severity.ERROR
SUMMARY = "the broker's Redis runs with a maxmemory-policy that can evict queued tasks"
FIXABLE = True

_CONF = re.compile(r"^[ \t]*maxmemory-policy[ \t]+(\S+)", re.M)
_OPTION = "--maxmemory-policy"


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    reported = set()
    for container, setting, _, _, _, endpoint in broker_targets(deployment):
        if setting != "broker_url" or endpoint is None or not endpoint.defined:
            continue
        for workload in endpoint.workloads:
            for redis in (c for c in workload.containers if is_redis(c)):
                behind = "" if endpoint.carrier == "compose" else f", behind {endpoint.label}"
                for finding in _policies(redis, deployment, behind):
                    if finding.span not in reported:
                        reported.add(finding.span)
                        yield finding


def _policies(redis, deployment, behind: str) -> Iterator[Finding]:
    """The policy the command line sets wins over redis.conf, as redis-server reads them."""
    found = _command_line(redis, behind)
    if found is None:
        yield from _config_files(redis, deployment, behind)
    elif found:
        yield found[0]


def _command_line(redis, behind: str) -> list[Finding] | None:
    """The finding for the policy the command line sets ([] when it is noeviction or unknown),
    None when it sets none."""
    for command in redis.commands or []:
        words = command.words
        for i, word in enumerate(words):
            value = None
            if word.text == _OPTION and i + 1 < len(words):
                value = words[i + 1]
                policy = value.text
            elif word.text.startswith(_OPTION + "="):
                value, policy = word, word.text.split("=", 1)[1]
            if value is None:
                continue
            if value.dynamic or policy == "noeviction":
                return []
            edit = replace_arg(command, value, "noeviction")
            fix = Fix("set maxmemory-policy noeviction", [edit], Applicability.UNSAFE) \
                if edit else None
            return [_finding(policy, behind, redis, command.origin.span(value), fix)]
    return None


def _config_files(redis, deployment, behind: str) -> Iterator[Finding]:
    for config in mounted_configs(redis, deployment):
        matches = list(_CONF.finditer(config.text))
        if not matches or matches[-1].group(1) == "noeviction":
            continue  # redis-server takes the last line that sets it
        last = matches[-1]
        text = last.group(0)
        yield _finding(last.group(1), behind, redis,
                       config.span_of(last.start() + len(text) - len(text.lstrip()), text.strip()),
                       None)


def _finding(policy: str, behind: str, redis, where, fix) -> Finding:
    severity = Severity.WARNING if policy.startswith("volatile") else None
    return Finding(
        where,
        f"the broker's Redis ({place(redis)}{behind}) runs with "
        f"maxmemory-policy {policy}: queued tasks can be evicted",
        "run the broker's Redis with --maxmemory-policy noeviction: under memory pressure it "
        "evicts queued tasks, and kombu's bindings (InconsistencyError: Probably the key "
        "('_kombu.binding.celery') has been removed)",
        severity=severity, fix=fix)
