"""flower-no-auth: Flower without authentication, reachable from outside.

## What it finds
A Flower (`celery flower`, `flower`, or the `mher/flower` image run without a command) with no
`--basic-auth`, `--auth`, `FLOWER_BASIC_AUTH` or `FLOWER_AUTH` (an `--auth_provider` alone lets
everyone in: Flower checks the provider's login only when `--auth` is set), listening
on every interface (no `--address=127.0.0.1`), that something outside can reach on its port
(`--port`, `FLOWER_PORT`, 5555 by default):
- a LoadBalancer (not an internal one) or NodePort Service (or one with `externalIPs`) that
  selects its pod and targets that port, or an Ingress that routes to a Service doing so;
- a `hostPort`, or `hostNetwork: true`;
- compose `ports` publishing it on the host's every interface (`"5555:5555"`, `"5555"`; not
  `"127.0.0.1:5555:5555"`), or `network_mode: host`.

Also, for CVE-2022-30034 (fixed in Flower 1.2.0): a requirement or a `mher/flower` image tag that
allows only releases before 1.2.0 (a warning; information when the project's Flower uses basic
auth only), and an OAuth `--auth` regex not anchored with `$` on such a release (an error).

## Symptoms
- The Flower dashboard opens from the internet (or the office network) with no login: task
  names, arguments and results, worker names and queues are there for anyone.
- Flower 1.2 logs `Running without authentication` at start; Flower 2 answers its API with
  `FLOWER_UNAUTHENTICATED_API environment variable is required to enable API without
  authentication` unless that variable is set, which opens it too.
- Its banner says `Visit me at http://0.0.0.0:5555` (2.0), or `localhost` (1.2) and `127.0.0.1`
  (2.1) while it listens on every interface all the same.

## Why
Flower's defaults are `port=5555`, `address=''` (every interface) and no authentication
(`flower/options.py`). Whoever reaches it reads every task's arguments and results, and through
its API (always before Flower 2.0, with `FLOWER_UNAUTHENTICATED_API` since) revokes and
terminates tasks, runs any registered task (`/api/task/async-apply/`), and shuts down workers
(`/api/worker/shutdown/`). A published compose port listens on all of the host's interfaces,
past host firewalls such as ufw (moby/moby#4737); a NodePort or LoadBalancer Service, an Ingress
or a `hostPort` opens the port beyond the cluster. Before 1.2.0, Flower checked the
OAuth email against the `--auth` regex with `re.match`, which anchors only the start:
`.*@example.com` also admitted `attacker@example.com.attacker.com` (CVE-2022-30034,
GHSA-q4qm-xhf9-4p8f). Since 1.2.0 `--auth` takes plain emails, `|` lists and one `.*` wildcard,
matched whole.

## Fix
Turn authentication on: `FLOWER_BASIC_AUTH` from a Secret (compose: a secret or an unexpanded
variable), or OAuth with `--auth` and `--auth_provider`; or bind Flower to `127.0.0.1` behind an
authenticating proxy (oauth2-proxy, an Ingress with `nginx.ingress.kubernetes.io/auth-url`),
and publish compose ports as `127.0.0.1:5555:5555`. Require `flower>=1.2.0`. No automatic fix:
the credentials are the team's to choose and keep.

## When it stays silent
- any authentication option or variable (even one whose value we cannot see), `--conf` (a
  configuration file may set it), variables from an `envFrom` or `env_file` we cannot read, a
  `flowerconfig.py` (Flower's default `--conf`, read from its working directory) at the project's
  root or beside the file that starts Flower or builds its image;
- `--address` on a loopback address, `--unix_socket`; a Flower reachable only inside the cluster
  (a ClusterIP Service with no Ingress), through an internal load balancer (AWS, GKE, Azure,
  OCI and IBM annotations) or one whose `loadBalancerSourceRanges` are all private, or only on
  the compose network (`expose`, no `ports`);
- an authenticating proxy: an oauth2-proxy (or Pomerium, Vouch) container in the pod, or an
  Ingress with an `auth-*` annotation (`nginx.ingress.kubernetes.io/auth-url`, `auth-type`) or
  middlewares or plugins we cannot see (Traefik, Kong);
- Airflow's `airflow celery flower` (its own options); proxies set by compose labels;
- for CVE-2022-30034: Flower 1.2.0 or later, or a version we cannot tell (`mher/flower:latest`).

## References
- Flower `flower/options.py` (v2.1.0: `port` 5555, `address` '', `basic_auth`, `auth`,
  `auth_provider`, `conf` 'flowerconfig.py'), `flower/views/__init__.py`
  (`BaseHandler.get_current_user`: no `auth` and no `basic_auth`, everyone is let in),
  `flower/command.py` (`FLOWER_` variables), `flower/api/__init__.py`
  (`FLOWER_UNAUTHENTICATED_API`), docs/auth.rst: https://flower.readthedocs.io/en/latest/auth.html
- CVE-2022-30034, GHSA-q4qm-xhf9-4p8f; mher/flower#1217 and the fix in 1.2.0 (mher/flower#1227,
  `flower/views/auth.py` `authenticate`: `re.fullmatch`):
  https://github.com/advisories/GHSA-q4qm-xhf9-4p8f
- Compose Specification, services, `ports` ("If it is not set, it binds to all network
  interfaces"): https://github.com/compose-spec/compose-spec/blob/main/05-services.md#ports
- Kubernetes docs, Service types (NodePort, LoadBalancer, `loadBalancerSourceRanges`), Ingress,
  `hostPort`; internal load balancers: AWS Load Balancer Controller (`aws-load-balancer-scheme`),
  GKE (`networking.gke.io/load-balancer-type: "Internal"`), AKS
  (`azure-load-balancer-internal`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from packaging.version import InvalidVersion, Version

from celerylint.diagnostics import Finding, Related, Severity, Span
from celerylint.engine import Context
from celerylint.model import Container
from celerylint.model.exposure import exposures
from celerylint.model.images import split_image
from celerylint.rules_support import is_loopback, place as container_place

CODE = "CL701"
NAME = "flower-no-auth"
SEVERITY = Severity.ERROR
SUMMARY = "Flower runs without authentication where others can reach it"

DEFAULT_PORT = 5555
#: What turns authentication on: ``--auth_provider`` alone does not (``BaseHandler.get_current_user``
#: lets everyone in when ``auth`` is empty).
AUTH_OPTIONS = ("basic_auth", "auth")
PROXY_IMAGES = ("oauth2-proxy", "oauth2_proxy", "pomerium", "vouch-proxy")
#: Flower releases (mher/flower tags since 0.7), and a far future one: what a requirement admits.
RELEASES = tuple(Version(v) for v in ("0.7.0", "0.8.0", "0.9.0", "0.9.7", "1.0.0", "1.1.0",
                                      "1.2.0", "2.0.0", "2.0.1", "2.1.0", "99"))
FIXED = Version("1.2.0")  # CVE-2022-30034
CLOSED_API = Version("2.0.0")  # the API needs authentication (or FLOWER_UNAUTHENTICATED_API)


@dataclass
class Flower:
    """A Flower process: its options and variables as far as they can be seen."""

    container: Container
    at: Span
    options: dict[str, tuple[str | None, Span | None]] = field(default_factory=dict)
    unknown: bool = False  # options may come from somewhere we cannot see

    def setting(self, option: str) -> tuple[str | None, Span | None] | None:
        found = self.options.get(option)
        if found is not None:
            return found
        var = self.container.env.get("FLOWER_" + option.upper())
        return (var.value, var.span) if var is not None else None

    @property
    def port(self) -> int | None:
        found = self.setting("port")
        if found is None:
            return DEFAULT_PORT
        return int(found[0]) if found[0] and found[0].isdigit() else None


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    exposed = exposures(deployment)
    flowers = [f for f in (_flower(c, deployment) for c in deployment.containers())
               if f is not None]
    for flower in flowers:
        container = flower.container
        yield from _unanchored(flower, deployment)
        if any(flower.setting(o) is not None for o in AUTH_OPTIONS) or flower.unknown:
            continue
        address = flower.setting("address")
        if flower.setting("unix_socket") is not None or (address is not None and (
                address[0] is None or is_loopback(address[0]))):
            continue
        if any(any(p in (c.image or "") for p in PROXY_IMAGES)
               for c in container.workload.containers):
            continue
        reasons = _reachable(flower, exposed)
        if not reasons:
            continue
        opened = container.env.get("FLOWER_UNAUTHENTICATED_API")
        api = opened is not None and (opened.value or "").lower() in ("1", "true", "yes", "on")
        old_api = _before(flower, deployment, CLOSED_API)
        control = "revokes and terminates tasks, runs any registered task and shuts down " \
            "workers through its API"
        ways = list(dict.fromkeys(_short(text) for text, _ in reasons))
        yield Finding(
            flower.at,
            f"Flower in {container_place(container)} has no authentication and {ways[0]}"
            + (f" (and {len(ways) - 1} more)" if len(ways) > 1 else "")
            + ": anyone can read task data" + (" and stop workers" if api or old_api else ""),
            "set FLOWER_BASIC_AUTH from a Secret (or --auth with --auth_provider), or bind "
            "Flower to 127.0.0.1 behind an authenticating proxy"
            + (f"; it also {control}" if api or old_api else "" if old_api is False else
               f"; before Flower 2.0 or with FLOWER_UNAUTHENTICATED_API set, it also {control}"),
            related=list(dict.fromkeys(Related(where, text) for text, where in reasons
                                       if where is not None)))
    yield from _pins(deployment, flowers)


# -- which containers run Flower -------------------------------------------------------------

def _flower(container: Container, deployment) -> Flower | None:
    invocation = next((i for i in container.celery if i.subcommand == "flower"), None)
    unknown = container.env_open or container.env_from_secret or _config_file(container, deployment)
    if invocation is not None:
        at = invocation.span()
        if at.path != container.span.path:
            at = container.span  # started by the image or a script: point at the container
        flower = Flower(container, at, unknown=unknown or invocation.open_ended)
        words = invocation.command.words
        position = {id(w): k for k, w in enumerate(words)}
        for name, option in invocation.options.items():
            value, word = option.value, option.value_word
            if word is None:
                index = position.get(id(option.flag))
                following = words[index + 1] if index is not None and index + 1 < len(words) \
                    else None
                if following is not None and not following.text.startswith("-"):
                    value, word = following.text, following
            flower.options[name] = (None if word is not None and word.dynamic else value,
                                    invocation.span(word or option.flag))
        flower.unknown = flower.unknown or "conf" in flower.options
        return flower
    if split_image(container.image)[0].endswith("mher/flower") and \
            all(item.startswith("-") for item in container.argv):
        flower = Flower(container, container.span, unknown=unknown or any(container.argv_dynamic))
        command = container.commands[0] if container.commands else None
        words = command.words if command is not None else []
        for k, item in enumerate(container.argv):  # the image's `celery flower` gets them
            name, eq, value = item.lstrip("-").partition("=")
            where = command.origin.span(words[k]) if len(words) == len(container.argv) \
                and command.origin is not None else container.span
            flower.options[name.replace("-", "_")] = (value if eq else None, where)
        flower.unknown = flower.unknown or "conf" in flower.options
        return flower
    return None


def _config_file(container: Container, deployment) -> bool:
    """Whether a ``flowerconfig.py`` (read from Flower's working directory by default, and
    able to set ``basic_auth``) lies at the project's root or beside the file that starts it
    or builds its image."""
    places = [container.workload.source.project, container.workload.source.abspath]
    if container.build:
        places.append(container.build[0])
    cache = deployment.index.facts.setdefault(("flower-no-auth", "flowerconfig"), {})
    scope = deployment.scope
    found = False
    for place in places:
        if not place or scope is None:
            continue
        path = Path(place)
        directory = path if path.is_dir() else path.parent
        if directory not in cache:
            candidate = directory / "flowerconfig.py"
            cache[directory] = scope.contains(candidate) and candidate.is_file()
        found = found or cache[directory]
    return found


# -- how it is reached ---------------------------------------------------------------------------

def _short(reason: str) -> str:
    """A way Flower is reached, as the message says it (the related location has it whole)."""
    if reason.startswith("compose publishes "):
        return "compose publishes it on " + reason.split(" on the host's ", 1)[-1]
    if reason.startswith("shares the host's network"):
        return "shares the host's network (network_mode: host)"
    if reason.startswith("the pod uses hostNetwork"):
        return "its pod uses hostNetwork"
    if reason.startswith("hostPort "):
        return reason.split(" opens ", 1)[0] + " opens it on its node"
    return re.sub(r" \(through [^)]*\)", "", reason).rsplit(" routes to ", 1)[0] + " routes to it"


def _reachable(flower: Flower, exposed) -> list[tuple[str, Span | None]]:
    container = flower.container
    workload = container.workload
    port = flower.port
    reasons: list[tuple[str, Span | None]] = []
    on = f"port {port}" if port is not None else "its port"
    if workload.carrier == "compose":
        if container.network_mode == "host":
            return [("shares the host's network (network_mode: host), so it listens on every "
                     f"interface of the host on {on}", None)]
        for published in container.ports:
            if published.published is None or published.dynamic or \
                    (port is not None and published.target != port) or \
                    is_loopback(published.host_ip):
                continue
            host = published.host_ip or "0.0.0.0"
            shown = f"{host}:{published.published}" if published.published else \
                f"a random port of {host}"
            reasons.append((f"compose publishes {on} on the host's {shown}", published.span))
        return reasons
    if isinstance(workload.pod, dict) and workload.pod.get("hostNetwork") is True:
        reasons.append((f"the pod uses hostNetwork, so it listens on the node's interfaces on "
                        f"{on}", None))
    for declared in container.ports:
        if declared.published and declared.target == port and not (
                is_loopback(declared.host_ip)):
            reasons.append((f"hostPort {declared.published} opens {on} on its node",
                            declared.span))
    for spec, ways in exposed.get(id(workload), []):
        reasons += [(f"{text} routes to {on}", where) for ingress_port, text, where in ways
                    if _targets(spec, ingress_port, container, port)]
    return reasons


def _targets(spec: dict, ingress_port: Any, container: Container, port: int | None) -> bool:
    """Whether a Service port (the one an Ingress names, else any) reaches Flower's port."""
    names = {p.name: p.target for p in container.ports if p.name}
    for item in spec.get("ports") or [] if isinstance(spec.get("ports"), list) else []:
        if not isinstance(item, dict):
            continue
        if ingress_port is not None and ingress_port not in (item.get("port"), item.get("name")):
            continue
        target = item.get("targetPort", item.get("port"))
        if isinstance(target, str):
            target = names.get(target)
        if port is None:
            if target is not None and any(p.target == target for p in container.ports):
                return True
        elif target == port:
            return True
    return False


# -- CVE-2022-30034 -----------------------------------------------------------------------------

def _below(specifier, cut: Version) -> bool | None:
    """True when every Flower release the specifier admits is older than ``cut``, False when
    none is, None when it admits both (or none)."""
    admitted = [v for v in RELEASES if specifier.contains(v, prereleases=True)]
    if not admitted or any(v < cut for v in admitted) != all(v < cut for v in admitted):
        return None
    return admitted[0] < cut


def _image_version(image: str | None) -> Version | None:
    repository, tag = split_image(image)
    if not repository.endswith("mher/flower") or not tag:
        return None
    try:
        return Version(tag)
    except InvalidVersion:
        return None


def _before(flower: Flower, deployment, cut: Version) -> bool | None:
    """Whether this Flower is older than ``cut``: from its image's tag, else from the flower
    requirements of its project (None when they do not tell, or disagree)."""
    version = _image_version(flower.container.image)
    if version is not None:
        return version < cut
    return _pinned_before(deployment, cut).get(flower.container.workload.source.project)


def _pinned_before(deployment, cut: Version) -> dict[str, bool | None]:
    """Per project, whether its flower requirements allow only releases before ``cut`` (None:
    they do not tell, or disagree); one pass over the requirements for the run."""
    key = ("flower-no-auth", "before", cut)
    if key not in deployment.index.facts:
        answers: dict[str, set] = {}
        for requirement_set in deployment.requirement_sets:
            for pinned in requirement_set.requirements:
                if pinned.name == "flower":
                    answers.setdefault(pinned.project, set()).add(
                        _below(pinned.requirement.specifier, cut))
        deployment.index.facts[key] = {project: found.pop() if len(found) == 1 else None
                                       for project, found in answers.items()}
    return deployment.index.facts[key]


def _anchored(pattern: str) -> bool:
    if pattern.endswith("$") and "|" not in pattern:
        return True
    if pattern.startswith(("(", "^(")) and pattern.endswith(")$"):
        return True
    return all(part.endswith("$") for part in pattern.split("|"))


def _unanchored(flower: Flower, deployment) -> Iterator[Finding]:
    found = flower.setting("auth")
    if found is None or not found[0] or _anchored(found[0]) or \
            not _before(flower, deployment, FIXED):
        return
    pattern, where = found
    project = flower.container.workload.source.project
    old = f"the image {flower.container.image}" if _image_version(flower.container.image) else \
        next(p.text for s in deployment.requirement_sets for p in s.requirements
             if p.name == "flower" and p.project == project)
    yield Finding(
        where or flower.at,
        f"Flower in {container_place(flower.container)} matches --auth '{pattern}' at the start "
        "only: emails of other domains log in (CVE-2022-30034)",
        f"{old} is older than 1.2.0: its re.match anchors only the start (an address such as "
        "'someone@example.com.attacker.com' matches); require flower>=1.2.0, which matches the "
        "whole email; until then end the regex with $",
        severity=Severity.ERROR)


def _pins(deployment, flowers: list[Flower]) -> Iterator[Finding]:
    """Requirements and images that allow only Flower releases before 1.2.0: a warning where
    a Flower of the project uses OAuth or none is seen, else (basic auth only) information."""
    oauth: dict[str, bool] = {}
    for flower in flowers:
        project = flower.container.workload.source.project
        oauth[project] = oauth.get(project, False) or flower.unknown or \
            flower.setting("auth") is not None
    advisory = ": with --auth, emails of other domains log in (CVE-2022-30034)"
    why = " (GHSA-q4qm-xhf9-4p8f: older releases match the email regex unanchored)"
    for requirement_set in deployment.requirement_sets:
        for pinned in requirement_set.requirements:
            if pinned.name != "flower" or not _below(pinned.requirement.specifier, FIXED):
                continue
            yield Finding(
                pinned.span, f"{pinned.text} allows only Flower releases before 1.2.0"
                + advisory, "require flower>=1.2.0" + why,
                severity=Severity.WARNING if oauth.get(pinned.project, True) else Severity.INFO)
    for container in deployment.containers():
        version = _image_version(container.image)
        if version is None or version >= FIXED or "image" not in container.data:
            continue
        yield Finding(
            Span(container.span.path, *container.data.value_pos["image"]),
            f"{container_place(container)} runs {container.image}, older than Flower 1.2.0"
            + advisory, "use mher/flower:2.0 or later" + why,
            severity=Severity.WARNING if oauth.get(container.workload.source.project, True)
            else Severity.INFO)
