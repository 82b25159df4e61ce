"""Generators of hostile repositories and the invariants every run must keep.

Shared by the bounded, fixed-seed fuzz test (``tests/test_fuzz.py``, part of the suite) and the
open-ended harness (``scripts/fuzz.py``). Repositories are built from real workload shapes, the
hostile shapes of issue 12 (whitespace runs, CR-only and mixed line ends, U+2028, alias and stage
chains, ``"$@"`` chains, includes that leave the tree) and random mutations of the fixtures; each
goes through the whole pipeline: loading, every rule, and the fix passes. An input that ever
broke an invariant is kept in ``tests/fuzz-corpus/`` and replayed by the suite.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "fuzz-corpus"
FIXTURE_FILES = sorted(p for p in (ROOT / "fixtures").rglob("*")
                       if p.is_file() and p.stat().st_size < 20_000)

WORKLOAD = """apiVersion: apps/v1
kind: {kind}
metadata: {{name: w, annotations: {{celerylint.io/ignore: "CL101"}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: w}}}}
  template:
    metadata: {{labels: {{app: w}}}}
    spec:
      containers:
        - name: w
          image: {image}
          command: {command}
          workingDir: /app
          securityContext: {{readOnlyRootFilesystem: {ro}}}
          resources: {{limits: {{memory: 512Mi, cpu: 500m}}}}
          livenessProbe: {{httpGet: {{path: /, port: 5555}}, initialDelaySeconds: {delay}}}
          volumeMounts: [{{name: app, mountPath: /app}}]
      volumes: [{{name: app, configMap: {{name: app}}}}]
"""
COMMANDS = [
    '["celery", "-A", "proj", "worker", "-B", "--detach", "-f", "/tmp/w.log"]',
    '["sh", "-c", "pip install celery[redis]==5.3.4 redis==5.0.1 && celery -A tasks beat"]',
    '["/entrypoint.sh"]', '["celery", "worker", "-A", "proj", "-P", "gevent", "-B"]',
    '["bash", "-c", "celery -A p multi start w1 | tee x"]', "[]",
    '["sh", "-c", "trap \'kill $p\' TERM; celery -A p worker & p=$!; wait"]',
    '["tini", "--", "sh", "-c", "cd /app; celery -A p worker\\n"]',
]
COMPOSE = """x-app: &app
  build: {{context: ., target: {target}}}
  image: registry.x.io/a/app:${{TAG:-1}}
  read_only: {ro}
  env_file: [.env, missing.env]
  environment: &env
    CELERY_BROKER_URL: redis://${{HOST:-redis}}:6379/0
    C_FORCE_ROOT: "{root}"
services:
  worker:
    <<: *app
    command: {command}
    deploy: {{replicas: {replicas}, resources: {{limits: {{cpus: "0.5", memory: 512M}}}}}}
    healthcheck: {{test: "celery -A p inspect ping", interval: {interval}, retries: 1}}
  beat:
    extends: worker
    command: celery -A p beat
    scale: {replicas}
  web:
    depends_on: {{worker: {{condition: service_healthy}}}}
    volumes: ["./redis.conf:/etc/redis.conf:ro", "data:/data"]
  redis:
    image: redis:7
    command: redis-server /etc/redis.conf --maxmemory-policy allkeys-lru
    networks: {{default: {{aliases: [queue]}}}}
include: [{include}]
"""
COMPOSE_COMMANDS = [
    "celery -A p worker --detach && echo $$HOME", 'sh -c "pip install celery==5.3 && celery -A p worker"',
    '["celery", "-A", "p", "worker", "-f", "/var/log/w.log"]', "python -c print(1)",
    "/start-celeryworker", "[]", '"unclosed', "celery -A ${APP} worker -Q ${Q:-a,b}",
]
ALPHABET = "abcdefghij -_:{}[],\"'#&|;$()@=\n\t/\\.!*>%0123456789\r\u2028\x85"


def mutate(text: str):
    """The text with a few characters replaced, inserted or deleted."""
    edit = st.tuples(st.integers(0, max(len(text), 0)), st.integers(0, 8), st.text(ALPHABET, max_size=8))
    return st.lists(edit, min_size=1, max_size=4).map(lambda edits: _apply(text, edits))


def _apply(text: str, edits) -> str:
    for at, cut, insert in edits:
        at = min(at, len(text))
        text = text[:at] + insert + text[at + cut:]
    return text


def hostile(text: str):
    """The shapes that broke celerylint once: other line ends, whitespace runs, long chains."""
    return st.sampled_from([
        text.replace("\n", "\r"), text.replace("\n", "\r\n", 3), text + " " * 3000 + "x",
        text.replace(": ", ":\u2028 ", 2), text + "\n#" + "\t" * 2000, text * 3,
    ])


manifests = st.builds(
    WORKLOAD.format, kind=st.sampled_from(["Deployment", "StatefulSet", "DaemonSet", "Pod", "Job"]),
    replicas=st.integers(0, 3), image=st.sampled_from(["python:3.11-slim", "registry.x.io/a/app:1",
                                                       "python:3.12-alpine"]),
    command=st.sampled_from(COMMANDS), ro=st.booleans(), delay=st.integers(0, 90),
).flatmap(lambda m: st.one_of(st.just(m), mutate(m), hostile(m)))
dockerfiles = st.sampled_from([
    'FROM python:3.8-slim\nCOPY entrypoint.sh /entrypoint.sh\nRUN pip install celery==5.6.3\n'
    'ENTRYPOINT ["/entrypoint.sh"]\nCMD celery -A p worker\n',
    "FROM python:3.12\nRUN <<EOF\npip install 'celery[redis]==5.3.4' redis==5.0.1\nEOF\n",
    "# syntax=docker/dockerfile:1" + " " * 500 + "\nFROM python:3.12 AS a\nFROM a AS b\n"
    "COPY ../outside.sh /start\nCMD [\"/start\"]\n",
]).flatmap(lambda d: st.one_of(st.just(d), mutate(d), hostile(d)))
scripts = st.sampled_from(['#!/bin/sh\nset -e\nexec "$@"\n', "#!/bin/bash\ncelery -A p worker &\nwait\n",
                           '#!/bin/sh\nsh -c \'"$@"\' x "$@"\n']
                          ).flatmap(lambda s: st.one_of(st.just(s), mutate(s)))
requirement_files = st.sampled_from(["celery[redis]==5.3.4\nredis==5.0.1\n",
                                     "-r other.txt\nkombu==5.2.0\n", "-r /etc/passwd\ncelery<5\n"]
                                    ).flatmap(lambda r: st.one_of(st.just(r), mutate(r), hostile(r)))
fixture_mutants = st.sampled_from(FIXTURE_FILES).flatmap(
    lambda p: mutate(p.read_text(errors="replace")).map(lambda text: (p, text)))
compose_files = st.builds(
    COMPOSE.format, target=st.sampled_from(["worker", "missing", "${T}"]), ro=st.booleans(),
    root=st.sampled_from(["", "1"]), command=st.sampled_from(COMPOSE_COMMANDS),
    replicas=st.integers(0, 3), interval=st.sampled_from(["1s", "1m30s", "x", "0"]),
    include=st.sampled_from(["", "other/compose.yaml", "../../outside.yml", "oci://x/y"]),
).flatmap(lambda c: st.one_of(st.just(c), mutate(c), hostile(c)))
env_files = st.sampled_from(["APP=p\nQ=a\n", "export TAG='2'\nHOST=\"re$HOST\"\nX\n", "T=\"unclosed\n"]
                            ).flatmap(lambda e: st.one_of(st.just(e), mutate(e)))
DEPLOY = """#!/bin/bash
NS={ns}
kubectl create configmap app --from-file={source} -n $NS
cat <<{opener} | kubectl apply -f -
{manifest}
{delimiter}
pip install {pins}
"""
PLAYBOOK = """- hosts: localhost
  vars: {{ns: {ns}, url: "redis://{{{{ host }}}}:6379"}}
  tasks:
    - name: apply
      ansible.builtin.shell: |
        kubectl apply -f - <<{opener}
{manifest}
        {delimiter}
    - kubernetes.core.k8s: {{template: {template}}}
"""


def _indent(text: str) -> str:
    return "\n".join("        " + line for line in text.split("\n"))


deploy_scripts = st.builds(
    lambda manifest, opener, source, pins, ns: DEPLOY.format(
        manifest=manifest, opener=opener, delimiter=opener.strip("'\"-\\"), source=source,
        pins=pins, ns=ns),
    manifests, st.sampled_from(["EOF", "'EOF'", "-EOF", '"EOF"', "\\EOF"]),
    st.sampled_from(["requirements.txt", "../../etc/passwd", "k8s", "$X", "noise.yaml"]),
    st.sampled_from(["celery==4.4.7", "'celery[redis]==5.3.4' redis==5.0.1", "$PKGS"]),
    st.sampled_from(["shop", "$(date)", "${X:-y}"]),
).flatmap(lambda s: st.one_of(st.just(s), mutate(s), hostile(s)))
playbooks = st.builds(
    lambda manifest, opener, template, ns: PLAYBOOK.format(
        manifest=_indent(manifest.replace("proj", "{{ app | default('p') }}")), opener=opener,
        delimiter=opener.strip("'"), template=template, ns=ns),
    manifests, st.sampled_from(["EOF", "'EOF'"]),
    st.sampled_from(["w.j2", "../k8s/w.yaml", "{{ t }}", "/etc/passwd"]),
    st.sampled_from(["shop", "'{{ 9 ** 9 ** 9 }}'", "'{% for i in range(9) %}x{% endfor %}'",
                     "'{{ \"a\" * 10000000 }}'"]),
).flatmap(lambda s: st.one_of(st.just(s), mutate(s), hostile(s)))
repositories = st.fixed_dictionaries({
    "k8s/w.yaml": manifests, "Dockerfile": dockerfiles, "entrypoint.sh": scripts,
    "compose.yaml": compose_files, ".env": env_files, "deploy.sh": deploy_scripts,
    "ansible/site.yml": playbooks, "ansible/templates/w.j2": manifests,
    "requirements.txt": requirement_files, "noise.yaml": st.binary(max_size=64),
    "fixture": fixture_mutants,
}).map(lambda files: {**{k: v for k, v in files.items() if k != "fixture"},
                      f"from-fixtures/{files['fixture'][0].name}": files["fixture"][1]})


def materialise(files: dict[str, str | bytes], root: Path) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else
                         content.encode("utf-8", "surrogatepass"))


def check_tree(root: Path) -> None:
    """Load, lint and fix (in memory) one repository; raise when an invariant breaks."""
    from celerylint.engine import Settings, analyse
    from celerylint.fixes import apply
    from celerylint.model.build import load

    def lint(overlay):
        deployment, skipped = load([str(root)], overlay=overlay)
        return deployment, skipped, analyse(deployment, Settings()).diagnostics

    run = apply.fix_all(lint, unsafe=True)
    run.diff()
    assert not run.bugs, run.bugs  # a fix that breaks a file is a celerylint bug
    lines = {s.path: len(s.lines) for s in run.deployment.sources}
    for d in run.remaining:
        assert d.span.path not in lines or 1 <= d.span.line <= lines[d.span.path], d


def check(files: dict[str, str | bytes], keep: Path | None = CORPUS) -> None:
    """``check_tree`` on a temporary copy of ``files``; a failing input is kept in the corpus."""
    root = Path(tempfile.mkdtemp(prefix="celerylint-fuzz-"))
    try:
        materialise(files, root)
        check_tree(root)
    except Exception:
        if keep is not None:
            digest = hashlib.sha256(repr(sorted(files.items())).encode("utf-8", "replace")).hexdigest()
            materialise(files, keep / digest[:16])
        raise
    finally:
        shutil.rmtree(root, ignore_errors=True)
