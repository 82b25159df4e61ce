"""probe-http-auth: an HTTP probe on Flower pages that basic auth or OAuth protects.

## What it finds
An `httpGet` liveness, readiness or startup probe on a Flower container (`celery flower`) that
runs with basic auth (`--basic-auth`/`--basic_auth`, `FLOWER_BASIC_AUTH`) on any path Flower
does not leave open (`/healthcheck`, `/metrics`), or with OAuth (`--auth`, `FLOWER_AUTH`) on an
`/api` path (its pages redirect to the login instead, which the kubelet counts as success).

## Symptoms
- `Liveness probe failed: HTTP probe failed with statuscode: 401`
- Flower restarts every minute and a half (`RESTARTS` climbing) although it works in a browser
  with the password; readiness failures keep it out of its Service.

## Why
With authentication on, Flower answers `401 Unauthorized` to unauthenticated requests for its
pages, and the kubelet counts any status outside 200-399 as a failure. Flower exempts
`/healthcheck` (and `/metrics`) from authentication for exactly this use. This, not the
`pip install` timing it first blamed, was what restarted the Flower of seed post-mortem 002.

## Fix
Probe `/healthcheck`. Automatic fix (safe): sets the probe's `path: /healthcheck` (keeping any
`--url-prefix`).

## When it stays silent
- no authentication option or variable (then `/` answers 200);
- compose healthchecks (a command whose URL is not read; a failing one restarts nothing);
- `tcpSocket` or `exec` probes; probes already on `/healthcheck` or `/metrics`;
- a probe that sends an `Authorization` header (`httpHeaders`);
- OAuth (`--auth`) on page paths: they answer 302 to the login, not 401.

## References
- Flower docs, Authentication (`docs/auth.rst`): `/healthcheck` and `/metrics` are exempt.
- Flower `flower/options.py` (`basic_auth`, `auth`), `flower/command.py` (`FLOWER_` environment).
- Kubernetes docs, probes: HTTP status codes 200-399 count as success.
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Finding, Fix, Severity
from celerylint.engine import Context
from celerylint.fixes.yamledit import set_value
from celerylint.model.kubernetes import span
from celerylint.rules_support import place

CODE = "CL302"
NAME = "probe-http-auth"
SEVERITY = Severity.ERROR
SUMMARY = "an HTTP probe on Flower pages that its authentication answers with 401"
FIXABLE = True

OPEN_PATHS = ("/healthcheck", "/metrics")


def _authorized(get) -> bool:
    headers = get.get("httpHeaders")
    return isinstance(headers, list) and any(
        isinstance(h, dict) and str(h.get("name", "")).lower() == "authorization" for h in headers)


def check(context: Context) -> Iterator[Finding]:
    for container in context.deployment.containers():
        flower = next((i for i in container.celery if i.subcommand == "flower"), None)
        if flower is None:
            continue
        basic = "basic_auth" in flower.options or "FLOWER_BASIC_AUTH" in container.env
        oauth = "auth" in flower.options or "FLOWER_AUTH" in container.env
        if not (basic or oauth):
            continue
        how = "--basic-auth" if "basic_auth" in flower.options else (
            "FLOWER_BASIC_AUTH" if basic else "--auth" if "auth" in flower.options else "FLOWER_AUTH")
        prefix = (flower.value("url_prefix") or "").strip("/")
        for probe in container.probes.values():
            get = probe.data.get("httpGet")
            if not isinstance(get, dict) or _authorized(get):
                continue
            path = get.get("path", "/")
            if not isinstance(path, str) or path.rstrip("/").endswith(OPEN_PATHS):
                continue
            api = path.lstrip("/").removeprefix(prefix).lstrip("/").startswith("api")
            if not basic and not api:
                continue  # OAuth redirects pages to the login (a 302 the kubelet accepts)
            healthcheck = f"/{prefix}/healthcheck" if prefix else "/healthcheck"
            source = container.workload.source
            where = span(source, get.value_pos["path"]) if "path" in get else probe.span
            yield Finding(
                where,
                f"{probe.kind}Probe of {place(container)} gets 401 from {path} ({how}): "
                + ("Flower restarts in a loop" if probe.kind != "readiness" else
                   "Flower never gets traffic"),
                f"probe {healthcheck}, which Flower leaves open (its other pages need the login)",
                fix=Fix(f"probe {healthcheck}", [set_value(source, get, "path", healthcheck)]))
