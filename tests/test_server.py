"""``celerylint server``, driven over stdio by a real LSP client (pygls's): diagnostics as the
buffer changes, cross-file findings, quick fixes, suppressions, hover, configuration, and the
editor configurations of docs/editors.md, each started with its own command."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

pytest.importorskip("pygls", reason="the language server needs pygls (pip install '.[lsp]')")

from lsprotocol import types  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402
from pygls.uris import from_fs_path  # noqa: E402

TIMEOUT = 30  # seconds for one answer (a loaded CI machine); a run takes a few

COMPOSE = """\
services:
  worker:
    image: registry.example.com/app:1.0
    command: celery -A proj worker -l info
    healthcheck:
      test: celery -A proj status
      interval: 10s
      timeout: 10s
      retries: 6
"""
BEAT = """\
  beat:
    image: registry.example.com/app:1.0
    command: celery -A proj beat -l info
    healthcheck:
      test: celery -A proj status
      interval: 10s
      timeout: 10s
      retries: 6
"""
WORKER = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  replicas: 1
  selector:
    matchLabels: {app: worker}
  template:
    metadata:
      labels: {app: worker}
    spec:
      containers:
        - name: worker
          image: example/app:1.0
          args: ["celery", "-A", "proj", "worker", "-B", "-c", "2", "-s", "/tmp/schedule"]
"""
BEAT_DEPLOYMENT = WORKER.replace("worker", "beat").replace(
    '"beat", "-B", "-c", "2", "-s", "/tmp/schedule"', '"beat"')


def command(*words: str) -> list[str]:
    """A configured command, with `celerylint` found beside this Python (a virtualenv that is
    not activated) and `python` meaning this interpreter."""
    first, *rest = words
    if first == "celerylint":
        first = shutil.which("celerylint", path=os.path.dirname(sys.executable)) or \
            shutil.which("celerylint") or first
    elif first in ("python", "python3"):
        first = sys.executable
    return [first, *rest]


class Session:
    """A server process and a client talking to it; ``published[uri]`` is the last
    publishDiagnostics for that file."""

    def __init__(self, root: Path, argv: list[str] | None = None, options: dict | None = None,
                 encodings: list[str] | None = None, folders: bool = True):
        self.root, self.options, self.encodings, self.folders = root, options, encodings, folders
        self.argv = argv or [sys.executable, "-m", "celerylint", "server"]
        self.client = LanguageClient("celerylint-tests", "1")
        self.published: dict[str, types.PublishDiagnosticsParams] = {}
        self.changed = asyncio.Event()
        self.versions: dict[str, int] = {}
        self.texts: dict[str, str] = {}
        self.stderr = b""
        self.messages: list[str] = []

        self.count: dict[str, int] = {}

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.published[params.uri] = params
            self.count[params.uri] = self.count.get(params.uri, 0) + 1
            self.changed.set()

        @self.client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def register(params: types.RegistrationParams) -> None:
            return None

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def show(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)

    async def __aenter__(self) -> "Session":
        await self.client.start_io(*self.argv, cwd=str(self.root))
        self._drain = asyncio.create_task(self._read_stderr())
        capabilities = types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(
                did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(
                    dynamic_registration=True)),
            general=types.GeneralClientCapabilities(position_encodings=self.encodings)
            if self.encodings else None)
        root = from_fs_path(str(self.root)) if self.folders else None
        self.initialized = await asyncio.wait_for(self.client.initialize_async(
            types.InitializeParams(
                process_id=os.getpid(), capabilities=capabilities, root_uri=root,
                initialization_options=self.options,
                workspace_folders=[types.WorkspaceFolder(uri=root, name="test")]
                if root else None)), TIMEOUT)
        self.client.initialized(types.InitializedParams())
        return self

    async def _read_stderr(self) -> None:
        stream = self.client._server.stderr  # drained, so a chatty server never blocks on it
        while chunk := await stream.read(65536):
            self.stderr += chunk

    async def __aexit__(self, *exc) -> None:
        process = self.client._server
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), TIMEOUT)
            self.client.exit(None)
            await asyncio.wait_for(process.wait(), TIMEOUT)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await asyncio.wait_for(self.client.stop(), TIMEOUT)
        self.returncode = process.returncode

    def uri(self, name: str) -> str:
        return from_fs_path(str(self.root / name))

    def open(self, name: str, text: str | None = None, language: str = "yaml") -> str:
        uri = self.uri(name)
        text = (self.root / name).read_text() if text is None else text
        self.versions[uri], self.texts[uri] = 1, text
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1,
                                                 text=text)))
        return uri

    def change(self, uri: str, text: str) -> None:
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri,
                                                                version=self.versions[uri]),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))

    def edit(self, uri: str, edits: list[types.TextEdit]) -> None:
        """Apply a code action's edits as an editor does: one change each, last first."""
        self.versions[uri] += 1
        edits = sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character),
                       reverse=True)
        self.texts[uri] = apply(self.texts[uri], edits)
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri,
                                                                version=self.versions[uri]),
            content_changes=[types.TextDocumentContentChangePartial(range=e.range,
                                                                    text=e.new_text)
                             for e in edits]))

    async def diagnostics(self, uri: str, check=lambda found: True, current: bool = True
                          ) -> list[types.Diagnostic]:
        """The diagnostics published for ``uri`` (for its current version, when open) once
        ``check`` accepts them."""
        async def wait() -> list[types.Diagnostic]:
            while True:
                got = self.published.get(uri)
                if got is not None and (not current or uri not in self.versions or
                                        got.version == self.versions[uri]) and \
                        check(got.diagnostics):
                    return list(got.diagnostics)
                self.changed.clear()
                await self.changed.wait()
        try:
            return await asyncio.wait_for(wait(), TIMEOUT)
        except asyncio.TimeoutError:
            raise AssertionError(f"no matching diagnostics for {uri}: last "
                                 f"{self.published.get(uri)}; stderr {self.stderr[-2000:]!r}")

    async def actions(self, uri: str, diagnostic: types.Diagnostic, only=None
                      ) -> list[types.CodeAction]:
        found = await asyncio.wait_for(self.client.text_document_code_action_async(
            types.CodeActionParams(text_document=types.TextDocumentIdentifier(uri=uri),
                                   range=diagnostic.range,
                                   context=types.CodeActionContext(diagnostics=[diagnostic],
                                                                   only=only))), TIMEOUT)
        return list(found or [])


def offset(text: str, pos: types.Position) -> int:
    """The index in ``text`` of an LSP position (UTF-16 columns; \\n, \\r\\n or \\r ends)."""
    lines = re.split(r"(?<=\r\n)|(?<=\n)(?<!\r\n)|(?<=\r)(?!\n)", text)
    start = sum(len(line) for line in lines[:pos.line])
    row = lines[pos.line] if pos.line < len(lines) else ""
    units = 0
    for i, char in enumerate(row):
        if units >= pos.character:
            return start + i
        units += 2 if ord(char) > 0xFFFF else 1
    return start + len(row.rstrip("\r\n"))


def apply(text: str, edits: list[types.TextEdit]) -> str:
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character),
                    reverse=True):
        text = text[:offset(text, e.range.start)] + e.new_text + text[offset(text, e.range.end):]
    return text


def run(coroutine):
    return asyncio.run(coroutine)


def codes(found: list[types.Diagnostic]) -> list[str]:
    return [d.code for d in found]


def test_diagnostics_follow_the_buffer_as_it_is_edited(tmp_path):
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)

    async def scenario():
        async with Session(tmp_path) as s:
            uri = s.open("docker-compose.yml")
            found = await s.diagnostics(uri, lambda d: d)
            assert codes(found) == ["CL304"]
            d = found[0]
            assert (d.range.start.line, d.range.start.character, d.range.end.line,
                    d.range.end.character) == (5, 27, 5, 33)  # `status` on line 6, 0-based
            assert d.source == "celerylint" and d.severity == types.DiagnosticSeverity.Warning
            assert d.code_description.href.endswith("/docs/rules/probe-inspect-ping.md")
            assert "without -t" in d.message
            s.change(uri, COMPOSE.replace("proj status", "proj status -t 8"))
            assert await s.diagnostics(uri) == []
            s.change(uri, COMPOSE)
            assert codes(await s.diagnostics(uri, lambda d: d)) == ["CL304"]
            s.change(uri, COMPOSE + "  broken: [\n")  # a parse error is a finding too
            assert "CL001" in codes(await s.diagnostics(uri, lambda d: d))
            before = s.count[uri]
            for n in range(18):  # typing: the changes during a lint make one more lint
                s.change(uri, COMPOSE.replace("proj status", "proj status" + " -t 8"[:n % 6]))
            assert codes(await s.diagnostics(uri)) == []  # the last version: " -t 8"
            assert s.count[uri] - before < 10  # not one per change
        assert s.returncode == 0

    run(scenario())


def test_a_finding_that_needs_an_unopened_file_and_follows_it_on_disk(tmp_path):
    (tmp_path / "worker.yaml").write_text(WORKER)
    (tmp_path / "beat.yaml").write_text(BEAT_DEPLOYMENT)

    async def scenario():
        async with Session(tmp_path) as s:
            uri = s.open("worker.yaml")
            found = await s.diagnostics(uri, lambda d: "CL102" in codes(d))
            beat = [d for d in found if d.code == "CL102"][0]
            assert "beat" in beat.message and beat.range.start.line == 15
            (tmp_path / "beat.yaml").unlink()  # the separate beat is gone: -B is now the beat
            s.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=s.uri("beat.yaml"),
                                         type=types.FileChangeType.Deleted)]))
            await s.diagnostics(uri, lambda d: "CL102" not in codes(d), current=False)

    run(scenario())


def test_a_script_finding_relates_the_unit_that_runs_it(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "deploy").mkdir()
    script = "#!/bin/bash\ncd /opt/proj\ncelery -A proj worker -l INFO\n"
    (tmp_path / "bin" / "run-worker.sh").write_text(script)
    (tmp_path / "deploy" / "celery-worker.service").write_text(
        "[Service]\nKillMode=process\nExecStart=/opt/proj/bin/run-worker.sh\n")

    async def scenario():
        async with Session(tmp_path) as s:
            uri = s.open("bin/run-worker.sh", language="shellscript")
            found = await s.diagnostics(uri, lambda d: d)
            assert codes(found) == ["CL502"] and found[0].range.start.line == 2
            unit = [r for r in found[0].related_information
                    if r.location.uri == s.uri("deploy/celery-worker.service")]
            assert unit and unit[0].location.range.start.line == 2  # ExecStart=
            s.change(uri, script.replace("celery -A", "exec celery -A"))
            assert await s.diagnostics(uri) == []

    run(scenario())


def test_quick_fix_fix_all_and_suppression_each_silence_their_finding(tmp_path):
    scaled = BEAT.replace("    image:", "    scale: 2\n    image:", 1)  # multiple-beats
    (tmp_path / "docker-compose.yml").write_text(COMPOSE + scaled)

    async def scenario():
        async with Session(tmp_path) as s:
            uri = s.open("docker-compose.yml")
            found = await s.diagnostics(uri, lambda d: len(d) == 3)
            worker, scale, beat = sorted(found, key=lambda d: d.range.start.line)
            assert [worker.code, scale.code, beat.code] == ["CL304", "CL102", "CL304"]
            actions = await s.actions(uri, worker)
            fix = [a for a in actions if a.kind == types.CodeActionKind.QuickFix and
                   a.is_preferred][0]
            assert fix.title == "add -t 8 to `celery status` (CL304)"
            assert list(fix.diagnostics) == [worker]
            assert [a.title for a in actions if a.kind == "source.fixAll.celerylint"] == \
                ["Fix all safe celerylint findings in this file (2)"]
            s.edit(uri, fix.edit.changes[uri])
            assert "status -t 8\n" in s.texts[uri]
            left = await s.diagnostics(uri, lambda d: len(d) == 2)
            assert [d.code for d in left] == ["CL102", "CL304"]
            every = await s.actions(uri, left[0], only=[types.CodeActionKind.SourceFixAll])
            assert [a.kind for a in every] == ["source.fixAll.celerylint"]
            s.edit(uri, every[0].edit.changes[uri])
            assert "scale: 1\n" in s.texts[uri]
            left = await s.diagnostics(uri, lambda d: len(d) == 1)
            assert left[0].range.start.line == beat.range.start.line
            actions = await s.actions(uri, left[0])
            assert [a.title for a in actions] == \
                ["Suppress CL304 (probe-inspect-ping) here, with a reason"]  # no fix left
            s.edit(uri, actions[0].edit.changes[uri])
            assert "    healthcheck:\n      # celerylint: ignore[probe-inspect-ping] -- TODO: " \
                   "say why this is safe here\n      test: celery -A proj status\n" in s.texts[uri]
            assert await s.diagnostics(uri) == []

    run(scenario())


def test_crlf_and_utf16_positions_in_diagnostics_and_fixes(tmp_path):
    line = '      test: ["CMD-SHELL", "echo \U0001F600 && celery -A proj status"]'
    text = COMPOSE.replace("      test: celery -A proj status", line).replace("\n", "\r\n")
    (tmp_path / "docker-compose.yml").write_bytes(text.encode())
    column = len(line[:line.index("status")].encode("utf-16-le")) // 2  # the emoji counts 2

    async def scenario():
        async with Session(tmp_path) as s:
            uri = s.open("docker-compose.yml", text)
            found = await s.diagnostics(uri, lambda d: d)
            r = found[0].range
            assert (r.start.line, r.start.character, r.end.character) == (5, column, column + 6)
            fix = [a for a in await s.actions(uri, found[0]) if a.is_preferred][0]
            fixed = apply(text, fix.edit.changes[uri])
            assert fixed == text.replace("proj status", "proj status -t 8")
            s.edit(uri, fix.edit.changes[uri])
            assert s.texts[uri] == fixed
            assert await s.diagnostics(uri) == []
            s.change(uri, text)
            found = await s.diagnostics(uri, lambda d: d)
            suppress = [a for a in await s.actions(uri, found[0]) if a.title.startswith("Suppress")]
            s.edit(uri, suppress[0].edit.changes[uri])
            assert "    healthcheck:\r\n      # celerylint: ignore[probe-inspect-ping] -- " \
                in s.texts[uri] and "\n" not in s.texts[uri].replace("\r\n", "")
            assert await s.diagnostics(uri) == []

    run(scenario())


def test_positions_in_utf8_when_the_client_asks_for_them(tmp_path):
    line = '      test: ["CMD-SHELL", "echo \u00e9\U0001F600 && celery -A proj status"]'
    text = COMPOSE.replace("      test: celery -A proj status", line)
    (tmp_path / "docker-compose.yml").write_text(text)

    async def scenario():
        async with Session(tmp_path, encodings=["utf-8"]) as s:
            assert s.initialized.capabilities.position_encoding == "utf-8"
            uri = s.open("docker-compose.yml")
            r = (await s.diagnostics(uri, lambda d: d))[0].range
            column = len(line[:line.index("status")].encode("utf-8"))
            assert (r.start.line, r.start.character, r.end.character) == (5, column, column + 6)

    run(scenario())


def test_a_file_outside_any_folder_is_linted_with_its_project(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "worker.yaml").write_text(WORKER)
    (tmp_path / "k8s" / "beat.yaml").write_text(BEAT_DEPLOYMENT)

    async def scenario():
        async with Session(tmp_path, folders=False) as s:
            uri = s.open("k8s/worker.yaml")
            assert "CL102" in codes(await s.diagnostics(uri, lambda d: d))

    run(scenario())


def test_hover_shows_the_rule_documentation(tmp_path):
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)

    async def scenario():
        async with Session(tmp_path) as s:
            uri = s.open("docker-compose.yml")
            d = (await s.diagnostics(uri, lambda d: d))[0]
            hover = await asyncio.wait_for(s.client.text_document_hover_async(types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=5, character=29))), TIMEOUT)
            assert hover.contents.kind == types.MarkupKind.Markdown
            assert hover.contents.value.startswith("**CL304 probe-inspect-ping** (warning)")
            assert "## What it finds" in hover.contents.value and "## Fix" in hover.contents.value
            assert hover.range == d.range
            nothing = await asyncio.wait_for(s.client.text_document_hover_async(types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=0, character=1))), TIMEOUT)
            assert nothing is None

    run(scenario())


def test_configuration_of_the_workspace_is_read_and_reloaded(tmp_path):
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    config = tmp_path / ".celerylint.toml"
    config.write_text('ignore = ["probe-inspect-ping"]\n')

    async def scenario():
        async with Session(tmp_path) as s:
            uri = s.open("docker-compose.yml")
            assert await s.diagnostics(uri) == []
            config.write_text('severity = {CL304 = "error"}\n')
            s.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=s.uri(".celerylint.toml"),
                                         type=types.FileChangeType.Changed)]))
            found = await s.diagnostics(uri, lambda d: d, current=False)
            assert found[0].severity == types.DiagnosticSeverity.Error
            config.write_text('select = ["no-such-rule"]\n')
            s.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=s.uri(".celerylint.toml"),
                                         type=types.FileChangeType.Changed)]))
            for _ in range(100):
                if s.messages:
                    break
                await asyncio.sleep(0.1)
            assert "no-such-rule" in s.messages[0]

    run(scenario())


def test_unopened_files_get_diagnostics_unless_asked_for_open_files_only(tmp_path):
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "compose.yaml").write_text(COMPOSE)

    async def scenario(options):
        async with Session(tmp_path, options=options) as s:
            uri = s.open("docker-compose.yml")
            await s.diagnostics(uri, lambda d: d)
            other = s.uri("other/compose.yaml")
            if options is None:
                return await s.diagnostics(other, lambda d: d)
            await asyncio.sleep(0.5)  # sent with the open file's, if at all
            return s.published.get(other)

    assert codes(run(scenario(None))) == ["CL304"]
    assert run(scenario({"diagnostics": "open"})) is None


def test_files_are_named_as_the_editor_names_them_through_a_symlinked_folder(tmp_path):
    (tmp_path / "real" / "other").mkdir(parents=True)
    (tmp_path / "real" / "docker-compose.yml").write_text(COMPOSE)
    (tmp_path / "real" / "other" / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "link").symlink_to(tmp_path / "real")

    async def scenario():
        async with Session(tmp_path / "link") as s:
            uri = s.open("docker-compose.yml")
            assert "/link/" in uri
            assert codes(await s.diagnostics(uri, lambda d: d)) == ["CL304"]
            assert codes(await s.diagnostics(s.uri("other/compose.yaml"), lambda d: d)) == \
                ["CL304"]
            assert not [u for u in s.published if "/real/" in u]

    run(scenario())


def test_the_parse_cache_changes_no_finding():
    from celerylint.engine import analyse, Settings
    from celerylint.model.build import load
    from celerylint.server_lint import ParseCache

    def findings(root, cache=None):
        deployment, _ = load([str(root)], yaml_load=cache.load if cache else None)
        return [(d.code, d.span, d.message, repr(d.fix), d.fingerprint)
                for d in analyse(deployment, Settings()).diagnostics]

    roots = [FIXTURES / "seed-002-stratdata" / "broken", FIXTURES / "charts",
             FIXTURES / "compose", FIXTURES / "rules" / "multiple-beats"]
    want = [findings(root) for root in roots]
    cache = ParseCache()
    for _ in range(2):
        assert [findings(root, cache) for root in roots] == want
    assert cache.entries


# -- the editor configurations of docs/editors.md ------------------------------------------

EDITORS = (ROOT / "docs" / "editors.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", EDITORS, re.M | re.S)


def configured() -> dict[str, list[str]]:
    """The command each editor's configuration starts."""
    found = {}
    for block in blocks("json"):
        settings = json.loads(block)
        if "vscode-lspconfig.serverConfigurations" in settings:
            found["vscode-lspconfig"] = settings["vscode-lspconfig.serverConfigurations"][0][
                "command"]
        if "glspc.server.command" in settings:
            found["vscode-glspc"] = [settings["glspc.server.command"],
                                     *settings["glspc.server.commandArguments"]]
    lua = next(b for b in blocks("lua") if "vim.lsp.config('celerylint'" in b)
    found["neovim"] = re.findall(r"'([^']*)'", re.search(r"cmd = \{(.*?)\}", lua).group(1))
    helix = tomllib.loads(next(b for b in blocks("toml") if "[language-server.celerylint]" in b))
    server = helix["language-server"]["celerylint"]
    found["helix"] = [server["command"], *server.get("args", [])]
    languages = {entry["name"]: entry for entry in helix["language"]}
    assert all("celerylint" in entry["language-servers"] for entry in languages.values())
    assert {"yaml", "docker-compose", "dockerfile", "helm", "bash"} <= set(languages)
    elisp = next(b for b in blocks("elisp") if "eglot-server-programs" in b)
    found["emacs"] = re.findall(r'"([^"]*)"', re.search(r'\. \(("[^)]*)\)', elisp).group(1))
    return found


@pytest.mark.parametrize("editor", ["vscode-lspconfig", "vscode-glspc", "neovim", "helix",
                                    "emacs"])
def test_each_documented_editor_configuration_starts_the_server(tmp_path, editor):
    argv = configured()[editor]
    assert argv == ["celerylint", "server"]
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)

    async def scenario():
        async with Session(tmp_path, argv=command(*argv)) as s:
            assert s.initialized.server_info.name == "celerylint"
            assert s.initialized.capabilities.hover_provider
        return s.returncode

    assert run(scenario()) == 0


def _eglot() -> bool:
    if not shutil.which("emacs"):
        return False
    probe = subprocess.run(["emacs", "--batch", "--eval", "(require 'eglot)"],
                           capture_output=True, timeout=60)
    return probe.returncode == 0


@pytest.mark.skipif(not _eglot(), reason="needs emacs with eglot")
def test_emacs_eglot_with_the_documented_configuration_shows_the_findings(tmp_path):
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    (tmp_path / ".git").mkdir()  # a project root for project.el
    snippet = next(b for b in blocks("elisp") if "eglot-server-programs" in b)
    bindir = os.path.dirname(command("celerylint")[0])
    script = tmp_path / "run.el"
    script.write_text(f"""
(setq exec-path (cons {json.dumps(bindir)} exec-path))
(setenv "PATH" (concat {json.dumps(bindir)} ":" (getenv "PATH")))
(require 'eglot)
{snippet}
(unless (fboundp 'yaml-mode) (define-derived-mode yaml-mode prog-mode "YAML"))
(find-file {json.dumps(str(tmp_path / "docker-compose.yml"))})
(yaml-mode)
(apply #'eglot (eglot--guess-contact))
(let ((deadline (+ (float-time) 60)) (found nil))
  (while (and (not found) (< (float-time) deadline))
    (accept-process-output nil 0.2)
    (setq found (flymake-diagnostics)))
  (dolist (d found)
    (princ (format "DIAG %d %s\\n" (line-number-at-pos (flymake-diagnostic-beg d))
                   (flymake-diagnostic-text d)))))
(eglot-shutdown (eglot-current-server))
""")
    done = subprocess.run(["emacs", "--batch", "-l", str(script)], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert "DIAG 6 " in done.stdout and "celery status" in done.stdout, done.stderr[-3000:]
