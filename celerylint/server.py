"""``celerylint server``: a Language Server Protocol server on standard input and output.

Each workspace folder is linted whole, as ``celerylint check FOLDER`` would, with the editor's
open buffers read instead of the files on disk (``server_lint.py``): cross-file rules see the
whole deployment. A change starts a lint at once when none is running; changes that arrive
during a lint are folded into one more lint when it ends (so typing never queues lints, and the
handler never blocks: lints run in one worker thread). Diagnostics are published for every file
of the folder with findings (``"diagnostics": "open"`` in ``initializationOptions``: for open
files only), and cleared when a file has none left. ``"debounce"`` (seconds, default 0) waits
that long after a change before the first lint.

Code actions: each finding's fix (quickfix; safe ones preferred), every safe fix of a file at
once (``source.fixAll.celerylint``), and an inline ``# celerylint: ignore[rule] -- reason``
comment. Hover over a finding shows its rule's documentation. The configuration is the folder's
``pyproject.toml`` ``[tool.celerylint]`` or ``.celerylint.toml``, read again when it is saved
or changes on disk.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from celerylint import __version__, discover
from celerylint import server_lint as sl

FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.celerylint"
log = logging.getLogger("celerylint.server")


class CeleryLintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("celerylint", __version__,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.roots: dict[str, sl.Root] = {}  # by real path
        self.lints: dict[str, sl.Lint] = {}  # the latest of each root
        self.published: dict[str, tuple] = {}  # uri -> (version, diagnostics) last sent
        self.uris: dict[str, str] = {}  # real path -> the URI it was last published for
        self.dirty: set[str] = set()
        self.tasks: dict[str, asyncio.Task] = {}
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="celerylint-lint")
        self.parse_cache = sl.ParseCache()
        self.debounce = 0.0
        self.open_only = False
        self.shut_down = False
        self.frozen = False
        self.told: set[str] = set()  # configuration errors already shown

    # -- folders and buffers ----------------------------------------------------------------

    def add_root(self, path: str) -> sl.Root:
        real = os.path.realpath(path)
        if real not in self.roots:
            self.roots[real] = sl.Root(path)
            self.tell(self.roots[real])
        return self.roots[real]

    def root_of(self, real: str, create: bool = True) -> sl.Root | None:
        """The innermost folder holding the file; a file outside every folder gets its own:
        its project (the repository, the Python project), else the file alone, as
        ``celerylint check FILE`` reads it (never a whole home directory)."""
        found = [r for r in self.roots.values() if r.contains(real)]
        if found:
            return max(found, key=lambda r: len(r.real))
        if not create:
            return None
        top = discover.project_root(Path(os.path.dirname(real)))
        return self.add_root(str(top) if top else real)

    def buffers(self) -> dict[str, sl.Buffer]:
        found = {}
        for uri, doc in list(self.workspace.text_documents.items()):
            path = to_fs_path(uri)
            if path:
                found[os.path.realpath(path)] = sl.Buffer(uri, path, doc.source, doc.version)
        return found

    def tell(self, root: sl.Root) -> None:
        error = root.config_error
        if error and error not in self.told:
            self.told.add(error)
            self.window_show_message(types.ShowMessageParams(
                type=types.MessageType.Error,
                message=f"celerylint: {error} (the default configuration is used)"))

    # -- linting ----------------------------------------------------------------------------

    def schedule(self, root: sl.Root) -> None:
        """Lint ``root`` now, or right after the lint that is running."""
        self.dirty.add(root.real)
        task = self.tasks.get(root.real)
        if task is None or task.done():
            self.tasks[root.real] = asyncio.get_running_loop().create_task(self._lint(root))

    async def _lint(self, root: sl.Root) -> None:
        loop = asyncio.get_running_loop()
        if self.debounce:
            await asyncio.sleep(self.debounce)
        while root.real in self.dirty:
            self.dirty.discard(root.real)
            buffers = self.buffers()
            encoding = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
            try:
                lint = await loop.run_in_executor(self.executor, root.lint, buffers, encoding,
                                                  self.parse_cache)
            except Exception as exc:  # noqa: BLE001 - a bug must not stop the server
                log.exception("lint of %s failed", root.path)
                self.window_log_message(types.LogMessageParams(
                    type=types.MessageType.Error,
                    message=f"celerylint: lint of {root.path} failed: {type(exc).__name__}: {exc}"))
                continue
            if self.roots.get(root.real) is not root:
                return  # the folder was removed meanwhile
            for error in dict.fromkeys(lint.errors):
                self.window_log_message(types.LogMessageParams(
                    type=types.MessageType.Warning, message=f"celerylint: {error}"))
            self.publish(root, lint, buffers)
            del lint
            await loop.run_in_executor(self.executor, self.collect)

    def collect(self) -> None:
        """Free the previous model now. The collector is made to run rarely (a lint makes
        millions of objects, and frequent full collections would rescan them), so the models of
        past lints, which hold reference cycles, would pile up (15 MB a lint on 1,000
        manifests); one collection after each lint keeps the memory flat. What the first lint leaves (modules, schemas, the parse cache)
        is frozen, so later collections only scan what is new (40 ms on 1,000 manifests)."""
        gc.collect()
        if not self.frozen:
            self.frozen = True
            gc.freeze()

    def publish(self, root: sl.Root, lint: sl.Lint, buffers: dict[str, sl.Buffer]) -> None:
        """Send what changed: files with new findings, files whose findings are gone, and each
        open file linted at a new version (the client then knows that version is checked).
        An open file is named by the URI its editor gave."""
        before = self.lints.get(root.real)
        self.lints[root.real] = lint
        for real, buffer in buffers.items():
            lint.uris[real] = buffer.uri
            if real in lint.files:
                lint.files[real].uri = buffer.uri
        wanted: dict[str, tuple[str, int | None, list]] = {}  # real path -> what to send
        for real, result in lint.files.items():  # a file of the project outside every
            owner = self.root_of(real, create=False)  # folder is this folder's to report
            if owner in (root, None) and (not self.open_only or real in buffers):
                buffer = buffers.get(real)
                wanted[real] = (result.uri, buffer.version if buffer else None,
                                [item.lsp for item in result.items])
        for real, buffer in buffers.items():
            if real not in wanted and self.root_of(real, create=False) is root:
                wanted[real] = (buffer.uri, buffer.version, [])
        for real, result in (before.files.items() if before else ()):
            wanted.setdefault(real, (self.uris.get(real) or result.uri, None, []))
        for real, (uri, version, diagnostics) in wanted.items():
            old = self.uris.get(real)
            if old is not None and old != uri and self.published.pop(old, None):
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                    uri=old, diagnostics=[]))  # the file was known by another name
            self.uris[real] = uri
            if self.published.get(uri, (None, [])) != (version, diagnostics):
                self.published[uri] = (version, diagnostics)
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                    uri=uri, diagnostics=diagnostics, version=version))

    def settled(self, uri: str) -> bool:
        """Whether the file's text (its buffer, else the disk's) is the one its folder's last
        lint read, and no lint is due: opening or closing it then changes no finding, and the
        findings are sent again at once (for the version opened)."""
        path = to_fs_path(uri)
        real = os.path.realpath(path) if path else ""
        root = self.root_of(real, create=False) if real else None
        lint = self.lints.get(root.real) if root else None
        if lint is None or root.real in self.dirty:
            return False
        doc = self.workspace.text_documents.get(uri)
        try:
            with open(real, "rb") as file:
                disk = sl.normal(file.read().decode("utf-8"))
        except (OSError, UnicodeDecodeError):
            return False
        if (sl.normal(doc.source) if doc is not None else disk) != lint.texts.get(real, disk):
            return False
        self.publish(root, lint, self.buffers())
        return True

    def file_result(self, uri: str) -> tuple[sl.Lint | None, sl.FileResult | None]:
        path = to_fs_path(uri)
        real = os.path.realpath(path) if path else uri
        root = self.root_of(real, create=False)
        lint = self.lints.get(root.real) if root else \
            next((found for found in self.lints.values() if real in found.files), None)
        return lint, (lint.files.get(real) if lint else None)

    @staticmethod
    def current(lint: sl.Lint, item: sl.Item, buffers: dict[str, sl.Buffer]) -> bool:
        """Whether the open files a finding's fix edits are still as that lint read them."""
        paths = {e.path for e in item.diagnostic.fix.edits} if item.diagnostic.fix else set()
        for path in paths | {item.diagnostic.path}:
            source = lint.sources.get(path)
            buffer = buffers.get(lint.real_of(path))
            if buffer is not None and (source is None or sl.normal(buffer.text) != source.text):
                return False
        return True


def _overlaps(a: types.Range, b: types.Range) -> bool:
    return (a.start.line, a.start.character) <= (b.end.line, b.end.character) and \
        (b.start.line, b.start.character) <= (a.end.line, a.end.character)


def _covers(r: types.Range, p: types.Position) -> bool:
    if (r.start.line, r.start.character) == (r.end.line, r.end.character):
        return p.line == r.start.line  # an empty range: its line
    return (r.start.line, r.start.character) <= (p.line, p.character) <= \
        (r.end.line, r.end.character)


def _wants(only: list[str] | None, kind: str) -> bool:
    return not only or any(kind == k or kind.startswith(f"{k}.") for k in only)


def create() -> CeleryLintServer:
    """The server with its handlers (a new one each call: tests start several)."""
    ls = CeleryLintServer()

    @ls.feature(types.INITIALIZE)
    def initialize(ls: CeleryLintServer, params: types.InitializeParams) -> None:
        options = params.initialization_options or {}
        if isinstance(options, dict):
            ls.debounce = float(options.get("debounce", 0) or 0)
            ls.open_only = options.get("diagnostics") == "open"
        folders = [f.uri for f in params.workspace_folders or []] or \
            [params.root_uri or (from_fs_path(params.root_path) if params.root_path else None)]
        for uri in folders:
            path = to_fs_path(uri) if uri else None
            if path and os.path.isdir(path):
                ls.add_root(path)

    @ls.feature(types.INITIALIZED)
    async def initialized(ls: CeleryLintServer, params: types.InitializedParams) -> None:
        for root in list(ls.roots.values()):  # the workspace, read once
            ls.schedule(root)
        watching = ls.client_capabilities.workspace and \
            ls.client_capabilities.workspace.did_change_watched_files
        if watching and watching.dynamic_registration:
            try:
                await ls.client_register_capability_async(types.RegistrationParams(registrations=[
                    types.Registration(
                        id="celerylint-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                        register_options=types.DidChangeWatchedFilesRegistrationOptions(
                            watchers=[types.FileSystemWatcher(glob_pattern="**/*")]))]))
            except Exception:  # noqa: BLE001 - then saves still re-lint
                log.warning("the client refused to watch files")

    @ls.feature(types.SHUTDOWN)
    def shutdown(ls: CeleryLintServer, params: None) -> None:
        ls.shut_down = True

    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: CeleryLintServer, params: types.DidOpenTextDocumentParams) -> None:
        if not ls.settled(params.text_document.uri):
            _changed(ls, params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: CeleryLintServer, params: types.DidChangeTextDocumentParams) -> None:
        _changed(ls, params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: CeleryLintServer, params: types.DidSaveTextDocumentParams) -> None:
        _changed(ls, params.text_document.uri, disk=True)

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: CeleryLintServer, params: types.DidCloseTextDocumentParams) -> None:
        if not ls.settled(params.text_document.uri):
            _changed(ls, params.text_document.uri)

    @ls.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched(ls: CeleryLintServer, params: types.DidChangeWatchedFilesParams) -> None:
        for change in params.changes:
            path = to_fs_path(change.uri)
            if path and not set(path.split(os.sep)) & discover.SKIPPED_DIRS:
                _changed(ls, change.uri, disk=True)

    @ls.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def folders(ls: CeleryLintServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        for folder in params.event.removed:
            path = to_fs_path(folder.uri)
            root = ls.roots.pop(os.path.realpath(path), None) if path else None
            lint = ls.lints.pop(root.real, None) if root else None
            for result in lint.files.values() if lint else ():
                ls.published.pop(result.uri, None)
                ls.uris.pop(result.real, None)
                ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                    uri=result.uri, diagnostics=[]))
        for folder in params.event.added:
            path = to_fs_path(folder.uri)
            if path and os.path.isdir(path):
                ls.schedule(ls.add_root(path))

    @ls.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL]))
    def code_action(ls: CeleryLintServer, params: types.CodeActionParams
                    ) -> list[types.CodeAction] | None:
        lint, result = ls.file_result(params.text_document.uri)
        if lint is None or result is None:
            return None
        asked = {(d.code, d.range.start.line, d.range.start.character, d.range.end.line,
                  d.range.end.character) for d in params.context.diagnostics
                 if d.source == "celerylint"}
        only = params.context.only
        buffers = ls.buffers()
        actions: list[types.CodeAction] = []
        for item in result.items:
            r = item.lsp.range
            key = (item.lsp.code, r.start.line, r.start.character, r.end.line, r.end.character)
            if (key in asked or _overlaps(r, params.range)) and _wants(only, "quickfix") and \
                    ls.current(lint, item, buffers):
                fix = sl.fix_action(lint, item)
                suppress = sl.suppress_action(lint, result, item)
                actions += [a for a in (fix, suppress) if a is not None]
        if _wants(only, FIX_ALL) and all(ls.current(lint, i, buffers) for i in result.items
                                         if i.diagnostic.fix):
            every = sl.fix_all_action(lint, result, FIX_ALL)
            if every is not None:
                actions.append(every)
        return actions

    @ls.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: CeleryLintServer, params: types.HoverParams) -> types.Hover | None:
        lint, result = ls.file_result(params.text_document.uri)
        if lint is None or result is None:
            return None
        items = [i for i in result.items if _covers(i.lsp.range, params.position)]
        if not items:
            return None
        root = ls.root_of(result.real, create=False) or next(iter(ls.roots.values()), None)
        rules = root.rules if root else {}
        return types.Hover(contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown,
            value="\n\n---\n\n".join(sl.hover_text(i, rules) for i in items)),
            range=items[0].lsp.range)

    return ls


def _changed(ls: CeleryLintServer, uri: str, disk: bool = False) -> None:
    """A buffer or a file changed: lint its folder (a configuration file changed on disk is
    read again first)."""
    path = to_fs_path(uri)
    if not path:
        return
    real = os.path.realpath(path)
    root = ls.root_of(real)
    if root is None:
        return
    if disk and sl.config_file(real):
        root.load_config()
        ls.tell(root)
    if disk and not os.path.exists(real):
        ls.parse_cache.forget(real)
    ls.schedule(root)


def main() -> int:
    """Serve on standard input and output until the client says exit; the exit status is 0
    after a shutdown request, else 1 (LSP). Anything else that writes to standard output (a
    library, a Helm renderer) writes to standard error instead: the protocol owns it."""
    gc.set_threshold(100_000, 50, 100)  # rare during a lint; one collection after each
    sys.stdout.flush()
    stdout = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    ls = create()
    ls.start_io(sys.stdin.buffer, stdout)
    ls.executor.shutdown(wait=False, cancel_futures=True)
    return 0 if ls.shut_down else 1
