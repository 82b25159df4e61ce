"""Following a container's start to celery: images, entrypoints, scripts, hops."""

from __future__ import annotations

import pytest

from conftest import FIXTURES, lint
from celerylint.model.build import load

SIGNAL = FIXTURES / "rules" / "signal-not-forwarded" / "fires"
DETACHED = FIXTURES / "rules" / "worker-detached" / "fires"


def launches(path):
    deployment, _ = load([str(path)])
    return {launch.label: launch for launch in deployment.launches}


def test_args_run_through_the_image_entrypoint_and_its_exec_dollar_at():
    launch = launches(SIGNAL)["container 'celeryworker' of Deployment 'celeryworker'"]
    base = SIGNAL.relative_to(FIXTURES.parent)
    assert [(h.text, h.span.path, h.span.line) for h in launch.hops] == [
        (f"{base}/k8s/worker.yaml runs /start-celeryworker through the ENTRYPOINT /entrypoint of "
         f"{base}/compose/production/django/Dockerfile", f"{base}/k8s/worker.yaml", 14),
        (f"/entrypoint is {base}/compose/production/django/entrypoint",
         f"{base}/compose/production/django/entrypoint", 1),
        (f"copied by {base}/compose/production/django/Dockerfile",
         f"{base}/compose/production/django/Dockerfile", 6),
        ("which execs /start-celeryworker", f"{base}/compose/production/django/entrypoint", 11),
        (f"/start-celeryworker is {base}/compose/production/django/celery/worker/start",
         f"{base}/compose/production/django/celery/worker/start", 1),
        (f"copied by {base}/compose/production/django/Dockerfile",
         f"{base}/compose/production/django/Dockerfile", 7),
    ]
    [celery] = launch.celery
    assert celery.subcommand == "worker" and not celery.exec_ed
    assert celery.command.from_file and celery.command.shell == "bash"


def test_image_cmd_script_is_found_through_copy_from_the_build_context():
    launch = launches(DETACHED)["container 'worker' of Deployment 'worker'"]
    assert [i.subcommand for i in launch.celery] == ["multi", "beat"]
    assert launch.sources[0].path.endswith("docker/start-workers.sh")


def test_every_image_gets_its_own_launch_and_findings_are_not_doubled():
    labels = set(launches(SIGNAL))
    assert f"the image built by {SIGNAL.relative_to(FIXTURES.parent)}/Dockerfile.events" in labels
    spans = [(d.code, d.span) for d in lint(SIGNAL)]
    assert len(spans) == len(set(spans))


def test_su_dash_c_and_tini(tmp_path):
    (tmp_path / "pod.yaml").write_text("""apiVersion: v1
kind: Pod
metadata: {name: w}
spec:
  containers:
    - name: su
      image: example/app:1.0
      command: ["su", "celery", "-c", "exec celery -A proj worker -c 2"]
    - name: tini
      image: example/app:1.0
      command: ["tini", "-g", "--", "celery", "-A", "proj", "worker", "-c", "2"]
""")
    found = {d.message.split(" in ")[1].split(" ")[1]: d for d in lint(tmp_path)
             if d.name == "signal-not-forwarded"}
    assert list(found) == ["'su'"]
    assert "su -c forks a shell and stays its parent" in found["'su'"].message


def test_copy_into_the_working_directory_and_a_folder_s_contents(tmp_path):
    """`COPY start.sh .` puts the file in the WORKDIR, `COPY ./bin ./bin/` copies the folder's
    contents, and a lower-case `dockerfile` is a Dockerfile: each once hid a real finding."""
    from conftest import write

    write(tmp_path, {
        "worker/dockerfile": 'FROM python:3.12\nWORKDIR /app\nCOPY worker/start.sh .\n'
                             'COPY ./bin ./bin/\nCMD ["/app/start.sh"]\n',
        "worker/start.sh": "#!/bin/sh\n/app/bin/run-celery\n",
        "bin/run-celery": "#!/bin/sh\ncelery -A shop worker --detach\n",
        "k8s.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n"
                    "    - name: w\n      image: registry.example.com/shop/worker:1\n",
    })
    assert [(name, path) for name, path, _ in
            [(d.name, d.path.rsplit("/", 1)[-1], d.span.line) for d in lint(tmp_path)]] == [
        ("worker-detached", "run-celery")]


def test_copy_sources_and_destinations_expand_arg_and_env(tmp_path):
    """`COPY ${BIN}/start ${SCRIPTS}/start` (cookiecutter-django's style) and a WORKDIR from a
    global ARG redeclared in the stage: the script is followed with the ARG/ENV defaults."""
    from conftest import write

    write(tmp_path, {
        "Dockerfile": "ARG APP_HOME=/app\nFROM python:3.12-slim\nARG APP_HOME\n"
                      "ARG BIN=./deploy/production\nENV SCRIPTS=/usr/local/bin\n"
                      "WORKDIR ${APP_HOME}\nCOPY --chmod=755 ${BIN}/worker/boot ${SCRIPTS}/boot\n"
                      "COPY $BIN/beat/boot ./boot-beat\n",
        "deploy/production/worker/boot": "#!/bin/sh\nexec celery -A shop worker --detach\n",
        "deploy/production/beat/boot": "#!/bin/sh\nexec celery -A shop beat --detach\n",
        "k8s.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n"
                    "    - {name: w, image: registry.example.com/shop/app:1, command: [/usr/local/bin/boot]}\n"
                    "    - {name: b, image: registry.example.com/shop/app:1, command: [/app/boot-beat]}\n",
    })
    found = sorted((d.name, d.path.replace("\\", "/").rsplit("production/", 1)[-1])
                   for d in lint(tmp_path))
    assert found == [("worker-detached", "beat/boot"), ("worker-detached", "worker/boot")]


@pytest.mark.parametrize("command, working_dir", [
    ('["sh", "-c", "sh /app/scripts/run-worker.sh"]', None),
    ('["bash", "-c", "set -e; bash -x -o pipefail scripts/run-worker.sh"]', "/app"),
    ('["sh", "-c", "exec sh -- /srv/run-worker.sh"]', None),
    ('["./run-worker.sh"]', "/srv"),  # a bare name would be looked up in PATH, not here
])
def test_scripts_run_by_a_shell_or_from_the_working_directory_are_followed(tmp_path, command,
                                                                           working_dir):
    """`sh /app/x.sh` and `bash -x x.sh` inside `sh -c`, and a script relative to the
    container's workingDir that the image's COPY put there."""
    from conftest import write

    write(tmp_path, {
        "Dockerfile": "FROM python:3.12\nWORKDIR /opt\nCOPY deploy/boot.sh /srv/run-worker.sh\n"
                      "COPY deploy/boot.sh /app/scripts/run-worker.sh\n",
        "deploy/boot.sh": "#!/bin/sh\ncelery -A shop worker --detach\n",
        "k8s.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n"
                    "    - name: w\n      image: registry.example.com/shop/app:1\n"
                    f"      command: {command}\n"
                    + (f"      workingDir: {working_dir}\n" if working_dir else ""),
    })
    assert [(d.name, d.path.replace("\\", "/").rsplit("/", 1)[-1]) for d in lint(tmp_path)] == [
        ("worker-detached", "boot.sh")]


def test_a_bash_array_of_arguments_is_expanded_where_it_is_written(tmp_path):
    """`ARGS=(...)`, `ARGS+=(...)` then `exec celery "${ARGS[@]}"`: the finding is on the array
    line that writes --detach, and the fix edits it there."""
    from conftest import cli, write

    write(tmp_path, {
        "bin/boot-worker": '#!/bin/bash\nARGS=(-A shop worker --concurrency=2)\n'
                           'ARGS+=(--detach)\nexec celery "${ARGS[@]}"\n',
        "k8s.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n"
                    "  - {name: w, image: registry.example.com/shop/app:1,"
                    " command: [/app/bin/boot-worker]}\n",
    })
    assert [(d.name, d.span.line) for d in lint(tmp_path)] == [("worker-detached", 3)]
    cli("check", "--fix", ".", cwd=tmp_path)
    assert "--detach" not in (tmp_path / "bin/boot-worker").read_text()
    assert lint(tmp_path) == []


def test_bash_arrays_are_not_expanded_in_sh_scripts(tmp_path):
    """dash and ash have no arrays: such a script fails before celery starts, whatever the
    array says, so its items are not read as celery's arguments."""
    from conftest import write

    write(tmp_path, {
        "bin/boot-worker": '#!/bin/sh\nARGS=(-A shop worker --detach)\nexec celery "${ARGS[@]}"\n',
        "k8s.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n"
                    "  - {name: w, image: registry.example.com/shop/app:1,"
                    " command: [/app/bin/boot-worker]}\n",
    })
    assert lint(tmp_path) == []
