"""The two seed post-mortems: exact findings before the fixes, none after."""

from conftest import FIXTURES, found

SEED_002 = FIXTURES / "seed-002-stratdata"
SEED_000 = FIXTURES / "seed-000-jewelry-shop"


def test_seed_002_broken_reports_each_failure_at_its_line():
    assert found(SEED_002 / "broken") == [
        ("pip-install-at-start", "celery-deployment.yaml", 45),  # worker: installs at start,
        ("dependency-conflict", "celery-deployment.yaml", 45),   # a conflicting pin,
        ("signal-not-forwarded", "celery-deployment.yaml", 45),  # celery under sh -c (dash)
        ("beat-rolling-update", "celery-deployment.yaml", 70),
        ("pip-install-at-start", "celery-deployment.yaml", 85),  # beat: the same three,
        ("dependency-conflict", "celery-deployment.yaml", 85),
        ("signal-not-forwarded", "celery-deployment.yaml", 85),
        ("beat-schedule-read-only", "celery-deployment.yaml", 85),  # and the ConfigMap at /app
        ("pip-install-at-start", "celery-deployment.yaml", 118),  # flower: the same three,
        ("dependency-conflict", "celery-deployment.yaml", 118),
        ("signal-not-forwarded", "celery-deployment.yaml", 118),
        ("probe-too-early", "celery-deployment.yaml", 125),      # liveness: error
        ("probe-http-auth", "celery-deployment.yaml", 127),      # the real cause: 401 on "/"
        ("probe-too-early", "celery-deployment.yaml", 131),      # readiness: info
        ("probe-http-auth", "celery-deployment.yaml", 133),
    ]


def test_seed_002_messages_name_the_chain_and_the_symptom():
    from conftest import lint

    by_name = {}
    for d in lint(SEED_002 / "broken"):
        by_name.setdefault(d.name, []).append(d)
    conflict = by_name["dependency-conflict"][0]
    assert "celery 5.3.4 [redis] requires redis>=4.5.2,<5.0.0,!=4.5.5" in conflict.message
    assert "but redis==5.0.1 is pinned: pip fails" in conflict.message
    assert "Python 3.11 (from image python:3.11-slim)" in conflict.hint
    assert (conflict.span.column, conflict.span.end_column) == (63, 75)  # exactly "redis==5.0.1"
    beat = by_name["beat-schedule-read-only"][0]
    assert "crashes at start" in beat.message and "is read-only" in beat.message
    assert "OSError: [Errno 30] Read-only file system: 'celerybeat-schedule'" in beat.hint
    assert "configMap volume ('celery-app')" in beat.hint
    liveness, readiness = by_name["probe-too-early"]
    assert liveness.severity.value == "error" and "gives up 51 s after start" in liveness.message
    assert readiness.severity.value == "info"


def test_seed_002_fixed_is_clean():
    assert found(SEED_002 / "fixed") == []


def test_seed_000_broken():
    assert found(SEED_000 / "broken") == [
        ("beat-schedule-read-only", "celery-beat-deployment.yaml", 29),
        ("replicas-with-hpa", "celery-worker-deployment.yaml", 10),  # the "exit 0" restarts
        ("prefork-no-writable-tmp", "celery-worker-deployment.yaml", 31),
        ("prefork-default-concurrency", "celery-worker-deployment.yaml", 31),
        ("broker-service-undefined", "configmap.yaml", 8),  # no Service named redis
        ("broker-service-undefined", "configmap.yaml", 9),
    ]


def test_seed_000_fixed_is_clean():
    assert found(SEED_000 / "fixed") == []
