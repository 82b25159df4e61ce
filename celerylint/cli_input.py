"""What ``celerylint check`` reads besides its paths: standard input named after the file it
holds (``--stdin-filename``), and context read only for its links (``--context``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


def inside(path: str, paths: tuple[str, ...]) -> bool:
    """Whether a reported path is one of ``paths`` or lies under one of them (``-``: what came
    from standard input, ``<stdin>`` or a ``helm template`` part mapped to its template)."""
    if "-" in paths and (path == "<stdin>" or path.endswith("@stdin")):
        return True
    found = os.path.abspath(path)
    for given in paths:
        if given == "-":
            continue
        given = os.path.abspath(given)
        if found == given or found.startswith(given.rstrip(os.sep) + os.sep):
            return True
    return False


def named_stdin(name: str, max_size: int, paths: tuple[str, ...]) -> dict:
    """Standard input as the file ``name`` (overlay: absolute path -> SourceFile), so that the
    file on disk, if any, is read as the editor holds it."""
    from celerylint import discover
    from celerylint import sources as src

    data = sys.stdin.buffer.read(max_size + 1)
    if len(data) > max_size:
        raise click.UsageError("standard input is above the size limit (raise it with "
                               "--max-file-size)")
    real = os.path.realpath(name)
    result = src.from_bytes(src.display_path(Path(name)), "unknown", data, abspath=real)
    if not isinstance(result, src.SourceFile):
        raise click.UsageError(f"standard input ({name}): {result.reason}")
    result.kind = discover.classify(Path(name)) or discover.sniff(Path(name).name, result.text) \
        or src.YAML
    checked = [name if p == "-" else p for p in paths]  # the run's scope, as for a file on disk
    result.project = discover.Scope.of(checked).project_of(real)
    return {real: result}
