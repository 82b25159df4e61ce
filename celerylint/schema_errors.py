"""Where a JSON Schema error is written: the YAML position of the value (or key) it names."""

from __future__ import annotations

from typing import Any, Iterator

from celerylint.diagnostics import Span
from celerylint.parse.yamlnodes import YList, YMap
from celerylint.sources import SourceFile


def path_text(path: list) -> str:
    """``spec.template.spec.containers[0]``, or ``(root)``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def _unknown_keys(node: YMap, error) -> list:
    """The keys an additionalProperties error rejects, in the order written."""
    given = getattr(error, "unknown_keys", None)
    if given is not None:  # jsonschema-rs names them (its errors carry no schema)
        return [k for k in node if k in given]
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    return [k for k in node if k not in known and not any(
        isinstance(k, str) and k.startswith(p.strip("^")) for p in patterns)]


def locate(data: Any, source: SourceFile, error) -> Iterator[tuple[Span, str]]:
    """Map a schema error back to the YAML positions of what it names (one per unknown key).

    ``error`` is jsonschema's, or a jsonschema-rs error adapted by celerylint.kubeschema_rs.
    """
    path = list(error.absolute_path)
    node = data
    value_pos = data.pos if isinstance(data, (YMap, YList)) else (1, 1, 1, 1)
    key_pos = None
    for part in path:
        if isinstance(node, YMap) and part in node:
            value_pos, key_pos = node.value_pos[part], node.key_pos[part]
        elif isinstance(node, YList) and isinstance(part, int) and part < len(node):
            value_pos = key_pos = node.item_pos[part]
        else:
            break
        node = node[part]
    if error.validator == "additionalProperties" and isinstance(node, YMap):
        unknown = _unknown_keys(node, error)
        for key in unknown:
            yield (Span(source.path, *node.key_pos[key]),
                   f"{path_text(path + [key])}: unknown field '{key}'")
        if unknown:
            return
    where = key_pos if error.validator == "required" and key_pos else value_pos
    yield Span(source.path, *where), f"{path_text(path)}: {error.message}"
