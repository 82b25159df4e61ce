"""docker-compose: files read together as Compose reads them, services in the model with the
positions of the lines that write them, and rules and fixes on stacks shaped like real ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, found, lint, run, write
from celerylint.carriers.compose_env import Variables, interpolate, parse_env_file
from celerylint.parse import shellwords

COMPOSE = FIXTURES / "compose"


def model(root: Path):
    from celerylint.model.build import load

    deployment, skipped = load([str(root)])
    return deployment, skipped


def service(deployment, name: str):
    return next(c for c in deployment.containers() if c.workload.carrier == "compose"
                and c.name == name)


# -- variables and command lines ------------------------------------------------------------------

@pytest.mark.parametrize("text, wanted, dynamic", [
    ("celery -A ${APP} worker", "celery -A shop worker", False),
    ("-Q $QUEUES", "-Q a,b", False),
    ("${MISSING}", "${MISSING}", True),  # unknown: kept as written, never empty
    ("$MISSING/x", "$MISSING/x", True),
    ("${MISSING:-redis}", "redis", False),
    ("${EMPTY:-redis}", "redis", False),  # :- also replaces an empty value
    ("${EMPTY-redis}", "", False),  # - only an unset one
    ("${MISSING:?set it}", "${MISSING:?set it}", True),
    ("${APP:+yes}", "yes", False),
    ("$$HOSTNAME", "$HOSTNAME", False),  # $$ is a literal $
    ("${MISSING:-${APP}}", "shop", False),  # nested defaults
    ("${SHELL_VALUE:-x}", "${SHELL_VALUE:-x}", True),  # `SHELL_VALUE` alone in .env: the shell's
])
def test_interpolation_follows_compose_and_keeps_unknown_variables_unknown(text, wanted, dynamic):
    variables = Variables({"APP": "shop", "QUEUES": "a,b", "EMPTY": "", "SHELL_VALUE": None})
    done = interpolate(text, variables)
    assert (done.text, done.dynamic) == (wanted, dynamic)


def test_env_file_format():
    text = ("# comment\nexport A=1\nB=\"two\\nlines $A\"\nC='literal $A'\nD=val # comment\n"
            "E=val# kept\nF\nG=\"multi\nline\"\n")
    values = {a.name: a.value for a in parse_env_file(text)}
    assert values == {"A": "1", "B": "two\nlines 1", "C": "literal $A", "D": "val",
                      "E": "val# kept", "F": None, "G": "multi\nline"}
    assert [a.line for a in parse_env_file(text)] == [2, 3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize("line, argv, cut", [
    ("celery -A shop worker", ["celery", "-A", "shop", "worker"], None),
    ('sh -c "exec celery -A shop worker"', ["sh", "-c", "exec celery -A shop worker"], None),
    ("migrate && celery worker", ["migrate"], "&"),
    ("celery worker > log 2>&1", ["celery", "worker"], ">"),
    ("celery worker 2>&1", ["celery", "worker"], ">"),  # the descriptor goes with it
    ("worker # not a comment", ["worker", "#", "not", "a", "comment"], None),
    ("a \"\" b", ["a", "", "b"], None),
])
def test_string_commands_are_split_like_compose_without_a_shell(line, argv, cut):
    split = shellwords.split(line)
    assert [w.text for w in split.words] == argv
    assert (line[split.cut] if split.cut is not None else None) == cut


@pytest.mark.parametrize("line", ["python -c print(1)", "echo 'open", "echo \\"])
def test_strings_compose_refuses(line):
    with pytest.raises(shellwords.InvalidCommandLine):
        shellwords.split(line)


# -- projects: which files are read together ------------------------------------------------------

def test_main_and_override_files_are_one_project_other_files_their_own(tmp_path):
    write(tmp_path, {
        "compose.yaml": "services:\n  beat:\n    image: shop/app\n"
                        "    command: celery -A shop beat -s /tmp/s\n",
        "compose.override.yaml": "services:\n  beat:\n    deploy:\n      replicas: 2\n",
        "docker-compose.prod.yml": "services:\n  beat:\n    image: shop/app\n"
                                   "    command: celery -A shop beat -s /tmp/s\n",
    })
    deployment, _ = model(tmp_path)
    beats = sorted((w.namespace.replace(f"{tmp_path}/", ""), w.replicas)
                   for w in deployment.workloads)
    assert beats == [("compose:compose.yaml + compose.override.yaml", 2),
                     ("compose:docker-compose.prod.yml", None)]
    # the finding and its fix are at the override's line, which holds the value
    assert found(tmp_path) == [("multiple-beats", "compose.override.yaml", 4)]


def test_configured_projects_read_files_together(tmp_path):
    write(tmp_path, {
        ".celerylint.toml": '[compose]\nprojects = [["docker-compose.yml", "docker-compose.prod.yml"]]\n',
        "docker-compose.yml": "services:\n  worker:\n    image: shop/app\n"
                              "    command: celery -A shop worker -c 2\n",
        "docker-compose.prod.yml": "services:\n  worker:\n    environment:\n"
                                   "      CELERY_BROKER_URL: redis://redis:6379/0\n",
    })
    result = run("check", "--format", "json", ".", cwd=tmp_path)
    messages = [d["message"] for d in json.loads(result.stdout)["diagnostics"]]
    assert len(messages) == 1 and "names 'redis', which no service" in messages[0]


def test_extends_from_the_same_file_and_another_file(tmp_path):
    write(tmp_path, {
        "common.yml": "services:\n  celery:\n    image: shop/app\n    read_only: true\n"
                      "    working_dir: /srv\n",
        "compose.yaml": "services:\n"
                        "  base:\n    extends: {file: common.yml, service: celery}\n"
                        "    command: celery -A shop worker -c 2\n"
                        "  worker:\n    extends: base\n    environment: {LOG: info}\n"
                        "  web:\n    extends: {file: common.yml, service: celery}\n"
                        "    read_only: false\n    command: celery -A shop worker -c 2\n",
    })
    deployment, _ = model(tmp_path)
    worker = service(deployment, "worker")
    assert worker.read_only_root and worker.working_dir == "/srv"
    assert worker.argv == ["celery", "-A", "shop", "worker", "-c", "2"]
    assert not service(deployment, "web").read_only_root  # the local key wins
    # common.yml is a part of the project, not a project of its own
    assert {w.name for w in deployment.workloads} == {"base", "worker", "web"}
    assert ("prefork-no-writable-tmp", "compose.yaml", 4) in found(tmp_path)


def test_include_reads_a_project_with_its_own_env(tmp_path):
    write(tmp_path, {
        "compose.yaml": "include:\n  - broker/compose.yaml\nservices:\n  worker:\n"
                        "    image: shop/app\n    command: celery -A shop worker -c 2\n"
                        "    environment:\n      CELERY_BROKER_URL: redis://queue:6379/0\n",
        "broker/.env": "REDIS_IMAGE=redis:7\n",
        "broker/compose.yaml": "services:\n  queue:\n    image: ${REDIS_IMAGE}\n"
                               "    command: redis-server --maxmemory-policy allkeys-lru\n",
    })
    deployment, _ = model(tmp_path)
    assert service(deployment, "queue").image == "redis:7"
    assert found(tmp_path) == [("redis-eviction-policy", "compose.yaml", 4)]


def test_reset_removes_a_value_and_a_service(tmp_path):
    write(tmp_path, {
        "compose.yaml": "services:\n  worker:\n    image: shop/app\n    read_only: true\n"
                        "    command: celery -A shop worker -c 2\n  backup:\n    image: x\n",
        "compose.override.yaml": "services:\n  worker:\n    read_only: !reset null\n"
                                 "  backup: !reset null\n",
    })
    deployment, _ = model(tmp_path)
    assert not service(deployment, "worker").read_only_root
    assert {w.name for w in deployment.workloads} == {"worker"}
    assert found(tmp_path) == []  # and the schema does not see the null


def test_anchor_values_point_at_the_anchor_and_profiles_are_named(tmp_path):
    write(tmp_path, {
        "compose.yaml": "x-env: &env\n  C_FORCE_ROOT: \"true\"\n  LOG: info\n"
                        "services:\n  worker:\n    image: shop/app\n    profiles: [jobs]\n"
                        "    command: celery -A shop worker -c 2\n    environment: *env\n",
    })
    diagnostic, = lint(tmp_path)
    assert (diagnostic.name, diagnostic.span.line) == ("force-root", 2)
    assert "compose service 'worker' (profile jobs)" in diagnostic.message


def test_entrypoint_and_command_follow_compose(tmp_path):
    write(tmp_path, {
        "Dockerfile": 'FROM python:3.12\nCOPY entrypoint /entrypoint\nENTRYPOINT ["/entrypoint"]\n'
                      'CMD ["celery", "-A", "shop", "worker", "--detach"]\n',
        "entrypoint": '#!/bin/sh\nexec "$@"\n',
        "compose.yaml": "services:\n"
                        "  image-cmd:\n    build: .\n"
                        "  command-only:\n    build: .\n    command: celery -A shop beat -s /tmp/s\n"
                        "  entrypoint:\n    build: .\n    entrypoint: [celery, -A, shop, flower]\n",
    })
    deployment, _ = model(tmp_path)
    subcommands = {c.name: [i.subcommand for i in c.celery] for c in deployment.containers()}
    assert subcommands == {"image-cmd": ["worker"], "command-only": ["beat"],
                           "entrypoint": ["flower"]}  # entrypoint drops the image's CMD
    assert found(tmp_path) == [("worker-detached", "Dockerfile", 4)]


def test_build_target_links_its_stage_and_shared_images_run_that_build(tmp_path):
    write(tmp_path, {
        "docker/Dockerfile": 'FROM python:3.12 AS base\nWORKDIR /app\n'
                             'FROM base AS worker\nCMD ["celery", "-A", "shop", "worker", "-c", "2"]\n'
                             'FROM base AS web\nCMD ["gunicorn", "shop.wsgi"]\n',
        "compose.yaml": "services:\n"
                        "  worker:\n    image: shop/worker\n    read_only: true\n"
                        "    build: {context: docker, target: worker}\n"
                        "  worker-2:\n    image: shop/worker\n    read_only: true\n"
                        "  web:\n    build: {context: docker, target: web}\n    read_only: true\n",
    })
    deployment, _ = model(tmp_path)
    assert {c.name: c.launch.stage.name for c in deployment.containers()} == {
        "worker": "worker", "worker-2": "worker", "web": "web"}
    # the stage's CMD, once for each service that runs it
    assert found(tmp_path) == [("prefork-no-writable-tmp", "Dockerfile", 4)] * 2


def test_healthchecks_restart_nothing_but_hold_back_what_waits_for_them(tmp_path):
    write(tmp_path, {
        "compose.yaml": "services:\n"
                        "  worker:\n    image: shop/app\n    init: true\n"
                        '    command: sh -c "pip install -r r.txt && exec celery -A shop worker -c 2"\n'
                        "    healthcheck:\n      test: celery -A shop inspect ping\n"
                        "      interval: 1m30s\n"
                        "  web:\n    image: shop/web\n    depends_on:\n"
                        "      worker: {condition: service_healthy}\n",
    })
    deployment, _ = model(tmp_path)
    worker = service(deployment, "worker")
    probe = worker.probes["healthcheck"]
    assert (probe.period, probe.timeout, probe.failure_threshold, probe.initial_delay) == (90, 30, 3, 0)
    assert probe.waiting == ["web"] and worker.launch.init == "tini"
    assert "probe-too-early" not in {name for name, _, _ in found(tmp_path)}  # 270 s > 60 s


def test_host_names_resolve_on_the_compose_network(tmp_path):
    write(tmp_path, {
        "compose.yaml": "services:\n"
                        "  a:\n    image: shop/app\n    command: celery -A shop worker -c 1\n"
                        "    environment: {CELERY_BROKER_URL: 'redis://cache:6379/0'}\n"
                        "  b:\n    image: shop/app\n    command: celery -A shop worker -c 1\n"
                        "    environment: {CELERY_BROKER_URL: 'redis://broker.local:6379/0'}\n"
                        "  c:\n    image: shop/app\n    command: celery -A shop worker -c 1\n"
                        "    links: ['redis:queue']\n"
                        "    environment: {CELERY_BROKER_URL: 'redis://queue:6379/0'}\n"
                        "  d:\n    image: shop/app\n    command: celery -A shop worker -c 1\n"
                        "    environment: {CELERY_BROKER_URL: 'redis://nowhere:6379/0'}\n"
                        "  redis:\n    image: redis:7\n    hostname: cache\n",
    })
    assert found(tmp_path) == [("broker-service-undefined", "compose.yaml", 18)]


# -- stacks shaped like real ones ---------------------------------------------------------------------

def test_cookiecutter_shaped_stack_is_reported_in_its_start_scripts():
    stack = COMPOSE / "cookiecutter-shop"
    diagnostics = lint(stack)
    assert [(d.name, Path(d.path).resolve().relative_to(stack).as_posix(), d.span.line)
            for d in diagnostics] == [
        ("signal-not-forwarded", "compose/production/django/celery/beat/start", 8),
        ("signal-not-forwarded", "compose/production/django/celery/flower/start", 7),
        ("signal-not-forwarded", "compose/production/django/celery/worker/start", 7),
        ("prefork-default-concurrency", "compose/production/django/celery/worker/start", 7),
    ]
    first = diagnostics[0]
    assert "celery beat in compose service 'celerybeat'" in first.message
    steps = [r.message for r in first.related]
    assert any("runs /start-celerybeat through the ENTRYPOINT /entrypoint" in s for s in steps)
    assert any(s.startswith("copied by") for s in steps)


def test_shop_stack_with_anchors_override_env_and_build_target():
    stack = COMPOSE / "shop-stack"
    assert found(stack) == [
        ("multiple-beats", "compose.override.yaml", 8),  # the override writes replicas: 2
        ("queue-not-consumed", "compose.yaml", 29),
        ("prefork-no-writable-tmp", "compose.yaml", 29),  # read_only: true from the anchor
        ("prefork-default-concurrency", "compose.yaml", 29),
        ("beat-schedule-read-only", "compose.yaml", 38),  # WORKDIR /app of the worker stage
        ("redis-eviction-policy", "compose.yaml", 49),
    ]


def test_seed_000_shaped_production_compose():
    stack = COMPOSE / "seed-000-prod"
    diagnostics = lint(stack)
    assert [(d.name, d.span.line, d.span.column) for d in diagnostics] == [
        ("redis-eviction-policy", 23, 26),  # allkeys-lru, in the folded command line
        ("queue-not-consumed", 43, 57), ("queue-not-consumed", 43, 57),  # the -Q list
        ("probe-inspect-ping", 55, 45),  # `inspect ping` with no -t: a 1 s reply window
    ]
    assert {d.message.split("'")[1] for d in diagnostics[1:3]} == {"accounting", "webhooks"}


@pytest.mark.parametrize("stack", ["cookiecutter-shop", "shop-stack", "seed-000-prod"])
def test_every_fix_applies_and_the_stack_rechecks_clean(stack, tmp_path):
    work = tmp_path / stack
    shutil.copytree(COMPOSE / stack, work)
    before = json.loads(run("check", "--format", "json", ".", cwd=work).stdout)["diagnostics"]
    fixed = run("check", "--fix", "--unsafe-fixes", ".", cwd=work)
    assert "Traceback" not in fixed.stderr
    after = json.loads(run("check", "--format", "json", ".", cwd=work).stdout)["diagnostics"]
    assert not [d for d in after if d["fix"]]
    assert len(after) == len([d for d in before if not d["fix"]])
    assert not [d for d in after if d["name"] in ("parse-error", "invalid-compose-file")]


def test_fixes_keep_the_style_of_the_file(tmp_path):
    write(tmp_path, {"compose.yaml": (
        "services:\n"
        "  worker: {image: shop/app, read_only: true, command: [celery, -A, shop, worker, -c, '2']}\n"
        "  reports:\n    image: shop/app\n    read_only: true\n    tmpfs: [/run]\n"
        "    command: celery -A shop worker -Q reports -c 1\n"
        "  beat:\n    image: shop/app\n    read_only: true\n    working_dir: /app\n"
        "    command: celery -A shop beat\n")})
    run("check", "--fix", ".", cwd=tmp_path)
    assert (tmp_path / "compose.yaml").read_text() == (
        "services:\n"
        "  worker: {image: shop/app, read_only: true, command: [celery, -A, shop, worker, -c, '2'], "
        "tmpfs: [/tmp]}\n"
        "  reports:\n    image: shop/app\n    read_only: true\n    tmpfs: [/run, /tmp]\n"
        "    command: celery -A shop worker -Q reports -c 1\n"
        "  beat:\n    image: shop/app\n    read_only: true\n    working_dir: /app\n"
        "    command: celery -A shop beat -s /var/lib/celery/celerybeat-schedule\n"
        "    tmpfs:\n      - /var/lib/celery\n")
    assert found(tmp_path) == []


# -- what is read and what is not ------------------------------------------------------------------

def test_yaml_that_is_no_carrier_is_listed_with_verbose_and_in_json(tmp_path):
    write(tmp_path, {
        ".github/workflows/ci.yml": "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n",
        "mkdocs.yml": "site_name: shop\n",
        "compose.yaml": "services:\n  web:\n    image: shop/web\n",
    })
    quiet = run("check", ".", cwd=tmp_path)
    assert "mkdocs.yml" not in quiet.stderr and "No problems found in 1 file." in quiet.stdout
    verbose = run("check", "-v", ".", cwd=tmp_path)
    assert "mkdocs.yml: YAML that is neither a Kubernetes manifest" in verbose.stderr
    summary = json.loads(run("check", "--format", "json", ".", cwd=tmp_path).stdout)["summary"]
    assert {s["path"] for s in summary["skipped"]} == {"mkdocs.yml", ".github/workflows/ci.yml"}


def test_a_compose_file_compose_refuses_is_a_finding_with_a_position(tmp_path):
    write(tmp_path, {"docker-compose.yml": "services:\n  worker:\n    image: shop/app\n"
                                           "    comand: celery -A shop worker\n"
                                           "    deploy: {replicas: many, resources: 2}\n"})
    assert found(tmp_path) == [("invalid-compose-file", "docker-compose.yml", 4),
                               ("invalid-compose-file", "docker-compose.yml", 5)]


# -- any shape ---------------------------------------------------------------------------------------

def _compose_values():
    from hypothesis import strategies as st

    keys = st.sampled_from(["image", "build", "command", "entrypoint", "environment", "env_file",
                            "volumes", "tmpfs", "read_only", "deploy", "scale", "healthcheck",
                            "extends", "depends_on", "networks", "init", "working_dir", "profiles",
                            "resources", "limits", "cpus", "memory", "replicas", "test", "target",
                            "context", "file", "service", "x-a", "<<", "links", "hostname"])
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([
        "celery -A p worker", "sh -c 'celery -A p beat'", "${X:-y}", "$$", "./c.yml", "/tmp",
        "a:b:ro", "redis://redis:6379/0", "1.5", "512M", "10s", "(", "&&", "!reset", ""]))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)), max_leaves=25)


def test_compose_inputs_of_any_shape_never_crash():
    import tempfile

    import yaml
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from celerylint.engine import Settings, analyse
    from celerylint.model.build import load

    services = st.dictionaries(st.sampled_from(["worker", "beat", "redis", "a.b"]),
                               _compose_values(), max_size=4)
    document = st.fixed_dictionaries({"services": services},
                                     optional={"include": _compose_values(),
                                               "networks": _compose_values()})

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(document, document, st.text(max_size=40))
    def check(main, override, dotenv):
        with tempfile.TemporaryDirectory() as directory:
            root = Path(directory)
            (root / "compose.yaml").write_text(yaml.safe_dump(main))
            (root / "compose.override.yaml").write_text(yaml.safe_dump(override))
            (root / ".env").write_text(dotenv)
            deployment, _ = load([directory])
            errors: list[str] = []
            analyse(deployment, Settings(), errors=errors)
            assert errors == []

    check()


def test_an_env_file_outside_the_tree_is_a_notice_never_read(tmp_path):
    (tmp_path / "secrets.env").write_text("C_FORCE_ROOT=1\n")
    write(tmp_path / "repo", {"compose.yaml": "services:\n  worker:\n    image: shop/app\n"
                                              "    command: celery -A shop worker -c 2\n"
                                              "    env_file: [../secrets.env]\n"})
    result = run("check", ".", cwd=tmp_path / "repo")
    assert "compose.yaml:5: env_file" in result.stderr and "outside the checked tree" in result.stderr
    assert "force-root" not in result.stdout and result.returncode == 0
