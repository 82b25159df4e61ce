"""Ansible playbooks and roles: the manifests their tasks apply, read with the variables they use.

A task reaches Kubernetes in several ways, each read here as a manifest whose findings land on
the playbook (or template) line that writes it:

- ``ansible.builtin.shell``/``command`` with a here-document fed to ``kubectl apply -f -``: Jinja
  is rendered first (on the controller), then the text is a ``/bin/sh`` script
  (``carriers.scripts``); an unquoted ``<<EOF`` expands ``$VAR`` on the controller;
- ``kubernetes.core.k8s`` with ``definition:`` (a mapping, or YAML text) or ``template:`` (a
  ``.j2`` file rendered on the controller); ``src:`` files are plain manifests, checked as such;
- ``ansible.builtin.template`` whose source renders a manifest, and ``ansible.builtin.copy`` with
  a manifest as ``content:``.

Variables, lowest precedence first (a subset of Ansible's order, ``playbooks_variables.rst``):
role ``defaults/main``, ``group_vars/all`` beside the playbook or its inventory, play ``vars``,
``vars_files``, role ``vars/main``, block and task ``vars``. Inventories, host vars, facts and
``-e`` values are not read: what they would set is unknown, never guessed (``carriers.jinja``).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from celerylint import sources as src
from celerylint.carriers import jinja, scripts
from celerylint.carriers.embedded import EmbeddedMap, OffsetMap, Piece
from celerylint.parse import yamlnodes
from celerylint.parse.yamlnodes import YList, YMap
from celerylint.sources import Skip, SourceFile

SHELL = frozenset({"shell", "command", "ansible.builtin.shell", "ansible.builtin.command",
                   "ansible.legacy.shell", "ansible.legacy.command"})
K8S = frozenset({"k8s", "kubernetes.core.k8s", "community.kubernetes.k8s"})
TEMPLATE = frozenset({"template", "ansible.builtin.template", "ansible.legacy.template"})
COPY = frozenset({"copy", "ansible.builtin.copy", "ansible.legacy.copy"})
_PLAY_KEYS = ("tasks", "pre_tasks", "post_tasks", "handlers", "roles")
_BLOCKS = ("block", "rescue", "always")
MAX_TASKS = 20_000


@dataclass
class Found:
    """What the playbooks of a run apply: generated YAML sources with their maps, here-document
    manifests, and notices."""

    generated: list[tuple[SourceFile, EmbeddedMap]] = field(default_factory=list)
    heredocs: list[scripts.HeredocManifest] = field(default_factory=list)
    notices: list[Skip] = field(default_factory=list)
    files: list[SourceFile] = field(default_factory=list)  # templates and variable files read


def is_playbook(doc: yamlnodes.Document) -> bool:
    """A list of plays (``hosts:`` with tasks or roles), or a role's task file."""
    data = doc.data
    if not isinstance(data, list) or not data:
        return False
    if all(isinstance(p, dict) and ("hosts" in p or "import_playbook" in p) for p in data):
        return any(isinstance(p, dict) and any(k in p for k in _PLAY_KEYS) for p in data)
    parts = Path(doc.source.abspath or doc.source.path).parts
    return len(parts) >= 3 and parts[-2] in ("tasks", "handlers") and \
        all(isinstance(t, dict) for t in data)


class Reader:
    """Reads the tasks of playbooks and role task files (``read(path)`` reads inside the
    checked tree, as ``sources.read`` does)."""

    def __init__(self, read: Callable[[str], SourceFile | Skip | None]) -> None:
        self.read = read
        self.found = Found()
        self._vars_cache: dict[str, dict] = {}
        self._seen: set[str] = set()  # generated sources made so far
        self.tasks = 0

    def playbook(self, doc: yamlnodes.Document) -> None:
        source = doc.source
        base = posixpath.dirname(source.abspath or "")
        parts = Path(source.abspath or source.path).parts
        if len(parts) >= 3 and parts[-2] in ("tasks", "handlers") and not any(
                isinstance(p, dict) and "hosts" in p for p in doc.data):
            role = posixpath.dirname(base)
            variables = {**self._vars_file(posixpath.join(role, "defaults", "main")),
                         **self._group_vars(posixpath.dirname(posixpath.dirname(role))),
                         **self._vars_file(posixpath.join(role, "vars", "main"))}
            self._tasks(doc.data, source, variables, role)
            return
        for play in doc.data:
            if not isinstance(play, dict):
                continue
            variables = dict(self._group_vars(base))
            roles = [self._role_dir(base, r) for r in play.get("roles") or [] if r]
            for role in roles:
                if role:
                    variables.update(self._vars_file(posixpath.join(role, "defaults", "main")))
            if isinstance(play.get("vars"), dict):
                variables.update(play["vars"])
            for name in play.get("vars_files") or []:
                if isinstance(name, str):
                    variables.update(self._vars_file(posixpath.join(base, name), exact=True))
            for role in roles:
                if role:
                    variables.update(self._vars_file(posixpath.join(role, "vars", "main")))
            for key in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                self._tasks(play.get(key), source, variables, base)

    # -- variables -------------------------------------------------------------------------

    def _role_dir(self, base: str, entry: Any) -> str | None:
        name = entry if isinstance(entry, str) else (
            entry.get("role") or entry.get("name") if isinstance(entry, dict) else None)
        if not isinstance(name, str) or "{{" in name:
            return None
        for folder in (posixpath.join(base, "roles"), posixpath.join(base, "..", "roles")):
            candidate = posixpath.normpath(posixpath.join(folder, name))
            if Path(candidate).is_dir():
                return candidate
        return None

    def _group_vars(self, base: str) -> dict:
        found: dict = {}
        for folder in (base, posixpath.join(base, ".."), posixpath.join(base, "inventory"),
                       posixpath.join(base, "..", "inventory")):
            found = {**self._vars_file(posixpath.join(folder, "group_vars", "all")), **found}
        return found

    def _vars_file(self, path: str, exact: bool = False) -> dict:
        path = posixpath.normpath(path)
        if path in self._vars_cache:
            return self._vars_cache[path]
        self._vars_cache[path] = {}
        for candidate in ([path] if exact else [path + ".yml", path + ".yaml", path]):
            try:
                if not Path(candidate).is_file():
                    continue
            except OSError:
                continue
            read = self.read(candidate)
            if not isinstance(read, SourceFile):
                if isinstance(read, Skip):
                    self.found.notices.append(read)
                return {}
            for item in yamlnodes.load(read):
                if isinstance(item, yamlnodes.Document) and isinstance(item.data, dict):
                    self._vars_cache[path] = dict(item.data)
                    break
            break
        return self._vars_cache[path]

    # -- tasks -----------------------------------------------------------------------------

    def _tasks(self, tasks: Any, source: SourceFile, variables: dict, base: str) -> None:
        if not isinstance(tasks, list):
            return
        for task in tasks:
            self.tasks += 1
            if not isinstance(task, YMap) or self.tasks > MAX_TASKS:
                continue
            scoped = variables
            if isinstance(task.get("vars"), dict):
                scoped = {**variables, **task["vars"]}
            for key in _BLOCKS:
                self._tasks(task.get(key), source, scoped, base)
            resolved = None
            for key, value in task.items():
                if key not in SHELL | K8S | TEMPLATE | COPY:
                    continue
                resolved = resolved or jinja.resolve(scoped)
                self._module(key, value, task, source, resolved, base)

    def _module(self, key: str, value: Any, task: YMap, source: SourceFile, variables: dict,
                base: str) -> None:
        if key in SHELL:
            holder, field_name = (task, key) if isinstance(value, str) else (
                (value, "cmd") if isinstance(value, YMap) and isinstance(value.get("cmd"), str)
                else (None, None))
            if holder is not None:
                self._shell(holder, field_name, source, variables)
        elif key in K8S and isinstance(value, YMap):
            definition = value.get("definition", value.get("resource_definition",
                                                           value.get("inline")))
            if isinstance(definition, str):
                self._yaml_text(value, "definition" if "definition" in value else
                                next(k for k in ("resource_definition", "inline") if k in value),
                                source, variables)
            elif isinstance(definition, (YMap, YList)):
                self._yaml_text_of_node(value, source, variables)
            template = value.get("template")
            path = template.get("path") if isinstance(template, dict) else template
            if isinstance(path, str):
                self._template_file(path, base, variables)
        elif key in TEMPLATE and isinstance(value, YMap) and isinstance(value.get("src"), str):
            self._template_file(value["src"], base, variables)
        elif key in COPY and isinstance(value, YMap) and isinstance(value.get("content"), str):
            self._yaml_text(value, "content", source, variables, manifest_only=True)

    def _shell(self, holder: YMap, key: str, source: SourceFile, variables: dict) -> None:
        text, to_file = scalar(source, holder, key)
        rendered = jinja.render(text, variables)
        if rendered is None or "<<" not in rendered[0]:
            return
        found = scripts.read(rendered[0], rendered[1].then(to_file), source, "task", [], None)
        self.found.heredocs.extend(found.heredocs)

    def _yaml_text(self, holder: YMap, key: str, source: SourceFile, variables: dict,
                   manifest_only: bool = False) -> None:
        text, to_file = scalar(source, holder, key)
        self._generated(text, to_file, source, variables, "definition", manifest_only)

    def _yaml_text_of_node(self, holder: YMap, source: SourceFile, variables: dict) -> None:
        """A ``definition:`` written as YAML in the playbook: its lines, read again as text."""
        key = "definition" if "definition" in holder else next(
            k for k in ("resource_definition", "inline") if k in holder)
        line, _, end_line, _ = holder.value_pos[key]
        start = source.offset(line, 1)
        end = source.offset(end_line, 1) if end_line > line else len(source.text)
        first = source.lines[line - 1]
        if first.rstrip().endswith(":"):  # the value starts on the next line
            start = source.offset(line + 1, 1)
        text = source.text[start:end]
        self._generated(text, OffsetMap.identity(len(text), start), source, variables,
                        "definition", False)

    def _template_file(self, path: str, base: str, variables: dict) -> None:
        if "{{" in path:
            return
        for folder in ("templates", "."):
            candidate = posixpath.normpath(posixpath.join(base, folder, path))
            try:
                if Path(candidate).is_file():
                    break
            except OSError:
                return
        else:
            return
        read = self.read(candidate)
        if isinstance(read, Skip):
            self.found.notices.append(read)
        if not isinstance(read, SourceFile):
            return
        if self._generated(read.text, OffsetMap.identity(len(read.text)), read, variables,
                           "template", True):
            self.found.files.append(read)

    def _generated(self, text: str, to_file: OffsetMap, source: SourceFile, variables: dict,
                   tag: str, manifest_only: bool) -> bool:
        """Read ``text`` (mapped to ``source`` by ``to_file``) as a manifest once rendered;
        whether it is one."""
        if manifest_only and not ("apiVersion" in text and "kind" in text):
            return False  # a configuration file, a script: not a manifest
        rendered = jinja.render(text, variables)
        if rendered is None:
            line = source.position(to_file.real(0))[0]
            self.found.notices.append(Skip(source.path, "Jinja that celerylint does not render "
                                           "(loops, macros, includes), not checked", line))
            return False
        output, offsets = rendered
        if manifest_only and not ("apiVersion" in output and "kind" in output):
            return False
        offsets = offsets.then(to_file)
        line = source.position(to_file.real(0))[0]
        generated = SourceFile(f"{source.path}@{tag}{line}", src.YAML, output, None,
                               project=source.project)
        if generated.path in self._seen:
            return False  # a template applied by two tasks is one manifest
        self._seen.add(generated.path)
        self.found.generated.append((generated, EmbeddedMap(generated, source, offsets,
                                                            _escape_jinja)))
        return True


def _escape_jinja(text: str) -> str | None:
    return None if jinja.has_constructs(text) else text


def scalar(source: SourceFile, holder: YMap, key: str) -> tuple[str, OffsetMap]:
    """A string value and the map of its characters to the file: exact for plain one-line
    scalars and literal block scalars (``|``), one computed piece otherwise."""
    value = holder[key]
    line, column, end_line, end_column = holder.value_pos[key]
    start = source.offset(line, column)
    end = source.offset(end_line, end_column)
    whole = OffsetMap([Piece(0, len(value), start, end, False)])
    written = source.text[start:end]
    if written == value:
        return value, OffsetMap.identity(len(value), start)
    if not written.startswith("|"):
        return value, whole
    lines = source.lines
    rows = value.split("\n")
    content = [n for n in range(line, min(end_line, len(lines))) if lines[n].strip()]
    if not content:
        return value, whole
    indent = len(lines[content[0]]) - len(lines[content[0]].lstrip(" "))
    pieces: list[Piece] = []
    produced = 0
    for row_number, row in enumerate(rows):
        n = line + row_number  # 0-based index of the file line holding this row
        if n >= len(lines):
            break
        text_line = lines[n]
        if row and text_line[indent:] != row:
            return value, whole
        real = source.starts[n] + (indent if row else min(len(text_line), indent))
        length = len(row) + (1 if row_number < len(rows) - 1 else 0)
        pieces.append(Piece(produced, produced + length, real, real + length, True))
        produced += length
    return value, OffsetMap(pieces)
