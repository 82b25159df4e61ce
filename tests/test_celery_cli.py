"""Unit tests for celerylint.parse.celery_cli: find() and invocations() on shell commands."""

from __future__ import annotations

import pytest

from celerylint.parse.celery_cli import CeleryInvocation, find, invocations
from celerylint.parse.shell import commands_of, split


def one(script: str) -> CeleryInvocation:
    """The single celery invocation of a shell script."""
    found = invocations(split(script))
    assert len(found) == 1, found
    return found[0]


def values(inv: CeleryInvocation) -> dict[str, str | None]:
    return {name: opt.value for name, opt in inv.options.items()}


# --------------------------------------------------------------------------- programs


@pytest.mark.parametrize("script, program", [
    ("celery -A app worker", "celery"),
    ("/usr/local/bin/celery -A app worker", "/usr/local/bin/celery"),
    ("python -m celery -A app worker", "python"),
    ("python3 -m celery -A app worker", "python3"),
    ("python3.11 -m celery -A app worker", "python3.11"),
    ("python -u -m celery -A app worker", "python"),
    ("python /venv/bin/celery -A app worker", "python"),
    ("uv run celery -A app worker", "celery"),
    ("poetry run celery -A app worker", "celery"),
    ("pipenv run celery -A app worker", "celery"),
])
def test_program_spellings(script, program):
    inv = one(script)
    assert inv.program.text == program
    assert inv.subcommand == "worker" and inv.is_worker
    assert inv.app == "app"


@pytest.mark.parametrize("script", [
    "pip install celery",
    "pip install celery[redis]==5.3.4",
    "echo celery worker",
    "python -m pip install celery",
    "python -m celery.bin.celery worker",   # not "-m celery"
    "python celery worker",
    "ls /usr/bin/celery",
])
def test_not_an_invocation(script):
    assert invocations(split(script)) == []


def test_find_on_empty_command_is_none():
    [command] = split("FOO=1")
    assert find(command) is None


def test_celery_without_subcommand_is_still_an_invocation():
    inv = one("celery --version")
    assert inv.subcommand is None and inv.subcommand_word is None
    assert "version" in inv.options
    assert not inv.is_worker and inv.pool is None


def test_subcommand_word_points_at_the_source():
    script = "celery -A app worker -l info"
    inv = one(script)
    assert script[inv.subcommand_word.start:inv.subcommand_word.end] == "worker"


# --------------------------------------------------------------------------- options


def test_long_option_with_equals_and_with_separate_value():
    inv = one("celery --app=proj worker --concurrency 4 --loglevel=INFO")
    assert values(inv) == {"app": "proj", "concurrency": "4", "loglevel": "INFO"}
    assert inv.unknown_options == []


def test_short_option_with_separate_value():
    inv = one("celery -A proj worker -c 8 -l info -n w1@%h")
    assert values(inv) == {"app": "proj", "concurrency": "8", "loglevel": "info",
                           "hostname": "w1@%h"}


def test_short_option_with_attached_value():
    inv = one("celery -A proj worker -c4 -Ofair")
    assert inv.value("concurrency") == "4"
    assert inv.value("optimization") == "fair"


def test_short_flag_bundle():
    inv = one("celery -A proj worker -BE")
    assert "beat" in inv.options and "task_events" in inv.options
    assert inv.options["beat"].value is None
    assert inv.runs_beat


def test_bundle_ending_with_a_value_option():
    inv = one("celery -A proj worker -Ec4")
    assert "task_events" in inv.options
    assert inv.value("concurrency") == "4"


def test_value_word_is_the_word_holding_the_value():
    script = "celery -A proj worker --pool gevent -c4"
    inv = one(script)
    pool = inv.option("pool")
    assert pool.flag.text == "--pool" and pool.value_word.text == "gevent"
    assert script[pool.value_word.start:pool.value_word.end] == "gevent"
    concurrency = inv.option("concurrency")
    assert concurrency.value_word is concurrency.flag   # attached: one word


def test_option_without_its_value_at_end_of_line():
    inv = one("celery -A proj worker -c")
    assert "concurrency" in inv.options and inv.value("concurrency") is None


def test_unknown_options_are_recorded():
    inv = one("celery -A proj worker --no-such-thing=3 -Z")
    assert [w.text for w in inv.unknown_options] == ["--no-such-thing=3", "-Z"]
    assert inv.value("no_such_thing") == "3"


def test_double_dash_makes_the_rest_positional():
    inv = one("celery -A proj worker -- -c 4")
    assert "concurrency" not in inv.options
    assert [w.text for w in inv.positionals] == ["-c", "4"]


def test_option_and_value_accessors_for_missing_option():
    inv = one("celery -A proj worker")
    assert inv.option("concurrency") is None and inv.value("concurrency") is None


# --------------------------------------------------------------------------- -A placement


def test_app_before_subcommand():
    inv = one("celery -A proj worker")
    assert inv.app == "proj" and not inv.app_after_subcommand


@pytest.mark.parametrize("script", [
    "celery worker -A proj",
    "celery worker --app proj",
    "celery worker --app=proj",
    "celery beat -Aproj",
])
def test_app_after_subcommand_celery_4_order(script):
    inv = one(script)
    assert inv.app == "proj" and inv.app_after_subcommand


def test_other_options_after_subcommand_do_not_set_app_after_subcommand():
    inv = one("celery -A proj worker -l info -c 2")
    assert not inv.app_after_subcommand


# --------------------------------------------------------------------------- -S and -s


def test_worker_dash_S_is_statedb():
    inv = one("celery -A proj worker -S /var/run/celery/state.db")
    assert inv.value("statedb") == "/var/run/celery/state.db"
    assert "scheduler" not in inv.options


def test_beat_dash_S_is_scheduler():
    inv = one("celery -A proj beat -S redbeat.RedBeatScheduler")
    assert inv.value("scheduler") == "redbeat.RedBeatScheduler"
    assert "statedb" not in inv.options


@pytest.mark.parametrize("script", [
    "celery -A proj beat -s /tmp/celerybeat-schedule",
    "celery -A proj beat --schedule=/tmp/celerybeat-schedule",
    "celery -A proj worker -B -s /tmp/celerybeat-schedule",
    "celery -A proj worker -B --schedule-filename /tmp/celerybeat-schedule",
])
def test_schedule_file(script):
    assert one(script).value("schedule") == "/tmp/celerybeat-schedule"


def test_beat_has_no_worker_only_options():
    inv = one("celery -A proj beat -B")
    assert "beat" not in inv.options
    assert [w.text for w in inv.unknown_options] == ["-B"]


# --------------------------------------------------------------------------- pool


@pytest.mark.parametrize("script, pool", [
    ("celery -A proj worker", "prefork"),
    ("celery -A proj worker -P prefork", "prefork"),
    ("celery -A proj worker -P processes", "prefork"),
    ("celery -A proj worker -P gevent", "gevent"),
    ("celery -A proj worker -Peventlet", "eventlet"),
    ("celery -A proj worker --pool=solo", "solo"),
    ("celery -A proj worker --pool threads", "threads"),
    ("celery -A proj worker -P $POOL", None),
    ('celery -A proj worker --pool="$POOL"', None),
    ("celery -A proj worker -P$(pool)", None),
    ("celery -A proj worker -P", None),          # value missing
])
def test_pool(script, pool):
    assert one(script).pool == pool


@pytest.mark.parametrize("script", [
    "celery -A proj beat",
    "celery -A proj flower",
    "celery -A proj inspect ping",
])
def test_pool_is_none_when_not_a_worker(script):
    inv = one(script)
    assert not inv.is_worker and inv.pool is None


def test_dynamic_option_value_is_dynamic():
    inv = one("celery -A proj worker --pool $POOL -c 4")
    assert inv.option("pool").dynamic
    assert not inv.option("concurrency").dynamic


def test_exec_form_dollar_is_literal_unless_marked_dynamic():
    argv = ["celery", "-A", "proj", "worker", "-P", "$(POOL)"]
    [literal] = invocations(commands_of(argv))
    assert literal.pool == "$(POOL)"
    [marked] = invocations(commands_of(argv, dynamic=[False] * 5 + [True]))
    assert marked.pool is None


# --------------------------------------------------------------------------- queues


@pytest.mark.parametrize("script, queues", [
    ("celery -A proj worker -Q default", ["default"]),
    ("celery -A proj worker -Q a,b,c", ["a", "b", "c"]),
    ("celery -A proj worker --queues='a, b ,c'", ["a", "b", "c"]),
    ("celery -A proj worker -Q a,,b,", ["a", "b"]),
    ("celery -A proj worker", None),
])
def test_queues(script, queues):
    assert one(script).queues == queues


# --------------------------------------------------------------------------- beat


@pytest.mark.parametrize("script, runs_beat", [
    ("celery -A proj beat", True),
    ("celery -A proj worker -B", True),
    ("celery -A proj worker --beat", True),
    ("celery -A proj worker -EB", True),
    ("celery -A proj worker", False),
    ("celery -A proj worker -E", False),
    ("celery -A proj flower", False),
])
def test_runs_beat(script, runs_beat):
    assert one(script).runs_beat is runs_beat


# --------------------------------------------------------------------------- exec_ed


@pytest.mark.parametrize("argv, exec_ed", [
    (["celery", "-A", "proj", "worker"], True),
    (["tini", "--", "celery", "-A", "proj", "worker"], True),
    (["sh", "-c", "celery -A proj worker"], False),
    (["sh", "-c", "exec celery -A proj worker"], True),
    (["/bin/sh", "-ec", "cd /app && exec celery -A proj worker"], True),
    (["bash", "-c", "celery -A proj worker && echo done"], False),
    (["sh", "-c", "exec gosu app celery -A proj worker"], True),
])
def test_exec_ed(argv, exec_ed):
    [inv] = invocations(commands_of(argv))
    assert inv.exec_ed is exec_ed


def test_exec_ed_in_a_script():
    assert one("exec celery -A proj worker").exec_ed
    assert not one("celery -A proj worker").exec_ed


# --------------------------------------------------------------------------- wrappers


@pytest.mark.parametrize("script", [
    "gosu app celery -A proj worker",
    "su-exec app:app celery -A proj worker",
    "tini -- celery -A proj worker",
    "dumb-init celery -A proj worker",
    "newrelic-admin run-program celery -A proj worker",
    "ddtrace-run celery -A proj worker",
    "env FOO=1 celery -A proj worker",
    "nice -n 10 celery -A proj worker",
    "sudo -u app celery -A proj worker",
    "poetry run celery -A proj worker",
    "uv run celery -A proj worker",
    "watchmedo auto-restart -d . -p '*.py' -- celery -A proj worker",
    "gosu celery celery -A proj worker",         # a user called "celery"
    "gosu app python -m celery -A proj worker",
])
def test_wrappers(script):
    inv = one(script)
    assert inv.program.name == "celery" or inv.program.text.startswith("python")
    assert inv.subcommand == "worker" and inv.app == "proj"


def test_wrapper_without_celery_is_not_an_invocation():
    assert invocations(split("gosu app python manage.py migrate")) == []


def test_non_wrapper_program_before_celery_is_not_an_invocation():
    assert invocations(split("strace celery -A proj worker")) == []


def test_invocation_keeps_whole_command_words():
    inv = one("gosu app celery -A proj worker")
    assert [w.text for w in inv.words][:2] == ["gosu", "app"]
    assert inv.program is inv.words[2]


# --------------------------------------------------------------------------- open-endedness


@pytest.mark.parametrize("script, open_ended", [
    ("celery -A proj worker $CELERY_ARGS", True),
    ('celery -A proj worker "$@"', True),
    ("celery -A proj worker ${EXTRA}", True),
    ("celery -A proj worker -c 4", False),
    ("celery -A proj worker --pool $POOL", False),   # a dynamic value, not extra options
    ("celery -A proj worker -- plain", False),
])
def test_open_ended(script, open_ended):
    assert one(script).open_ended is open_ended


def test_open_ended_exec_form_with_dynamic_item():
    argv = ["celery", "-A", "proj", "worker", "$(CELERY_ARGS)"]
    [inv] = invocations(commands_of(argv, dynamic=[False, False, False, False, True]))
    assert inv.open_ended


# --------------------------------------------------------------------------- other subcommands


def test_celery_multi_start():
    inv = one("celery multi start w1 w2 -A proj")
    assert inv.subcommand == "multi"
    assert [w.text for w in inv.positionals] == ["start", "w1", "w2"]
    assert inv.app == "proj"
    assert not inv.is_worker and inv.pool is None and not inv.runs_beat


def test_inspect_positionals_and_options():
    inv = one("celery -A proj inspect ping -d celery@host -t 10")
    assert inv.subcommand == "inspect"
    assert [w.text for w in inv.positionals] == ["ping"]
    assert values(inv) == {"app": "proj", "destination": "celery@host", "timeout": "10"}


def test_events_dash_c_is_camera_not_concurrency():
    inv = one("celery -A proj events -c myapp.Camera")
    assert inv.value("camera") == "myapp.Camera" and "concurrency" not in inv.options


def test_standalone_flower():
    inv = one("flower -A proj --port=5555")
    assert inv.subcommand == "flower" and inv.app == "proj"


def test_celery_flower_subcommand():
    inv = one("celery -A proj flower --port=5555")
    assert inv.subcommand == "flower" and not inv.is_worker


# --------------------------------------------------------------------------- invocations()


def test_invocations_across_a_script():
    script = ("pip install celery && celery -A proj worker -l info & "
              "exec celery -A proj beat -s /tmp/sched")
    found = invocations(split(script))
    assert [i.subcommand for i in found] == ["worker", "beat"]
    worker, beat = found
    assert worker.command.background and not worker.exec_ed
    assert beat.exec_ed and beat.value("schedule") == "/tmp/sched"


def test_invocations_of_nothing():
    assert invocations([]) == []
    assert invocations(split("echo hi; sleep 1")) == []


def test_dynamic_queues_are_unknown_not_a_queue_name():
    from celerylint.parse.celery_cli import invocations
    from celerylint.parse.shell import split

    [inv] = invocations(split("celery -A proj worker -Q $QUEUES"))
    assert inv.queues is None


def test_multi_and_standalone_flower_take_the_app_after_their_command():
    from celerylint.parse.celery_cli import invocations
    from celerylint.parse.shell import split

    multi, flower, old = invocations(split(
        "celery multi start w1 -A proj -l info; flower -A proj --port=5555; celery worker -A proj"))
    assert not multi.app_after_subcommand and not flower.app_after_subcommand
    assert old.app_after_subcommand
