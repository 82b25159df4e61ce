"""The language server's view of one workspace folder: its configuration, one lint of the whole
deployment with the editor's unsaved buffers in place of the files on disk, and the findings as
LSP diagnostics, quick fixes and suppression comments (``server.py`` speaks the protocol).

A lint reads the folder as ``celerylint check FOLDER`` does, with the same configuration, so that
cross-file rules see every manifest, Dockerfile and requirements file. YAML documents of files
unchanged since the previous lint are not parsed again (``ParseCache``): that is half of a lint
on a large tree; building the model and running the rules is the rest.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path

from celerylint import config as configuration
from celerylint import discover
from celerylint import sources as src
from celerylint.diagnostics import Applicability, Diagnostic, Edit, Fix, Severity, Span
from celerylint.parse import yamlnodes

SEVERITIES = {Severity.ERROR: types.DiagnosticSeverity.Error,
              Severity.WARNING: types.DiagnosticSeverity.Warning,
              Severity.INFO: types.DiagnosticSeverity.Information}

#: The reason a "suppress" quick fix writes: the comment is there to be completed.
PLACEHOLDER = "TODO: say why this is safe here"


class ParseCache:
    """``yamlnodes.load`` of a file whose path, kind, project and text are those of the previous
    lint returns that lint's documents again (fresh ``Document`` records pointing at the new
    ``SourceFile``, over the same parsed data, which the model only reads). Given to
    ``build.load`` as its ``yaml_load``; ``tests/test_server.py`` compares cached and uncached
    findings."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, bool], tuple[tuple, list]] = {}
        self.original = yamlnodes.load

    def forget(self, real: str) -> None:
        for key in [k for k in list(self.entries) if k[0] == real]:  # a lint may be adding
            self.entries.pop(key, None)

    def load(self, source: src.SourceFile, strict: bool = True):
        if source.abspath is None:  # a rendered template, a here-document: new every lint
            yield from self.original(source, strict)
            return
        key = (source.abspath, strict)
        stamp = (source.path, source.kind, source.project, source.text)
        hit = self.entries.get(key)
        if hit is None or hit[0] != stamp:
            hit = self.entries[key] = (stamp, list(self.original(source, strict)))
        for item in hit[1]:  # copies: the loader rewrites a problem's message, counts documents
            yield dataclasses.replace(item, source=source) \
                if isinstance(item, yamlnodes.Document) else dataclasses.replace(item)


def units(text: str, encoding: str) -> int:
    """The length of ``text`` in the client's position units (LSP: UTF-16 unless negotiated)."""
    if text.isascii() or encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def position(lines: list[str] | None, line: int, column: int, encoding: str) -> types.Position:
    """An LSP position (0-based, client units) of a 1-based line and character column."""
    row = max(line - 1, 0)
    if lines is None or row >= len(lines):
        return types.Position(line=row, character=max(column - 1, 0))
    text = lines[row]
    return types.Position(line=row, character=units(text[:max(column - 1, 0)], encoding))


def span_range(lines: list[str] | None, span: Span, encoding: str) -> types.Range:
    start = position(lines, span.line, span.column, encoding)
    end = position(lines, span.end_line, span.end_column, encoding)
    if (end.line, end.character) < (start.line, start.character):
        end = start
    return types.Range(start=start, end=end)


def normal(text: str) -> str:
    """An editor's text with ``\\n`` line ends, as celerylint reads files."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


@dataclass
class Item:
    """One finding, and what was published for it."""

    diagnostic: Diagnostic
    lsp: types.Diagnostic


@dataclass
class FileResult:
    real: str
    uri: str
    source: src.SourceFile | None  # the text the lint read (None: it could not be decoded)
    items: list[Item] = field(default_factory=list)


@dataclass
class Lint:
    """One lint of a workspace folder: findings by real path, and the sources they point into."""

    files: dict[str, FileResult]
    sources: dict[str, src.SourceFile]  # by the path findings and edits name
    reals: dict[str, str]  # that path -> real path
    uris: dict[str, str]  # real path -> URI
    errors: list[str]
    encoding: str
    texts: dict[str, str] = field(default_factory=dict)  # real path -> the buffer read (\n ends)

    def real_of(self, path: str) -> str:
        return self.reals.get(path) or os.path.realpath(path)

    def uri_of(self, real: str) -> str:
        return self.uris.get(real) or from_fs_path(real) or real


@dataclass
class Buffer:
    """An open document, as the editor holds it."""

    uri: str
    path: str  # as the client names it (symlinks not resolved)
    text: str
    version: int | None


@dataclass
class Setup:
    """A folder's configuration, as ``check`` derives it (replaced whole when it is read again,
    so that a lint running meanwhile keeps one consistent setup)."""

    config: configuration.Config
    settings: object  # engine.Settings
    max_size: int
    helm_options: object  # carriers.helm.HelmOptions or None
    error: str | None = None  # why the file cannot be used: the defaults are used instead


class Root:
    """A workspace folder: what `celerylint check FOLDER` would read, configured the same way."""

    def __init__(self, path: str) -> None:
        from celerylint.engine import all_rules

        self.path = path
        self.real = os.path.realpath(path)
        self.rules = {rule.code: rule for rule in all_rules()}
        self.load_config()

    @property
    def config_error(self) -> str | None:
        return self.setup.error

    def load_config(self) -> None:
        """The folder's pyproject.toml ``[tool.celerylint]`` or .celerylint.toml; the defaults,
        and ``config_error`` set, when it cannot be used (where ``check`` would exit 2)."""
        import click

        from celerylint import cli

        try:
            config = configuration.load(configuration.find(self.path), list(self.rules.values()))
            self.setup = Setup(config, cli._settings(config, None, False, ()),
                               cli._size(config.max_file_size or "10M",
                                         f"max-file-size in {config.path}"),
                               cli._helm_options(config, (), (), None, None))
        except (configuration.ConfigError, click.ClickException) as exc:
            config = configuration.Config()
            self.setup = Setup(config, cli._settings(config, None, False, ()),
                               src.DEFAULT_MAX_FILE_SIZE, None,
                               exc.format_message() if isinstance(exc, click.ClickException)
                               else str(exc))

    def contains(self, real: str) -> bool:
        return real == self.real or real.startswith(self.real.rstrip(os.sep) + os.sep)

    def lint(self, buffers: dict[str, Buffer], encoding: str, cache: ParseCache | None = None
             ) -> Lint:
        """Lint the folder with ``buffers`` (real path -> Buffer) read instead of the disk."""
        from celerylint.engine import analyse
        from celerylint.model.build import load

        setup, errors = self.setup, []
        config = setup.config
        scope = discover.Scope.of([self.path])
        overlay = {}
        for real, buffer in buffers.items():
            if scope.contains(real) and len(buffer.text) <= setup.max_size:
                source = self._overlay(real, buffer, scope)
                if source is not None:
                    overlay[real] = source
        deployment, _ = load([self.path], setup.max_size, overlay or None,
                             exclude=config.excluded, images=config.images,
                             helm_options=setup.helm_options, strict_parse=config.strict_parse,
                             compose_projects=config.compose_projects, jobs=1,
                             yaml_load=cache.load if cache is not None else None)
        analysis = analyse(deployment, setup.settings, config, True, errors, jobs=1)
        sources = {s.path: s for s in deployment.sources}
        reals = {path: s.abspath for path, s in sources.items() if s.abspath}
        # a file is named as the folder's walk reached it (symlinks kept), as the editor does
        uris = {s.abspath: from_fs_path(os.path.abspath(s.path)) for s in sources.values()
                if s.abspath}
        uris.update({real: b.uri for real, b in buffers.items()})
        lint = Lint({}, sources, reals, uris, errors, encoding,
                    {real: normal(b.text) for real, b in buffers.items()})
        for diagnostic in analysis.diagnostics:
            real = lint.real_of(diagnostic.path)
            if not os.path.isfile(real):
                continue  # standard input, a generated file with no file behind it
            result = lint.files.get(real)
            if result is None:
                result = lint.files[real] = FileResult(real, lint.uri_of(real),
                                                       sources.get(diagnostic.path))
            result.items.append(Item(diagnostic, self._lsp(diagnostic, result.source, lint)))
        return lint

    def _overlay(self, real: str, buffer: Buffer, scope) -> src.SourceFile | None:
        """The buffer as the loader reads a file (cli_input.named_stdin does the same for
        ``--stdin-filename``): kind from the name, else from the text."""
        result = src.from_bytes(src.display_path(Path(buffer.path)), "config",
                                buffer.text.encode("utf-8", "surrogatepass"), abspath=real)
        if not isinstance(result, src.SourceFile):
            return None  # binary: the loader reads the file from disk and says so
        name = os.path.basename(buffer.path)
        result.kind = discover.classify(Path(buffer.path)) or \
            discover.sniff(name, result.text) or "config"
        result.project = scope.project_of(real)
        return result

    def _lsp(self, d: Diagnostic, source: src.SourceFile | None, lint: Lint) -> types.Diagnostic:
        rule = self.rules.get(d.code)
        related = []
        for item in d.related:
            other = lint.sources.get(item.span.path)
            real = lint.real_of(item.span.path)
            related.append(types.DiagnosticRelatedInformation(
                location=types.Location(uri=lint.uri_of(real), range=span_range(
                    other.lines if other else None, item.span, lint.encoding)),
                message=item.message))
        message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        return types.Diagnostic(
            range=span_range(source.lines if source else None, d.span, lint.encoding),
            message=message, severity=SEVERITIES[d.severity], code=d.code, source="celerylint",
            code_description=types.CodeDescription(href=rule.doc_url) if rule else None,
            related_information=related or None)


# -- code actions and hover -------------------------------------------------------------------

def _eol(source: src.SourceFile, row: int) -> str:
    if source.crlf:
        return "\r\n"
    if source.eols:
        return source.eols[min(row, len(source.eols) - 1)]
    return "\n"


def text_edit(lint: Lint, edit: Edit) -> tuple[str, types.TextEdit] | None:
    """The LSP edit (URI, TextEdit) of a fix's edit: offsets into the text as read become
    positions, and new lines take the file's line ends."""
    source = lint.sources.get(edit.path)
    if source is None:
        return None
    (line, column), (end_line, end_column) = source.position(edit.start), \
        source.position(edit.end)
    content = edit.content
    if "\n" in content:
        content = content.replace("\n", _eol(source, line - 1))
    return lint.uri_of(lint.real_of(edit.path)), types.TextEdit(
        range=types.Range(start=position(source.lines, line, column, lint.encoding),
                          end=position(source.lines, end_line, end_column, lint.encoding)),
        new_text=content)


def workspace_edit(lint: Lint, fixes: list[Fix]) -> types.WorkspaceEdit | None:
    changes: dict[str, list[types.TextEdit]] = {}
    for fix in fixes:
        for edit in fix.edits:
            converted = text_edit(lint, edit)
            if converted is None:
                return None
            changes.setdefault(converted[0], []).append(converted[1])
    return types.WorkspaceEdit(changes=changes) if changes else None


def fix_action(lint: Lint, item: Item) -> types.CodeAction | None:
    fix = item.diagnostic.fix
    if fix is None:
        return None
    edit = workspace_edit(lint, [fix])
    if edit is None:
        return None
    safe = fix.applicability == Applicability.SAFE
    title = f"{fix.title} ({item.diagnostic.code})" if safe else \
        f"{fix.title} ({item.diagnostic.code}, unsafe: review it)"
    return types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix,
                            diagnostics=[item.lsp], edit=edit, is_preferred=safe)


def fix_all_action(lint: Lint, result: FileResult, kind: str) -> types.CodeAction | None:
    """The safe fixes of the file's findings whose edits do not overlap, in one edit (as one
    ``--fix`` pass: run it again for the ones that overlapped)."""
    taken: list[Fix] = []
    edits: list[Edit] = []
    for item in result.items:
        fix = item.diagnostic.fix
        if fix is None or fix.applicability != Applicability.SAFE:
            continue
        if any(a.path == b.path and a.start <= b.end and b.start <= a.end
               for a in fix.edits for b in edits):
            continue
        taken.append(fix)
        edits.extend(fix.edits)
    edit = workspace_edit(lint, taken) if taken else None
    if edit is None:
        return None
    return types.CodeAction(title=f"Fix all safe celerylint findings in this file ({len(taken)})",
                            kind=kind, edit=edit)


def suppress_action(lint: Lint, result: FileResult, item: Item) -> types.CodeAction | None:
    """Insert ``# celerylint: ignore[rule] -- reason`` above the finding's line (an ``ignore``
    covers its own line and the next), indented like it."""
    source = result.source
    line = item.diagnostic.span.line
    if source is None or line > len(source.lines) or (line == 1 and
                                                      source.lines[0].startswith("#!")):
        return None  # nothing above a shebang
    row = source.lines[line - 1]
    indent = row[:len(row) - len(row.lstrip(" \t"))]
    name = item.diagnostic.name
    comment = f"{indent}# celerylint: ignore[{name}] -- {PLACEHOLDER}{_eol(source, line - 1)}"
    at = types.Position(line=line - 1, character=0)
    edit = types.WorkspaceEdit(changes={result.uri: [
        types.TextEdit(range=types.Range(start=at, end=at), new_text=comment)]})
    return types.CodeAction(title=f"Suppress {item.diagnostic.code} ({name}) here, with a reason",
                            kind=types.CodeActionKind.QuickFix, diagnostics=[item.lsp], edit=edit)


def hover_text(item: Item, rules: dict) -> str:
    d = item.diagnostic
    rule = rules.get(d.code)
    parts = [f"**{d.code} {d.name}** ({d.severity.value}): {d.message}"]
    if d.hint:
        parts.append(f"hint: {d.hint}")
    if rule is not None:
        parts.append(rule.doc)
        parts.append(f"[Documentation]({rule.doc_url})")
    return "\n\n".join(parts)


def config_file(real: str) -> bool:
    return os.path.basename(real) in configuration.FILE_NAMES
