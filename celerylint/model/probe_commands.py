"""What an exec probe runs: its command followed the way a container's is.

A Kubernetes ``exec`` probe runs its ``command`` with no shell (the kubelet expands no ``$VAR``);
a compose healthcheck's ``test`` is ``["CMD", ...]`` (no shell), ``["CMD-SHELL", "..."]`` or a
string (both run by ``/bin/sh -c``), after Compose has substituted ``$VAR`` from the shell that
runs ``docker compose`` (``$$`` is a literal ``$``). Either is followed through ``sh -c`` and the
repository's scripts (``celery_status.sh``) by the same resolver as the container's start, so
rules read the probe's commands, each with where it is written, without reading a file.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Iterator

from celerylint.carriers.compose_env import Interpolated, Variables, interpolate
from celerylint.diagnostics import Span
from celerylint.model import Container, Deployment, Probe
from celerylint.model.launch import Hop, Launch, Resolver
from celerylint.model.origins import Origin, YamlArgv
from celerylint.parse import celery_cli
from celerylint.parse.shell import SimpleCommand, Word
from celerylint.parse.yamlnodes import Pos, YList, YMap, locate
from celerylint.sources import SourceFile

DEFAULT_WINDOW = 1.0  # --timeout of celery inspect/status, Control.ping (celery 5.6.3)
#: ``$NAME`` or ``${NAME...}`` that Compose substitutes (``$$`` taken out first).
_COMPOSE_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class HealthcheckText(Origin):
    """One string of a compose ``test`` as written (``$$`` escapes and all): a word of the text
    Compose makes of it is placed through the interpolation, when it was copied unchanged.
    ``done`` None: a word the runtime adds (``/bin/sh -c``), written nowhere."""

    source: SourceFile
    pos: Pos
    raw: str
    done: Interpolated | None
    fallback: Span
    item: tuple[YList, int] | None = None  # its place in a ``["CMD", ...]`` list

    def list_item(self, word: Word) -> tuple[YList, int] | None:
        """A whole ``CMD`` item copied unchanged is edited as a list item, so an inserted
        argument becomes an item of its own (text inserted inside it would be one argument)."""
        if self.item is None or self.done is None or self.done.text != self.raw or \
                word.start != 0 or word.end != len(self.raw):
            return None
        return self.item

    def offsets(self, word: Word) -> tuple[int, int] | None:
        at = self.done.written(word.start, word.end) if self.done is not None else None
        if at is None:
            return None
        pos = locate(self.source, self.pos, self.raw, *at)
        start, end = self.source.offset(pos[0], pos[1]), self.source.offset(pos[2], pos[3])
        if self.source.text[start:end] != self.raw[at[0]:at[1]]:
            return None
        return start, end


def attach(deployment: Deployment, resolver: Resolver) -> None:
    """Give every exec probe of every container its ``launch``; the scripts it reads join the
    sources (findings may point into them)."""
    known = {s.path for s in deployment.sources}
    for container in deployment.containers():
        for probe in container.probes.values():
            if probe.handler != "exec":
                continue
            items = _healthcheck_items(probe) if probe.kind == "healthcheck" else \
                _exec_items(container, probe)
            if not items:
                continue
            image = resolver.built(container) if container.build else \
                resolver.dockerfile_for(container.image, container.workload.source.project)
            launch = Launch(f"the {probe.kind} probe of {container.where}", [],
                            container=container, stage=image[1] if image else None,
                            launcher="probe")
            launch.hops.append(Hop(f"{probe.span.path} probes with {items[-1][0][:60]}",
                                   probe.span))
            resolver.follow_argv(launch, items, image)
            probe.launch = launch
            for script in launch.sources:
                if script.path not in known:
                    known.add(script.path)
                    deployment.sources.append(script)


def _exec_items(container: Container, probe: Probe) -> list[tuple[str, Origin, Word]]:
    """A Kubernetes probe's ``exec.command``, item by item (exec'd with no shell)."""
    handler = probe.data.get("exec")
    command = handler.get("command") if isinstance(handler, YMap) else None
    if not isinstance(command, YList) or not command or \
            not all(isinstance(c, (str, int, float)) and not isinstance(c, bool) for c in command):
        return []
    texts = [str(c) for c in command]
    origin = YamlArgv(container.workload.source, texts, [(command, i) for i in range(len(texts))],
                      probe.span)
    return [(text, origin, Word(text, 0, len(text), i)) for i, text in enumerate(texts)]


def _healthcheck_items(probe: Probe) -> list[tuple[str, Origin, Word]]:
    """A compose ``test`` as the argv Docker runs: ``CMD`` items, or ``/bin/sh -c`` and the text
    of ``CMD-SHELL`` or of a string; each string as Compose interpolates it."""
    source = probe.source
    test = probe.data.get("test")
    if source is None or test is None:
        return []
    places: list[tuple[YList, int] | None]
    if isinstance(test, YList):
        strings = [(t, test.item_pos[i]) for i, t in enumerate(test)]
        if not strings or not all(isinstance(t, str) for t, _ in strings):
            return []
        form, strings = strings[0][0], strings[1:]
        places = [(test, i + 1) for i in range(len(strings))] if form == "CMD" else \
            [None] * len(strings)
        if form not in ("CMD", "CMD-SHELL") or not strings or \
                (form == "CMD-SHELL" and len(strings) != 1):
            return []
    elif isinstance(test, str):
        form, strings = "CMD-SHELL", [(test, probe.data.value_pos["test"])]
        places = [None]
    else:
        return []
    fallback = Span(source.path, *strings[0][1])
    items: list[tuple[str, Origin, Word]] = []
    names: set[str] = set()
    for i, (raw, pos) in enumerate(strings):
        done = interpolate(raw, Variables())
        names.update(_COMPOSE_REFERENCE.findall(raw.replace("$$", "")))
        origin = HealthcheckText(source, pos, raw, done, Span(source.path, *pos), places[i])
        items.append((done.text, origin, Word(done.text, 0, len(done.text), i, done.dynamic)))
    probe.compose_variables = frozenset(names)
    if form == "CMD-SHELL":
        added = HealthcheckText(source, strings[0][1], strings[0][0], None, fallback)
        items = [("/bin/sh", added, Word("/bin/sh", 0, 7, 0)), ("-c", added, Word("-c", 0, 2, 1))] \
            + items
    return items


# -- what a probe asks the workers ------------------------------------------------------------

@dataclass
class Ping:
    """One request to the workers in a probe's command."""

    what: str  # "celery inspect ping", "celery status", "app.control.ping()"
    command: SimpleCommand
    span: Span
    window: float | None  # seconds it waits for replies; None: computed at run time
    window_given: bool
    destination: str | None  # as written; None: not given
    destination_span: Span | None
    fixed_destination: bool  # False: computed by Python (we cannot read it)
    invocation: celery_cli.CeleryInvocation | None = None


def remote_control(commands: list[SimpleCommand], env: set[str]) -> Iterator[Ping]:
    """The remote-control requests of a probe's commands; ``env`` names the variables of the
    container (a probe runs with them), where click reads ``CELERY_INSPECT_TIMEOUT`` ..."""
    for invocation in celery_cli.invocations(commands):
        if invocation.subcommand not in ("inspect", "status") or invocation.open_ended:
            continue
        what = "celery status" if invocation.subcommand == "status" else \
            "celery inspect " + (invocation.positionals[0].text if invocation.positionals else "")
        timeout = invocation.option("timeout")
        window = DEFAULT_WINDOW if timeout is None else _seconds(timeout)
        prefix = f"CELERY_{invocation.subcommand.upper()}_"  # click's auto_envvar_prefix
        if timeout is None and prefix + "TIMEOUT" in env:
            window = None
        destination = invocation.option("destination")
        written = destination.value if destination is not None else \
            ("$" + prefix + "DESTINATION" if prefix + "DESTINATION" in env else None)
        yield Ping(what.strip(), invocation.command, invocation.span(), window,
                   timeout is not None or prefix + "TIMEOUT" in env, written,
                   invocation.span(destination.value_word) if destination is not None and
                   destination.value_word is not None else None, destination is not None,
                   invocation)
    for command in commands:
        texts = [w.text for w in command.words]
        for i, text in enumerate(texts[:-1]):
            if text == "-c" and ".control." in texts[i + 1]:
                yield from _python_pings(command, i + 1)


def _seconds(option) -> float | None:
    if option.value is None or option.dynamic:
        return None
    try:
        value = float(option.value)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _python_pings(command: SimpleCommand, index: int) -> Iterator[Ping]:
    """``app.control.ping(...)`` and ``app.control.inspect(...).ping()`` in a ``-c`` program."""
    word = command.words[index]
    try:
        tree = ast.parse(word.text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "ping"):
            continue
        receiver = node.func.value
        if isinstance(receiver, ast.Attribute) and receiver.attr == "control":
            calls, what = [node], "app.control.ping()"
        elif isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute) and \
                receiver.func.attr == "inspect":
            calls, what = [receiver, node], "app.control.inspect().ping()"
        else:
            continue
        keywords = {k.arg: k.value for call in calls for k in call.keywords if k.arg}
        if node.args:
            keywords.setdefault("destination", node.args[0])
        timeout = keywords.get("timeout")
        window = DEFAULT_WINDOW if timeout is None else (
            float(timeout.value) if isinstance(timeout, ast.Constant) and
            isinstance(timeout.value, (int, float)) and not isinstance(timeout.value, bool)
            else None)
        target = keywords.get("destination")
        fixed = None
        if isinstance(target, (ast.List, ast.Tuple)) and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in target.elts):
            fixed = ",".join(e.value for e in target.elts)
        destination = None if target is None or (isinstance(target, ast.Constant) and
                                                  target.value is None) else (fixed or "...")
        where = command.origin.span(word)
        yield Ping(what, command, where, window, timeout is not None, destination, where,
                   fixed is not None)
