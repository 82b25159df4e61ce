"""invalid-compose-file: a compose file that Docker Compose would refuse to load.

## What it finds
A compose file (`compose.yaml`, `docker-compose*.yml`, an override, a file it extends or
includes) that breaks the Compose Specification's schema: an unknown key (`enviroment:`,
`deploy.replica`), a value of the wrong type (`ports: 8000`, a mapping where a list belongs),
an `x-` extension in the wrong place. Each error is reported at the offending key or value. A
string `command` that Compose cannot split (a bare `(`) is reported here too.

## Symptoms
`docker compose up` stops before starting anything: `services.worker additional properties
'enviroment' not allowed`, `services.worker.ports must be a list`, or `invalid command line
string`.

## Why
Compose validates every file against the specification's JSON Schema before it merges them
(compose-go `loader`, `schema.Validate`); nothing is started until they all pass. A file that
another only `extends` is not validated as a whole. A misspelt key
that a reader takes for a setting (`read-only: true`) is not applied at all.

## Fix
Correct the key or value at the reported position. No automatic fix: the intended spelling is
yours to say.

## When it stays silent
Values written as `${VARIABLES}` (the schema allows a string wherever interpolation may give a
number or a boolean); `x-` keys at the top level and in services; compose files that are not
valid YAML (those are `parse-error`).

## References
- The schema Docker Compose validates with: compose-go v2.13.0 `schema/compose-spec.json`
  (compose-spec/compose-go @e70e961, Apache-2.0, bundled as `celerylint/data/compose-spec.json`)
- compose-go `loader/loader.go` (each file is validated once interpolated, included and merged;
  an `extends` base only lends one service), `types/command.go` (go-shellwords)
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Iterator

from celerylint.diagnostics import Finding, Severity, Span
from celerylint.engine import Context
from celerylint.parse import shellwords
from celerylint.rules_support import compose_command_strings
from celerylint.carriers.compose import tagged
from celerylint.parse.yamlnodes import YMap
from celerylint.schema_errors import locate

CODE = "CL004"
NAME = "invalid-compose-file"
SEVERITY = Severity.ERROR
SUMMARY = "a compose file that Docker Compose refuses: it breaks the Compose Specification"


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    with resources.files("celerylint.data").joinpath("compose-spec.json").open(
            encoding="utf-8") as stream:
        return jsonschema.Draft202012Validator(json.load(stream))


def check(context: Context) -> Iterator[Finding]:
    if not context.deployment.compose_files:
        return  # and jsonschema is not imported
    from jsonschema.exceptions import best_match

    for source, data in context.deployment.compose_files:
        seen: set[tuple] = set()
        try:
            errors = list(_validator().iter_errors(data))
        except RecursionError:
            continue  # nested deeper than the validator can follow: not judged
        for error in errors:
            error = best_match([error])
            if _reset(source, data, list(error.absolute_path)):
                continue  # Compose drops a `!reset` value before it validates
            for where, message in locate(data, source, error):
                if (where, message) not in seen:
                    seen.add((where, message))
                    yield Finding(where, f"{message}", "Docker Compose refuses to load the file "
                                  "(Compose Specification schema)")
    for source, service, key, text, pos in compose_command_strings(context.deployment):
        try:
            shellwords.split(text)
        except shellwords.InvalidCommandLine as exc:
            yield Finding(Span(source.path, *pos), f"services.{service}.{key}: {exc}: Compose "
                          "refuses it",
                          "Compose splits a string command itself; write the command as a list, "
                          "or quote the parentheses (a shell needs `sh -c '...'`)")


def _reset(source, data, path: list) -> bool:
    """Whether a value on ``path`` is written ``!reset`` (Compose removes it while reading)."""
    node = data
    for part in path:
        if not isinstance(node, YMap) or part not in node:
            return False
        if tagged(source, node, part, "!reset"):
            return True
        node = node[part]
    return False
