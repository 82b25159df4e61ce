"""credentials-in-manifest and the one password masker (celerylint.secrets): what is masked,
what is a placeholder, where passwords are looked for, and that no output prints one."""

from __future__ import annotations

import importlib
import json
import shutil
import time

import pytest

from conftest import FIXTURES, lint, run, write
from celerylint.diagnostics import Severity
from celerylint.parse.dockerfile import _env_values, env_pairs
from celerylint.secrets import mask, url_passwords

credentials = importlib.import_module("celerylint.rules.credentials_in_manifest")
RULE = "credentials-in-manifest"


def findings(root) -> list:
    return [d for d in lint(root) if d.name == RULE]


def compose(environment: str = "", command: str = "celery -A shop worker -c 1",
            extra: str = "") -> str:
    text = ("services:\n  redis:\n    image: redis:7\n  worker:\n"
            "    image: registry.example.com/shop/app:1.0\n"
            f"    command: {command}\n")
    if environment:
        text += f"    environment:\n{environment}"
    return text + extra


# -- the masker ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, masked", [
    ("redis://:p@ssw0rd@redis:6379/0", "redis://:****@redis:6379/0"),  # the last "@" ends it
    ("amqp://shop:s3cret@rabbitmq:5672//", "amqp://shop:****@rabbitmq:5672//"),
    ("postgres://app:pa:ss@db/app", "postgres://app:****@db/app"),
    ("x" * 40 + "redis://:pw1@h", "x" * 40 + "redis://:****@h"),  # a long run before the scheme
    ("redis://:a@r:1/0;redis://:b@s:1/0", "redis://:****@r:1/0;redis://:****@s:1/0"),
    ("redis://r:1,redis://:b@s:1/0", "redis://r:1,redis://:****@s:1/0"),
    ("'redis://:pw9@redis'", "'redis://:****@redis'"),
    ("--basic-auth=admin:Fl0werPW", "--basic-auth=admin:****"),
    ("--basic_auth admin:a1,ops:b2 --port=5555", "--basic_auth admin:****,ops:**** --port=5555"),
    ("[celery, flower, --basic-auth, 'admin:pw-1']",
     "[celery, flower, --basic-auth, 'admin:****']"),
    ("FLOWER_BASIC_AUTH=admin:admin123", "FLOWER_BASIC_AUTH=admin:****"),
    ('FLOWER_BASIC_AUTH: "admin:pw"', 'FLOWER_BASIC_AUTH: "admin:****"'),
    ('- {name: FLOWER_BASIC_AUTH, value: "admin:pw"}',
     '- {name: FLOWER_BASIC_AUTH, value: "admin:****"}'),
    ("- name: FLOWER_BASIC_AUTH\n+  value: admin:pw\n",  # a diff's lines, a Kubernetes env item
     "- name: FLOWER_BASIC_AUTH\n+  value: admin:****\n"),
    ('basic_auth = ["admin:pw1", "ops:pw2"]', 'basic_auth = ["admin:****", "ops:****"]'),
    ("basicAuth: admin:pw", "basicAuth: admin:****"),
    # a fallback's default is written in the file; the reference around it is not a secret
    ("redis://:${REDIS_PASSWORD:-s3cret}@redis", "redis://:${REDIS_PASSWORD:-****}@redis"),
    ("--basic-auth=admin:${FLOWER_PASSWORD:-pw}", "--basic-auth=admin:${FLOWER_PASSWORD:-****}"),
])
def test_mask_hides_every_password(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize("text", [
    "redis://:${REDIS_PASSWORD}@redis:6379/0",
    "redis://:$(REDIS_PASSWORD)@redis:6379/0",
    "redis://:$REDIS_PASSWORD@redis:6379/0",
    "redis://:{{ .Values.redis.password }}@redis:6379/0",
    "redis://:{{.Values.redis.password}}@redis:6379/0",
    "--basic-auth=${FLOWER_USER}:${FLOWER_PASSWORD}",
    "--basic-auth=$(FLOWER_USER):$(FLOWER_PASSWORD)",
    "--basic-auth={{ .Values.flower.user }}:{{ .Values.flower.password }}",
    "redis://redis:6379/0 redis://user@redis:6379/0 https://example.com/a:b@c",
    "# set FLOWER_BASIC_AUTH in .env",
    "basicAuth:\n  enabled: true\n",
])
def test_mask_leaves_references_and_urls_without_a_password(text):
    assert mask(text) == text


def test_url_passwords_split_at_the_last_at_of_the_authority():
    [url] = url_passwords("CELERY_BROKER_URL=redis://u:p@ss@w0rd@redis:6379/0")
    assert (url.scheme, url.user, url.password) == ("redis", "u", "p@ss@w0rd")


@pytest.mark.parametrize("text", [
    "a://" * 200_000, "redis://:p@h:1," * 100_000, "basic_auth" * 200_000,
    "--basic-auth=" + "a:b," * 200_000, ("basic_auth" + "=" * 80 + "a" * 256) * 2_000,
    "a+" * 200_000 + "://:p@h", "x://" + "@:" * 200_000,
])
def test_mask_is_linear_on_hostile_input(text):
    started = time.perf_counter()
    mask(text)
    assert time.perf_counter() - started < 3


# -- the rule ------------------------------------------------------------------------------------

def test_a_password_with_an_at_sign_is_masked_whole(tmp_path):
    write(tmp_path, {"docker-compose.yml": compose(
        "      CELERY_BROKER_URL: redis://:p@ssw0rd@redis:6379/0\n")})
    [found] = findings(tmp_path)
    assert "(redis://:****@redis:6379/0)" in found.message and "ssw0rd" not in found.message
    [(secret, shown, kind)] = credentials._urls("redis://:p@ssw0rd@redis:6379/0", backend=True)
    assert (secret, shown, kind) == ("p@ssw0rd", "redis://:****@redis:6379/0", "celery-broker")


@pytest.mark.parametrize("password", [
    "changeme", "CHANGEME", "change-me", "change_me", "replaceme", "replace-me", "your-password",
    "yourpassword", "password", "Password", "secret", "example", "dummy", "xxx", "XXXXXXXX",
    "***", "<password>", "",
])
def test_placeholders_are_not_credentials(tmp_path, password):
    write(tmp_path, {"docker-compose.yml": compose(
        f"      CELERY_BROKER_URL: redis://:{password}@redis:6379/0\n"
        f"      FLOWER_BASIC_AUTH: 'admin:{password}'\n")})
    assert findings(tmp_path) == []


def test_a_fallback_default_counts_unless_it_is_a_placeholder(tmp_path):
    write(tmp_path, {"docker-compose.yml": compose(
        '      CELERY_BROKER_URL: "redis://:${REDIS_PASSWORD:-changeme}@redis:6379/0"\n'
        '      CELERY_RESULT_BACKEND: "redis://:${REDIS_PASSWORD:-Real9pw}@redis:6379/1"\n'),
        "Dockerfile": "FROM python:3.12-slim\n"
                      "ENV CELERY_BROKER_URL=redis://:${PW:-Dock9pw}@redis:6379/0\n"
                      "ENV CELERY_RESULT_BACKEND=redis://:${PW:-change-me}@redis:6379/1\n"})
    found = findings(tmp_path)
    assert sorted((d.path.rsplit("/", 1)[-1], d.span.line) for d in found) == [
        ("Dockerfile", 2), ("docker-compose.yml", 9)]
    assert all("Real9pw" not in d.message and "Dock9pw" not in d.message for d in found)
    assert "(redis://:${PW:-****}@redis:63" in found[0].message + found[1].message


@pytest.mark.skipif(
    __import__("celerylint.carriers.helm", fromlist=["engine"]).engine() is None,
    reason="no Helm engine: install the test extras (helm-python-sdk) or helm")
def test_a_placeholder_in_chart_values_is_silent(tmp_path):
    template = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: worker}\nspec:\n"
        "  selector: {matchLabels: {app: w}}\n  template:\n    metadata: {labels: {app: w}}\n"
        "    spec:\n      containers:\n        - name: worker\n"
        "          image: registry.example.com/shop/app:1\n"
        "          args: [celery, -A, shop, worker, -c, '1']\n          env:\n"
        "            - name: CELERY_BROKER_URL\n"
        "              value: \"redis://:{{ .Values.redis.password }}@redis:6379/0\"\n")
    write(tmp_path, {"chart/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
                     "chart/values.yaml": "redis:\n  password: changeme\n",
                     "chart/templates/worker.yaml": template})
    assert findings(tmp_path / "chart") == []


@pytest.mark.parametrize("path, severity", [
    ("docker-compose.yml", Severity.WARNING),
    ("deploy/docker-compose.yml", Severity.WARNING),
    ("tests/integration/docker-compose.yml", Severity.INFO),
    ("test/docker-compose.yml", Severity.INFO),
    ("examples/docker-compose.yml", Severity.INFO),
    ("example/docker-compose.yml", Severity.INFO),
    ("docker-compose.test.yml", Severity.INFO),
    ("docker-compose.example.yml", Severity.INFO),
    ("compose.sample.yaml", Severity.INFO),
])
def test_test_and_sample_files_are_reported_at_info_level(tmp_path, path, severity):
    write(tmp_path, {path: compose("      CELERY_BROKER_URL: redis://:R3al-pw@redis:6379/0\n")})
    [found] = findings(tmp_path)
    assert found.severity is severity


def test_a_url_found_only_because_celery_runs_gets_a_neutral_message(tmp_path):
    write(tmp_path, {"docker-compose.yml": compose(
        "      CACHE_URL: redis://:hunter3@cache:6379/2\n"
        "      EVENTS_URL: amqp://ev:hunter4@rabbitmq:5672//\n"
        "      CELERY_BROKER_URL: redis://:hunter5@redis:6379/0\n",
        command="celery -A shop -b redis://:hunter6@redis:6379/0 worker")})
    messages = {d.message.split(" ", 1)[0]: d.message for d in findings(tmp_path)}
    for name, what in (("CACHE_URL", "(redis://:****@"), ("EVENTS_URL", "(amqp://ev:****@")):
        assert f"has a plain-text password {what}" in messages[name]
        assert messages[name].endswith("repository readers can connect to that server")
        assert "broker" not in messages[name]
    assert messages["CELERY_BROKER_URL"].endswith("can publish tasks")
    assert "has a plain-text password" in messages["the"] and "publish tasks" in messages["the"]


def test_probe_commands_are_read(tmp_path):
    write(tmp_path, {
        "docker-compose.yml": compose(extra=(
            "    healthcheck:\n"
            "      test: [CMD, celery, -A, shop, -b, 'redis://:Pr0be1@redis:6379/0', inspect,"
            " ping, -t, '10']\n      timeout: 15s\n")),
        "k8s/worker.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: worker}\nspec:\n"
            "  selector: {matchLabels: {app: w}}\n  template:\n    metadata: {labels: {app: w}}\n"
            "    spec:\n      containers:\n        - name: worker\n"
            "          image: registry.example.com/shop/app:1\n"
            "          command: [celery, -A, shop, worker]\n"
            "          livenessProbe:\n            exec:\n"
            "              command: [sh, -c, 'celery -A shop -b redis://:Pr0be2@redis:6379/0"
            " inspect ping -d celery@$HOSTNAME -t 10']\n"
            "            timeoutSeconds: 15\n")})
    found = sorted((d.path.rsplit("/", 1)[-1], d.span.line, d.message.split(" has a")[0])
                   for d in findings(tmp_path))
    assert found == [
        ("docker-compose.yml", 8, "the healthcheck probe of compose service 'worker'"),
        ("worker.yaml", 15, "the liveness probe of Deployment 'worker'")]


@pytest.mark.parametrize("again, in_image", [("", False), ("ARG CELERY_BROKER_URL\n", True)])
def test_a_global_arg_before_the_first_from(tmp_path, again, in_image):
    write(tmp_path, {"Dockerfile": (
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=python:3.12-slim CELERY_BROKER_URL=redis://:G1obalPW@redis:6379/0\n"
        f"FROM $BASE\n{again}CMD [\"celery\", \"-A\", \"shop\", \"worker\"]\n")})
    [found] = findings(tmp_path)
    assert (found.span.line, found.span.column, found.span.end_column) == (2, 27, 44)
    assert ("writes a password into the image" in found.message) is in_image
    assert "G1obalPW" not in found.message


@pytest.mark.parametrize("text", [
    "A=1 B='two words' C=\"x\\\"y\" D=", "LEGACY some value", "  LEGACY\t'quoted value'",
    "A=1 \\\n    B=2", "",
])
def test_env_pairs_offsets_point_at_the_names_and_agree_with_env_values(text):
    pairs = env_pairs(text)
    assert all(text[p.start:p.start + len(p.name)] == p.name for p in pairs)
    assert all(text[p.value_start:].lstrip("\"'").startswith(p.value[:1]) for p in pairs)
    assert _env_values(text) == {p.name: p.value for p in pairs}


# -- no output prints a secret -------------------------------------------------------------------

LEAK = {
    "docker-compose.yml": (
        "services:\n  redis:\n    image: redis:7\n  worker:\n"
        "    image: registry.example.com/shop/app:1.0\n"
        "    command: celery -A shop -b redis://:S3cretPW@redis:6379/0 worker -l info\n"
        "    healthcheck:\n"
        "      test: [\"CMD\", \"celery\", \"-A\", \"shop\", \"-b\", "
        "\"redis://:p@ssW0rd@redis:6379/0\", \"inspect\", \"ping\"]\n"
        "      timeout: 5s\n"
        "  flower:\n    image: registry.example.com/shop/app:1.0\n"
        "    command: celery -A shop -b redis://redis:6379/0 flower --basic-auth=admin:Fl0werPW\n"
        "    environment:\n      FLOWER_BASIC_AUTH: ops:Fl0werPW2\n"
        "    ports: [\"127.0.0.1:5555:5555\"]\n"),
}
SECRETS = ("S3cretPW", "p@ssW0rd", "ssW0rd", "Fl0werPW", "Fl0werPW2")


@pytest.mark.parametrize("fmt", ["text", "concise", "json", "sarif", "github", "gitlab", "junit"])
def test_no_format_prints_a_secret_even_in_another_rules_fix_diff(tmp_path, fmt):
    write(tmp_path, LEAK)
    result = run("check", "--format", fmt, str(tmp_path))
    out = result.stdout + result.stderr
    assert "probe-inspect-ping" in out or "CL304" in out  # a fix edits a line with a password
    for secret in SECRETS:
        assert secret not in out, (fmt, secret)
    if fmt == "json":
        diffs = [d["fix"]["diff"] for d in json.loads(result.stdout)["diagnostics"] if d["fix"]]
        assert diffs and all("redis://:****@redis:6379/0" in d for d in diffs)


def test_diff_is_masked_and_fix_writes_the_file_untouched(tmp_path):
    write(tmp_path / "a", LEAK)
    result = run("check", "--diff", str(tmp_path / "a"))
    assert "+      test:" in result.stdout and "redis://:****@redis:6379/0" in result.stdout
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr, secret
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    run("check", "--fix", str(tmp_path / "b"))
    fixed = (tmp_path / "b" / "docker-compose.yml").read_text()
    assert fixed != LEAK["docker-compose.yml"] and "****" not in fixed
    assert "redis://:p@ssW0rd@redis:6379/0" in fixed and "S3cretPW" in fixed


def test_the_fixtures_new_secrets_are_printed_by_no_format():
    fires = FIXTURES / "rules" / RULE / "fires"
    for fmt in ("text", "concise", "json", "sarif", "github", "gitlab", "junit"):
        result = run("check", "--format", fmt, str(fires))
        for secret in ("ssw0rd", "Fallb4ck-pw", "hunter3-cache", "G1obal-Arg-pw", "Pr0be-Redis",
                       "Test-Only-pw9"):
            assert secret not in result.stdout + result.stderr, (fmt, secret)
