"""credentials-in-manifest: a broker password or Flower login written in the repository.

## What it finds
A password written literally where the deployment is described:
- a broker or result backend URL with a password (`redis://:s3cret@redis:6379/0`,
  `amqp://shop:s3cret@rabbitmq:5672//`, `db+postgresql://celery:s3cret@db/results`) in a
  container's environment (`CELERY_BROKER_URL`, `CELERY_RESULT_BACKEND`, any `*BROKER*` or
  `*RESULT_BACKEND*` variable, and any Redis or AMQP URL given to a container that runs celery),
  in a ConfigMap it loads, on a command line (`-b`, `--broker`, `--result-backend`) or a probe's
  command, in a script (`export`, `docker run -e`, `kubectl create secret --from-literal`), or in
  a Dockerfile `ENV` or `ARG` (a global `ARG` before the first `FROM` too);
- a Flower login: `--basic-auth=user:password` (`--basic_auth`), or `FLOWER_BASIC_AUTH`.
It reads Kubernetes manifests, rendered charts (the value from the chart's `values.yaml`),
compose files, manifests in scripts and playbooks, entry scripts and Dockerfiles alike. The
secret itself never appears in the output: messages show it masked (`redis://:****@redis:6379/0`,
`admin:****`), and so do the diffs of other rules' fixes (`--diff`, the JSON `diff` field). A
password may hold an unencoded `@`: the user and password end at the last `@` before the host.

## Symptoms
- None at run time: everything works. Anyone who can read the repository, its history, a CI log,
  the image (`docker history`, `docker inspect`) or the Deployment (`kubectl get deploy -o yaml`,
  which Secrets' access rules do not cover) can connect to the broker and publish tasks, or log
  in to Flower and revoke tasks or shut workers down. A Redis or AMQP URL given to a celery
  container under another name (`CACHE_URL`) may not be the broker's: the message then says only
  that anyone can connect to that server.

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
  placeholders (`changeme`, `change-me`, `replaceme`, `your-password`, `password`, `secret`,
  `example`, `dummy`, `xxx`, `****`, `<password>`, in any case), also as the default of
  `${REDIS_PASSWORD:-changeme}`, and RabbitMQ's default `guest:guest` (a default that is not a
  placeholder, `${REDIS_PASSWORD:-s3cret}`, is written in the repository and is reported);
- Kubernetes Secret manifests themselves, and passwords in the app's Python settings;
- the broker server's own settings (`redis-server --requirepass`, `RABBITMQ_DEFAULT_PASS`, a
  `redis.conf`): only the clients' URLs and Flower's login are read;
- database or cache URLs in variables that are not about the broker, in containers that do not
  run celery.

Files under a `test`, `tests`, `example` or `examples` directory, or named `*.example.*`,
`*.sample.*` or `*.test.*` (`docker-compose.test.yml`), are reported at info level instead: their
passwords are usually throwaway ones for a local broker, but one copied from a real deployment
is still a leak.

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

import os
import re
from pathlib import PurePath
from typing import Iterator

from celerylint.diagnostics import Finding, Related, Severity, Span
from celerylint.engine import Context
from celerylint.parse.dockerfile import EnvPair, env_pairs
from celerylint.rules_support import BROKER_SCHEMES, named, place
from celerylint.secrets import MASK, mask, url_passwords, written_part

CODE = "CL702"
NAME = "credentials-in-manifest"
SEVERITY = Severity.WARNING
SUMMARY = "a broker password or Flower login is written in a manifest, script or Dockerfile"
#: A plain-text broker password lets anyone who reads the repository publish tasks.
SECURITY_SEVERITY = 5.5

#: Result backends whose URL can carry a password (besides the broker schemes).
BACKEND_SCHEMES = ("db+", "mongodb", "couchbase", "couchdb", "arangodb", "elasticsearch",
                   "cassandra", "dynamodb", "s3", "cache+memcached", "sqla+")
#: The host and path shown after the masked password, up to the next URL of a failover list.
_URL_REST = re.compile(r"[^\s'\",;]*")
_FLOWER_ENV = re.compile(r"(?:^|[\s\"'])FLOWER_BASIC_AUTH=(?P<value>[^\s\"']+)")
_BASIC_FLAGS = ("--basic-auth", "--basic_auth")
_NOT_LITERAL = ("$", "{{", "}}", "%(", "<", ">")
#: Passwords nobody uses for real (compared lower case, without ``-``/``_``): a file that holds
#: one says "put yours here".
PLACEHOLDERS = frozenset({"changeme", "replaceme", "yourpassword", "password", "secret",
                          "example", "dummy"})
#: Directories and name parts of test and sample files (reported at info level).
_SAMPLE_DIRS = frozenset({"test", "tests", "example", "examples"})
_SAMPLE_NAMES = frozenset({"test", "example", "sample"})
_GLOBAL_ARG = re.compile(r"[ \t]*ARG[ \t]+", re.IGNORECASE)
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
            yield Finding(span, message, _hint(deployment, span, files), related=related,
                          severity=Severity.INFO if _sample(files[written.path]) else None)

    for workload in deployment.workloads:
        for container in workload.containers:
            for name, var in container.env.items():
                if var.value is None:
                    continue
                for secret, shown, kind in _secrets(name, var.value, bool(container.celery)):
                    yield from report(var.span, secret,
                                      f"{name} of {place(container)} has a plain-text password "
                                      f"({_brief(shown)}): " + _CONSEQUENCE[kind])
    # (command, how the message names its place, the launch whose label ends that name)
    commands = [(c, f"the command of {place(container)}", None)
                for container in deployment.containers(include_init=True)
                for c in container.commands or []]
    commands += [(c, "the command of ", launch)
                 for launch in deployment.launches for c in launch.commands]
    commands += [(c, "", probe.launch)
                 for container in deployment.containers(include_init=True)
                 for probe in container.probes.values() if probe.launch is not None
                 for c in probe.launch.commands]
    commands += [(c, f"a command of the script {source.path}", None)
                 for source, script in scripts for c in script]
    for command, prefix, launch in commands:
        if command.origin is None:
            continue
        words = command.assignments + command.words
        for i, word in enumerate(words):
            after = words[i + 1].text if i + 1 < len(words) else ""
            for secret, shown, kind in _word_secrets(word.text, words[i - 1].text if i else "",
                                                     after):
                at = command.origin.span(word)
                where = prefix + named(launch, at) if launch is not None else \
                    prefix.replace(f"the script {at.path}", "this script")
                yield from report(at, secret,
                                  f"{where} has a plain-text password ({_brief(shown)}): "
                                  + _CONSEQUENCE[kind])
    for parsed in deployment.dockerfiles:
        for keyword, pair, span, in_image in _dockerfile_pairs(parsed):
            for secret, shown, kind in _secrets(pair.name, pair.value, False):
                yield from report(span, secret, (
                    f"{keyword} {pair.name} writes a password into the image ({_brief(shown)}): "
                    "docker history shows it to whoever pulls the image"
                ) if in_image else (
                    f"{keyword} {pair.name} before the first FROM has a plain-text password "
                    f"({_brief(shown)}): " + _CONSEQUENCE[kind]))


#: What a reader of the repository can do with each kind of secret: Celery's broker (a broker
#: variable or option), its result backend, a Redis/AMQP URL given to celery under another name
#: (maybe not the broker's), Flower's login.
_CONSEQUENCE = {"celery-broker": "repository readers can publish tasks",
                "broker": "repository readers can connect to that server",
                "backend": "repository readers can read task results",
                "flower": "repository readers can log in to Flower"}


def _brief(shown: str) -> str:
    """A masked value as messages quote it: its start, when it is long (the file has the rest)."""
    return shown if len(shown) <= 32 else shown[:29] + "..."


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
    login, a URL in a broker variable (any scheme), or a Redis/AMQP URL given to celery (kind
    "broker": that it is Celery's broker is not known)."""
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
    """A password written in the file that is not a placeholder."""
    return bool(secret) and not any(mark in secret for mark in _NOT_LITERAL) and \
        bool(set(secret) - set("*xX.…")) and \
        secret.lower().replace("-", "").replace("_", "") not in PLACEHOLDERS


def _urls(text: str, backend: bool, named_backend: bool = False) -> list[tuple[str, str, str]]:
    """``(password, masked URL, kind)`` of each URL with a literal password: broker schemes
    always, result backend schemes (``db+``, ``mongodb`` ...) when ``backend`` says the context
    is Celery's. The password of ``${PASSWORD:-s3cret}`` is its default: that is written here."""
    found: list[tuple[str, str, str]] = []
    if "://" not in text or "@" not in text:
        return found
    for url in url_passwords(text):
        lower = url.scheme.lower()
        if not (lower.split("+")[0] in BROKER_SCHEMES or lower == "sqs" or
                backend and lower.startswith(BACKEND_SCHEMES)):
            continue
        secret = written_part(url.password)
        if not _literal(secret) or (url.user == "guest" and secret == "guest"):
            continue
        kind = "backend" if named_backend or lower.startswith(BACKEND_SCHEMES) else \
            "celery-broker" if backend else "broker"
        rest = _URL_REST.match(text, url.password_end)
        assert rest is not None
        found.append((secret, mask(text[url.start:rest.end()]), kind))
    return found


def _logins(value: str) -> list[tuple[str, str]]:
    """Flower's ``user:password[,user:password]``, shown as ``user:****``."""
    found = []
    for pair in value.split(","):
        user, colon, password = pair.strip().partition(":")
        secret = written_part(password)
        if colon and _literal(secret) and not any(m in user for m in _NOT_LITERAL):
            found.append((secret, f"{user}:{MASK}"))
    return found


def _dockerfile_pairs(parsed) -> Iterator[tuple[str, EnvPair, Span, bool]]:
    """``(keyword, variable, span of its name, whether the image records it)`` of each ``ENV``
    and ``ARG``. A global ``ARG`` (before the first ``FROM``) is only in the image when a stage
    declares it again; the parser keeps only its value (``parsed.args``), so its line is read
    again here."""
    source = parsed.source
    staged = [(instruction, env_pairs(instruction.text)) for stage in parsed.stages
              for instruction in stage.instructions if instruction.keyword in ("ENV", "ARG")]
    declared = {pair.name for instruction, pairs in staged if instruction.keyword == "ARG"
                for pair in pairs}
    first = parsed.stages[0].line if parsed.stages else len(source.lines) + 1
    for number, line in enumerate(source.lines[:first - 1], start=1):
        keyword = _GLOBAL_ARG.match(line)
        pairs = env_pairs(line[keyword.end():]) if keyword else []
        if keyword and any(pair.name in parsed.args for pair in pairs):
            for pair in pairs:
                column = keyword.end() + pair.start + 1
                yield "ARG", pair, Span(source.path, number, column, number,
                                        column + len(pair.name)), pair.name in declared
    for instruction, pairs in staged:
        for pair in pairs:
            start = instruction.position(pair.start)
            end = instruction.position(pair.start + len(pair.name))
            yield instruction.keyword, pair, Span(source.path, *start, *end), True


def _sample(source) -> bool:
    """A test or sample file (by its path inside its project): its passwords are usually
    throwaway ones, so they are reported at info level."""
    path = source.path
    if source.project and source.abspath:
        path = os.path.relpath(source.abspath, source.project)
    *directories, name = PurePath(path).parts or ("",)
    return any(part.lower() in _SAMPLE_DIRS for part in directories) or any(
        part.lower() in _SAMPLE_NAMES for part in name.split(".")[1:])  # compose.test.yml


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
