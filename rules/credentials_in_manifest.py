"""credentials-in-manifest: a broker password or Flower login written in the repository.

## What it finds
A password written literally where the deployment is described:
- a broker or result backend URL with a password (`redis://:s3cret@redis:6379/0`,
  `amqp://shop:s3cret@rabbitmq:5672//`, `db+postgresql://celery:s3cret@db/results`) in a
  container's environment (`CELERY_BROKER_URL`, `CELERY_RESULT_BACKEND`, any `*BROKER*` or
  `*RESULT_BACKEND*` variable, and any Redis or AMQP URL given to a container that runs celery),
  in a ConfigMap it loads, on a command line (`-b`, `--broker`, `--result-backend`), in a script
  (`export`, `docker run -e`, `kubectl create secret --from-literal`), or in a Dockerfile `ENV`
  or `ARG`;
- a Flower login: `--basic-auth=user:password` (`--basic_auth`), or `FLOWER_BASIC_AUTH`.
It reads Kubernetes manifests, rendered charts (the value from the chart's `values.yaml`),
compose files, manifests in scripts and playbooks, entry scripts and Dockerfiles alike. The
secret itself never appears in the output: messages show it masked (`redis://:****@redis:6379/0`,
`admin:****`).

## Symptoms
- None at run time: everything works. Anyone who can read the repository, its history, a CI log,
  the image (`docker history`, `docker inspect`) or the Deployment (`kubectl get deploy -o yaml`,
  which Secrets' access rules do not cover) can connect to the broker and publish tasks, or log
  in to Flower and revoke tasks or shut workers down.

## Why
Values in `env[].value`, ConfigMaps, compose `environment`, command lines and Dockerfile
`ENV`/`ARG` are plain text wherever the manifest or image goes. Kubernetes keeps Secrets apart
(`valueFrom.secretKeyRef`, with their own RBAC and optional encryption at rest), and Compose
offers `secrets` and variables interpolated from an uncommitted `.env`. Flower reads
`FLOWER_BASIC_AUTH` like `--basic-auth` (`flower/command.py`, `FLOWER_` prefix), so either one
written literally is the same leak. A broker client that can publish can make workers run any
registered task (and any code, where pickle is accepted).

RabbitMQ's `guest:guest` is not reported: it is the broker's built-in, publicly documented
default user (the official `rabbitmq` image lets it connect from other containers), so writing
it down discloses nothing; changing it is a hardening question, not a leaked secret.

## Fix
Move the value out of the file: a Kubernetes Secret read with `valueFrom.secretKeyRef` (or
`envFrom.secretRef`), compose `secrets` or `${REDIS_PASSWORD}` from an uncommitted `.env` file, a
build secret (`RUN --mount=type=secret`) instead of `ARG`/`ENV`. Then change the password: it
stays in the repository's history. No automatic fix: where the secret should live is a design
choice.

## When it stays silent
- values from `secretKeyRef`, `secretRef`, compose `secrets`, or a variable the file does not
  expand itself (`${REDIS_PASSWORD}`, `$(REDIS_PASSWORD)`, `{{ .Values.password }}` with no value
  in the repository, Ansible Vault), including passwords Helm generates (`randAlphaNum`);
- compose `env_file` files and `.env` (where Compose expects local secrets; whether they are
  committed cannot be told from the files);
- URLs without a password (`redis://redis:6379/0`, `redis://user@host`), empty passwords,
  placeholders (`<password>`, `****`), and RabbitMQ's default `guest:guest`;
- Kubernetes Secret manifests themselves, and passwords in the app's Python settings;
- the broker server's own settings (`redis-server --requirepass`, `RABBITMQ_DEFAULT_PASS`, a
  `redis.conf`): only the clients' URLs and Flower's login are read;
- database or cache URLs in variables that are not about the broker, in containers that do not
  run celery.

## References
- Kubernetes docs, Secrets and "Good practices for Kubernetes Secrets":
  https://kubernetes.io/docs/concepts/configuration/secret/
- Docker docs, "Secrets in Compose": https://docs.docker.com/compose/how-tos/use-secrets/ and
  Dockerfile reference, `ARG` (values are visible with `docker history`; use build secrets).
- Flower docs, Authentication (`--basic-auth`); `flower/command.py` (v2.0.1), `ENV_VAR_PREFIX`.
- RabbitMQ docs, Access Control, "guest" user: https://www.rabbitmq.com/docs/access-control;
  docker-library/rabbitmq `conf.d/10-defaults.conf` (`loopback_users.guest = false`).
"""

from __future__ import annotations

import re
from typing import Iterator

from celerylint.diagnostics import Finding, Related, Severity, Span
from celerylint.engine import Context
from celerylint.rules_support import BROKER_SCHEMES

CODE = "CL702"
NAME = "credentials-in-manifest"
SEVERITY = Severity.WARNING
SUMMARY = "a broker password or Flower login is written in a manifest, script or Dockerfile"
#: A plain-text broker password lets anyone who reads the repository publish tasks.
SECURITY_SEVERITY = 5.5

#: Result backends whose URL can carry a password (besides the broker schemes).
BACKEND_SCHEMES = ("db+", "mongodb", "couchbase", "couchdb", "arangodb", "elasticsearch",
                   "cassandra", "dynamodb", "s3", "cache+memcached", "sqla+")
_URL = re.compile(r"(?<![A-Za-z0-9+.-])(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{0,30})://"
                  r"(?P<user>[^\s:@/'\"]{0,256}):"
                  r"(?P<password>[^\s@/'\"]+)@(?P<rest>[^\s'\",;]*)")
_FLOWER_ENV = re.compile(r"(?:^|[\s\"'])FLOWER_BASIC_AUTH=(?P<value>[^\s\"']+)")
_BASIC_FLAGS = ("--basic-auth", "--basic_auth")
_NOT_LITERAL = ("$", "{{", "}}", "%(", "<", ">")
ENV_KIND = "env"  # compose env_file and .env files (carriers/compose.py ENV)


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    scripts = getattr(deployment, "scripts", [])  # deploy scripts (not all are sources)
    files = {s.path: s for s in deployment.sources} | {s.path: s for s, _ in scripts}
    seen: set[Span] = set()

    def report(span: Span, secret: str, message: str) -> Iterator[Finding]:
        written = _written(deployment, files, span, secret) if span not in seen else None
        if written is not None:
            seen.add(span)
            source_map = deployment.remapper.maps.get(span.path)
            shown = source_map.span(span) if source_map is not None else span
            related = [] if written.path == shown.path and \
                shown.line <= written.line <= shown.end_line else \
                [Related(written, "the password is written here")]
            yield Finding(span, message, _hint(deployment, span, files), related=related)

    for workload in deployment.workloads:
        for container in workload.containers:
            for name, var in container.env.items():
                if var.value is None:
                    continue
                for secret, shown, kind in _secrets(name, var.value, bool(container.celery)):
                    yield from report(var.span, secret,
                                      f"{name} of {container.where} holds {_WHAT[kind]} with "
                                      f"its password written in the repository ({shown}): "
                                      + _CONSEQUENCE[kind])
    commands = [(c, f"the command of {container.where}")
                for container in deployment.containers(include_init=True)
                for c in container.commands or []]
    commands += [(c, f"the command of {launch.describe()}")
                 for launch in deployment.launches for c in launch.commands]
    commands += [(c, f"a command of the script {source.path}")
                 for source, script in scripts for c in script]
    for command, where in commands:
        if command.origin is None:
            continue
        words = command.assignments + command.words
        for i, word in enumerate(words):
            after = words[i + 1].text if i + 1 < len(words) else ""
            for secret, shown, kind in _word_secrets(word.text, words[i - 1].text if i else "",
                                                     after):
                yield from report(command.origin.span(word), secret,
                                  f"{where} holds {_WHAT[kind]} with its "
                                  f"password written in the repository ({shown}): "
                                  + _CONSEQUENCE[kind])
    for parsed in deployment.dockerfiles:
        for stage in parsed.stages:
            for instruction in stage.instructions:
                if instruction.keyword not in ("ENV", "ARG"):
                    continue
                for name, value, offset in _pairs(instruction.text):
                    for secret, shown, _ in _secrets(name, value, False):
                        start = instruction.position(offset)
                        end = instruction.position(offset + len(name))
                        yield from report(
                            Span(parsed.source.path, *start, *end), secret,
                            f"{instruction.keyword} {name} writes a password into the image "
                            f"({shown}): docker history and docker inspect show it to anyone "
                            "who can pull the image")


_WHAT = {"broker": "a broker URL", "backend": "a result backend URL",
         "flower": "the Flower login"}
#: What a reader of the file can do with the secret.
_CONSEQUENCE = {"broker": "anyone who can read it can connect to the broker and publish tasks",
                "backend": "anyone who can read it can read and overwrite task results (and "
                           "whatever else that account reaches)",
                "flower": "anyone who can read it can log in to Flower and revoke tasks or stop "
                          "workers"}


def _hint(deployment, span: Span, files) -> str:
    source = files.get(span.path)
    if source is not None and source.kind == "dockerfile":
        return ("pass it at run time from a Secret (or a build secret: RUN --mount=type=secret), "
                "then change the password: it stays in the history")
    source_map = deployment.remapper.maps.get(span.path)
    if source_map is not None and any(
            source_map.related(Span(span.path, line, 1, line, 1 << 16))
            for line in range(span.line, min(span.end_line, span.line + 4) + 1)):
        return ("have the chart read an existing Secret (a values key naming it, "
                "valueFrom.secretKeyRef in the template) instead of the value, then change the "
                "password: it stays in the repository's history")
    return ("read it from a Secret (env valueFrom.secretKeyRef; compose: secrets, or "
            "${VARIABLE} from an uncommitted .env), then change the password: it stays in the "
            "repository's history")


def _broker_name(name: str) -> bool:
    upper = name.upper()
    return "BROKER" in upper or "RESULT_BACKEND" in upper or (
        upper.startswith("CELERY") and upper.endswith(("URL", "URI", "BACKEND")))


def _secrets(name: str, value: str, celery: bool) -> list[tuple[str, str, str]]:
    """``(secret, masked, kind)`` for each literal password a variable's value holds: a Flower
    login, a URL in a broker variable (any scheme), or a Redis/AMQP URL given to celery."""
    if name.upper() == "FLOWER_BASIC_AUTH":
        return [(s, m, "flower") for s, m in _logins(value)]
    backend = "BACKEND" in name.upper()
    if _broker_name(name):
        return _urls(value, backend=True, named_backend=backend)
    return _urls(value, backend=False) if celery else []


def _word_secrets(text: str, before: str, after: str) -> list[tuple[str, str, str]]:
    """``(secret, masked, kind)`` for one command word."""
    found: list[tuple[str, str, str]] = []
    flag, eq, value = text.partition("=")
    if flag in _BASIC_FLAGS:
        found += [(s, m, "flower") for s, m in _logins(value if eq else after)]
    match = _FLOWER_ENV.search(text)
    if match:
        found += [(s, m, "flower") for s, m in _logins(match.group("value"))]
    option = before in ("-b", "--broker", "--result-backend") or flag in (
        "--broker", "--result-backend") or _broker_name(text.split("=", 1)[0].lstrip("-"))
    named = before == "--result-backend" or flag == "--result-backend" or \
        "BACKEND" in text.split("=", 1)[0].upper()
    return found + _urls(text, backend=option, named_backend=named)


def _literal(secret: str) -> bool:
    return bool(secret) and not any(mark in secret for mark in _NOT_LITERAL) and \
        set(secret) - set("*xX.")


def _urls(text: str, backend: bool, named_backend: bool = False) -> list[tuple[str, str, str]]:
    """``(password, masked URL, kind)`` of each URL with a literal password: broker schemes
    always, result backend schemes (``db+``, ``mongodb`` ...) when ``backend`` says the context
    is Celery's."""
    found: list[tuple[str, str, str]] = []
    if "://" not in text or "@" not in text:
        return found
    for match in _URL.finditer(text):
        scheme, user, password = (match.group(g) for g in ("scheme", "user", "password"))
        lower = scheme.lower()
        if not (lower.split("+")[0] in BROKER_SCHEMES or lower == "sqs" or
                backend and lower.startswith(BACKEND_SCHEMES)):
            continue
        if not _literal(password) or (user == "guest" and password == "guest"):
            continue
        kind = "backend" if named_backend or lower.startswith(BACKEND_SCHEMES) else "broker"
        found.append((password, f"{scheme}://{user}:****@{match.group('rest')}", kind))
    return found


def _logins(value: str) -> list[tuple[str, str]]:
    """Flower's ``user:password[,user:password]``."""
    found = []
    for pair in value.split(","):
        user, colon, password = pair.strip().partition(":")
        if colon and _literal(password) and not any(m in user for m in _NOT_LITERAL):
            found.append((password, f"{user}:****"))
    return found


_PAIR = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(\"(?:[^\"\\]|\\.)*\"|'[^']*'|\S*)")


def _pairs(text: str) -> list[tuple[str, str, int]]:
    """``(name, value, offset of the name)`` of an ``ENV``/``ARG`` instruction's text, in both
    forms (``ENV A=1 B=2`` and the legacy ``ENV A 1``)."""
    stripped = text.lstrip()
    start = len(text) - len(stripped)
    first = stripped.split(None, 1)
    if first and "=" not in first[0]:
        value = first[1].strip() if len(first) > 1 else ""
        return [(first[0], value.strip("\"'"), start)]
    return [(m.group(1), m.group(2).strip("\"'"), m.start(1)) for m in _PAIR.finditer(text)]


def _written(deployment, files, span: Span, secret: str) -> Span | None:
    """Whether the secret is written literally at the span (or, for a rendered template or a
    here-document, where the map leads: the template line or the values key it reads), in a
    file that is not a dotenv file: where it is written, or None."""
    spans = [span]
    source_map = deployment.remapper.maps.get(span.path)
    if source_map is not None:  # the values keys behind each line (an env item has two)
        spans = [source_map.span(span)] + [
            r.span for line in range(span.line, min(span.end_line, span.line + 4) + 1)
            for r in source_map.related(Span(span.path, line, 1, line, 1 << 16))]
    for where in spans:
        source = files.get(where.path)
        if source is None or source.kind == ENV_KIND:
            continue
        if secret in "\n".join(source.lines[where.line - 1:where.end_line]):
            return where
    return None
