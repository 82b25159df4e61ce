"""probe-inspect-ping (CL304) and probe-http-on-worker (CL305): the logic the fixtures do not pin
(node names, the -t fix's window, transports, other workers, scripts, what may listen)."""

from __future__ import annotations

from pathlib import Path

import yaml

from conftest import lint, run, write


def deployment(container: str, name: str = "w", replicas: int = 1, extra: str = "") -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
{extra}      containers:
{container}"""


def worker(command: str, probe: str, env: str = "", name: str = "w") -> str:
    return f"""        - name: {name}
          image: registry.example.com/shop:1.0
          command: {command}
{env}          livenessProbe:
{probe}"""


def ping(command: str, timeout: int = 20) -> str:
    return (f"            exec:\n              command: [\"sh\", \"-c\", \"{command}\"]\n"
            f"            timeoutSeconds: {timeout}\n")


def findings(root: Path, rule: str) -> list:
    return [d for d in lint(root) if d.name == rule]


def messages(root: Path, rule: str = "probe-inspect-ping") -> list[str]:
    return [d.message for d in findings(root, rule)]


# -- probe-inspect-ping: node names --------------------------------------------------------

def test_the_destination_is_compared_with_what_the_workers_n_makes(tmp_path):
    cases = {  # worker's -n (None: not given) -> probe's -d -> a finding?
        (None, "celery@$HOSTNAME"): False,
        ('"%h"', "celery@$HOSTNAME"): False,  # no @: celery@ is added
        ('"worker1"', "celery@worker1"): False,
        ('"worker1"', "celery@$HOSTNAME"): True,
        ('"w@%n"', "w@${HOSTNAME}"): False,  # %n: the host name's first label
        ('"w@%h"', "celery@$HOSTNAME"): True,
        (None, "celery@%h"): True,  # inspect does not expand %h
        ('"w%i@%h"', "celery@$HOSTNAME"): False,  # %i: the process index, known at run time
        (None, "celery@$NODE_NAME"): False,  # a variable we cannot see
    }
    for (n, destination), fires in cases.items():
        option = f', "-n", {n}' if n else ""
        write(tmp_path, {"k8s.yaml": deployment(worker(
            f'["celery", "-A", "shop", "worker"{option}]',
            ping(f"celery -A shop inspect ping -d {destination} -t 10")))})
        found = messages(tmp_path)
        assert bool(found) == fires, (n, destination, found)
        if fires:
            assert "it always fails" in found[0], found


def test_celery_worker_hostname_in_the_environment_names_the_node(tmp_path):
    env = "          env:\n            - {name: CELERY_WORKER_HOSTNAME, value: 'mail@%h'}\n"
    write(tmp_path, {"k8s.yaml": deployment(worker(
        '["celery", "-A", "shop", "worker"]', ping("celery -A shop inspect ping -d celery@$HOSTNAME -t 10"),
        env))})
    [message] = messages(tmp_path)
    assert "`mail@%h`" in message


# -- probe-inspect-ping: the reply window and its fix --------------------------------------

def test_the_window_fix_fits_the_probe_timeout_and_leaves_nothing_to_fix(tmp_path):
    for timeout, window, raised in ((30, "10", None), (5, "3", None), (3, "10", 15), (1, "10", 15)):
        write(tmp_path, {"k8s.yaml": deployment(worker(
            '["celery", "-A", "shop", "worker"]',
            ping("celery -A shop inspect ping -d celery@$HOSTNAME", timeout)))})
        [finding] = findings(tmp_path, "probe-inspect-ping")
        assert "without -t" in finding.message and finding.fix is not None
        result = run("check", "--fix", "--select", "CL304", ".", cwd=tmp_path)
        assert result.returncode == 0, result.stdout
        data = yaml.safe_load((tmp_path / "k8s.yaml").read_text())
        container = data["spec"]["template"]["spec"]["containers"][0]
        probe = container["livenessProbe"]
        assert f"-t {window}" in probe["exec"]["command"][2], (timeout, probe)
        assert probe["timeoutSeconds"] == (raised or timeout)


def test_the_window_fix_adds_items_to_a_compose_cmd_list(tmp_path):
    """In ``["CMD", ...]`` each item is one argument: -t and its value are items of their own,
    added once (a fix that does not remove its finding is not made again)."""
    write(tmp_path, {"compose.yaml": """services:
  worker:
    image: shop:1
    command: celery -A shop worker
    healthcheck:
      test: ["CMD", "celery", "-A", "shop", "inspect", "ping"]
      timeout: 20s
"""})
    result = run("check", "--fix", "--select", "CL304", ".", cwd=tmp_path)
    assert "Fixed 1 problem" in result.stdout, result.stdout
    test = yaml.safe_load((tmp_path / "compose.yaml").read_text())["services"]["worker"]
    assert test["healthcheck"]["test"] == ["CMD", "celery", "-A", "shop", "inspect", "ping",
                                           "-t", "10"]


def test_a_given_window_longer_than_the_probe_timeout_raises_the_timeout(tmp_path):
    write(tmp_path, {"k8s.yaml": deployment(worker(
        '["celery", "-A", "shop", "worker"]',
        ping("celery -A shop inspect ping -d celery@$HOSTNAME -t 10", 10)))})
    [finding] = findings(tmp_path, "probe-inspect-ping")
    assert "timeoutSeconds 10" in finding.message and "may wait 10 s" in finding.message
    assert finding.fix.title == "raise timeoutSeconds to 15"


def test_no_window_is_reported_when_celery_reads_it_from_the_environment(tmp_path):
    env = "          env:\n            - {name: CELERY_STATUS_TIMEOUT, value: '5'}\n"
    write(tmp_path, {"k8s.yaml": deployment(worker(
        '["celery", "-A", "shop", "worker"]', ping("celery -A shop status", 10), env))})
    assert messages(tmp_path) == []


# -- probe-inspect-ping: transports, other workers, Python, scripts ------------------------

def test_transports_without_remote_control(tmp_path):
    for url, fires in (("sqs://", True), ("sqla+postgresql://db/celery", True),
                       ("azurestoragequeues://:key@account", True), ("redis://redis:6379/0", False),
                       ("amqp://guest@rabbit//", False), ("gcpubsub://projects/p", False)):
        env = f"          env:\n            - {{name: CELERY_BROKER_URL, value: '{url}'}}\n"
        write(tmp_path, {"k8s.yaml": deployment(worker(
            '["celery", "-A", "shop", "worker"]',
            ping("celery -A shop inspect ping -d celery@$HOSTNAME -t 10"), env))})
        found = messages(tmp_path)
        assert bool(found) == fires, (url, found)
        if fires:
            assert "has no remote control" in found[0] and ":key@" not in found[0]


def test_remote_control_turned_off_in_the_app(tmp_path):
    write(tmp_path, {
        "shop/__init__.py": "",
        "shop/celery.py": "from celery import Celery\napp = Celery('shop', broker='redis://redis:6379/0')\n"
                          "app.conf.worker_enable_remote_control = False\n",
        "k8s.yaml": deployment(worker('["celery", "-A", "shop", "worker"]',
                                      ping("celery -A shop inspect ping -d celery@$HOSTNAME -t 10")))})
    [message] = messages(tmp_path)
    assert "worker_enable_remote_control = False" in message


def test_no_destination_counts_only_workers_on_the_same_broker(tmp_path):
    def compose(second_broker: str) -> str:
        service = """  {name}:
    image: registry.example.com/shop:1.0
    command: celery -A shop worker -Q {name}
    environment:
      CELERY_BROKER_URL: {broker}
    healthcheck:
      test: celery -A shop inspect ping -t 10
"""
        return "services:\n" + service.format(name="a", broker="redis://redis:6379/0") + \
            service.format(name="b", broker=second_broker)

    write(tmp_path, {"compose.yaml": compose("redis://redis:6379/0")})
    found = messages(tmp_path)
    assert len(found) == 2 and all("without -d" in m for m in found)
    assert "compose service 'b'" in found[0]
    write(tmp_path, {"compose.yaml": compose("redis://redis:6379/1")})
    assert messages(tmp_path) == []


def test_python_pings_read_their_keywords(tmp_path):
    code = "from shop.celery import app; import sys; sys.exit(0 if app.control.inspect(timeout=3).ping() else 1)"
    probe = ("            exec:\n              command:\n                - python\n                - -c\n"
             f"                - '{code}'\n            timeoutSeconds: 10\n")
    write(tmp_path, {"k8s.yaml": deployment(worker('["celery", "-A", "shop", "worker"]', probe),
                                            replicas=3)})
    [message] = messages(tmp_path)
    assert "app.control.inspect().ping()" in message and "without -d" in message
    code = "from shop.celery import app; app.control.ping(destination=['celery@' + __import__('socket').gethostname()])"
    probe = probe.replace(probe.split("'")[1], code.replace("'", '"'))
    write(tmp_path, {"k8s.yaml": deployment(worker('["celery", "-A", "shop", "worker"]', probe),
                                            replicas=3)})
    [message] = messages(tmp_path)
    assert "without timeout=" in message


def test_exec_probes_are_followed_into_the_repositorys_scripts(tmp_path):
    write(tmp_path, {
        "bin/healthcheck.sh": "#!/bin/sh\nset -e\nexec celery -A shop status\n",
        "k8s.yaml": deployment(worker('["celery", "-A", "shop", "worker"]',
                                      "            exec:\n              command: [\"/app/bin/healthcheck.sh\"]\n"
                                      "            timeoutSeconds: 10\n"))})
    [finding] = findings(tmp_path, "probe-inspect-ping")
    assert finding.span.path.endswith("bin/healthcheck.sh") and finding.span.line == 3
    assert finding.fix is None  # a script may be run by other probes: no edit there
    assert any("healthcheck.sh" in r.message for r in finding.related)


def test_a_beat_embedded_in_a_worker_is_not_a_beat_probe(tmp_path):
    write(tmp_path, {"k8s.yaml": deployment(worker(
        '["celery", "-A", "shop", "worker", "-B"]',
        ping("celery -A shop inspect ping -d celery@$HOSTNAME -t 10")))})
    assert messages(tmp_path) == []


# -- probe-http-on-worker ------------------------------------------------------------------

HTTP = "            httpGet: {path: /health/, port: 8000}\n"


def http_worker(command: str = '["celery", "-A", "shop", "worker"]', env: str = "",
                extra: str = "", name: str = "w") -> str:
    return deployment(worker(command, HTTP, env), name=name, extra=extra)


def test_http_probe_fires_on_a_plain_worker_and_says_when_it_restarts(tmp_path):
    write(tmp_path, {"k8s.yaml": http_worker()})
    [finding] = findings(tmp_path, "probe-http-on-worker")
    assert "requests port 8000 (/health/)" in finding.message
    assert "it restarts every 21 s" in finding.message  # 0 + 2 x 10 + 1
    assert "restarts it about 21 s after every start" in finding.hint


def test_packages_and_app_code_that_serve_http_from_celery_silence_it(tmp_path):
    for files in ({"requirements.txt": "celery==5.4.0\ncelery-healthcheck==0.3.0\n"},
                  {"requirements.txt": "celery==5.4.0\nprometheus-client==0.20.0\n"},
                  {"shop/__init__.py": "", "shop/celery.py":
                   "from celery import Celery, signals\nfrom prometheus_client import start_http_server\n"
                   "app = Celery('shop')\n\n@signals.worker_ready.connect\n"
                   "def serve(**kw):\n    start_http_server(8000)\n"}):
        root = tmp_path / str(len(list(tmp_path.iterdir())))
        write(root, {"k8s.yaml": http_worker(), **files})
        assert findings(root, "probe-http-on-worker") == [], files


def test_what_runs_beside_celery_may_listen(tmp_path):
    cases = {
        '["sh", "-c", "python manage.py migrate && exec celery -A shop worker"]': True,
        '["sh", "-c", "./metrics-server & exec celery -A shop worker"]': False,
        '["sh", "-c", "nginx && exec celery -A shop worker"]': False,
        '["sh", "-c", "exec celery -A shop worker --statedb=/var/run/celery/state"]': True,
        '["sh", "-c", "$RUNNER celery -A shop worker"]': False,
    }
    for command, fires in cases.items():
        write(tmp_path, {"k8s.yaml": http_worker(command)})
        assert bool(findings(tmp_path, "probe-http-on-worker")) == fires, command


def test_native_sidecars_and_unknown_entrypoints_silence_it(tmp_path):
    sidecar = ("      initContainers:\n        - name: exporter\n          image: example/exporter:1\n"
               "          restartPolicy: Always\n")
    write(tmp_path, {"k8s.yaml": http_worker(extra=sidecar)})
    assert findings(tmp_path, "probe-http-on-worker") == []
    plain_init = sidecar.replace("          restartPolicy: Always\n", "")
    write(tmp_path, {"k8s.yaml": http_worker(extra=plain_init)})
    assert len(findings(tmp_path, "probe-http-on-worker")) == 1
    only_args = http_worker().replace("command:", "args:")  # the image's ENTRYPOINT runs first
    write(tmp_path, {"k8s.yaml": only_args})
    assert findings(tmp_path, "probe-http-on-worker") == []


def test_compose_healthchecks_that_request_a_local_port(tmp_path):
    cases = {
        '["CMD-SHELL", "nc -z localhost 8000 || exit 1"]': "connects to localhost:8000",
        '["CMD", "wget", "-qO-", "http://127.0.0.1/health"]': "requests http://127.0.0.1/health",
        '["CMD", "curl", "-f", "http://redis:6379/"]': None,  # another host
        '["CMD-SHELL", "curl -f http://localhost:8000/ && celery -A shop inspect ping"]': None,
    }
    for test, shown in cases.items():
        write(tmp_path, {"Dockerfile": "FROM python:3.12-slim\nRUN pip install celery==5.4.0\n",
                         "compose.yaml": "services:\n  worker:\n    build: .\n"
                         "    command: celery -A shop worker\n    healthcheck:\n"
                         f"      test: {test}\n"})
        found = findings(tmp_path, "probe-http-on-worker")
        assert [shown in f.message for f in found] == ([True] if shown else []), (test, found)
        if shown:
            assert found[0].severity.value == "warning"  # nothing waits for it to be healthy


def test_an_empty_broker_url_is_unknown_not_a_crash(tmp_path):
    env = "          env:\n            - {name: CELERY_BROKER_URL, value: ''}\n"
    write(tmp_path, {"k8s.yaml": deployment(worker(
        '["celery", "-A", "shop", "worker"]', ping("celery -A shop inspect ping -t 10"), env))
        + "---\n" + deployment(worker('["celery", "-A", "shop", "worker", "-Q", "b"]',
                                      ping("celery -A shop inspect ping -t 10"), env), name="b")})
    found = messages(tmp_path)  # same image, brokers unknown: each answers for the other
    assert len(found) == 2 and all("without -d" in m for m in found), found
