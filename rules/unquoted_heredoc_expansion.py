r"""unquoted-heredoc-expansion: a here-document manifest expands the container's variables at deploy time.

## What it finds
A manifest written in a script's here-document with an unquoted delimiter (`<<EOF`, also in an
Ansible `shell` task) that is fed to `kubectl apply|create|replace -f -`, where

- a command line, probe or `lifecycle` hook that the container runs through a shell
  (`sh -c ...`) holds an expansion meant for the container: `$HOSTNAME`, `$POD_NAME`,
  `$POD_IP`, `$NODE_NAME`, `$HOME`, a variable the container's own `env` defines, or a command
  substitution (`$(date)`, backquotes); or
- a `command`, `args` or handler uses Kubernetes' own `$(VAR)` substitution of a variable the
  container defines (`--basic-auth=admin:$(FLOWER_PASSWORD)`): the deploying shell runs
  `FLOWER_PASSWORD` as a command, and Kubernetes gets an empty string.

The script does not set those variables itself.

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
- variables the script sets from a command (`POD=$(kubectl get pods ...)`): deploy-time values;
- other variables of the deploying machine's environment (`$IMAGE_TAG`, `$DOMAIN`), and
  expansions outside commands, probes and hooks (an image tag, a namespace, labels);
- `$HOSTNAME` in an exec-form command with no shell (`["celery", "-n", "w@$HOSTNAME"]`): no
  shell would expand it in the container either, so quoting would not fix it;
- a here-document whose delimiter line never comes gets the finding but no fix;
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
from celerylint.parse import shell
from celerylint.rules_support import place

CODE = "CL005"
NAME = "unquoted-heredoc-expansion"
SEVERITY = Severity.ERROR
SUMMARY = "an unquoted here-document expands the container's variables on the deploying machine"
FIXABLE = True

#: Variables the container runtime (or the usual downward-API wiring) sets in the container.
RUNTIME_VARIABLES = frozenset({"HOSTNAME", "POD_NAME", "POD_NAMESPACE", "POD_IP", "NODE_NAME",
                               "HOME", "PWD", "HOST_IP", "MY_POD_NAME", "MY_POD_IP"})
#: Container keys whose handlers run commands (``exec``) in the container.
HANDLER_KEYS = ("livenessProbe", "readinessProbe", "startupProbe", "lifecycle")


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
            if expansion.value is not None or expansion.assigned:
                continue  # the script sets it: expanding it there is the point
            found = _meant_for(expansion, by_source.get(generated.path, []), generated)
            if found is not None:
                reported.append((expansion, *found))
        if not reported:
            continue
        # quoting keeps every expansion: right only when all of them were the container's,
        # and when no backslash escape would change meaning (and the delimiter line comes)
        every = len(reported) == len(heredoc.expansions) and not heredoc.escapes and \
            heredoc.heredoc.closed
        quote = _quote(heredoc) if every else None
        for expansion, container, substitution in reported:
            start = generated.position(expansion.start)
            end = generated.position(expansion.end)
            written = _shown(expansion.written)
            if quote is not None:
                fix = Fix(f"quote the here-document's delimiter ({quote.content})", [quote])
            else:
                escape = _escape(heredoc, expansion) if heredoc.heredoc.closed else None
                fix = Fix(f"escape {written} (\\{written})", [escape]) if escape else None
            if substitution:
                what = f"runs {written} on the deploying machine, not in {place(container)}"
            else:
                what = f"expands {written} on the deploying machine, not in {place(container)}"
            yield Finding(
                Span(generated.path, *start, *end),
                f"the unquoted here-document ({_shown(heredoc.opener_text)}) {what}",
                "quote the delimiter (<<'EOF') or write \\" + written
                + (" so that Kubernetes substitutes it (the shell that runs the script runs "
                   f"{expansion.written[2:-1]} instead)" if substitution else
                   " so that the container's shell expands it"),
                fix=fix)


def _shown(text: str) -> str:
    """One line, short: what messages quote of the script."""
    line = text.split("\n", 1)[0]
    return line if len(line) <= 40 and line == text else line[:37] + "..."


def _meant_for(expansion, containers, generated):
    """``(container, substitution)`` when the expansion was meant for a container: a
    Kubernetes ``$(VAR)`` substitution of a variable the container defines (in any
    command), or, in a command that a shell of the container runs (``sh -c``), a variable the
    runtime or the container's ``env`` sets, or a command substitution; else None."""
    place = generated.position(expansion.start)
    name = expansion.name
    written = expansion.written
    for container in containers:
        for key, pos, shell_run in _run_places(container):
            if not _inside(place, pos):
                continue
            inner = written[2:-1] if written.startswith("$(") and written.endswith(")") else ""
            if inner.isidentifier() and inner in container.env:
                return container, True
            if not shell_run:
                continue
            if name is None and not written.startswith("$(("):
                return container, False
            if name in RUNTIME_VARIABLES or name in container.env:
                return container, False
    return None


def _run_places(container):
    """``(key, span, run by a shell)`` of the container's command line, probes and hooks."""
    data = container.data
    argv_shell = shell.shell_script(container.argv) is not None
    for key in ("command", "args"):
        if key in data.value_pos:
            yield key, data.value_pos[key], argv_shell
    for key in HANDLER_KEYS:
        value = data.get(key)
        if key in data.value_pos and isinstance(value, dict):
            yield key, data.value_pos[key], any(
                isinstance(command, list) and shell.shell_script([str(w) for w in command])
                is not None for command in _exec_commands(value))


def _exec_commands(value: dict):
    """The ``exec.command`` lists of a probe or of a lifecycle hook's handlers."""
    for handler in [value, *(v for v in value.values() if isinstance(v, dict))]:
        exec_ = handler.get("exec")
        if isinstance(exec_, dict):
            yield exec_.get("command")


def _inside(place: tuple[int, int], pos) -> bool:
    line, column, end_line, end_column = pos
    return (line, column) <= place < (end_line, end_column)


def _quote(heredoc) -> Edit | None:
    """``<<EOF`` -> ``<<'EOF'`` in the file, when the opener is written there as such."""
    start, end = heredoc.opener_offsets
    source = heredoc.map.source
    written = source.text[start:end]
    delimiter = heredoc.heredoc.delimiter
    if written != heredoc.opener_text or not written.endswith(delimiter):
        return None  # not written as such in the file (a computed or escaped scalar)
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
