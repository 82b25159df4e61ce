"""Compose service facts read beside ``model/compose.py``: the stop grace period and signal,
and the published ports.

Facts (Compose Specification ``05-services.md``; compose-go ``types/duration.go``):
- ``stop_grace_period`` is a duration (``1m30s``; a number without a unit is refused by
  compose-go's parser); "Default value is 10 seconds" before SIGKILL; ``stop_signal`` defaults
  to SIGTERM;
- ``ports``: the short syntax ``[HOST:]CONTAINER[/PROTOCOL]`` with ``HOST`` = ``[IP:](port |
  range)``, bound to every interface when no IP is given, and a random host port when only the
  container port is given; the long syntax has ``target``, ``published``, ``host_ip``.
"""

from __future__ import annotations

import re
from typing import Any

from celerylint.carriers.compose_env import interpolate
from celerylint.diagnostics import Span
from celerylint.model import Port, StopGrace
from celerylint.parse.yamlnodes import YList, YMap

#: Compose's grace period when ``stop_grace_period`` is not set.
DEFAULT_GRACE = 10.0
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def duration(text: str) -> float | None:
    """A Go duration (``1m30s``, ``500ms``, ``0``) in seconds; None when Compose refuses it."""
    text = text.strip()
    if text == "0":
        return 0.0
    total, end = 0.0, 0
    for match in _DURATION.finditer(text):
        if match.start() != end:
            return None
        total += float(match.group(1)) * _UNITS[match.group(2)]
        end = match.end()
    return total if end == len(text) and end else None


def stop_grace(fields, home) -> StopGrace:
    """The service's grace period through its layers (``home``: the layer that defines it)."""
    found = fields.text("stop_grace_period")
    signal = fields.text("stop_signal")
    grace = StopGrace(DEFAULT_GRACE, "stop_grace_period", home.source, home.data)
    if found is not None:
        value, mapping, layer = found
        grace = StopGrace(None if value.dynamic else duration(value.text), "stop_grace_period",
                          layer.source, mapping,
                          Span(layer.source.path, *mapping.value_pos["stop_grace_period"]))
    if signal is not None and not signal[0].dynamic:
        value, mapping, layer = signal
        grace.signal = value.text.strip().upper()
        grace.signal_span = Span(layer.source.path, *mapping.value_pos["stop_signal"])
    return grace


def ports(fields) -> list[Port]:
    """``ports`` of every layer (from the last ``!reset`` on), in the order they are written."""
    found: list[Port] = []
    for value, layer in fields.layered("ports"):
        for item, pos in zip(value, value.item_pos) if isinstance(value, YList) else ():
            port = _port(item, layer.variables, Span(layer.source.path, *pos))
            if port is not None:
                found.append(port)
    return found


def _port(item: Any, variables, where: Span) -> Port | None:
    if isinstance(item, YMap):
        target = _text(item.get("target"), variables)
        published = _text(item.get("published"), variables)
        host_ip = _text(item.get("host_ip"), variables)
        dynamic = any(t is not None and t[1] for t in (target, published, host_ip))
        name = item.get("name")
        return Port(_number(target[0]) if target else None, where,
                    name if isinstance(name, str) else None,
                    published[0] if published else None,
                    host_ip[0] or None if host_ip else None, dynamic)
    text = _text(item, variables)
    if text is None:
        return None
    spec, dynamic = text
    spec = spec.split("/", 1)[0]
    parts = spec.rsplit(":", 2)
    container = parts[-1]
    host_ip = parts[0] if len(parts) == 3 else None
    published = parts[-2] if len(parts) >= 2 else ""  # only the container port: a random one
    if host_ip is not None:
        host_ip = host_ip.strip("[]") or None
    return Port(_number(container), where, None, published, host_ip, dynamic)


def _text(value: Any, variables) -> tuple[str, bool] | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    done = interpolate(str(value), variables)
    return done.text, done.dynamic


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None
