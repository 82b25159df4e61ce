#!/usr/bin/env python3
"""Measure celerylint against the parse floor: ``python scripts/bench.py [--sizes 200,2000]``.

For each size N it generates (once, cached under ``--work``) a tree of N Celery apps, each a
Kubernetes file of five documents (worker, beat and Flower Deployments, a Service, a ConfigMap),
a Dockerfile and a requirements file, and then, in one run, side by side:

- the floor: read every YAML file and compose it with PyYAML's C loader, nothing else;
- ``celerylint check --format json`` with ``--jobs 1`` and ``--jobs 2`` (fresh processes);
- checkov on the same tree, when it is installed (``--checkov``);

and prints wall time, the ratio to the floor and peak RSS (best of ``--repeat``), then where
celerylint's time goes (discover, parse, model, each rule, report) from one in-process run. The
start-up cost is ``celerylint check`` of one small manifest. Timings belong here, not in tests.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {app}-{role}
  namespace: {ns}
  labels: {{app: {app}, component: {role}}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {app}, component: {role}}}
  template:
    metadata:
      labels: {{app: {app}, component: {role}}}
    spec:
      securityContext: {{runAsNonRoot: true, runAsUser: 1000}}
      containers:
        - name: {role}
          image: registry.example.com/{app}:{version}
          command: {command}
          env:
            - name: CELERY_BROKER_URL
              valueFrom: {{secretKeyRef: {{name: {app}-secrets, key: broker-url}}}}
            - name: DJANGO_SETTINGS_MODULE
              value: config.settings.production
          resources:
            requests: {{cpu: 100m, memory: 256Mi}}
            limits: {{cpu: "{cpu}", memory: {memory}Mi}}
          securityContext: {{readOnlyRootFilesystem: {read_only}}}
          volumeMounts:
            - {{name: tmp, mountPath: /tmp}}
{probe}      volumes:
        - {{name: tmp, emptyDir: {{}}}}
"""
PROBE = """          livenessProbe:
            exec:
              command: ["sh", "-c", "celery -A config inspect ping -d celery@$HOSTNAME -t 10"]
            initialDelaySeconds: {delay}
            periodSeconds: 60
            timeoutSeconds: 20
"""
SERVICE_AND_CONFIGMAP = """apiVersion: v1
kind: Service
metadata: {{name: {app}-flower, namespace: {ns}}}
spec:
  selector: {{app: {app}, component: flower}}
  ports:
    - {{port: 5555, targetPort: 5555}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: {app}-config, namespace: {ns}}}
data:
  CELERY_TASK_ACKS_LATE: "true"
  LOG_LEVEL: info
"""
REQUIREMENTS = ["Django==4.2.7\ncelery[redis]==5.3.6\nredis==5.0.1\n",
                "Django==5.0.6\ncelery[redis]==5.4.0\n",
                "celery==5.5.3\nkombu==5.5.4\nredis==5.2.1\nflower==2.0.1\n"]

FLOOR = """import sys, yaml
from pathlib import Path
for f in Path(sys.argv[1]).rglob("*.yaml"):
    for _ in yaml.compose_all(f.read_text(), Loader=yaml.CSafeLoader):
        pass
"""


def generate(out: Path, apps: int) -> None:
    """The tree of ``apps`` Celery apps (seeded: the same tree every time)."""
    rnd = random.Random(7)
    for i in range(apps):
        app, ns = f"app{i:05d}", f"team{i % 37}"
        where = out / f"svc{i // 100:03d}" / app
        (where / "k8s").mkdir(parents=True, exist_ok=True)
        documents = []
        for role, command in (
                ("worker", '["celery", "-A", "config", "worker", "-l", "INFO", "-c", "%d", "-Q", '
                           '"default,%s"]' % (rnd.randint(1, 8), app)),
                ("beat", '["celery", "-A", "config", "beat", "-s", "/tmp/celerybeat-schedule"]'),
                ("flower", '["celery", "-A", "config", "flower", "--port=5555"]')):
            documents.append(DEPLOYMENT.format(
                app=app, role=role, ns=ns, command=command,
                replicas=rnd.randint(1, 6) if role == "worker" else 1,
                version=f"1.{rnd.randint(0, 40)}.{rnd.randint(0, 9)}",
                cpu=rnd.choice(["250m", "500m", "1", "2"]), memory=rnd.choice([256, 512, 1024]),
                read_only=rnd.choice(["true", "false"]),
                probe=PROBE.format(delay=rnd.randint(20, 90)) if role == "worker" else ""))
        documents.append(SERVICE_AND_CONFIGMAP.format(app=app, ns=ns))
        (where / "k8s" / "celery.yaml").write_text("---\n".join(documents))
        (where / "Dockerfile").write_text(
            f"FROM python:3.{rnd.randint(10, 12)}-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
            "RUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nUSER 1000\n"
            'CMD ["celery", "-A", "config", "worker", "-l", "INFO", "-c", "2"]\n')
        (where / "requirements.txt").write_text(rnd.choice(REQUIREMENTS))


def tree(work: Path, apps: int) -> Path:
    out = work / f"apps-{apps}"
    if not (out / ".complete").exists():
        shutil.rmtree(out, ignore_errors=True)
        generate(out, apps)
        (out / ".complete").write_text("")
    return out


def measure(argv: list[str], repeat: int) -> tuple[float, float]:
    """Best wall time (s) and the peak RSS (MB) of that run, each in a fresh process."""
    best = (float("inf"), 0.0)
    for _ in range(repeat):
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        best = min(best, (wall, rss))
    return best


def celerylint(*args: str) -> list[str]:
    script = shutil.which("celerylint")
    return ([script] if script else [sys.executable, "-m", "celerylint"]) + list(args)


def stages(path: Path, jobs: int) -> list[tuple[str, float]]:
    """Where one in-process run spends its time (``celerylint/timing.py``)."""
    code = ("import json, sys, time\nfrom celerylint import cli, timing\n"
            "totals = timing.enable()\nstart = time.perf_counter()\n"
            "try:\n    cli.main(['check', '--format', 'json', '-o', '/dev/null', '-j', "
            f"'{jobs}', sys.argv[1]], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "totals['total'] = time.perf_counter() - start\nprint(json.dumps(totals))\n")
    import json

    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         check=True).stdout
    totals = json.loads(out.strip().splitlines()[-1])
    return sorted(totals.items(), key=lambda item: -item[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,2000",
                        help="comma-separated numbers of apps (the issue's are 200,2000,20000)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "celerylint-bench")
    parser.add_argument("--checkov", action="store_true",
                        help="also time checkov (if installed) on the sizes up to --checkov-max")
    parser.add_argument("--checkov-max", type=int, default=200)
    parser.add_argument("--no-stages", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {sys.platform}")
    one = tree(args.work, 1) / "svc000" / "app00000" / "k8s" / "celery.yaml"
    wall, rss = measure(celerylint("check", "--format", "json", str(one)), max(args.repeat, 5))
    print(f"start-up: celerylint check of one manifest: {wall * 1000:.0f} ms, {rss:.0f} MB")
    print(f"\n{'N apps':>8} {'docs':>8} {'run':<22} {'wall s':>8} {'x floor':>8} {'RSS MB':>8}")
    for apps in sizes:
        path = tree(args.work, apps)
        repeat = 1 if apps >= 20000 else args.repeat
        floor, floor_rss = measure([sys.executable, "-c", FLOOR, str(path)], repeat)
        runs = [("floor (C compose only)", floor, floor_rss)]
        for jobs in (1, 2):
            wall, rss = measure(celerylint("check", "--format", "json", "-j", str(jobs),
                                           str(path)), repeat)
            runs.append((f"celerylint --jobs {jobs}", wall, rss))
        if args.checkov and shutil.which("checkov") and apps <= args.checkov_max:
            wall, rss = measure(["checkov", "-d", str(path), "--quiet", "-o", "json"], 1)
            runs.append(("checkov", wall, rss))
        for name, wall, rss in runs:
            print(f"{apps:>8} {apps * 5:>8} {name:<22} {wall:>8.2f} {wall / floor:>8.1f} "
                  f"{rss:>8.0f}")
        if len(runs) == 4:
            print(f"{'':>8} checkov / celerylint --jobs 1: {runs[3][1] / runs[1][1]:.0f}x, "
                  f"--jobs 2: {runs[3][1] / runs[2][1]:.0f}x")
        if not args.no_stages:
            print(f"{'':>8} stages of celerylint --jobs 1 (in-process):")
            found = stages(path, 1)
            rest = found[0][1] - sum(seconds for name, seconds in found[1:])
            for name, seconds in found[:14] + [("(rest: imports, configuration)", rest)]:
                print(f"{'':>10} {name:<34} {seconds:>7.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
