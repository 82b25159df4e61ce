"""ConfigMaps a script creates with ``kubectl create configmap NAME --from-file=...``.

Deploy scripts often ship a configuration file of the repository (a ``redis.conf``, a
``celeryconfig.py``) as a ConfigMap: ``kubectl create configmap redis-config
--from-file=redis.conf=config/redis.conf -n redis --dry-run=client -o yaml | kubectl apply -f -``.
Such a command becomes a generated ConfigMap manifest whose data values map, line by line, to the
file they come from, so a finding in the configuration (``maxmemory-policy allkeys-lru``) lands on
that file's line. Sources are looked up relative to the script's folder, then to each checked
root (a script is usually run from the repository's top); a source that is not in the checked
tree is not read. ``--from-literal=KEY=VALUE`` values are kept, mapped to the script's command;
``--from-env-file`` and folders given to ``--from-file`` are not read.
"""

from __future__ import annotations

import json
import os
import posixpath
from pathlib import Path
from typing import Callable

from celerylint import sources as src
from celerylint.carriers.embedded import EmbeddedMap, OffsetMap, Piece
from celerylint.parse.shell import SimpleCommand
from celerylint.sources import Skip, SourceFile


def configmaps(commands: list[SimpleCommand], variables_at: list[dict[str, str | None]],
               source: SourceFile, to_file: OffsetMap, roots: list[str],
               read: Callable[[str], SourceFile | Skip | None] | None
               ) -> tuple[list[tuple[SourceFile, EmbeddedMap]], list[SourceFile]]:
    """Generated ConfigMap manifests (with their maps) and the files they read."""
    found: list[tuple[SourceFile, EmbeddedMap]] = []
    files: list[SourceFile] = []
    for command, variables in zip(commands, variables_at):
        created = _parse(command, variables)
        if created is None:
            continue
        name, namespace, from_files, literals = created
        if literals or not from_files or read is None:
            continue  # literal values carry nothing a rule reads today
        entries = []
        for key, path in from_files:
            read_file = _locate(path, source, roots, read)
            if read_file is None:
                break
            entries.append((key or posixpath.basename(path), read_file))
        else:
            for key, read_file in entries:  # one manifest per file: its lines map there
                generated = _manifest(name, namespace, key, read_file, source)
                if generated is not None:
                    found.append(generated)
                    files.append(read_file)
    return found, files


def _parse(command: SimpleCommand, variables: dict[str, str | None]):
    words = [w.text if not w.dynamic else _expand(w.text, variables) for w in command.words]
    if words[:1] and words[0] and words[0].rsplit("/", 1)[-1] in ("k3s", "microk8s"):
        words = words[1:]
    if len(words) < 4 or words[0] is None or words[0].rsplit("/", 1)[-1] not in (
            "kubectl", "oc") or words[1] != "create" or words[2] not in ("configmap", "cm") \
            or words[3] is None:
        return None
    name, namespace = words[3], None
    from_files: list[tuple[str | None, str]] = []
    literals: list[str] = []
    rest = words[4:]
    for i, word in enumerate(rest):
        if word is None:
            continue
        value = None
        for option in ("--from-file", "--from-literal", "-n", "--namespace"):
            if word == option and i + 1 < len(rest):
                value = rest[i + 1]
            elif word.startswith(option + "="):
                value = word[len(option) + 1:]
            else:
                continue
            if value is None:
                return None  # a value the script computes: not read
            if option == "--from-file":
                key, _, path = value.rpartition("=")
                from_files.append((key or None, path))
            elif option == "--from-literal":
                literals.append(value)
            else:
                namespace = value
            break
    return name, namespace, from_files, literals


def _expand(text: str, variables: dict[str, str | None]) -> str | None:
    """``$NAME``/``${NAME}`` when the whole word is one variable the script set, else None."""
    name = text[2:-1] if text.startswith("${") and text.endswith("}") else text[1:]
    return variables.get(name) if text.startswith("$") and name.isidentifier() else None


def _locate(path: str, script: SourceFile, roots: list[str], read) -> SourceFile | None:
    if path.startswith("/") or not script.abspath:
        return None
    for base in [os.path.dirname(script.abspath), *roots]:
        candidate = os.path.normpath(os.path.join(base, path))
        try:
            if not Path(candidate).is_file():
                continue
        except OSError:
            continue
        found = read(candidate)
        return found if isinstance(found, SourceFile) else None
    return None


def _manifest(name: str, namespace: str | None, key: str, data: SourceFile,
              script: SourceFile) -> tuple[SourceFile, EmbeddedMap] | None:
    """``data: {key: |2+ ...}`` holding the file's text, each line mapped to the file."""
    text = data.text
    if not text or any(ord(c) < 32 and c not in "\t\n" for c in text[:100_000]):
        return None
    header = ["apiVersion: v1", "kind: ConfigMap", "metadata:", f"  name: {json.dumps(name)}"]
    if namespace:
        header.append(f"  namespace: {json.dumps(namespace)}")
    header += ["data:", f"  {json.dumps(key)}: |2{'+' if text.endswith(chr(10)) else '-'}", ""]
    produced = "\n".join(header)
    pieces = [Piece(0, len(produced), 0, 0, False)]
    body = text[:-1] if text.endswith("\n") else text
    offset = 0
    for row in body.split("\n"):
        if row:
            produced += "    "
            pieces.append(Piece(len(produced) - 4, len(produced), offset, offset, False))
        pieces.append(Piece(len(produced), len(produced) + len(row) + 1, offset,
                            offset + len(row) + 1, True))
        produced += row + "\n"
        offset += len(row) + 1
    generated = SourceFile(f"{data.path}@{script.path}", src.YAML, produced, None,
                           project=script.project)
    return generated, EmbeddedMap(generated, data, OffsetMap(pieces))
