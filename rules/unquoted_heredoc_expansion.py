r"""unquoted-heredoc-expansion: a here-document manifest expands the container's variables at deploy time.

## What it finds
A manifest written in a script's here-document with an unquoted delimiter (`<<EOF`, also in an
Ansible `shell` task) that is fed to `kubectl apply|create|replace -f -`, where a container's
`command`, `args`, probe or `lifecycle` hook holds an expansion meant for the container:
`$HOSTNAME`, `$POD_NAME`, `$POD_IP`, `$NODE_NAME`, `$HOME`, a variable the container's own `env`
defines, or a command substitution (`$(date)`, backquotes). The script does not set those
variables itself.

## Symptoms
- A worker's liveness probe `celery inspect ping -d celery@$HOSTNAME` pings
  `celery@deploy-host` (the machine that ran the script or Ansible): `Error: No nodes replied
  within time constraint`, and the kubelet restarts every worker in a loop.
- `kubectl get deploy -o yaml` shows a literal host name, an empty string or a date where the
  manifest in the repository says `$HOSTNAME` or `$(date)`.

## Why
In an unquoted here-document the shell that runs the script expands `$VAR`, `${VAR}`, `$(cmd)` and
backquotes before kubectl reads the text (POSIX "Here-Document"; tested identically in bash 5.2,
dash 0.5.12 and BusyBox ash 1.35). The container's shell never sees them: it gets the deploying
machine's value, or an empty string where that machine has none. Quoting any part of the
delimiter (`<<'EOF'`, `<<"EOF"`, `<<\EOF`) turns every expansion off. Ansible renders `{{ }}`
first, then runs the text with `/bin/sh`, so a playbook's `shell:` here-document behaves the same.

## Fix
Quote the delimiter (`<<'EOF'`) when nothing else in the here-document needs expanding at deploy
time; otherwise escape the container's expansions (`\$HOSTNAME`). Automatic fix (safe): quotes
the delimiter when every expansion in it is meant for the container and it has no backslash
escapes (which quoting would change); otherwise inserts `\` before each reported expansion.

## When it stays silent
- quoted delimiters; here-documents that are not fed to kubectl;
- variables the script sets before the here-document (`NAMESPACE=celery`): expanding them is the
  point;
- other variables of the deploying machine's environment (`$IMAGE_TAG`, `$DOMAIN`), and
  expansions outside commands, probes and hooks (an image tag, a namespace, labels);
- `\$HOSTNAME`, already escaped.

## References
- POSIX Shell Command Language, 2.7.4 Here-Document:
  https://pubs.opengroup.org/onlinepubs/9799919799/utilities/V3_chap02.html#tag_19_07_04
- Ansible `ansible.builtin.shell` module docs (runs through `/bin/sh`; templating happens first).
- Kubernetes docs, "Define a command and arguments for a container" (`$(VAR)` is Kubernetes'
  own substitution; `$VAR` is left to the container's shell).
"""

from __future__ import annotations

from typing import Iterator

from celerylint.diagnostics import Edit, Finding, Fix, Severity, Span
from celerylint.engine import Context

CODE = "CL005"
NAME = "unquoted-heredoc-expansion"
SEVERITY = Severity.ERROR
SUMMARY = "an unquoted here-document expands the container's variables on the deploying machine"
FIXABLE = True

#: Variables the container runtime (or the usual downward-API wiring) sets in the container.
RUNTIME_VARIABLES = frozenset({"HOSTNAME", "POD_NAME", "POD_NAMESPACE", "POD_IP", "NODE_NAME",
                               "HOME", "PWD", "HOST_IP", "MY_POD_NAME", "MY_POD_IP"})
#: Container keys whose text the container's own shell runs.
RUN_KEYS = ("command", "args", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle")


def check(context: Context) -> Iterator[Finding]:
    deployment = context.deployment
    by_source: dict[str, list] = {}
    for container in deployment.containers(include_init=True):
        by_source.setdefault(container.workload.source.path, []).append(container)
    for heredoc in deployment.heredocs:
        if heredoc.heredoc.quoted or not heredoc.expansions:
            continue
        generated = heredoc.generated
        reported = []
        for expansion in heredoc.expansions:
            if expansion.value is not None:
                continue
            container = _meant_for(expansion, by_source.get(generated.path, []), generated)
            if container is not None:
                reported.append((expansion, container))
        if not reported:
            continue
        every = len(reported) == len(heredoc.expansions) and not heredoc.escapes
        quote = _quote(heredoc) if every else None
        for expansion, container in reported:
            start = generated.position(expansion.start)
            end = generated.position(expansion.end)
            if quote is not None:
                fix = Fix(f"quote the here-document's delimiter ({quote.content})", [quote])
            else:
                escape = _escape(heredoc, expansion)
                fix = Fix(f"escape {expansion.written} (\\{expansion.written})",
                          [escape]) if escape else None
            yield Finding(
                Span(generated.path, *start, *end),
                f"the unquoted here-document ({heredoc.opener_text}) expands "
                f"{expansion.written} on the machine that runs the script, not in "
                f"{container.where}",
                "quote the delimiter (<<'EOF') or write \\" + expansion.written
                + " so that the container's shell expands it",
                fix=fix)


def _meant_for(expansion, containers, generated):
    """The container whose command, probe or hook holds the expansion, when its name says it
    is the container's (or a command substitution), else None."""
    line, column = generated.position(expansion.start)
    for container in containers:
        for key in RUN_KEYS:
            pos = container.data.value_pos.get(key)
            if pos is None or not _inside((line, column), pos):
                continue
            name = expansion.name
            if name is None and not expansion.written.startswith("$(("):
                return container
            if name in RUNTIME_VARIABLES or name in container.env:
                return container
    return None


def _inside(place: tuple[int, int], pos) -> bool:
    line, column, end_line, end_column = pos
    return (line, column) <= place < (end_line, end_column)


def _quote(heredoc) -> Edit | None:
    """``<<EOF`` -> ``<<'EOF'`` in the file, when the opener is written there as such."""
    start, end = heredoc.opener_offsets
    source = heredoc.map.source
    written = source.text[start:end]
    delimiter = heredoc.heredoc.delimiter
    if not written.endswith(delimiter):
        return None
    new = written[:-len(delimiter)] + f"'{delimiter}'"
    return Edit(source.path, start, end, new, heredoc.opener)


def _escape(heredoc, expansion) -> Edit | None:
    offsets = heredoc.map.offsets
    if not offsets.literal(expansion.start, expansion.end):
        return None
    at = offsets.real(expansion.start)
    source = heredoc.map.source
    if source.text[at:at + len(expansion.written)] != expansion.written:
        return None
    place = Span(source.path, *source.position(at), *source.position(at))
    return Edit(source.path, at, at, "\\", place)
