"""YAML documents as plain data that remembers where each value came from.

PyYAML's C loader composes node trees with marks; we turn each document into ``YMap``/``YList``
(``dict``/``list`` subclasses, so the Kubernetes schema validator and rules read them as plain
data) that carry the span of every key and value. Scalars stay plain Python values: their spans
live in the container that holds them.

Guards (the loader never raises):
- aliases are converted once and shared, and a document whose expansion through aliases exceeds
  ``MAX_EXPANDED_NODES`` is refused (a "billion laughs" bomb would explode any later traversal);
- nesting deeper than ``MAX_DEPTH`` is refused before Python's recursion limit is reached;
- custom tags (``!Ref``, ``!reset``) are read as the plain value they tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

import yaml

from celerylint.sources import ParseProblem, Skip, SourceFile

#: How a notice about a template that cannot be rendered ends.
NOT_RENDERED = "not rendered: not checked"

MAX_DEPTH = 400
MAX_EXPANDED_NODES = 1_000_000
#: Nodes that aliases may add to a document beyond the ones written (``<<: *defaults`` adds a
#: few; 20,000 aliased containers are an attack on every later step).
MAX_ALIAS_NODES = 100_000
#: Documents read from one file; the rest is a notice.
MAX_DOCUMENTS = 100_000
#: Characters libyaml counts as line breaks and editors do not (NEL, LINE and PARAGRAPH
#: SEPARATOR): read as spaces, so that every reported line is the editor's.
_EDITOR_INVISIBLE_BREAKS = str.maketrans({"\x85": " ", "\u2028": " ", "\u2029": " "})

#: (line, column, end_line, end_column), 1-based, end column exclusive.
Pos = tuple[int, int, int, int]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_constructor = yaml.constructor.SafeConstructor()
_TAG = "tag:yaml.org,2002:"
_STANDARD_SCALARS = {_TAG + t for t in ("null", "bool", "int", "float", "str")}
_STR = _TAG + "str"


class YMap(dict):
    """A mapping with the span of the mapping, of each key and of each value."""

    __slots__ = ("pos", "key_pos", "value_pos")

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self.key_pos: dict[Any, Pos] = {}
        self.value_pos: dict[Any, Pos] = {}


class YList(list):
    """A sequence with the span of the sequence and of each item."""

    __slots__ = ("pos", "item_pos")

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self.item_pos: list[Pos] = []


@dataclass
class Document:
    """One YAML document of a file."""

    source: SourceFile
    index: int
    data: Any
    pos: Pos


class _Refused(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.node = node


def _pos(node: yaml.Node) -> Pos:
    s, e = node.start_mark, node.end_mark
    return (s.line + 1, s.column + 1, e.line + 1, e.column + 1)


def _scalar(node: yaml.ScalarNode) -> Any:
    if node.tag == _STR:  # most scalars: the value as written, no constructor call
        return node.value
    if node.tag in _STANDARD_SCALARS:
        try:
            return _constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError):
            return node.value
    return node.value  # timestamps, binary and custom tags stay text, as Kubernetes reads them


class _Converter:
    def __init__(self, shared: bool = True) -> None:
        self.memo: dict[int, Any] = {}
        self.sizes: dict[int, int] = {}
        self.shared = shared  # False: no anchor in the file, so no node is reached twice
        self.merged = 0  # keys copied by merge keys (``<<:``): nested merges multiply them

    def size(self, node: yaml.Node) -> int:
        """How many nodes the document has once aliases are expanded (memoised, iterative)."""
        stack: list[tuple[yaml.Node, bool]] = [(node, False)]
        visiting: set[int] = set()
        while stack:
            current, done = stack.pop()
            key = id(current)
            if key in self.sizes:
                continue
            children = _children(current)
            if done:
                total = 1 + sum(self.sizes[id(c)] for c in children)
                self.sizes[key] = min(total, MAX_EXPANDED_NODES + 1)
                visiting.discard(key)
            elif key in visiting:
                raise _Refused(current, "an alias refers to a node that contains it (recursive alias)")
            else:
                visiting.add(key)
                stack.append((current, True))
                stack.extend((c, False) for c in children if id(c) not in self.sizes)
        return self.sizes[id(node)]

    def convert(self, node: yaml.Node, depth: int = 0) -> Any:
        if node.__class__ is yaml.ScalarNode:  # most nodes: no memo, no depth to check
            return node.value if node.tag == _STR else _scalar(node)
        key = id(node)
        if self.shared and key in self.memo:
            return self.memo[key]
        if depth > MAX_DEPTH:
            raise _Refused(node, f"nesting is deeper than {MAX_DEPTH} levels")
        if isinstance(node, yaml.ScalarNode):
            value = _scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = YList(_pos(node))
            self.memo[key] = value
            for item in node.value:
                value.append(self.convert(item, depth + 1))
                value.item_pos.append(_pos(item))
        else:
            value = YMap(_pos(node))
            self.memo[key] = value
            for key_node, value_node in node.value:
                if key_node.tag == _TAG + "merge":
                    self._merge(value, value_node, depth)
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _Refused(key_node, "a mapping key is itself a mapping or list"
                                   " (unhashable key)")
                k = _scalar(key_node)
                if isinstance(k, list | dict):
                    raise _Refused(key_node, "unhashable mapping key")
                value[k] = self.convert(value_node, depth + 1)
                value.key_pos[k] = _pos(key_node)
                value.value_pos[k] = _pos(value_node)
        self.memo[key] = value
        return value

    def _merge(self, target: YMap, node: yaml.Node, depth: int) -> None:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            merged = self.convert(source, depth + 1)
            if isinstance(merged, YMap):
                self.merged += len(merged)
                if self.merged > MAX_ALIAS_NODES:
                    raise _Refused(node, "merge keys (<<:) copy more than "
                                   f"{MAX_ALIAS_NODES:,} keys into the document; skipped")
                for k, v in merged.items():
                    if k not in target:
                        target[k] = v
                        target.key_pos[k] = merged.key_pos[k]
                        target.value_pos[k] = merged.value_pos[k]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def looks_templated(text: str) -> bool:
    return ("{{" in text and "}}" in text) or ("{%" in text and "%}" in text)


_GO = re.compile(r"\{\{-?\s*(\.|\$|include\b|template\b|if\b|range\b|with\b|end\b|define\b|"
                 r"toYaml\b|tpl\b|/\*)|-\}\}")
_JINJA = re.compile(r"\{%|\{#|\{\{\s*[A-Za-z_]")


def template_engine(source: SourceFile) -> str | None:
    """Which engine the ``{{ }}`` of a file belong to, when it has some: "a Helm/Go template",
    "a Jinja template", or "a GitHub Actions workflow"."""
    text = source.text
    if not looks_templated(text):
        return None
    if "${{" in text and not looks_templated(text.replace("${{", "")):
        return "a GitHub Actions workflow"
    if _GO.search(text):
        return "a Helm/Go template"
    if _JINJA.search(text) or "cookiecutter" in source.path or \
            source.path.endswith((".j2", ".jinja", ".jinja2")):
        return "a Jinja template"
    if "${{" in text:
        return "a GitHub Actions workflow"
    return None


def template_hint(engine: str | None) -> str:
    """What to do about a parse error in a file of that engine."""
    if engine == "a GitHub Actions workflow":
        return (" (a GitHub Actions expression `${{ ... }}` is plain text to YAML: quote the"
                " value that holds it, as in `run: \"echo ${{ x }}: done\"`)")
    if engine == "a Jinja template":
        return " (this looks like an unrendered Jinja template: it is checked once rendered)"
    if engine == "a Helm/Go template":
        return (" (this looks like an unrendered Helm/Go template: celerylint renders charts"
                " with Helm, so check the chart's directory)")
    return ""


def _problem(source: SourceFile, line: int, column: int, message: str,
             strict: bool = True) -> ParseProblem | Skip:
    """A parse problem at a place that exists (libyaml reports an error at the end of a file
    without a final line break on the line after the last one); in a template that cannot be
    rendered here, a notice instead, unless ``strict``."""
    lines = source.lines
    if line > len(lines) or (line == len(lines) and not lines[-1] and len(lines) > 1):
        line = len(lines) - 1 if not lines[-1] and len(lines) > 1 else len(lines)
        column = len(lines[line - 1]) + 1
    engine = template_engine(source)
    if engine is not None and not strict:
        return Skip(source.path, (f"{engine} (quote the values that hold `${{{{ }}}}` to have it "
                                  "read)" if engine == "a GitHub Actions workflow" else engine)
                    + ", " + NOT_RENDERED)
    return ParseProblem(source.path, line, column, message + template_hint(engine))


def load(source: SourceFile, strict: bool = True) -> Iterator[Document | ParseProblem | Skip]:
    """Yield each document of a YAML file, then a ParseProblem if the stream breaks (or a
    notice when a limit is reached, or when the file is a template that cannot be rendered and
    ``strict`` is off)."""
    index = seen = 0
    text = source.text
    if "\x85" in text or "\u2028" in text or "\u2029" in text:
        text = text.translate(_EDITOR_INVISIBLE_BREAKS)
    anchors = "&" in text  # no anchor, no alias: every document is as large as it is written
    try:
        for node in yaml.compose_all(text, Loader=_Loader):
            seen += 1
            if seen > MAX_DOCUMENTS:
                line = node.start_mark.line + 1 if node is not None else 1
                yield Skip(source.path, f"more than {MAX_DOCUMENTS:,} YAML documents: the rest "
                                        "of the file is not checked", line)
                return
            if node is None:
                continue
            converter = _Converter(anchors)
            try:
                if anchors and (converter.size(node) > MAX_EXPANDED_NODES or
                                converter.size(node) - len(converter.sizes) > MAX_ALIAS_NODES):
                    raise _Refused(node, "aliases expand the document to more than "
                                   f"{MAX_ALIAS_NODES:,} nodes beyond those written"
                                   " (a YAML alias bomb?); skipped")
                data = converter.convert(node)
            except _Refused as refused:
                mark = refused.node.start_mark
                yield _problem(source, mark.line + 1, mark.column + 1, str(refused), strict)
            else:
                yield Document(source, index, data, _pos(node))
            index += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        yield _problem(source, line, column, f"invalid YAML: {message}", strict)
    except (yaml.YAMLError, RecursionError, MemoryError) as exc:
        yield ParseProblem(source.path, 1, 1, f"invalid YAML: {type(exc).__name__}: {exc}")


def locate(source: SourceFile, pos: Pos, value: str, start: int, end: int) -> Pos:
    """The file span of ``value[start:end]`` for the scalar written at ``pos``.

    Exact for one-line scalars written without escapes and for literal block scalars (``|``),
    which is how command lines are written; otherwise the whole scalar's span.
    """
    line, column, end_line, _ = pos
    lines = source.lines
    if line - 1 >= len(lines):
        return pos
    first = lines[line - 1]
    if "\n" not in value:
        head = first[column - 1:]
        offset = 1 if head[:1] in ("'", '"') else 0
        if head[offset:offset + len(value)] == value:
            return (line, column + offset + start, line, column + offset + end)
        return pos
    if first[column - 1:column].strip() not in ("|", ""):
        return pos
    rows = value.split("\n")
    content = [n for n in range(line, min(end_line, len(lines))) if lines[n].strip()]
    if not content:
        return pos
    indent = len(lines[content[0]]) - len(lines[content[0]].lstrip(" "))
    row_start = value.count("\n", 0, start)
    row_end = value.count("\n", 0, end)
    col_start = start - (value.rfind("\n", 0, start) + 1)
    col_end = end - (value.rfind("\n", 0, end) + 1)
    for row in (row_start, row_end):
        n = line + row
        if n >= len(lines) or lines[n][indent:] != rows[row]:
            return pos
    return (line + 1 + row_start, indent + col_start + 1, line + 1 + row_end, indent + col_end + 1)
