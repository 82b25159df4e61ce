"""Helm charts, rendered by Helm's own engine, offline.

A directory with ``Chart.yaml`` is a chart. It is rendered with the ``helm`` binary when one is
on ``PATH`` (``helm template``), else with the ``helm-python-sdk`` package (Helm's Go SDK in a
wheel: ``pip install 'celerylint[helm]'``); with neither, the chart is a notice, never an error.
No cluster and no network: ``lookup`` returns nothing, dependencies missing from ``charts/`` are
a notice and the chart renders without them. Each value set (the chart's ``values.yaml``, then
``--helm-values`` files and ``--helm-set`` values, or the sets the configuration names for the
chart) is rendered once per run, and each rendered template becomes a generated source whose
source map (``HelmMap``) moves findings to the template line, with the values key as a related
location, and keeps a fix only where its text is literal in the template or is one values key.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from celerylint import sources as src
from celerylint.carriers.templatemap import TemplateMap
from celerylint.diagnostics import Edit, Related, Span
from celerylint.model.sourcemap import SourceMap
from celerylint.parse import yamlnodes
from celerylint.sources import Skip, SourceFile

RENDER_TIMEOUT = 120


@dataclass
class ValueSet:
    """How a chart is deployed once: values files (after the chart's own), ``--set`` values,
    release name and namespace."""

    name: str = ""
    files: list[str] = field(default_factory=list)
    sets: list[str] = field(default_factory=list)
    release: str | None = None
    namespace: str | None = None


@dataclass
class HelmOptions:
    """What the command line and the configuration say about charts."""

    values: ValueSet = field(default_factory=ValueSet)  # for every chart checked
    charts: dict[str, list[ValueSet]] = field(default_factory=dict)  # chart path -> its sets


@dataclass
class Rendered:
    """One chart rendered with one value set: generated sources, their maps, and the chart's
    files that fixes and suppressions work on."""

    generated: list[SourceFile] = field(default_factory=list)
    maps: list[SourceMap] = field(default_factory=list)
    files: list[SourceFile] = field(default_factory=list)
    notices: list[Skip] = field(default_factory=list)


def engine() -> str | None:
    """``"binary"`` (helm on PATH), ``"sdk"`` (helm-python-sdk importable) or None."""
    if shutil.which("helm"):
        return "binary"
    import importlib.util

    return "sdk" if importlib.util.find_spec("helm_python") is not None else None


def render(chart: Path, options: HelmOptions, scope, max_size: int, overlay) -> Rendered:
    """Every value set of one chart, rendered, as generated sources with their maps."""
    out = Rendered()
    shown = src.display_path(chart)
    files = _chart_files(chart, scope, max_size, overlay, out)
    if files is None:
        return out
    how = engine()
    if how is None:
        out.notices.append(Skip(shown, "a Helm chart, not rendered: install helm, or "
                                       "`pip install 'celerylint[helm]'`; not checked"))
        return out
    name = _chart_name(files.get("Chart.yaml")) or chart.name
    sets = _value_sets(chart, options)
    missing = _missing_dependencies(chart, files.get("Chart.yaml"))
    if missing:
        out.notices.append(Skip(shown, f"chart dependencies missing from charts/ ({', '.join(missing)}):"
                                       " rendered without them (`helm dependency build` adds them)"))
    for value_set in sets:
        values, value_sources, problem = _values(chart, value_set, files, scope, max_size, overlay)
        label = value_set.name if len(sets) > 1 else ""
        if problem:
            out.notices.append(Skip(shown, problem))
            continue
        try:
            texts = _render_cached(how, _digest(files), _freeze(values),
                                   value_set.release or name, value_set.namespace or "default",
                                   _Files(files, tuple(missing)))
        except RenderError as exc:
            out.notices.append(Skip(shown, f"not rendered ({exc}): not checked"))
            continue
        for key, text in texts:
            _add(out, chart, key, text, files, value_sources, label)
    out.files = list(files.values())
    return out


class RenderError(Exception):
    pass


def _chart_files(chart: Path, scope, max_size: int, overlay, out: Rendered
                 ) -> dict[str, SourceFile] | None:
    """The chart's text files read through the scope gate, by path relative to the chart."""
    files: dict[str, SourceFile] = {}
    for directory, dirnames, filenames in os.walk(chart):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            path = Path(directory, filename)
            relative = path.relative_to(chart).as_posix()
            if relative.endswith((".tgz", ".tar.gz")):  # a packaged subchart: bytes, as read
                data = src.read_bytes(os.path.realpath(path), max_size) \
                    if scope.contains(path) else src.OUTSIDE
                if isinstance(data, bytes):
                    files[relative] = SourceFile(relative, "archive", "", None,
                                                 digest=hashlib.sha256(data).hexdigest())
                    files[relative].__dict__["_bytes"] = data
                continue
            result = src.read(path, src.TEMPLATE, max_size, overlay, scope)
            if isinstance(result, SourceFile):
                result.kind = src.TEMPLATE
                files[relative] = result
            elif isinstance(result, Skip) and relative in ("Chart.yaml", "values.yaml"):
                out.notices.append(result)
    if "Chart.yaml" not in files:
        out.notices.append(Skip(src.display_path(chart), "Chart.yaml cannot be read: not checked"))
        return None
    return files


def _chart_name(chart_yaml: SourceFile | None) -> str | None:
    for item in yamlnodes.load(chart_yaml) if chart_yaml else ():
        if isinstance(item, yamlnodes.Document) and isinstance(item.data, dict):
            name = item.data.get("name")
            return name if isinstance(name, str) else None
    return None


def _missing_dependencies(chart: Path, chart_yaml: SourceFile | None) -> list[str]:
    """Dependencies of Chart.yaml that are neither a folder nor an archive in ``charts/``."""
    missing = []
    for item in yamlnodes.load(chart_yaml) if chart_yaml else ():
        dependencies = item.data.get("dependencies") if isinstance(item, yamlnodes.Document) \
            and isinstance(item.data, dict) else None
        for dependency in dependencies if isinstance(dependencies, list) else []:
            name = dependency.get("name") if isinstance(dependency, dict) else None
            if not isinstance(name, str):
                continue
            charts = chart / "charts"
            present = (charts / name).is_dir() or any(charts.glob(f"{name}-*.tgz"))
            if not present:
                missing.append(name)
    return missing


def _value_sets(chart: Path, options: HelmOptions) -> list[ValueSet]:
    """The configuration's sets for this chart, else one set from the command line."""
    for path, sets in options.charts.items():
        if os.path.realpath(path) == os.path.realpath(chart) and sets:
            return sets
    return [options.values]


def _values(chart: Path, value_set: ValueSet, files: dict[str, SourceFile], scope, max_size: int,
            overlay) -> tuple[dict, list[tuple[SourceFile, Any]], str]:
    """The values given to the engine over the chart's defaults (files, then ``--set``), and
    every values file with its parsed mapping (the chart's own first), for source maps."""
    sources: list[tuple[SourceFile, Any]] = []
    default = files.get("values.yaml")
    if default is not None:
        sources.append((default, _mapping(default)))
    merged: dict = {}
    for name in value_set.files:
        path = Path(name) if os.path.isabs(name) else Path.cwd() / name
        result = src.read(path, src.TEMPLATE, max_size, overlay, scope)
        if not isinstance(result, SourceFile):
            return {}, [], f"values file {name}: {getattr(result, 'reason', 'cannot be read')}"
        data = _mapping(result)
        sources.append((result, data))
        merged = merge(merged, data)
    for expression in value_set.sets:
        try:
            merged = merge(merged, _parse_set(expression))
        except ValueError as exc:
            return {}, [], f"--helm-set {expression}: {exc}"
    return merged, sources, ""


def _mapping(source: SourceFile) -> Any:
    for item in yamlnodes.load(source):
        return item.data if isinstance(item, yamlnodes.Document) else {}
    return {}


def merge(base: dict, override: Any) -> dict:
    """Helm's coalescing: mappings merge key by key, anything else replaces."""
    if not isinstance(override, dict):
        return base
    out = dict(base)
    for key, value in override.items():
        out[key] = merge(out[key], value) if isinstance(out.get(key), dict) and \
            isinstance(value, dict) else value
    return out


def _parse_set(expression: str) -> dict:
    """``a.b=1,c=x`` as Helm's ``--set`` reads it (scalars typed as YAML reads them)."""
    import yaml

    result: dict = {}
    for part in expression.split(","):
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise ValueError("expected key=value")
        target = result
        *parents, last = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        try:
            target[last] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError:
            target[last] = value
    return result


def _digest(files: dict[str, SourceFile]) -> str:
    return hashlib.sha256("\0".join(f"{k}\0{v.digest}" for k, v in sorted(files.items()))
                          .encode()).hexdigest()


def _freeze(values: Any) -> str:
    import json

    return json.dumps(values, sort_keys=True, default=str)


class _Files:
    """A chart's files as read (and edited in memory), compared by their digest only: the render
    cache's key is the content, the files are what a render writes out."""

    def __init__(self, files: dict[str, SourceFile], missing: tuple[str, ...] = ()) -> None:
        self.files, self.key, self.missing = files, _digest(files), missing

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other) -> bool:
        return isinstance(other, _Files) and other.key == self.key

    def write(self, root: str) -> str:
        """The chart as a folder of its own: only the files read inside the checked tree (no
        symlink is followed out of it), with their edited text."""
        directory = os.path.join(root, "chart")  # never a name read from the chart
        for relative, source in self.files.items():
            path = Path(directory, relative)
            path.parent.mkdir(parents=True, exist_ok=True)
            data = source.__dict__.get("_bytes")
            path.write_bytes(data if data is not None else source.encode(source.text, source.eols))
        if self.missing:  # helm refuses a chart whose dependencies are missing: render without
            self._drop_dependencies(Path(directory, "Chart.yaml"))
        return directory

    def _drop_dependencies(self, chart_yaml: Path) -> None:
        import yaml

        try:
            data = yaml.safe_load(chart_yaml.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            return
        if isinstance(data, dict) and isinstance(data.get("dependencies"), list):
            data["dependencies"] = [d for d in data["dependencies"]
                                    if not (isinstance(d, dict) and d.get("name") in self.missing)]
            chart_yaml.write_text(yaml.safe_dump(data), encoding="utf-8")


@lru_cache(maxsize=64)
def _render_cached(how: str, digest: str, values: str, release: str, namespace: str,
                   files: _Files) -> tuple[tuple[str, str], ...]:
    """``(template path in the chart, rendered text)`` pairs, once per chart content and value
    set in a run (the fix passes lint again and again). The engine reads a copy of the files
    celerylint read, never the chart folder itself."""
    import json

    scratch = tempfile.mkdtemp(prefix="celerylint-chart-")
    try:
        directory = files.write(scratch)
        texts = _sdk(directory, json.loads(values), release, namespace) if how == "sdk" else \
            _binary(directory, json.loads(values), release, namespace)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return tuple((_relative(key), text) for key, text in texts
                 if text.strip() and not key.endswith("NOTES.txt"))


def _relative(key: str) -> str:
    """``shop/templates/x.yaml`` -> ``templates/x.yaml`` (subcharts keep ``charts/...``)."""
    return key.split("/", 1)[1] if "/" in key else key


def _sdk(directory: str, values: dict, release: str, namespace: str) -> list[tuple[str, str]]:
    import helm_python

    try:
        with helm_python.Chart.load(directory) as chart:
            return list(chart.render(values or None, name=release, namespace=namespace).items())
    except helm_python.HelmError as exc:
        raise RenderError(str(exc).splitlines()[0][:300]) from None


def _binary(directory: str, values: dict, release: str, namespace: str) -> list[tuple[str, str]]:
    import json

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(values, handle)
    try:
        done = subprocess.run(["helm", "template", release, directory, "--namespace", namespace,
                               "--values", handle.name, "--include-crds"],
                              capture_output=True, text=True, timeout=RENDER_TIMEOUT,
                              env={**os.environ, "HELM_NO_PLUGINS": "1"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(str(exc)) from None
    finally:
        os.unlink(handle.name)
    if done.returncode != 0:
        raise RenderError(done.stderr.strip().splitlines()[-1][:300] if done.stderr.strip()
                          else f"helm exited {done.returncode}")
    return split_sources(done.stdout)


def split_sources(stream: str) -> list[tuple[str, str]]:
    """``helm template`` output as ``(source path, text)`` per template, documents joined in
    the order they appear (the output is sorted by kind, not by file)."""
    blocks: dict[str, list[str]] = {}
    current = None
    for document in stream.split("\n---"):
        body = document.lstrip("-\n")
        first, _, rest = body.partition("\n")
        if first.startswith("# Source: "):
            current = first[len("# Source: "):].strip()
            blocks.setdefault(current, []).append(rest)
        elif current is not None and body.strip():
            blocks[current].append(body)
    return [(path, "\n---\n".join(parts)) for path, parts in blocks.items()]


def _add(out: Rendered, chart: Path, key: str, text: str, files: dict[str, SourceFile],
         value_sources: list[tuple[SourceFile, Any]], label: str) -> None:
    template = files.get(key)
    shown = template.path if template is not None else src.display_path(chart / key)
    # each value set is a deployment of its own: its objects never meet another set's
    project = (template.project if template else "") + (f"@{label}" if label else "")
    generated = SourceFile(f"{shown}@{label or 'rendered'}", src.YAML, text, None, project=project)
    out.generated.append(generated)
    out.maps.append(HelmMap(generated, template, TemplateMap(template.text, text)
                            if template is not None else None, value_sources, label,
                            files.get("Chart.yaml")))


class HelmMap(SourceMap):
    """A rendered template's lines, moved to the template (and the values it reads)."""

    def __init__(self, generated: SourceFile, template: SourceFile | None,
                 lines: TemplateMap | None, values: list[tuple[SourceFile, Any]], label: str,
                 chart_yaml: SourceFile | None, source: str | None = None) -> None:
        self.generated = generated.path
        self.real = template.path if template is not None else ""
        self.rendered = generated
        self.source = source  # the `# Source:` path of helm template output on stdin
        self.template = template
        self.lines = lines
        self.values = values
        self.label = label
        self.fallback = template or chart_yaml

    def span(self, span: Span) -> Span:
        if self.lines is None or self.template is None:
            if self.source is not None:  # a chart not in the checked tree: the part's own lines
                return Span(self.source, span.line, span.column, span.end_line, span.end_column)
            path = self.fallback.path if self.fallback else span.path.rsplit("@", 1)[0]
            return Span(path, 1, 1, 1, 1)
        first, last = self.lines.origin(span.line), self.lines.origin(span.end_line)
        text = self.template.lines[first.line - 1] if first.line <= len(self.template.lines) else ""
        if first.literal and last.literal and last.line - first.line == span.end_line - span.line:
            return Span(self.template.path, first.line, span.column, last.line, span.end_column)
        if span.line == span.end_line:
            columns = self._columns(span.line, span.column, span.end_column)
            if columns is not None:
                return Span(self.template.path, first.line, columns[0], first.line, columns[1])
        indent = len(text) - len(text.lstrip())
        return Span(self.template.path, first.line, indent + 1, first.line, len(text.rstrip()) + 1)

    def _columns(self, line: int, column: int, end_column: int) -> tuple[int, int] | None:
        """Template columns of a range of a rendered construct line that lies inside one
        literal stretch of it (between its ``{{ }}``), else None."""
        piece = self._piece(line, column, end_column)
        if piece is None or not piece.literal:
            return None
        shift = piece.template_start - piece.start
        return column + shift, end_column + shift

    def _piece(self, line: int, column: int, end_column: int):
        """The stretch of a rendered construct line holding the range, if one holds all of it."""
        if self.lines is None or line > len(self.rendered.lines):
            return None
        for piece in self.lines.pieces(line, self.rendered.lines[line - 1]):
            if piece.start <= column - 1 and end_column - 1 <= piece.end:
                return piece
        return None

    def related(self, span: Span) -> list[Related]:
        if self.lines is None:
            return []
        keys = self.lines.origin(span.line).values
        if span.line == span.end_line and self.template is not None:
            piece = self._piece(span.line, span.column, span.end_column)
            if piece is not None:  # a stretch of a construct line: only its own construct's
                keys = piece.values
        found = []
        for key in keys[:2]:
            place = self._values_place(key)
            if place is not None:
                found.append(Related(place, f"the value of {key}" + (
                    f" (values: {self.label})" if self.label else "")))
        return found

    def _values_place(self, key: str) -> Span | None:
        """Where the effective value of ``key`` is written: the last values file setting it."""
        for source, data in reversed(self.values):
            node, pos = data, None
            for part in key.split("."):
                if not isinstance(node, dict) or part not in node:
                    node = None
                    break
                pos, node = node.key_pos.get(part), node[part]
            if node is not None and pos is not None:
                return Span(source.path, *pos)
        return None

    def edit(self, edit: Edit) -> Edit | None:
        if self.lines is None or self.template is None:
            return None
        line, column = edit.span.line, edit.span.column
        end_line = edit.span.end_line
        rows = range(line - (1 if column == 1 and line > 1 else 0), end_line + 1)
        origins = [self.lines.origin(r) for r in rows]
        if line == end_line and not self.lines.origin(line).literal:
            columns = self._columns(line, column, edit.span.end_column)
            if columns is not None:
                template_line = self.lines.origin(line).line
                start = self.template.offset(template_line, columns[0])
                end = self.template.offset(template_line, columns[1])
                return Edit(self.template.path, start, end, edit.content,
                            Span(self.template.path, template_line, columns[0], template_line,
                                 columns[1]))
        if not origins or not all(o.literal for o in origins) or any(
                b.line - a.line != 1 for a, b in zip(origins, origins[1:])):
            return self._values_edit(edit)
        start_line = self.lines.origin(line).line
        stop_line = self.lines.origin(end_line).line
        start = self.template.offset(start_line, column)
        end = self.template.offset(stop_line, edit.span.end_column)
        return Edit(self.template.path, start, end, edit.content,
                    Span(self.template.path, start_line, column, stop_line, edit.span.end_column))

    def _values_edit(self, edit: Edit) -> Edit | None:
        """A fix that replaces a scalar read from one values key becomes an edit of that key."""
        origin = self.lines.origin(edit.span.line)
        if edit.span.line != edit.span.end_line or len(origin.values) != 1 or \
                edit.start == edit.end or "\n" in edit.content:
            return None
        key = origin.values[0]
        for source, data in reversed(self.values):
            node = data
            for part in key.split(".")[:-1]:
                node = node.get(part) if isinstance(node, dict) else None
            last = key.split(".")[-1]
            if isinstance(node, dict) and last in node and not isinstance(node[last], (dict, list)):
                old = self.rendered.text[edit.start:edit.end].strip("'\"")
                if old != str(node[last]).lower() and old != str(node[last]):
                    return None  # the template computes the text from the value: not one key
                pos = node.value_pos[last]
                start, end = source.offset(pos[0], pos[1]), source.offset(pos[2], pos[3])
                return Edit(source.path, start, end, edit.content, Span(source.path, *pos))
        return None


def find_template(key: str, scope, max_size: int, overlay
                  ) -> tuple[SourceFile | None, list[tuple[SourceFile, Any]]]:
    """The template file (and the chart's values) behind a ``# Source: chart/templates/x.yaml``
    path, when a chart of that name is in the checked tree."""
    chart_name, _, rest = key.partition("/")
    for chart in _charts_in(tuple(str(r) for r in scope.roots)):
        path = Path(chart)
        if path.name != chart_name:
            chart_yaml = src.read(path / "Chart.yaml", src.TEMPLATE, max_size, overlay, scope)
            if not isinstance(chart_yaml, SourceFile) or _chart_name(chart_yaml) != chart_name:
                continue
        template = src.read(path / rest, src.TEMPLATE, max_size, overlay, scope)
        if isinstance(template, SourceFile):
            values = src.read(path / "values.yaml", src.TEMPLATE, max_size, overlay, scope)
            return template, [(values, _mapping(values))] if isinstance(values, SourceFile) else []
    return None, []


@lru_cache(maxsize=16)
def _charts_in(roots: tuple[str, ...]) -> tuple[str, ...]:
    """Chart directories in the checked tree (at most four levels down)."""
    found = []
    for root in roots:
        for directory, dirnames, filenames in os.walk(root):
            if "Chart.yaml" in filenames:
                found.append(directory)
            depth = Path(directory).relative_to(root).parts
            dirnames[:] = [] if len(depth) >= 4 else sorted(
                d for d in dirnames if not d.startswith(".") and d != "node_modules")
    return tuple(found)
