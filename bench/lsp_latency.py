"""Latency of `initlint lsp` as a real LSP client sees it: diagnostics after an open and after an edit,
and hovers answered while a check runs.

    .venv/bin/python bench/lsp_latency.py                       # a generated model file of ~300 lines
    .venv/bin/python bench/lsp_latency.py --file path/to/model.py --runs 5
    .venv/bin/python bench/lsp_latency.py --blocks 140 --runs 5  # a generated file of ~5,000 lines

The server is started once (`python -m initlint lsp`, over stdio). The first
open is reported on its own (it pays for loading the rules); then each run
opens the same text under a new name and measures until the diagnostics for
that document arrive. didOpen is checked without the typing debounce.

Edits: each run replaces the whole text of one open document (a new version)
and measures until the diagnostics of that version arrive; this includes the
debounce after the last keystroke (initlint.lsp.DEBOUNCE_SECONDS).

Hovers during a check: each run opens the file under a new name and, while
its diagnostics have not arrived, hovers every 50 ms over the finding of a
small document opened beforehand; every hover's round trip is recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

BLOCK = '''

class Block{i}(nn.Module):
    """Pre-norm transformer block {i}: attention and an MLP, each with a residual."""

    def __init__(self, dim=256, heads=8, mlp_ratio=4.0, dropout=0.1):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.heads = heads
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)
        nn.init.trunc_normal_(self.qkv.weight, std=0.02)
        nn.init.zeros_(self.qkv.bias)

    def attention(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q = q.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        k = k.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        v = v.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(c // self.heads)
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)
        return self.drop(self.proj(y))

    def forward(self, x):
        x = x + self.attention(self.norm1(x))
        x = x + self.drop(self.fc2(F.gelu(self.fc1(self.norm2(x)))))
        return x
'''

HEAD = '''"""A small transformer classifier and a two-tower scorer."""

import math

import torch
import torch.nn.functional as F
from torch import nn
'''

TAIL = '''

class Classifier(nn.Module):
    def __init__(self, vocab=1000, dim=256, classes=10):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.blocks = nn.Sequential({blocks})
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, tokens):
        return self.head(self.norm(self.blocks(self.emb(tokens))).mean(dim=1))


class TwoTower(nn.Module):
    def __init__(self, users=100, items=100, dim=8):
        super().__init__()
        self.user = nn.Embedding(users, dim)
        self.item = nn.Embedding(items, dim)
        nn.init.zeros_(self.user.weight)
        nn.init.zeros_(self.item.weight)

    def forward(self, u, i):
        return (self.user(u) * self.item(i)).sum(dim=-1)


def train_step(model, tokens, labels, optimizer):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(tokens), labels)
    loss.backward()
    optimizer.step()
    return loss.item()
'''


def generated_model(count: int = 8) -> str:
    """About 35 lines a block (8: about 300 lines) of transformer blocks, a classifier, and a
    zero-initialized two-tower scorer (IL101)."""
    blocks = ", ".join(f"Block{i}(dim)" for i in range(count))
    return HEAD + "".join(BLOCK.format(i=i) for i in range(count)) + TAIL.replace("{blocks}", blocks)


class Bench:
    """One client and server, with a temporary workspace."""

    def __init__(self, client: LanguageClient, root: Path) -> None:
        self.client = client
        self.root = root
        self.arrived: dict[tuple[str, int], asyncio.Future[list[types.Diagnostic]]] = {}

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: types.PublishDiagnosticsParams) -> None:
            future = self.arrived.get((params.uri, params.version or 1))
            if future is not None and not future.done():
                future.set_result(list(params.diagnostics))

    def expect(self, uri: str, version: int) -> asyncio.Future[list[types.Diagnostic]]:
        future: asyncio.Future[list[types.Diagnostic]] = asyncio.get_running_loop().create_future()
        self.arrived[(uri, version)] = future
        return future

    def open(self, name: str, text: str) -> tuple[str, asyncio.Future[list[types.Diagnostic]]]:
        uri = (self.root / name).as_uri()
        future = self.expect(uri, 1)
        item = types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
        return uri, future

    def close(self, uri: str) -> None:
        doc = types.TextDocumentIdentifier(uri=uri)
        self.client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=doc))

    def change(self, uri: str, version: int, text: str) -> asyncio.Future[list[types.Diagnostic]]:
        future = self.expect(uri, version)
        doc = types.VersionedTextDocumentIdentifier(uri=uri, version=version)
        change = types.TextDocumentContentChangeWholeDocument(text=text)
        params = types.DidChangeTextDocumentParams(text_document=doc, content_changes=[change])
        self.client.text_document_did_change(params)
        return future


async def timed(future: asyncio.Future[list[types.Diagnostic]]) -> tuple[float, list[types.Diagnostic]]:
    start = time.perf_counter()
    diagnostics = await asyncio.wait_for(future, timeout=120)
    return time.perf_counter() - start, diagnostics


async def measure(text: str, runs: int) -> dict[str, Any]:
    client = LanguageClient("lsp-latency", "1")
    bench = Bench(client, Path())
    await client.start_io(sys.executable, "-m", "initlint", "lsp")
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        bench.root = root = Path(tmp)
        params = types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=root.as_uri())
        await client.initialize_async(params)
        client.initialized(types.InitializedParams())

        opens: list[float] = []
        for i in range(runs + 1):
            uri, future = bench.open(f"model_{i}.py", text)
            seconds, diagnostics = await timed(future)
            opens.append(seconds)
            out["codes"] = [str(d.code) for d in diagnostics]
            bench.close(uri)
        out["first"], out["opens"] = opens[0], opens[1:]

        uri, future = bench.open("edited.py", text)
        await future
        edits = []
        for version in range(2, runs + 2):
            seconds, _ = await timed(bench.change(uri, version, text + f"# edit {version}\n"))
            edits.append(seconds)
        bench.close(uri)
        out["edits"] = edits

        small = generated_model()
        small_uri, future = bench.open("small.py", small)
        [finding] = await future
        small_doc = types.TextDocumentIdentifier(uri=small_uri)
        hover = types.HoverParams(text_document=small_doc, position=finding.range.start)
        hovers: list[float] = []
        for i in range(runs):
            uri, future = bench.open(f"checked_{i}.py", text)
            await asyncio.sleep(0.05)  # let the check start
            while not future.done():  # each hover is sent while the check runs
                start = time.perf_counter()
                answer = await client.text_document_hover_async(hover)
                hovers.append(time.perf_counter() - start)
                assert answer is not None
                await asyncio.sleep(0.05)
            bench.close(uri)
        out["hovers"] = hovers

        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
    return out


def summary(times: list[float]) -> str:
    if not times:
        return "none"
    return (
        f"median {statistics.median(times) * 1000:.0f} ms, "
        f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms ({len(times)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", help="the model file to open (default: a generated one)")
    parser.add_argument("--blocks", type=int, default=8, help="blocks in the generated file (about 35 lines each)")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    text = Path(args.file).read_text(encoding="utf-8") if args.file else generated_model(args.blocks)
    out = asyncio.run(measure(text, args.runs))
    lines = text.count("\n")
    print(f"{args.file or 'generated model'}: {lines} lines, findings {out['codes']}")
    print(f"first didOpen -> publishDiagnostics: {out['first'] * 1000:.0f} ms")
    print(f"next opens: {summary(out['opens'])}")
    print(f"didChange -> publishDiagnostics (debounce included): {summary(out['edits'])}")
    print(f"hover on another document during a check: {summary(out['hovers'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
