"""grace-period-short, pdb-blocks-eviction and flower-no-auth: the logic their fixtures do not
pin (parsing of compose ports and durations, label selectors, rounding, launchers, versions)."""

from __future__ import annotations

import importlib

import pytest

from conftest import lint, write

from celerylint.model.compose_facts import duration


def findings(root, name: str):
    return [d for d in lint(root) if d.name == name]


# -- model facts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, seconds", [
    ("10s", 10.0), ("1m30s", 90.0), ("500ms", 0.5), ("2h", 7200.0), ("0", 0.0),
    ("30", None), ("1m 30s", None), ("", None), ("ten", None),
])
def test_compose_durations_follow_go_parse_duration(text, seconds):
    assert duration(text) == seconds


def test_compose_ports_short_and_long_syntax(tmp_path):
    from celerylint.model.build import load

    write(tmp_path, {"compose.yaml": """\
services:
  app:
    image: example/app:1
    ports:
      - "5555"
      - "8000:5555"
      - "127.0.0.1:8001:5555"
      - "[::1]:8002:5555/tcp"
      - "::1:8003:5555"
      - "9090-9091:8080-8081"
      - target: 5555
        published: "8004"
        host_ip: 10.0.0.5
      - "${BIND}:8005:5555"
"""})
    deployment, _ = load([str(tmp_path)])
    ports = [(p.target, p.published, p.host_ip, p.dynamic)
             for p in deployment.workloads[0].containers[0].ports]
    assert ports == [
        (5555, "", None, False),
        (5555, "8000", None, False),
        (5555, "8001", "127.0.0.1", False),
        (5555, "8002", "::1", False),
        (5555, "8003", "::1", False),
        (None, "9090-9091", None, False),
        (5555, "8004", "10.0.0.5", False),
        (5555, "8005", "${BIND}", True),
    ]


def test_stop_grace_defaults_and_written_values(tmp_path):
    from celerylint.model.build import load

    write(tmp_path, {
        "compose.yaml": "services:\n  a:\n    image: x/y:1\n  b:\n    image: x/y:1\n"
                        "    stop_grace_period: 1m\n    stop_signal: SIGQUIT\n",
        "k8s.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n"
                    "  terminationGracePeriodSeconds: 45\n  containers:\n    - name: c\n"
                    "      image: x/y:1\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: q\n"
                    "spec:\n  containers:\n    - name: c\n      image: x/y:1\n",
    })
    deployment, _ = load([str(tmp_path)])
    grace = {w.name: w.stop_grace for w in deployment.workloads}
    assert (grace["a"].seconds, grace["a"].default) == (10.0, True)
    assert (grace["b"].seconds, grace["b"].signal, grace["b"].default) == (60.0, "SIGQUIT", False)
    assert (grace["p"].seconds, grace["p"].default) == (45, False)
    assert (grace["q"].seconds, grace["q"].default) == (30, True)


def test_label_selector_lookup_evaluates_every_operator(tmp_path):
    from celerylint.model.build import load

    def pod(name, labels):
        rows = "".join(f"        {k}: {v}\n" for k, v in labels.items())
        return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n"
                f"  selector:\n    matchLabels:\n      name: {name}\n  template:\n    metadata:\n"
                f"      labels:\n        name: {name}\n{rows}    spec:\n      containers:\n"
                f"        - name: c\n          image: x/y:1\n---\n")

    write(tmp_path, {"k.yaml": pod("a", {"tier": "worker", "queue": "mail"})
                     + pod("b", {"tier": "worker"}) + pod("c", {"tier": "web"})})
    deployment, _ = load([str(tmp_path)])
    index = deployment.index
    project = deployment.workloads[0].source.project

    def names(selector):
        found = index.matching(project, "default", selector)
        return None if found is None else sorted(w.name for w in found)

    assert names({"matchLabels": {"tier": "worker"}}) == ["a", "b"]
    assert names({"matchLabels": {"tier": "worker"},
                  "matchExpressions": [{"key": "queue", "operator": "Exists"}]}) == ["a"]
    assert names({"matchLabels": {"tier": "worker"},
                  "matchExpressions": [{"key": "queue", "operator": "DoesNotExist"}]}) == ["b"]
    assert names({"matchExpressions": [{"key": "tier", "operator": "In",
                                        "values": ["web", "worker"]},
                                       {"key": "queue", "operator": "NotIn",
                                        "values": ["mail"]}]}) == ["b", "c"]
    assert names({"matchExpressions": [{"key": "queue", "operator": "Exists"}]}) is None
    assert names({}) is None
    assert index.matching(project, "other", {"matchLabels": {"tier": "worker"}}) == []


# -- grace-period-short ----------------------------------------------------------------------------

APP = {"shop/__init__.py": "", "shop/celery.py": "from celery import Celery\n\n"
       "app = Celery('shop')\napp.conf.task_time_limit = 300\n"}


def test_supervisord_program_without_stopwaitsecs_gets_one(tmp_path):
    write(tmp_path, {**APP, "supervisord.conf": "[supervisord]\nnodaemon=true\n\n"
                     "[program:worker]\ncommand=celery -A shop worker -c 2\n"})
    found = findings(tmp_path, "grace-period-short")
    assert len(found) == 1
    assert "the default stopwaitsecs (10 s)" in found[0].message
    assert "supervisord sends SIGKILL 10 s" in found[0].hint
    edit = found[0].fix.edits[0]
    assert (edit.content, edit.span.line) == ("stopwaitsecs=340\n", 5)


def test_systemd_unit_uses_its_default_timeout_and_has_no_fix(tmp_path):
    write(tmp_path, {"shop/__init__.py": "", "shop/celery.py": "from celery import Celery\n\n"
                     "app = Celery('shop')\napp.conf.task_soft_time_limit = 600\n",
                     "celery-worker.service": "[Unit]\nDescription=worker\n\n[Service]\n"
                     "WorkingDirectory=/srv/shop\nExecStart=/usr/bin/celery -A shop worker -c 2\n"})
    found = findings(tmp_path, "grace-period-short")
    assert len(found) == 1 and found[0].fix is None
    assert "the default TimeoutStopSec (90 s) is under its 600 s task time limit" in found[0].message
    assert "systemd sends SIGKILL 90 s" in found[0].hint
    assert "task_soft_time_limit = 600" in found[0].hint


def test_systemd_timeout_as_written(tmp_path):
    write(tmp_path, {**APP, "celery-worker.service": "[Service]\nExecStart=/usr/bin/celery -A "
                     "shop worker -c 2\nTimeoutSec=4min\n"})
    (found,) = findings(tmp_path, "grace-period-short")
    assert found.message.startswith("systemd service 'celery-worker'")
    assert "TimeoutSec=4min (240 s) is under its 300 s task time limit" in found.message
    assert found.span.line == 3


def test_per_task_annotation_is_a_limit_and_acks_late_there_silences(tmp_path):
    compose = ("services:\n  worker:\n    image: example/shop:1\n"
               "    command: celery -A shop worker -c 2\n")
    write(tmp_path / "one", {"compose.yaml": compose, "shop/__init__.py": "",
                             "shop/celery.py": "from celery import Celery\n\napp = Celery('s')\n"
                             "app.conf.task_annotations = {'shop.tasks.export': "
                             "{'time_limit': 120}}\n"})
    found = findings(tmp_path / "one", "grace-period-short")
    assert len(found) == 1 and "task_annotations 'shop.tasks.export'" in found[0].hint
    write(tmp_path / "two", {"compose.yaml": compose, "shop/__init__.py": "",
                             "shop/celery.py": "from celery import Celery\n\napp = Celery('s')\n"
                             "app.conf.task_annotations = {'shop.tasks.export': "
                             "{'time_limit': 120, 'acks_late': True}}\n"})
    assert findings(tmp_path / "two", "grace-period-short") == []


def test_old_uppercase_settings_are_read(tmp_path):
    compose = ("services:\n  worker:\n    image: example/shop:1\n"
               "    command: celery -A shop worker -c 2\n    stop_grace_period: 20s\n")
    module = "from celery import Celery\n\napp = Celery('s')\napp.config_from_object('shop.config')\n"
    write(tmp_path / "early", {"compose.yaml": compose, "shop/__init__.py": "",
                               "shop/celery.py": module,
                               "shop/config.py": "CELERYD_TASK_TIME_LIMIT = 60\n"})
    assert len(findings(tmp_path / "early", "grace-period-short")) == 1
    write(tmp_path / "late", {"compose.yaml": compose, "shop/__init__.py": "",
                              "shop/celery.py": module,
                              "shop/config.py": "CELERYD_TASK_TIME_LIMIT = 60\n"
                                                "CELERY_ACKS_LATE = True\n"})
    assert findings(tmp_path / "late", "grace-period-short") == []


def test_settings_we_cannot_read_may_set_acks_late(tmp_path):
    compose = ("services:\n  worker:\n    image: example/shop:1\n"
               "    command: celery -A shop worker -c 2\n")
    module = ("import os\nfrom celery import Celery\n\nfrom dotenv import load_dotenv\n\n"
              "load_dotenv()\napp = Celery('s')\napp.conf.task_time_limit = 60\n")
    write(tmp_path / "dotenv", {"compose.yaml": compose, "shop/__init__.py": "",
                                "shop/celery.py": module})
    assert len(findings(tmp_path / "dotenv", "grace-period-short")) == 1  # env only: still read
    write(tmp_path / "missing", {"compose.yaml": compose, "shop/__init__.py": "",
                                 "shop/celery.py": module + "app.config_from_object('shop.prod')\n"})
    assert findings(tmp_path / "missing", "grace-period-short") == []


def test_soft_shutdown_through_the_compose_stop_signal(tmp_path):
    module = ("from celery import Celery\n\napp = Celery('s')\napp.conf.task_acks_late = True\n"
              "app.conf.worker_soft_shutdown_timeout = 15\n")
    base = "services:\n  worker:\n    image: example/shop:1\n    command: celery -A shop worker -c 2\n"
    write(tmp_path / "quit", {"compose.yaml": base + "    stop_signal: SIGQUIT\n",
                              "shop/__init__.py": "", "shop/celery.py": module})
    found = findings(tmp_path / "quit", "grace-period-short")
    assert len(found) == 1 and "reached through SIGQUIT" in found[0].hint
    assert found[0].fix.edits[0].content.strip() == "stop_grace_period: 27s"
    write(tmp_path / "term", {"compose.yaml": base, "shop/__init__.py": "",
                              "shop/celery.py": module})
    assert findings(tmp_path / "term", "grace-period-short") == []


def test_margin_is_ten_percent_and_ten_seconds():
    rule = importlib.import_module("celerylint.rules.grace_period_short")
    assert [rule._with_margin(s) for s in (60, 300, 1800, 0.5)] == [76, 340, 1990, 11]


# -- pdb-blocks-eviction ---------------------------------------------------------------------------

def worker(name: str, replicas: str = "", labels: str = "app: shop") -> str:
    return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n{replicas}"
            f"  selector:\n    matchLabels:\n      {labels}\n  template:\n    metadata:\n"
            f"      labels:\n        {labels}\n    spec:\n      containers:\n        - name: w\n"
            "          image: example/shop:1\n"
            "          command: [celery, -A, shop, worker, --concurrency=2]\n---\n")


def budget(spec: str, labels: str = "app: shop") -> str:
    return (f"apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: pdb\nspec:\n"
            f"  {spec}\n  selector:\n    matchLabels:\n      {labels}\n")


@pytest.mark.parametrize("replicas, spec, fires", [
    ("  replicas: 3\n", 'minAvailable: "67%"', True),  # 2.01 rounds up to 3
    ("  replicas: 3\n", 'minAvailable: "66%"', False),  # 1.98 rounds up to 2
    ("  replicas: 3\n", "minAvailable: 3", True),
    ("  replicas: 3\n", "minAvailable: 4", True),
    ("", "minAvailable: 1", True),  # no replicas: one pod
    ("  replicas: 2\n", 'maxUnavailable: "0%"', True),
    ("  replicas: 2\n", 'maxUnavailable: "10%"', False),  # rounds up to 1
    ("  replicas: 0\n", "minAvailable: 1", False),  # nothing to evict
    ("  replicas: 2\n", "minAvailable: '{{ .Values.min }}'", False),
])
def test_budget_arithmetic(tmp_path, replicas, spec, fires):
    write(tmp_path, {"k.yaml": worker("w", replicas) + budget(spec)})
    assert bool(findings(tmp_path, "pdb-blocks-eviction")) == fires


def test_several_workloads_add_up_and_variants_count_once(tmp_path):
    write(tmp_path / "two", {"k.yaml": worker("a", "  replicas: 1\n") + worker("b", "  replicas: 1\n")
                             + budget("minAvailable: 1")})
    assert findings(tmp_path / "two", "pdb-blocks-eviction") == []  # 2 pods, 1 may go
    write(tmp_path / "variants", {"dev.yaml": worker("a", "  replicas: 1\n"),
                                  "prod.yaml": worker("a", "  replicas: 1\n"),
                                  "pdb.yaml": budget("minAvailable: 1")})
    assert len(findings(tmp_path / "variants", "pdb-blocks-eviction")) == 1


def test_budget_over_bare_pods_is_left_alone(tmp_path):
    pod = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: debug\n  labels:\n    app: shop\nspec:\n"
           "  containers:\n    - name: d\n      image: example/shop:1\n---\n")
    write(tmp_path, {"k.yaml": worker("a", "  replicas: 1\n") + pod + budget("minAvailable: 1")})
    assert findings(tmp_path, "pdb-blocks-eviction") == []


# -- flower-no-auth --------------------------------------------------------------------------------

FLOWER = ("services:\n  flower:\n    image: mher/flower:2.0\n"
          "    environment:\n      CELERY_BROKER_URL: redis://redis:6379/0\n")


@pytest.mark.parametrize("extra, fires", [
    ("    network_mode: host\n", True),
    ("    ports: ['5555:5555']\n    command: celery flower --conf=/etc/flowerconfig.py\n", False),
    ("    ports: ['5555:5555']\n    command: celery flower --address=127.0.0.1\n", False),
    ("    ports: ['5555:5555']\n    command: celery flower --unix_socket=/run/flower.sock\n",
     False),
    ("    ports: ['8080:8080']\n", False),  # not Flower's port
    ("    ports: ['8080:8080']\n    command: celery flower --port=8080\n", True),
    ("    ports: ['5555:5555']\n    env_file: missing.env\n", False),  # variables we cannot see
])
def test_compose_exposure(tmp_path, extra, fires):
    write(tmp_path, {"compose.yaml": FLOWER + extra})
    assert bool([d for d in findings(tmp_path, "flower-no-auth")
                 if "no authentication" in d.message]) == fires


def test_unauthenticated_api_variable_is_named_in_the_message(tmp_path):
    write(tmp_path, {"compose.yaml": FLOWER + "      FLOWER_UNAUTHENTICATED_API: 'true'\n"
                     "    ports: ['5555:5555']\n"})
    (found,) = findings(tmp_path, "flower-no-auth")
    assert "and stop workers" in found.message
    assert "it also revokes and terminates tasks" in found.hint


@pytest.mark.parametrize("pattern, anchored", [
    (".*@example.com", False), (r".*@example\.com$", True), ("a@x.com|b@x.com", False),
    ("a@x.com$|b@x.com$", True), ("^(a@x.com|b@x.com)$", True),
])
def test_auth_regex_anchoring(pattern, anchored):
    rule = importlib.import_module("celerylint.rules.flower_no_auth")
    assert rule._anchored(pattern) == anchored


@pytest.mark.parametrize("specifier, before", [
    ("==1.0.0", True), ("<1.2", True), ("~=0.9.7", True), (">=1.2.0", False), ("==2.0.1", False),
    (">=1.0", None), ("", None),
])
def test_flower_versions_before_the_fix(specifier, before):
    from packaging.specifiers import SpecifierSet

    rule = importlib.import_module("celerylint.rules.flower_no_auth")
    assert rule._below(SpecifierSet(specifier), rule.FIXED) is before


def test_pin_is_information_when_the_project_uses_basic_auth_only(tmp_path):
    write(tmp_path, {"requirements.txt": "celery==5.2.7\nflower==1.0.0\n",
                     "compose.yaml": "services:\n  flower:\n    image: example/shop:1\n"
                                     "    command: celery flower --basic_auth=${FLOWER_AUTH_PAIR}\n"})
    (found,) = findings(tmp_path, "flower-no-auth")
    assert found.severity.value == "info" and "CVE-2022-30034" in found.message
