"""celerylint's rules: one module per failure mode (installed as ``celerylint.rules``).

Each module defines ``CODE`` (stable, ``CL`` + three digits, grouped by family), ``NAME`` (stable,
kebab-case), ``SEVERITY``, ``SUMMARY`` (one line), ``FIXABLE`` when it proposes fixes, a docstring that is the rule's documentation
(sections: What it finds, Symptoms, Why, Fix, When it stays silent, References), and
``check(context)``, a generator of ``Finding``\\ s.

Families: CL0xx input problems, CL1xx beat, CL2xx worker pool, CL3xx probes, CL4xx dependencies,
CL5xx how processes start and stop, CL6xx queues and brokers, CL7xx exposure and secrets.
"""

#: Module names in code order; the registry is explicit so that output order never depends on
#: the file system.
MODULES = (
    "parse_error",
    "invalid_manifest",
    "unused_suppression",
    "invalid_compose_file",
    "unquoted_heredoc_expansion",
    "beat_schedule_read_only",
    "multiple_beats",
    "beat_rolling_update",
    "beat_with_green_pool",
    "crontab_minute_wildcard",
    "migrate_after_rollout",
    "prefork_no_writable_tmp",
    "prefork_default_concurrency",
    "probe_too_early",
    "probe_http_auth",
    "probe_no_op",
    "probe_inspect_ping",
    "probe_http_on_worker",
    "dependency_conflict",
    "known_bad_combination",
    "pool_package_missing",
    "worker_detached",
    "signal_not_forwarded",
    "pip_install_at_start",
    "logfile_in_container",
    "celery4_cli_order",
    "replicas_with_hpa",
    "force_root",
    "compose_command_truncated",
    "grace_period_short",
    "pdb_blocks_eviction",
    "queue_not_consumed",
    "broker_service_undefined",
    "broker_on_replica_service",
    "redis_eviction_policy",
    "broker_localhost",
    "flower_no_auth",
    "credentials_in_manifest",
)

