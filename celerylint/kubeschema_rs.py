"""The fast schema backend: Kubernetes objects validated by jsonschema-rs (Rust).

jsonschema-rs checks the strict Kubernetes schemas about 80 times faster than jsonschema and
reports the same errors at the same paths, but it differs in ways that would show in findings,
each handled here so that a run reports byte-identical findings whichever backend it uses:

- its messages are worded differently, and SARIF/GitLab fingerprints hash the message: they are
  rebuilt in jsonschema's wording from the schema value the error names;
- it refuses mapping keys that are not strings (YAML ``5:``, ``true:``): the object is validated
  as kubectl sends it, JSON, and the error paths are mapped back to the YAML's keys;
- it reads ``.inf``/``.nan`` as a value of no JSON type, and it refuses data nested deeper than
  it follows where jsonschema may not need to descend: such an object is left to jsonschema
  (``Inexact``), which then reports what it reports today (or raises RecursionError);
- it fetches unknown ``$ref`` targets over HTTP by default: its registry holds the bundled
  ``_definitions.json`` and a retriever that refuses, so no validation touches the network.

Errors carry no ``schema``; ``unknown_keys`` tells ``schema_errors.locate`` the unknown fields.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

import jsonschema_rs

from celerylint import kubeschema

#: The ``$id`` of Kubernetes' ``_definitions.json``, when a release of it has none.
DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"


class Inexact(Exception):
    """jsonschema-rs could report this object differently from jsonschema: let jsonschema judge."""


def _refuse(uri: str) -> Any:
    raise OSError(f"celerylint does not fetch schemas ({uri} is not bundled)")


class Validator:
    """A compiled schema, with the schema documents its errors point into."""

    __slots__ = ("check", "documents")

    def __init__(self, check: Any, documents: dict[str, Any]) -> None:
        self.check = check
        self.documents = documents


class Error:
    """A jsonschema-rs error in the shape ``schema_errors.locate`` reads from jsonschema's."""

    __slots__ = ("absolute_path", "validator", "message", "unknown_keys")

    def __init__(self, path: list, keyword: str, message: str, unknown_keys: list | None) -> None:
        self.absolute_path = path
        self.validator = keyword
        self.message = message
        self.unknown_keys = unknown_keys


@lru_cache(maxsize=None)
def _registry(version: str, strict: bool) -> tuple[Any, str]:
    definitions = kubeschema._definitions(version, strict)
    uri = definitions.get("$id", DEFINITIONS_URI)
    return jsonschema_rs.Registry([(uri, definitions)], retriever=_refuse), uri


@lru_cache(maxsize=None)
def validator(path: str, version: str, strict: bool) -> Validator:
    """The compiled schema at ``path`` (any exception here means the jsonschema-rs API changed)."""
    with open(path, encoding="utf-8") as f:
        schema = json.load(f)
    registry, uri = _registry(version, strict)
    check = jsonschema_rs.Draft202012Validator(schema, registry=registry, validate_formats=False)
    return Validator(check, {uri: kubeschema._definitions(version, strict),
                             schema.get("$id", ""): schema})


def _json_key(key: Any) -> str:
    """The key as JSON writes it (``5`` -> ``"5"``, ``True`` -> ``"true"``)."""
    return key if isinstance(key, str) else next(iter(json.loads(json.dumps({key: 0}))))


def _plain(value: Any) -> Any:
    """The object as JSON: string keys, plain containers; Inexact where JSON would change it."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            text = _json_key(key)
            if text in out:
                raise Inexact("two keys are one once written as JSON")
            out[text] = _plain(item)
        return out
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise Inexact("a non-finite number")
    return value


def _original(data: Any, path: Any) -> tuple[list, Any]:
    """The error's path in the YAML's own keys, and the value it names."""
    keys: list = []
    node = data
    for part in path:
        if isinstance(node, dict):
            if part not in node:
                part = next((k for k in node if not isinstance(k, str) and _json_key(k) == part),
                            Inexact)
                if part is Inexact:
                    raise Inexact(f"path {list(path)!r} is not in the object")
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            raise Inexact(f"path {list(path)!r} is not in the object")
        keys.append(part)
    return keys, node


def _keyword_value(validator: Validator, error: Any) -> Any:
    """The schema value (``type``, ``enum``) the error names, from its keyword location."""
    uri, _, pointer = error.absolute_keyword_location.partition("#")
    if uri not in validator.documents:
        raise Inexact(f"no schema at {error.absolute_keyword_location}")
    node = validator.documents[uri]
    for token in pointer.split("/")[1:]:
        token = unquote(token).replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise Inexact(f"no schema at {error.absolute_keyword_location}")
    return node


def _adapt(validator: Validator, error: Any, data: Any) -> Error:
    """jsonschema's message for the keywords Kubernetes schemas use; Inexact for any other."""
    kind = error.kind
    path, instance = _original(data, error.instance_path)
    variant = type(kind).__name__
    unknown = None
    if variant == "Required":
        message = f"{kind.property!r} is a required property"
    elif variant == "Type":
        types = _keyword_value(validator, error)
        types = types if isinstance(types, list) else [types]
        message = f"{instance!r} is not of type {', '.join(repr(t) for t in types)}"
    elif variant == "Enum":
        message = f"{instance!r} is not one of {_keyword_value(validator, error)!r}"
    elif variant == "OneOfNotValid":
        message = f"{instance!r} is not valid under any of the given schemas"
    elif variant == "AdditionalProperties" and isinstance(instance, dict):
        named = set(kind.unexpected)
        unknown = [key for key in instance if _json_key(key) in named]
        extras = sorted(unknown, key=str)
        message = (f"Additional properties are not allowed ({', '.join(map(repr, extras))} "
                   f"{'was' if len(extras) == 1 else 'were'} unexpected)")
    else:
        raise Inexact(f"a {variant} error")
    return Error(path, kind.name, message, unknown)


def errors(validator: Validator, data: Any) -> list[Error]:
    """The object's errors; raises Inexact when jsonschema should judge the object."""
    check = validator.check
    try:
        if check.is_valid(data):  # most objects: one pass in Rust, nothing converted
            return []
    except ValueError:
        pass  # a key that is not a string (judged as JSON below), or "Recursion limit reached"
    try:
        plain = _plain(data)
        found = list(check.iter_errors(plain))
    except (ValueError, RecursionError, TypeError) as exc:  # too deep; a key JSON cannot write
        raise Inexact(str(exc)) from exc
    return [_adapt(validator, error, data) for error in found]
