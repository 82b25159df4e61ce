#!/usr/bin/env python3
"""How long ``celerylint server`` takes to answer an edit: ``python scripts/lsp_bench.py``.

Generates (once, cached under ``--work``) the tree of ``scripts/bench.py`` with ``--apps`` apps
(200: 1,000 Kubernetes documents in 200 manifests, plus a Dockerfile and a requirements file
each), starts the server on it over stdio with pygls's client, opens one manifest, then makes
``--edits`` edits to it, one at a time, and measures from each ``didChange`` to the
``publishDiagnostics`` of that version. Prints the median and p95, then where the time of one
lint goes (the same lint, in this process, stage by stage). Timings belong here, not in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import bench  # noqa: E402  (scripts/bench.py: the generated tree)


async def measure(tree: Path, edits: int) -> tuple[list[float], float, float]:
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient
    from pygls.uris import from_fs_path

    client = LanguageClient("lsp-bench", "1")
    arrived: dict[tuple[str, int | None], float] = {}
    event = asyncio.Event()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(params: types.PublishDiagnosticsParams) -> None:
        arrived.setdefault((params.uri, params.version), time.perf_counter())
        event.set()

    async def reply(uri: str, version: int) -> float:
        while (uri, version) not in arrived:
            event.clear()
            await asyncio.wait_for(event.wait(), 120)
        return arrived[(uri, version)]

    started = time.perf_counter()
    await client.start_io(sys.executable, "-m", "celerylint", "server", cwd=str(tree))
    drain = asyncio.create_task(_drain(client._server.stderr))
    await client.initialize_async(types.InitializeParams(
        capabilities=types.ClientCapabilities(), root_uri=from_fs_path(str(tree)),
        workspace_folders=[types.WorkspaceFolder(uri=from_fs_path(str(tree)), name="bench")]))
    client.initialized(types.InitializedParams())
    path = sorted(tree.glob("svc*/app*/k8s/celery.yaml"))[len(list(tree.glob("svc*/app*"))) // 2]
    uri = from_fs_path(str(path))
    text = path.read_text()
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id="yaml", version=1, text=text)))
    await reply(uri, 1)
    first = time.perf_counter() - started
    times = []
    for version in range(2, edits + 2):
        await asyncio.sleep(0.3)  # an editor's pause between edits; lets the machine settle
        edited = text.replace("replicas: ", f"replicas: {version % 3 + 1}#", 1) \
            .replace("#", "\n  # edit ", 1)
        sent = time.perf_counter()
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=edited)]))
        times.append(await reply(uri, version) - sent)
    pages = Path(f"/proc/{client._server.pid}/statm")
    rss = int(pages.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20 \
        if pages.exists() else 0.0
    await client.shutdown_async(None)
    client.exit(None)
    await asyncio.wait_for(client._server.wait(), 60)
    await client.stop()
    drain.cancel()
    return times, first, rss


async def _drain(stream) -> None:
    while await stream.read(65536):
        pass


def stages(tree: Path) -> dict[str, float]:
    """One lint of the tree as the server runs it (parse cache warm), stage by stage."""
    import gc

    from celerylint import timing
    from celerylint.server_lint import ParseCache, Root

    gc.set_threshold(100_000, 50, 100)  # as the server does
    cache = ParseCache()
    root = Root(str(tree))
    root.lint({}, "utf-16", cache)
    best: dict[str, float] = {}
    for _ in range(3):
        totals = timing.enable()
        start = time.perf_counter()
        root.lint({}, "utf-16", cache)
        totals["total"] = time.perf_counter() - start
        if not best or totals["total"] < best["total"]:
            best = dict(totals)
    timing.totals = None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--apps", type=int, default=200, help="apps (5 documents each)")
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "celerylint-bench")
    args = parser.parse_args()
    tree = bench.tree(args.work, args.apps)
    files = sum(len(f) for _, _, f in os.walk(tree))
    print(f"tree: {tree} ({args.apps * 5} documents in {args.apps} manifests, {files} files)")
    times, first, rss = asyncio.run(measure(tree, args.edits))
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(f"start, initialize, first lint and open: {first * 1000:.0f} ms")
    print(f"didChange -> publishDiagnostics over {len(times)} edits: median "
          f"{statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"min {ordered[0] * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms")
    if rss:
        print(f"server memory after the edits: {rss:.0f} MB resident")
    best = stages(tree)
    total = best.pop("total")
    rules = sum(v for k, v in best.items() if k.startswith("rule"))
    print(f"one lint in this process: {total * 1000:.0f} ms = discover "
          f"{best.get('discover', 0) * 1000:.0f} + read and parse {best.get('parse', 0) * 1000:.0f}"
          f" + model {best.get('model', 0) * 1000:.0f} + rules {rules * 1000:.0f} ms + the rest "
          f"(suppressions, fingerprints, LSP conversion)")
    slowest = sorted(((v, k) for k, v in best.items() if k.startswith("rule")), reverse=True)[:5]
    print("slowest rules: " + ", ".join(f"{k[5:]} {v * 1000:.0f} ms" for v, k in slowest))


if __name__ == "__main__":
    main()
