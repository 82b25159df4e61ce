"""Property-based tests: the readers never raise on arbitrary or mutated input, and the
positions they report point at the text they name."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from celerylint.parse import celery_cli, dockerfile, requirements, shell
from celerylint.sources import SourceFile

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SHELL_ALPHABET = string.ascii_letters + string.digits + " \t\n-_=./$@&|;<>()'\"`\\#{}*!?~%:,["
shell_text = st.text(alphabet=SHELL_ALPHABET, max_size=120)
plain_word = st.text(alphabet=string.ascii_letters + string.digits + "-_./:,", min_size=1,
                     max_size=12)


def mutate(seed: str):
    """Strings near a realistic one: a slice replaced by a few random characters."""
    return st.tuples(st.integers(0, len(seed)), st.integers(0, len(seed)),
                     st.text(alphabet=SHELL_ALPHABET, max_size=6)).map(
        lambda t: seed[:min(t[0], t[1])] + t[2] + seed[max(t[0], t[1]):])


SEED_SCRIPT = ('pip install --no-cache-dir "celery[redis]==5.3.4" redis==5.0.1 && '
               'exec celery -A proj worker -P gevent -c4 -Q a,b --loglevel=info 2>&1 | tee /tmp/x &')


@FAST
@given(st.one_of(shell_text, mutate(SEED_SCRIPT)))
def test_shell_splitter_and_celery_parser_never_raise(text: str):
    try:
        commands = shell.split(text)
    except shell.ShellSyntaxError:
        return  # the documented "unknown"
    for command in commands:
        invocation = celery_cli.find(command)
        if invocation is not None:
            _ = (invocation.pool, invocation.queues, invocation.runs_beat, invocation.exec_ed,
                 invocation.open_ended, invocation.app)


@FAST
@given(st.lists(plain_word, min_size=1, max_size=8), st.sampled_from([" ", "  ", " \t"]))
def test_plain_words_point_at_their_own_text(words: list[str], gap: str):
    script = gap.join(words)
    for command in shell.split(script):
        for word in command.assignments + command.words:
            assert script[word.start:word.end] == word.text


@FAST
@given(st.lists(st.text(alphabet=SHELL_ALPHABET, max_size=20), max_size=8))
def test_celery_parser_on_arbitrary_exec_form_argv(argv: list[str]):
    try:
        commands = shell.commands_of(["celery", *argv])
    except shell.ShellSyntaxError:
        return
    for invocation in celery_cli.invocations(commands):
        _ = (invocation.subcommand, invocation.pool, invocation.option("schedule"))


SEED_DOCKERFILE = "\n".join([
    "# syntax=docker/dockerfile:1",
    "ARG PY=3.12",
    "FROM python:${PY}-slim AS base",
    "WORKDIR /app",
    "RUN pip install --no-cache-dir \\",
    "    celery[redis]==5.3.4 \\",
    "    redis==5.0.1",
    "RUN <<EOF",
    "set -e",
    "pip install flower",
    "EOF",
    "COPY --chown=app start.sh /start.sh",
    'CMD ["celery", "-A", "proj", "worker"]',
    "",
])


@FAST
@given(st.one_of(st.text(max_size=200), mutate(SEED_DOCKERFILE)))
def test_dockerfile_reader_never_raises(text: str):
    parsed = dockerfile.parse(SourceFile("Dockerfile", "dockerfile", text, None))
    if isinstance(parsed, dockerfile.Dockerfile):
        for stage in parsed.stages:
            _ = (stage.workdir, stage.user, stage.env, stage.copies, stage.root_image)


@FAST
@given(st.lists(st.tuples(st.sampled_from(["RUN", "CMD", "ENV", "WORKDIR", "COPY"]),
                          st.lists(plain_word, min_size=1, max_size=4)), min_size=1, max_size=6))
def test_instruction_positions_point_at_the_file_text(lines):
    text = "FROM python:3.12\n" + "".join(f"{k} {' '.join(ws)}\n" for k, ws in lines)
    source = SourceFile("Dockerfile", "dockerfile", text, None)
    parsed = dockerfile.parse(source)
    for instruction in parsed.stages[0].instructions:
        for offset in range(len(instruction.text)):
            line, column = instruction.position(offset)
            assert source.lines[line - 1][column - 1] == instruction.text[offset]


SEED_REQUIREMENTS = "\n".join([
    "# pinned",
    "-r base.txt",
    "celery[redis]==5.3.4 \\",
    "    --hash=sha256:abcd",
    "redis==5.0.1  # comment",
    'kombu>=5.3; python_version >= "3.8"',
    "redis==${REDIS_VERSION}",
    "-e git+https://example.com/x.git#egg=x",
    "",
])


@FAST
@given(st.one_of(st.text(max_size=200), mutate(SEED_REQUIREMENTS)))
def test_requirements_reader_never_raises_and_points_at_each_requirement(text: str):
    parsed = requirements.read_file(text)
    lines = text.split("\n")
    for line in parsed.requirements:
        row = lines[line.line - 1]
        first = line.text.split()[0] if line.text.split() else ""
        assert row[line.column - 1:].startswith(first)


@FAST
@given(st.lists(st.text(alphabet=SHELL_ALPHABET, max_size=16), max_size=10))
def test_pip_install_reader_never_raises(args: list[str]):
    words = [shell.Word(a, 0, len(a), i) for i, a in enumerate(args)]
    requirements.read_pip_install(words)
    requirements.pip_install_args(shell.SimpleCommand(words=[shell.Word("pip", 0, 3), *words]))


SEED_APP = "\n".join([
    "import os",
    "from celery import Celery",
    "from celery.schedules import crontab",
    'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")',
    'app = Celery("proj", broker=os.environ.get("BROKER", "redis://redis:6379/0"))',
    "app.conf.update(worker_concurrency=2 * 2, task_routes={'a.*': {'queue': 'a'}})",
    "app.conf.beat_schedule = {'x': {'task': 't', 'schedule': crontab(hour=3), 'options': {'queue': 'q'}}}",
    'app.config_from_object("django.conf:settings", namespace="CELERY")',
    "",
])


@FAST
@given(mutate(SEED_APP))
def test_app_configuration_reader_never_raises(tmp_path_factory, text: str):
    from celerylint.model import appconfig

    root = tmp_path_factory.mktemp("app")
    (root / "proj").mkdir()
    (root / "proj" / "__init__.py").write_text("")
    (root / "proj" / "celery.py").write_text(text)
    (root / "proj" / "settings.py").write_text("from .base import *\nCELERY_TASK_DEFAULT_QUEUE = 'jobs'\n")
    from celerylint.discover import Scope

    finder = appconfig.ModuleFinder(Scope.of([str(root)]), 1 << 20)
    config = appconfig.read_app("proj", finder, {"BROKER": "redis://other:6379/0"})
    if config is not None:
        effective = appconfig.effective(config, {"BROKER": "redis://other:6379/0"})
        for name in ("broker_url", "beat_schedule", "task_routes", "task_default_queue"):
            effective.value(name)
