#!/usr/bin/env python3
"""Fuzz celerylint end to end for as long as you like: ``python scripts/fuzz.py --minutes 10``.

Hypothesis generates repositories (Kubernetes YAML built from real workload shapes and then
mutated, Dockerfiles, requirements files, entry scripts, and arbitrary bytes), and each one goes
through the whole pipeline in-process: loading, every rule, and the fix passes of ``--diff``.
Any exception is a bug; the failing repository is printed and written to ``--out``.
Not part of the test suite (which runs the quick property tests in tests/test_properties.py).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from celerylint.engine import Settings, analyse  # noqa: E402
from celerylint.fixes import apply  # noqa: E402
from celerylint.model.build import load  # noqa: E402

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
]
ALPHABET = "abcdefghij -_:{}[],\"'#&|;$()@=\n\t/\\.!*>%0123456789"


def mutate(text: str):
    return st.tuples(st.integers(0, len(text)), st.integers(0, 8), st.text(ALPHABET, max_size=8)).map(
        lambda t: text[:t[0]] + t[2] + text[t[0] + t[1]:])


manifests = st.builds(
    WORKLOAD.format, kind=st.sampled_from(["Deployment", "StatefulSet", "DaemonSet", "Pod", "Job"]),
    replicas=st.integers(0, 3), image=st.sampled_from(["python:3.11-slim", "registry.x.io/a/app:1"]),
    command=st.sampled_from(COMMANDS), ro=st.booleans(), delay=st.integers(0, 90),
).flatmap(lambda m: st.one_of(st.just(m), mutate(m)))
dockerfiles = st.sampled_from([
    'FROM python:3.8-slim\nCOPY entrypoint.sh /entrypoint.sh\nRUN pip install celery==5.6.3\n'
    'ENTRYPOINT ["/entrypoint.sh"]\nCMD celery -A p worker\n',
    "FROM python:3.12\nRUN <<EOF\npip install 'celery[redis]==5.3.4' redis==5.0.1\nEOF\n",
]).flatmap(lambda d: st.one_of(st.just(d), mutate(d)))
scripts = st.sampled_from(['#!/bin/sh\nset -e\nexec "$@"\n', "#!/bin/bash\ncelery -A p worker &\nwait\n"]
                          ).flatmap(lambda s: st.one_of(st.just(s), mutate(s)))
requirement_files = st.sampled_from(["celery[redis]==5.3.4\nredis==5.0.1\n", "-r other.txt\nkombu==5.2.0\n"]
                                    ).flatmap(lambda r: st.one_of(st.just(r), mutate(r)))
repositories = st.fixed_dictionaries({
    "k8s/w.yaml": manifests, "Dockerfile": dockerfiles, "entrypoint.sh": scripts,
    "requirements.txt": requirement_files, "noise.yaml": st.binary(max_size=64),
})


def check(files: dict[str, str | bytes], out: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="celerylint-fuzz-"))
    try:
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else content.encode())

        def lint(overlay):
            deployment, skipped = load([str(root)], overlay=overlay)
            return deployment, skipped, analyse(deployment, Settings()).diagnostics

        apply.fix_all(lint, unsafe=True).diff()
    except Exception:
        out.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(content if isinstance(content, bytes) else content.encode())
        print(f"failure written to {out}", file=sys.stderr)
        traceback.print_exc()
        raise
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=Path("fuzz-failure"))
    args = parser.parse_args()
    deadline = time.monotonic() + args.minutes * 60
    runs = 0
    while time.monotonic() < deadline:
        @settings(max_examples=200, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(repositories)
        def one(files):
            check(files, args.out)

        one()
        runs += 200
        print(f"{runs} repositories, no failure", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
