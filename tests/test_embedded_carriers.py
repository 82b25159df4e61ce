"""Manifests embedded in scripts and Ansible: read at their own lines, fixed there."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import Counter

import pytest
import yaml

from conftest import FIXTURES, cli
from celerylint.carriers import jinja, scripts
from celerylint.carriers.ansible import scalar
from celerylint.carriers.embedded import OffsetMap, Piece
from celerylint.model.build import load
from celerylint.engine import Settings, run
from celerylint.parse import yamlnodes
from celerylint.sources import SourceFile

SEED = FIXTURES / "seed-002-three-carriers"
MANIFEST = "kubernetes/celery/celery-deployment.yaml"
SCRIPT = "scripts/deployment/deploy-celery.sh"
PLAYBOOK = "ansible/playbooks/celery-install.yml"


def names_by_file(folder) -> dict[str, Counter]:
    deployment, _ = load([str(folder)])
    found: dict[str, Counter] = {}
    for d in run(deployment, Settings()):
        found.setdefault(d.span.path.replace("\\", "/").split(folder.name + "/", 1)[-1],
                         Counter())[d.name] += 1
    return found


def test_seed_002_every_manifest_finding_is_also_in_the_script_and_the_playbook():
    found = names_by_file(SEED)
    manifest = found[MANIFEST]
    assert manifest["probe-http-auth"] == 2 and manifest["beat-rolling-update"] == 1
    assert found[SCRIPT] == manifest
    playbook = found[PLAYBOOK]
    assert playbook["unquoted-heredoc-expansion"] == 2  # $HOSTNAME and $(FLOWER_PASSWORD)
    del playbook["unquoted-heredoc-expansion"]
    assert playbook == manifest


def test_seed_002_findings_land_on_the_lines_that_write_them():
    deployment, _ = load([str(SEED)])
    for d in run(deployment, Settings()):
        path = d.span.path
        assert "@" not in path
        line = (SEED.parent / path.split("fixtures/", 1)[-1]).read_text().splitlines()[
            d.span.line - 1] if path.startswith("fixtures") else None
        if d.name == "probe-http-auth" and line is not None:
            assert "path: /" in line
        if d.name == "unquoted-heredoc-expansion" and line is not None:
            assert "$HOSTNAME" in line or "$(FLOWER_PASSWORD)" in line


def test_seed_002_fix_repairs_all_three_carriers(tmp_path):
    work = tmp_path / "seed"
    shutil.copytree(SEED, work)
    result = cli("check", "--fix", ".", cwd=work)
    assert result.returncode == 1  # pip-install-at-start needs an image: it stays
    after = names_by_file(work)
    for path in (MANIFEST, SCRIPT, PLAYBOOK):
        assert set(after[path]) == {"pip-install-at-start"}, (path, after[path])
    yaml.safe_load((work / PLAYBOOK).read_text())
    assert "cat <<'EOF' | kubectl apply -f -" in (work / PLAYBOOK).read_text()
    if shutil.which("bash"):
        subprocess.run(["bash", "-n", str(work / SCRIPT)], check=True)


def test_ansible_role_templates_map_to_the_j2_lines_and_fix_there(tmp_path):
    work = tmp_path / "role"
    shutil.copytree(FIXTURES / "ansible-role", work)
    found = cli("check", "--format", "concise", ".", cwd=work).stdout
    assert "roles/celery/templates/beat.yaml.j2:7:3: CL103" in found
    assert "roles/celery/templates/worker.yaml.j2:19:106: CL501" in found
    cli("check", "--fix", ".", cwd=work)
    worker = (work / "roles/celery/templates/worker.yaml.j2").read_text()
    assert '"--concurrency=2"]' in worker and "{{ celery_app }}" in worker
    beat = (work / "roles/celery/templates/beat.yaml.j2").read_text()
    assert beat.endswith("  strategy:\n    type: Recreate\n") and "{% endif %}" in beat
    assert cli("check", ".", cwd=work).returncode == 0


def test_unquoted_heredoc_substitutes_what_the_script_sets_and_keeps_the_rest():
    text = "NS=shop\ncat <<EOF | kubectl apply -f -\nnamespace: $NS\nhost: ${HOSTNAME}\nx: \\$Y\nEOF\n"
    source = SourceFile("deploy.sh", "script", text, None)
    found, = scripts.read(text, OffsetMap.identity(len(text)), source, "", [], None).heredocs
    assert found.generated.text == "namespace: shop\nhost: ${HOSTNAME}\nx: $Y\n"
    assert [(e.written, e.value) for e in found.expansions] == [("$NS", "shop"),
                                                                ("${HOSTNAME}", None)]
    assert found.escapes and found.opener_text == "<<EOF"
    # the unknown expansion is literal: it maps to its own column in the script
    span = found.map.span(yamlnodes_span(found.generated, 2, 7, 2, 18))
    assert (span.line, span.column, span.end_column) == (4, 7, 18)


def yamlnodes_span(source, line, column, end_line, end_column):
    from celerylint.diagnostics import Span

    return Span(source.path, line, column, end_line, end_column)


def test_tab_stripped_heredoc_and_a_parse_error_at_the_script_line(tmp_path):
    (tmp_path / "deploy.sh").write_text(
        "kubectl apply -f - <<-EOF\n\tapiVersion: v1\n\tkind: ConfigMap\n\tdata: [unclosed\n\tEOF\n")
    result = cli("check", "--format", "concise", "deploy.sh", cwd=tmp_path)
    # the end of the body (a tab-stripped line): where the unclosed flow sequence stops
    assert "deploy.sh:4:17: CL001" in result.stdout, result.stdout
    assert "@" not in result.stdout


def test_offset_maps_compose_through_layers():
    inner = OffsetMap([Piece(0, 3, 10, 13, True), Piece(3, 8, 13, 20, False)])
    outer = OffsetMap([Piece(0, 12, 100, 112, True), Piece(12, 30, 112, 130, True)])
    both = inner.then(outer)
    assert both.real(1) == 111 and both.real(4) == 113 and both.real(8, end=True) == 120
    assert both.literal(0, 3) and not both.literal(3, 5)


def test_block_scalar_maps_each_row_to_its_line():
    text = "- shell: |\n    echo a\n\n    echo b\n  other: 1\n"
    source = SourceFile("p.yml", "yaml", text, None)
    doc = next(d for d in yamlnodes.load(source) if isinstance(d, yamlnodes.Document))
    value, offsets = scalar(source, doc.data[0], "shell")
    assert value == "echo a\n\necho b\n"
    assert text[offsets.real(value.index("b"))] == "b" and offsets.literal(0, 6)


def test_jinja_renders_expressions_in_place_and_never_guesses():
    rendered, offsets = jinja.render("ns: {{ ns }}\nhost: {{ redis_host }}\n", {"ns": "shop"})
    assert rendered == "ns: shop\nhost: ${redis_host}\n"
    assert offsets.literal(0, 4) and not offsets.literal(4, 8)
    assert jinja.render("{% for i in range(10) %}x{% endfor %}", {}) is None


@pytest.mark.parametrize("template, expected", [
    ("{{ 'a' * 10**9 }}", "${unknown}"),  # refused: too large a product
    ("{{ 2 ** 100000 }}", "${unknown}"),  # refused: too large an exponent
    ("{{ 9 ** 9 ** 9 }}", str((9 ** 9) ** 9)),  # Jinja's ** is left-associative: small
    ("{{ ''.__class__.__mro__ }}", "${unknown}"),  # the sandbox hides internals
    ("{{ lookup('pipe', 'id') }}", "${lookup}"),  # Ansible's lookups are unknown here
])
def test_jinja_sandbox_refuses_hostile_expressions_quickly(template, expected):
    started = time.monotonic()
    rendered = jinja.render(template, {})
    assert time.monotonic() - started < 2
    assert rendered is not None and rendered[0] == expected


def test_scripts_without_kubectl_heredocs_are_not_read(tmp_path):
    (tmp_path / "backup.sh").write_text("cat <<EOF > /etc/motd\nhello $USER\nEOF\n")
    (tmp_path / "host.sh").write_text("celery multi start w1 -A proj --detach\n")
    result = cli("check", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout


def test_a_never_closed_heredoc_and_many_expansions_stay_fast(tmp_path):
    body = "apiVersion: v1\nkind: ConfigMap\ndata:\n  x: '" + "${A" * 20000 + "$(b" * 20000
    (tmp_path / "deploy.sh").write_text("kubectl apply -f - <<EOF\n" + body + "'\n")
    started = time.monotonic()
    result = cli("check", ".", cwd=tmp_path)
    assert time.monotonic() - started < 20
    assert "Traceback" not in result.stderr


def test_kubectl_create_configmap_from_file_reports_at_the_file_line(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config/redis.conf").write_text("bind 0.0.0.0\nmaxmemory-policy allkeys-lru\n")
    (tmp_path / "deploy.sh").write_text(
        "NS=redis\n"
        "kubectl create configmap redis-config --from-file=redis.conf=config/redis.conf -n $NS"
        " --dry-run=client -o yaml | kubectl apply -f -\n"
        "kubectl apply -f - <<'EOF'\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: redis, namespace: redis}\n"
        "spec:\n  selector: {matchLabels: {app: redis}}\n  template:\n"
        "    metadata: {labels: {app: redis}}\n    spec:\n      containers:\n"
        "      - {name: redis, image: 'redis:7', command: [redis-server, /etc/redis/redis.conf],"
        " volumeMounts: [{name: conf, mountPath: /etc/redis}]}\n"
        "      volumes: [{name: conf, configMap: {name: redis-config}}]\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: redis, namespace: redis}\n"
        "spec: {selector: {app: redis}, ports: [{port: 6379}]}\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: worker, namespace: redis}\n"
        "spec:\n  selector: {matchLabels: {app: w}}\n  template:\n"
        "    metadata: {labels: {app: w}}\n    spec:\n      containers:\n"
        "      - {name: w, image: 'registry.example.com/shop/app:1', command: [celery, -A, shop,"
        " worker, --concurrency=2, -b, 'redis://redis:6379/0']}\nEOF\n")
    result = cli("check", "--format", "concise", ".", cwd=tmp_path)
    assert "config/redis.conf:2:1: CL604" in result.stdout, result.stdout
    (tmp_path / "config/redis.conf").write_text("maxmemory-policy noeviction\n")
    assert "CL604" not in cli("check", ".", cwd=tmp_path).stdout


def test_pip_install_in_a_deploy_script_feeds_dependency_conflict_and_the_celery_version(tmp_path):
    (tmp_path / "setup-host.sh").write_text(
        "#!/bin/sh\nset -e\npip install \"celery[redis]==5.3.4\" redis==5.0.1\n")
    result = cli("check", "--format", "concise", ".", cwd=tmp_path)
    assert "setup-host.sh:3:36: CL401" in result.stdout, result.stdout
    cli("check", "--fix", ".", cwd=tmp_path)
    assert "redis==4.6.0" in (tmp_path / "setup-host.sh").read_text()
    # a Celery 4 project installed by its deploy script keeps Celery 4's command-line order
    (tmp_path / "setup-host.sh").write_text("pip install celery==4.4.7\n")
    (tmp_path / "worker.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n"
        "  - {name: w, image: registry.example.com/shop/app:1,"
        " command: [celery, worker, -A, shop, --concurrency=2]}\n")
    assert "CL505" not in cli("check", ".", cwd=tmp_path).stdout
    (tmp_path / "setup-host.sh").write_text("pip install celery==5.4.0\n")
    assert "CL505" in cli("check", ".", cwd=tmp_path).stdout


POD = ("apiVersion: v1\nkind: Pod\nmetadata: {{name: dbg}}\nspec:\n  containers:\n"
       "  - name: c\n    image: registry.example.com/shop/app:1\n    command: {command}\n"
       "    env: [{{name: FLOWER_PASSWORD, valueFrom: {{secretKeyRef: {{name: f, key: p}}}}}}]\n")


@pytest.mark.parametrize("before, command, expected", [
    # the script sets it, from a command: a deploy-time value on purpose
    ("POD_NAME=$(kubectl get pods -o name | head -1)\n",
     '["sh", "-c", "celery -A p inspect ping -d celery@$POD_NAME"]', []),
    # no shell in the container would expand it either: quoting would not fix it
    ("", '["celery", "-A", "p", "worker", "-n", "w@$HOSTNAME"]', []),
    # the container's shell was meant to expand it
    ("", '["sh", "-c", "exec celery -A p worker -n w@$HOSTNAME"]', ["CL005"]),
    # Kubernetes' own $(VAR) of a variable the container defines, in exec form
    ("", '["celery", "flower", "--basic-auth=admin:$(FLOWER_PASSWORD)"]', ["CL005"]),
])
def test_unquoted_heredoc_expansion_only_for_the_container_s_own_expansions(
        tmp_path, before, command, expected):
    (tmp_path / "deploy.sh").write_text(
        "#!/bin/sh\n" + before + "kubectl apply -f - <<EOF\n" + POD.format(command=command)
        + "EOF\n")
    result = cli("check", "--format", "json", ".", cwd=tmp_path)
    import json

    codes = [d["code"] for d in json.loads(result.stdout)["diagnostics"] if d["code"] == "CL005"]
    assert codes == expected


def test_no_fix_for_a_here_document_that_never_ends_and_short_messages(tmp_path):
    (tmp_path / "deploy.sh").write_text(
        "kubectl apply -f - <<EOF\n" + POD.format(
            command='["sh", "-c", "celery -A p worker -n w@$HOSTNAME $(date"]'))
    result = cli("check", "--format", "json", ".", cwd=tmp_path)
    import json

    found = [d for d in json.loads(result.stdout)["diagnostics"] if d["code"] == "CL005"]
    assert [d["fix"] for d in found] == [None]
    assert "\n" not in found[0]["message"] and "$HOSTNAME" in found[0]["message"]


def test_jinja_statements_in_a_long_template_stay_linear():
    body = "".join(f"{{% if ns %}}x{i}: {{{{ ns }}}}{{% endif %}}\n" for i in range(6000))
    started = time.monotonic()
    rendered = jinja.render(body, {"ns": "shop"})
    assert rendered is not None and rendered[0].count("shop") == 6000
    assert time.monotonic() - started < 5
