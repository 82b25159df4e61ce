"""pip-install-at-start: packages installed every time the container starts.

## What it finds
A container command or entry script that installs packages when the container starts:
`pip install`, `poetry install`, `pipenv install`, `uv sync`/`uv pip install`, `apt-get install`,
`apk add`, or a new virtualenv. Scripts reached from the container are followed. The same in
what a launcher runs inside a container: a Procfile process (a Heroku or Dokku dyno), an s6
`run` file, a supervisord program that a Dockerfile of the repository puts in an image, and an
entry script that no launcher of the repository runs but whose name or place says it is one.

## Symptoms
- Slow starts (30-90 s), and probes that kill the container before it is ready (see
  `probe-too-early`; seed post-mortem 002's Flower).
- Starts that fail when the package index is slow or down: `ERROR: Could not find a version that
  satisfies the requirement ...`, `Temporary failure in name resolution`.
- Different pods running different dependency versions after a new release is published.

## Why
Whatever a container installs at start is downloaded again on every restart and every new pod,
from the network, with versions resolved at that moment. An image is built once and is the same
everywhere.

## Fix
Install in the image: a Dockerfile `RUN pip install --no-cache-dir -r requirements.txt`, and run
that image. No automatic fix: it needs a new image.

## When it stays silent
- `RUN` instructions in a Dockerfile (that is build time);
- init containers (they are not followed; installing into a shared volume there is a deliberate
  pattern).
- systemd units, supervisord files that no Dockerfile of the repository puts in an image (a
  host, where the packages stay installed), and entry scripts whose name does not say a container
  runs them; a Procfile's `release` process (it runs once per deploy).

## References
- Docker docs, Building best practices: https://docs.docker.com/build/building/best-practices/
- Seed post-mortem 002: `pip install celery[redis]` at start took 30-60 s and tripped the probes.
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Finding, Severity
from celerylint.engine import Context
from celerylint.rules_support import hops, named, slow_step

CODE = "CL503"
NAME = "pip-install-at-start"
SEVERITY = Severity.WARNING
SUMMARY = "packages are installed when the container starts, not when the image is built"


def check(context: Context) -> Iterator[Finding]:
    seen = set()
    for launch in context.deployment.launches:
        if launch.in_container is not True:
            continue  # a host keeps what it installs
        first = next(((c, s) for c in launch.commands if (s := slow_step(c))), None)
        if first is None:
            continue
        command, step = first
        where = command.origin.span(command.words[0])
        if where in seen:
            continue  # the same script reached from a container and from its image
        seen.add(where)
        yield Finding(
            where,
            f"{named(launch, where)} runs {step} at every start: slow starts that need the "
            "package index",
            "install the packages in the image (Dockerfile RUN pip install ...) and run that "
            "image: each start downloads them again, with the versions of the day, fails when "
            "the index is down, and can trip the probes", related=hops(launch))
