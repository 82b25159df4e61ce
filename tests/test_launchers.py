"""Launchers: Procfiles, supervisord, s6/runit run files, systemd units and entry scripts become
launches that the launch rules judge with what each launcher does (``carriers/launchers.py``)."""

from __future__ import annotations

import configparser
import json
import os
import shlex
import shutil
import string
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, lint, run, write
from celerylint.carriers import launcher_files, supervisord, systemd
from celerylint.model.build import load
from celerylint.sources import SourceFile

LAUNCHERS = FIXTURES / "launchers"
RULES = FIXTURES / "rules"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def launches(path):
    deployment, skipped = load([str(path)])
    return {launch.label.split(" (")[0]: launch for launch in deployment.launches}, deployment


def findings(path: Path) -> list[tuple[str, str, str, int, str]]:
    """(rule, severity, file, line, message) of every finding, paths relative to ``path``."""
    return [(d.name, d.severity.value, os.path.relpath(d.path, path), d.span.line, d.message)
            for d in lint(path)]


def check_json(cwd: Path, *args: str) -> dict:
    result = run("check", "--format", "json", *args, ".", cwd=cwd)
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


# -- which files are launcher files -------------------------------------------------------------

def test_launcher_files_are_told_by_name_and_place():
    cases = {
        "Procfile": "procfile", "app/Procfile.dev": "procfile", "Procfile.md": None,
        "supervisord.conf": "supervisord", "etc/supervisor/conf.d/celery.conf": "supervisord",
        "docker/supervisor-worker.conf": "supervisord", "deploy/conf.d/x.conf": "supervisord",
        "etc/nginx/nginx.conf": "supervisord",  # read, then dropped: no [program:x]
        "deploy/celery.conf": "supervisord", "templates/supervisor/celery.conf.j2": None,
        "rootfs/etc/s6-overlay/s6-rc.d/svc-worker/run": "s6",
        "etc/services.d/celery/run": "s6", "etc/sv/celery/run": "runit",
        "service/celery/run": "runit", "bin/run": None, "scripts/run": None,
        "contrib/systemd/celery.service": "systemd", "celery@.service": "systemd",
        "docker-entrypoint.sh": "entry-script", "docker/docker-entrypoint": "entry-script",
        "bin/start-worker": "entry-script", "scripts/run_celery.sh": "entry-script",
        "compose/production/django/celery/worker/start": "entry-script",
        "backend/docker/local/django/start": "entry-script", "bin/start": None,
        "start-worker.py": None, "deploy.sh": None,
    }
    assert {path: launcher_files.launcher_of(path) for path in cases} == cases


# -- supervisord ---------------------------------------------------------------------------------

def test_supervisord_programs_in_an_image_follow_multi_line_commands_and_expansions():
    found, deployment = launches(LAUNCHERS / "supervisord-image")
    worker = found["supervisord program 'celery-default'"]
    assert (worker.launcher, worker.in_container, worker.group_stop, worker.stop_signal,
            worker.stop_timeout, worker.numprocs) == ("supervisord", True, False, "TERM", 10.0, 1)
    assert worker.stage is not None and worker.base_image == "python:3.12-slim-bookworm"
    [celery] = worker.celery
    words = [(w.text, w.dynamic) for w in celery.words]
    assert words[:4] == [("/app/venv/bin/celery", False), ("worker", False),
                         ("--hostname", False), ("default@%h", False)]  # %% is %
    assert words[-1] == ("${ENV_CELERY_MAIN_OPTIONS}", True) and celery.open_ended
    assert celery.value("queues") == "celery" and celery.exec_ed  # no shell: the program itself
    # the continuation line's word points at its own line
    queues = celery.option("queues").flag
    assert celery.span(queues).line == 4
    assert {"supervisord program 'granian'", "supervisord program 'nginx'"} <= set(found)
    # nginx's conf.d file is not a supervisord file: neither read nor reported
    paths = {Path(s.path).name for s in deployment.sources}
    assert "default.conf" not in paths and "supervisord.conf" in paths
    assert deployment.problems == [] and findings(LAUNCHERS / "supervisord-image") == []


def test_a_host_supervisord_program_and_its_stop_facts():
    found, _ = launches(LAUNCHERS / "host")
    worker = found["supervisord program 'shop-worker'"]
    assert (worker.in_container, worker.group_stop, worker.stop_timeout, worker.numprocs) == \
        (False, True, 600.0, 2)
    assert [w.text for w in worker.celery[0].words][-2:] == ["-n", "worker.%h"]


def test_supervisord_cuts_a_command_at_a_space_semicolon_even_inside_quotes():
    # the verified configparser fact behind the supervisord branch of compose-command-truncated
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
    parser.read_string("[program:w]\ncommand=sh -c 'a ; b'\n")
    assert parser.get("program:w", "command") == "sh -c 'a"
    path = RULES / "compose-command-truncated"
    fires = [f for f in findings(path / "fires") if f[2].startswith("supervisor")]
    assert [(f[0], f[1], f[3]) for f in fires] == [("compose-command-truncated", "error", 2)]
    assert "supervisord program 'worker'" in fires[0][4] and "ends at ';', read as a comment" \
        in fires[0][4]
    # a comment after a complete command is deliberate; `a;b` is kept
    assert findings(path / "silent") == []


def test_supervisord_files_supervisord_refuses_are_parse_errors_at_their_line(tmp_path):
    write(tmp_path, {
        "supervisor/conf.d/a.conf": "; header comment\ncommand=celery -A p worker\n"
                                    "[program:a]\ncommand=celery -A p worker\n",
        "supervisor/conf.d/b.conf": "[program:b]\ncommand=celery -A p worker -n b.%h\n",
        "supervisor/conf.d/c.conf": "[program:c]\ncommand=celery -A p worker -n %(host_node_name\n",
        "supervisor/conf.d/d.conf": "[program:d]\ncommand=celery -A p worker -n %(node)s\n",
        "supervisor/conf.d/e.conf": "[program:e]\ndirectory=/srv\n",
        "supervisor/conf.d/f.conf": "[program:f]\ncommand=celery -A p worker\nnot an option\n"
                                    "also not\n",
        # configparser reads `[program:g` as a key of [supervisord]: supervisord starts, and so
        # does nothing here
        "supervisor/conf.d/g.conf": "[supervisord]\nnodaemon=true\n[program:g\ncommand=x\n",
        "conf.d/nginx.conf": "server {\n  listen 80;\n}\n",
    })
    data = check_json(tmp_path)
    errors = {(d["path"], d["line"], d["column"]): d["message"] for d in data["diagnostics"]
              if d["name"] == "parse-error"}
    assert set(errors) == {("supervisor/conf.d/a.conf", 2, 1), ("supervisor/conf.d/b.conf", 2, 33),
                           ("supervisor/conf.d/c.conf", 2, 31), ("supervisor/conf.d/d.conf", 2, 31),
                           ("supervisor/conf.d/e.conf", 1, 1), ("supervisor/conf.d/f.conf", 3, 1)}
    assert "before the first [section]" in errors[("supervisor/conf.d/a.conf", 2, 1)]
    assert "`%h` is `%%h`" in errors[("supervisor/conf.d/b.conf", 2, 33)]
    assert "%(name)s needs its closing )s" in errors[("supervisor/conf.d/c.conf", 2, 31)]
    assert "%(node)s is not a name it expands" in errors[("supervisor/conf.d/d.conf", 2, 31)]
    assert "no command=" in errors[("supervisor/conf.d/e.conf", 1, 1)]
    assert "(and 1 more such line)" in errors[("supervisor/conf.d/f.conf", 3, 1)]
    assert len(data["diagnostics"]) == len(errors)  # nginx's conf.d file is not ours


def test_a_templated_supervisord_file_is_not_read_as_it_is(tmp_path):
    write(tmp_path, {"supervisor/celery.conf": "[program:celery]\n{% if worker %}\n"
                                               "command={{ venv }}/bin/celery worker -A x\n"
                                               "{% endif %}\n"})
    data = check_json(tmp_path)
    assert data["diagnostics"] == []


@FAST
@given(st.text(alphabet=string.ascii_letters + " \t\n=:;#[]'\"%()-", max_size=160))
def test_supervisord_scan_agrees_with_configparser_and_points_at_the_text(text):
    source = SourceFile("s.conf", "launcher", text.replace("\r", ""), None)
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
    try:
        parser.read_string(source.text)
    except configparser.Error:
        return
    for name, section in supervisord.scan(source).items():
        for key, value in section.values.items():
            if parser.has_section(name) and parser.has_option(name, key):
                assert value.text == parser.get(name, key)
            for i, char in enumerate(value.text):
                if char != "\n":
                    assert source.text[value.chars[i]] == char


@FAST
@given(st.text(alphabet=string.ascii_letters + " \t\n'\"\\-=", max_size=80))
def test_supervisord_command_split_is_shlex_split(text):
    value = supervisord.Value("command", text, list(range(len(text))), None)
    pieces = supervisord.split(value)
    try:
        expected = shlex.split(text)
    except ValueError:
        assert pieces is None
        return
    assert pieces is not None and [p.text for p in pieces] == expected
    for piece in pieces:  # a word's written text starts and ends inside the value
        assert 0 <= piece.raw[0] < piece.raw[1] <= len(text)


# -- systemd -------------------------------------------------------------------------------------

def test_systemd_units_read_types_prefixes_variables_and_specifiers():
    found, deployment = launches(LAUNCHERS / "host")
    nodes = found["systemd service 'shop-celery'"]
    assert (nodes.unit_type, nodes.group_stop, nodes.stop_timeout, nodes.in_container) == \
        ("forking", True, 90.0, False)
    assert nodes.celery == []  # ${CELERY_BIN}: the program is not known
    beat = found["systemd service 'shop-beat'"]
    assert (beat.unit_type, beat.stop_signal, beat.stop_timeout) == ("simple", "INT", 150.0)
    # -@path argv0 ...: the file run, without its argv[0]; a comment line inside is skipped
    assert [w.text for w in beat.celery[0].words] == [
        "/srv/shop/venv/bin/celery", "-A", "shop", "beat", "--schedule=/var/lib/shop/beat-schedule",
        "--loglevel=INFO"]
    worker = found["systemd service 'shop-worker@'"]
    assert worker.group_stop is False  # KillMode=mixed
    assert [(w.text, w.dynamic) for w in worker.celery[0].words][4:] == [
        ("-n", False), ("%i@%h", True), ("-c", False), ("${CONCURRENCY}", True),
        ("$EXTRA_OPTS", True)]
    assert deployment.problems == [] and findings(LAUNCHERS / "host") == []


def test_systemd_words_quotes_escapes_and_a_lone_semicolon():
    text = "/bin/sh -c 'exec celery -A p worker' \"a b\" c\\x41d ; /bin/true"
    source = SourceFile("u.service", "launcher", f"[Service]\nExecStart={text}\n", None)
    unit = systemd.read(source)
    pieces = systemd.split(unit.last("Service", "ExecStart"))
    assert [p.text for p in pieces] == ["/bin/sh", "-c", "exec celery -A p worker", "a b", "cAd"]
    assert source.text[slice(*pieces[2].raw)] == "'exec celery -A p worker'"


def test_an_unsplittable_exec_start_is_a_parse_error(tmp_path):
    write(tmp_path, {"celery.service": "[Service]\nExecStart=/usr/bin/celery -A 'p worker\n",
                     "other.service": "[Unit]\nDescription=not a service section\n"})
    data = check_json(tmp_path)
    [error] = data["diagnostics"]
    assert (error["name"], error["path"], error["line"]) == ("parse-error", "celery.service", 2)
    assert data["summary"]["files"] == 1  # a unit file without [Service] is not a service


def test_systemd_forking_detach_is_right_and_simple_detach_is_not():
    path = RULES / "worker-detached"
    fires = [f for f in findings(path / "fires") if f[2].startswith("systemd")]
    assert [(f[0], f[3]) for f in fires] == [("worker-detached", 11)]
    assert "systemd service 'celery-worker'" in fires[0][4] and "Type=simple" in fires[0][4]
    assert findings(path / "silent") == []  # Type=forking with multi and --detach


# -- Procfile ------------------------------------------------------------------------------------

def test_procfile_lines_as_honcho_reads_them():
    found, _ = launches(LAUNCHERS / "procfile")
    assert set(found) == {"Procfile process 'web'", "Procfile process 'worker'",
                          "Procfile process 'flower'"}  # release runs once; `beat :` is no line
    worker = found["Procfile process 'worker'"]
    assert (worker.launcher, worker.group_stop, worker.stop_timeout, worker.in_container) == \
        ("procfile", True, 5.0, True)
    [celery] = worker.celery
    assert celery.command.shell == "sh" and celery.span().line == 4
    assert findings(LAUNCHERS / "procfile") == []  # honcho signals the whole group


def test_hostile_procfiles_give_notices_never_tracebacks(tmp_path):
    (tmp_path / "binary").mkdir()
    (tmp_path / "binary" / "Procfile").write_bytes(b"\x00\x01worker: celery\x00" * 500)
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "Procfile").write_text("".join(
        f"w{i}: celery -A p worker -n w{i}@%h --detach\n" for i in range(3000)) + "x" * 100000)
    started = time.monotonic()
    result = run("check", "--format", "json", "binary", "big", cwd=tmp_path)
    assert "Traceback" not in result.stderr and time.monotonic() - started < 60
    assert "skipped binary/Procfile: binary file" in result.stderr
    data = json.loads(result.stdout)
    assert len([d for d in data["diagnostics"] if d["name"] == "worker-detached"]) == 3000


# -- s6 and runit --------------------------------------------------------------------------------

def test_s6_run_files_are_the_service_process():
    found, _ = launches(LAUNCHERS / "s6")
    assert set(found) == {"the image built by " + str((LAUNCHERS / "s6" / "Dockerfile")
                                                      .relative_to(FIXTURES.parent)),
                          "s6 service 'svc-worker'", "s6 service 'flower'"}  # no oneshot, execline
    worker = found["s6 service 'svc-worker'"]
    assert worker.in_container and worker.base_image == "python:3.12-slim-bookworm"
    [celery] = worker.celery
    assert celery.command.shell == "bash" and celery.exec_ed  # #!/command/with-contenv bash
    [finding] = findings(LAUNCHERS / "s6")
    assert finding[:4] == ("signal-not-forwarded", "error", "rootfs/etc/services.d/flower/run", 3)
    assert "s6-supervise signals only the shell" in finding[4]


def test_fixing_an_s6_run_file_inserts_exec(tmp_path):
    work = tmp_path / "s6"
    shutil.copytree(LAUNCHERS / "s6", work)
    run("check", "--fix", ".", cwd=work)
    run_file = work / "rootfs/etc/services.d/flower/run"
    assert run_file.read_text().splitlines()[2] == "exec celery -A shop flower --port=5555"
    assert check_json(work)["diagnostics"] == []


# -- entry scripts -------------------------------------------------------------------------------

def test_entry_scripts_are_guessed_once_and_never_on_a_host():
    found, _ = launches(LAUNCHERS / "entry")
    guessed = {label: launch for label, launch in found.items() if launch.guessed}
    # docker-entrypoint.sh is the image's ENTRYPOINT: its own launch, not a guess;
    # start-celery.sh drives ssh: a host's
    assert {label.split("/")[-1] for label in guessed} == {"start", "start-worker.sh"}
    start = next(l for label, l in guessed.items() if label.endswith("/start"))
    weak = next(l for label, l in guessed.items() if label.endswith("start-worker.sh"))
    assert (start.in_container, weak.in_container) == (True, None)
    result = findings(LAUNCHERS / "entry")
    assert [(f[0], f[1], f[2]) for f in result] == [
        ("signal-not-forwarded", "warning", "compose/production/django/celery/worker/start")]
    assert "(if it is a container's entry point)" in result[0][4]


def test_a_script_a_container_reaches_is_not_guessed_again():
    path = RULES / "signal-not-forwarded" / "fires"
    _, deployment = launches(path)
    starts = [l for l in deployment.launches if l.launcher == "entry-script"]
    assert [Path(l.sources[0].path).parent.name for l in starts] == ["worker-image"]


# -- every launcher, every rule: wording and fixes ---------------------------------------------

def test_messages_name_the_launcher_and_its_file():
    # the launcher's file is the finding's location, so the message names only the launcher
    names = {(f[2], f[4].split(" in ", 1)[1].split(":")[0].split(" detaches ")[0]) for f in
             findings(RULES / "worker-detached" / "fires")}
    launchers = ("Procfile", "supervisord", "s6", "systemd", "this entry")
    assert {n for n in names if n[1].startswith(launchers)} == {
            ("procfile/Procfile", "Procfile process 'worker'"),
            ("supervisord/docker/celery.conf", "supervisord program 'celery-worker'"),
            ("s6/rootfs/etc/s6-overlay/s6-rc.d/celery-workers/run", "s6 service 'celery-workers'"),
            ("systemd/celery-worker.service", "systemd service 'celery-worker'"),
            ("image/docker-entrypoint.sh", "this entry script (if it is a container's entry point)")}


def test_fixes_edit_the_launcher_line_and_the_files_still_parse(tmp_path):
    work = tmp_path / "fires"
    shutil.copytree(RULES / "worker-detached" / "fires", work)
    shutil.copytree(RULES / "signal-not-forwarded" / "fires" / "supervisord", work / "sig")
    shutil.copytree(RULES / "compose-command-truncated" / "fires" / "supervisor", work / "cut")
    result = run("check", "--fix", ".", cwd=work)
    assert "Traceback" not in result.stderr and "celerylint bug" not in result.stderr
    conf = (work / "supervisord/docker/celery.conf").read_text().splitlines()
    assert conf[2] == "command=celery -A proj worker --loglevel=INFO --concurrency=4  # expect: " \
                      "worker-detached"
    unit = (work / "systemd/celery-worker.service").read_text().splitlines()
    assert unit[10] == "ExecStart=/opt/proj/venv/bin/celery -A proj worker --loglevel=INFO " \
                       "--pidfile=/run/celery/worker.pid"
    assert "worker: celery -A proj worker --loglevel=info  # expect" in \
        (work / "procfile/Procfile").read_text()
    sig = (work / "sig/supervisor/celery.conf").read_text()
    assert 'command=sh -c "cd /app && exec celery -A proj beat' in sig
    assert "stopsignal=TERM  # expect" in sig
    assert (work / "sig/bin/start-worker").read_text().splitlines()[3].startswith(
        "exec celery -A proj worker")
    assert "command=sh -c 'python manage.py migrate; exec celery" in \
        (work / "cut/conf.d/celery.conf").read_text()
    after = check_json(work)["diagnostics"]
    assert not [d for d in after if d["name"] == "parse-error"]
    remaining = {(d["name"], d["path"]) for d in after}
    for fixed in ("supervisord/docker/celery.conf", "systemd/celery-worker.service",
                  "procfile/Procfile", "sig/supervisor/celery.conf", "sig/bin/start-worker",
                  "cut/conf.d/celery.conf"):
        assert not any(path == fixed for _, path in remaining), (fixed, remaining)
    # the fixed supervisord program now parses into a launch of its own
    found, _ = launches(work / "cut")
    assert found["supervisord program 'worker'"].celery[0].subcommand == "worker"


@FAST
@given(st.text(alphabet=string.printable, max_size=200))
def test_launcher_readers_never_raise(text):
    from celerylint.carriers import procfile

    source = SourceFile("x", "launcher", text.replace("\r", ""), None)
    procfile.processes(source)
    supervisord.scan(source)
    supervisord._problems(source)
    for settings_ in systemd.read(source).sections.values():
        for setting in settings_:
            pieces = systemd.split(setting)
            for piece in pieces or []:
                assert 0 <= piece.raw[0] <= piece.raw[1] <= len(source.text)


def test_an_s6_type_file_that_is_a_fifo_is_never_opened_for_reading(tmp_path):
    service = tmp_path / "rootfs/etc/s6-overlay/s6-rc.d/svc-worker"
    service.mkdir(parents=True)
    (service / "run").write_text("#!/command/with-contenv sh\ncelery -A p worker\n")
    os.mkfifo(service / "type")  # a blocking open would hang the run
    started = time.monotonic()
    found, _ = launches(tmp_path)
    assert "s6 service 'svc-worker'" in found and time.monotonic() - started < 30


def test_any_conf_file_with_programs_is_read_and_other_conf_files_stay_quiet(tmp_path):
    write(tmp_path, {
        "deploy/celery.conf": "[program:celery]\ncommand=/srv/venv/bin/celery -A shop worker"
                              " --detach\nstopasgroup=true\n",
        "nginx/nginx.conf": "events { worker_connections 1024; }\nhttp { server { listen 80; } }\n",
        "redis/redis.conf": "bind 0.0.0.0\nmaxmemory-policy allkeys-lru\n",
        "mysql/my.conf": "[mysqld]\nport=3306\n",
    })
    assert [(f[0], f[2]) for f in findings(tmp_path)] == [("worker-detached", "deploy/celery.conf")]
