"""Time from didOpen to publishDiagnostics in `initlint lsp`, seen from a real LSP client.

    .venv/bin/python bench/lsp_latency.py                       # a generated model file of ~300 lines
    .venv/bin/python bench/lsp_latency.py --file path/to/model.py --runs 30

The server is started once (`python -m initlint lsp`, over stdio). The first
open is reported on its own (it pays for loading the rules); then each run
opens the same text under a new name and measures until the diagnostics for
that document arrive. didOpen is published without the typing debounce
(didChange waits 0.3 s after the last keystroke, on top of these figures).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

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


def generated_model() -> str:
    """About 300 lines: eight transformer blocks, a classifier, and a zero-initialized two-tower scorer (IL101)."""
    count = 8
    blocks = ", ".join(f"Block{i}(dim)" for i in range(count))
    return HEAD + "".join(BLOCK.format(i=i) for i in range(count)) + TAIL.replace("{blocks}", blocks)


async def measure(text: str, runs: int) -> tuple[float, list[float], list[str]]:
    client = LanguageClient("lsp-latency", "1")
    arrived: dict[str, asyncio.Future[list[types.Diagnostic]]] = {}

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(params: types.PublishDiagnosticsParams) -> None:
        future = arrived.get(params.uri)
        if future is not None and not future.done():
            future.set_result(list(params.diagnostics))

    await client.start_io(sys.executable, "-m", "initlint", "lsp")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=root.as_uri()))
        client.initialized(types.InitializedParams())
        times: list[float] = []
        codes: list[str] = []
        for i in range(runs + 1):
            uri = (root / f"model_{i}.py").as_uri()
            arrived[uri] = asyncio.get_running_loop().create_future()
            item = types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
            start = time.perf_counter()
            client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
            diagnostics = await asyncio.wait_for(arrived[uri], timeout=60)
            times.append(time.perf_counter() - start)
            codes = [str(d.code) for d in diagnostics]
            client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
    return times[0], times[1:], codes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", help="the model file to open (default: a generated one of about 300 lines)")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    text = Path(args.file).read_text(encoding="utf-8") if args.file else generated_model()
    first, rest, codes = asyncio.run(measure(text, args.runs))
    lines = text.count("\n")
    print(f"{args.file or 'generated model'}: {lines} lines, findings {codes}")
    print(f"first didOpen -> publishDiagnostics: {first * 1000:.0f} ms")
    print(
        f"next {len(rest)} opens: median {statistics.median(rest) * 1000:.0f} ms, "
        f"min {min(rest) * 1000:.0f} ms, max {max(rest) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
