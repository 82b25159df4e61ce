"""broker-localhost and credentials-in-manifest: the traps the fixtures do not pin."""

from __future__ import annotations

import importlib
import json

import pytest

from conftest import FIXTURES, lint, run, write

credentials = importlib.import_module("celerylint.rules.credentials_in_manifest")

SETTINGS_APP = {
    "shop/__init__.py": "",
    "shop/celery.py": "import os\nfrom celery import Celery\n"
                      "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')\n"
                      "app = Celery('shop')\n"
                      "app.config_from_object('django.conf:settings', namespace='CELERY')\n",
    "shop/settings.py": "import os\n"
                        "CELERY_BROKER_URL = os.getenv('CELERY_BROKER_URL', "
                        "'redis://localhost:6379/0')\n",
}


def compose(environment: str = "", command: str = "celery -A shop worker -c 1",
            extra: str = "") -> str:
    text = ("services:\n  redis:\n    image: redis:7\n  worker:\n    build: .\n"
            f"    command: {command}\n")
    if environment:
        text += f"    environment:\n{environment}"
    return text + extra


def names(root, rule: str) -> list[tuple[str, int]]:
    return [(d.path.rsplit("/", 1)[-1], d.span.line) for d in lint(root) if d.name == rule]


# -- broker-localhost ----------------------------------------------------------------------------

def test_a_settings_default_fires_only_while_nothing_sets_the_variable(tmp_path):
    write(tmp_path, {**SETTINGS_APP, "docker-compose.yml": compose(),
                     "Dockerfile": "FROM python:3.12-slim\nCOPY . /app\n"})
    assert names(tmp_path, "broker-localhost") == [("settings.py", 2)]
    # the image sets it: the default never applies
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\nCOPY . /app\n"
                                         "ENV CELERY_BROKER_URL=redis://redis:6379/0\n")
    assert names(tmp_path, "broker-localhost") == []


def test_a_dotenv_load_or_an_environ_write_in_the_settings_silences_the_default(tmp_path):
    for line in ("from dotenv import load_dotenv\nload_dotenv()\n",
                 "import environ\nenviron.Env.read_env('.env')\n",
                 "os.environ['CELERY_BROKER_URL'] = 'redis://redis:6379/0'\n"):
        files = dict(SETTINGS_APP, **{"docker-compose.yml": compose()})
        files["shop/settings.py"] = "import os\n" + line + SETTINGS_APP["shop/settings.py"][10:]
        write(tmp_path, files)
        assert names(tmp_path, "broker-localhost") == [], line


def test_an_entry_script_that_exports_the_variable_silences_the_default(tmp_path):
    write(tmp_path, {**SETTINGS_APP, "docker-compose.yml": compose(
        command='sh -c "export CELERY_BROKER_URL=redis://redis:6379/0 && '
                'exec celery -A shop worker"')})
    assert names(tmp_path, "broker-localhost") == []


def test_b_wins_over_a_localhost_environment(tmp_path):
    write(tmp_path, {**SETTINGS_APP, "docker-compose.yml": compose(
        "      CELERY_BROKER_URL: redis://localhost:6379/0\n",
        command="celery -A shop -b redis://redis:6379/0 worker")})
    assert names(tmp_path, "broker-localhost") == []
    write(tmp_path, {"docker-compose.yml": compose(
        "      CELERY_BROKER_URL: redis://redis:6379/0\n",
        command="celery -A shop -b redis://127.0.0.1:6379/0 worker")})
    assert names(tmp_path, "broker-localhost") == [("docker-compose.yml", 6)]


def test_a_container_that_starts_its_own_redis_is_silent(tmp_path):
    write(tmp_path, {**SETTINGS_APP, "docker-compose.yml": compose(
        command='sh -c "redis-server --daemonize yes && exec celery -A shop worker"')})
    assert names(tmp_path, "broker-localhost") == []


def test_no_broker_at_all_fires_on_the_command(tmp_path):
    write(tmp_path, {"jobs/__init__.py": "",
                     "jobs/tasks.py": "from celery import Celery\napp = Celery('jobs')\n",
                     "docker-compose.yml": compose(command="celery -A jobs.tasks worker")})
    [finding] = [d for d in lint(tmp_path) if d.name == "broker-localhost"]
    assert finding.span.line == 6 and "amqp://guest:**@localhost:5672//" in finding.message
    assert "sets no broker_url" in finding.hint


def test_an_empty_environment_default_is_no_broker(tmp_path):
    files = dict(SETTINGS_APP, **{"docker-compose.yml": compose()})
    files["shop/settings.py"] = "import os\nCELERY_BROKER_URL = os.environ.get('BROKER_URL', '')\n"
    write(tmp_path, files)
    [finding] = [d for d in lint(tmp_path) if d.name == "broker-localhost"]
    assert "reads broker_url from BROKER_URL, which nothing sets" in finding.hint
    write(tmp_path, {"docker-compose.yml": compose("      BROKER_URL: redis://redis:6379/0\n")})
    assert names(tmp_path, "broker-localhost") == []


@pytest.mark.parametrize("app", [
    # a Flask factory: the app and its broker are made in a function
    "from celery import Celery\n\ndef make_celery(app):\n"
    "    return Celery(app.import_name, broker=app.config['BROKER'])\n\n"
    "celery = make_celery(None)\n",
    # a configuration module that is not in the repository
    "from celery import Celery\napp = Celery('jobs')\napp.config_from_object('celeryconfig')\n",
    # a class or a variable
    "from celery import Celery\nfrom .conf import Config\napp = Celery('jobs')\n"
    "app.config_from_object(Config)\n",
    "from celery import Celery\nfrom .conf import SETTINGS\napp = Celery('jobs')\n"
    "app.conf.update(SETTINGS)\n",
    "import os\nfrom celery import Celery\n"
    "os.environ.setdefault('CELERY_BROKER_URL', 'redis://r')\n",
    # configured in a signal handler
    "from celery import Celery\napp = Celery('jobs')\n\n@app.on_after_configure.connect\n"
    "def setup(sender, **kwargs):\n    sender.conf.broker_url = 'redis://redis:6379/0'\n"
    "app = Celery('jobs')\n",
])
def test_no_broker_stays_silent_when_the_configuration_may_come_from_elsewhere(tmp_path, app):
    write(tmp_path, {"jobs/__init__.py": "", "jobs/tasks.py": app,
                     "docker-compose.yml": compose(command="celery -A jobs.tasks worker")})
    assert names(tmp_path, "broker-localhost") == []


def test_class_based_django_settings_are_not_read_as_missing(tmp_path):
    files = dict(SETTINGS_APP, **{"docker-compose.yml": compose()})
    files["shop/settings.py"] = ("from configurations import Configuration\n\n\n"
                                 "class Production(Configuration):\n"
                                 "    CELERY_BROKER_URL = 'redis://redis:6379/0'\n")
    write(tmp_path, files)
    assert names(tmp_path, "broker-localhost") == []
    (tmp_path / "shop/settings.py").write_text("DEBUG = False\n")
    assert names(tmp_path, "broker-localhost") == [("docker-compose.yml", 6)]


def test_no_broker_stays_silent_with_an_unknown_app_or_a_missing_env_file(tmp_path):
    write(tmp_path, {"docker-compose.yml": compose(command="celery -A elsewhere worker")})
    assert names(tmp_path, "broker-localhost") == []
    write(tmp_path, {"jobs/__init__.py": "",
                     "jobs/tasks.py": "from celery import Celery\napp = Celery('jobs')\n",
                     "docker-compose.yml": compose(command="celery -A jobs.tasks worker",
                                                   extra="    env_file: .env.production\n")})
    assert names(tmp_path, "broker-localhost") == []


def test_broker_service_undefined_leaves_localhost_to_broker_localhost(tmp_path):
    write(tmp_path, {"docker-compose.yml": compose(
        "      CELERY_BROKER_URL: redis://localhost:6379/0\n", command="celery -A x worker")})
    assert [d.name for d in lint(tmp_path)] == ["broker-localhost"]


# -- credentials-in-manifest ---------------------------------------------------------------------

@pytest.mark.parametrize("value, secrets", [
    ("redis://:s3cret@redis:6379/0", ["s3cret"]),
    ("amqp://shop:guest@rabbitmq:5672//", ["guest"]),  # a chosen user with a guessable password
    ("amqp://guest:guest@rabbitmq:5672//", []),  # RabbitMQ's built-in default
    ("redis://redis:6379/0", []),
    ("redis://user@redis:6379/0", []),
    ("redis://:@redis:6379/0", []),
    ("redis://:<password>@redis:6379/0", []),
    ("redis://:****@redis:6379/0", []),
    ("redis://:${REDIS_PASSWORD}@redis:6379/0", []),
    ("redis://:$(REDIS_PASSWORD)@redis:6379/0", []),
    ("redis://:{{ .Values.password }}@redis:6379/0", []),
    ("redis://:a@r:1/0;redis://:b@s:1/0", ["a", "b"]),  # failover URLs
])
def test_which_urls_carry_a_literal_password(value, secrets):
    assert [s for s, _, _ in credentials._urls(value, backend=False)] == secrets


def test_masking_keeps_the_url_and_drops_the_password():
    [(secret, shown, kind)] = credentials._urls("redis://:hunter2@redis:6379/0", backend=False)
    assert (secret, shown, kind) == ("hunter2", "redis://:****@redis:6379/0", "broker")
    assert credentials._logins("admin:pw1,ops:pw2") == [("pw1", "admin:****"),
                                                       ("pw2", "ops:****")]


def test_backend_schemes_count_only_where_the_context_is_celerys():
    url = "db+postgresql://celery:pw@db/results"
    assert credentials._secrets("DATABASE_URL", url, celery=True) == []
    assert credentials._secrets("CELERY_RESULT_BACKEND", url, celery=False)[0][2] == "backend"
    assert credentials._secrets("REDIS_URL", "redis://:pw@r:6379", celery=False) == []
    assert credentials._secrets("REDIS_URL", "redis://:pw@r:6379", celery=True)[0][2] == "broker"


@pytest.mark.parametrize("text, expected", [
    ("ENV CELERY_BROKER_URL redis://:pw@redis:6379/0", [("ENV", 5)]),
    ("ARG CELERY_BROKER_URL=redis://:pw@redis:6379/0", [("ARG", 5)]),
    ('ENV A=1 FLOWER_BASIC_AUTH="admin:pw"', [("ENV", 9)]),
    ("ENV CELERY_BROKER_URL=redis://:${REDIS_PASSWORD}@redis:6379/0", []),
])
def test_dockerfile_env_and_arg_in_both_forms(tmp_path, text, expected):
    write(tmp_path, {"Dockerfile": f"FROM python:3.12-slim\n{text}\n"})
    assert [(d.message.split()[0], d.span.column) for d in lint(tmp_path)
            if d.name == "credentials-in-manifest"] == expected


def test_flower_basic_auth_as_a_separate_word_and_in_a_launcher(tmp_path):
    write(tmp_path, {
        "docker-compose.yml": "services:\n  flower:\n    image: mher/flower:2.0\n"
                              "    command: [celery, flower, --basic-auth, 'admin:pw-1']\n",
        "deploy/supervisord.conf": "[program:flower]\n"
                                   "command=celery -A shop flower --basic_auth=ops:pw-2\n",
    })
    found = sorted((d.path.rsplit("/", 1)[-1], d.span.line) for d in lint(tmp_path)
                   if d.name == "credentials-in-manifest")
    assert found == [("docker-compose.yml", 4), ("supervisord.conf", 2)]


def test_no_output_format_prints_the_secret():
    fires = FIXTURES / "rules" / "credentials-in-manifest" / "fires"
    for fmt in ("text", "json", "sarif", "github", "gitlab", "junit", "concise"):
        result = run("check", "--format", fmt, "--select", "credentials-in-manifest", str(fires))
        assert result.stdout.count("****") or fmt in ("sarif", "gitlab", "junit", "github")
        for secret in ("flower123", "s3cr3t-Redis", "Res8lts2024", "admin123", "Rabbit2024",
                       ":password@"):
            assert secret not in result.stdout + result.stderr, (fmt, secret)


def test_sarif_ranks_it_for_code_scanning():
    fires = FIXTURES / "rules" / "credentials-in-manifest" / "fires"
    result = run("check", "--format", "sarif", "--select", "credentials-in-manifest", str(fires))
    rules = json.loads(result.stdout)["runs"][0]["tool"]["driver"]["rules"]
    [rule] = [r for r in rules if r["name"] == "credentials-in-manifest"]
    assert rule["properties"]["security-severity"] == "5.5"


@pytest.mark.skipif(
    __import__("celerylint.carriers.helm", fromlist=["engine"]).engine() is None,
    reason="no Helm engine: install the test extras (helm-python-sdk) or helm")
def test_a_chart_value_fires_and_a_generated_password_does_not(tmp_path):
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: worker}\nspec:\n"
        "  selector: {matchLabels: {app: w}}\n  template:\n    metadata: {labels: {app: w}}\n"
        "    spec:\n      containers:\n        - name: worker\n"
        "          image: registry.example.com/shop/app:1\n"
        "          args: [celery, -A, shop, worker, -c, '1']\n          env:\n"
        "            - name: CELERY_BROKER_URL\n"
        "              value: \"redis://:{{ .Values.redis.password }}@redis:6379/0\"\n"
        "            - name: CELERY_RESULT_BACKEND\n"
        "              value: \"redis://:{{ randAlphaNum 16 }}@redis:6379/1\"\n")
    write(tmp_path, {"chart/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
                     "chart/values.yaml": "redis:\n  password: hunter22-chart\n",
                     "chart/templates/worker.yaml": deployment})
    found = [d for d in lint(tmp_path / "chart") if d.name == "credentials-in-manifest"]
    assert [(d.path.rsplit("/", 1)[-1], d.span.line) for d in found] == [("worker.yaml", 14)]
    assert "hunter22" not in found[0].message and "read an existing Secret" in found[0].hint
    assert [(r.span.path.rsplit("/", 1)[-1], r.span.line) for r in found[0].related] == [
        ("values.yaml", 2)]
