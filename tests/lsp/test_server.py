"""`initlint lsp` driven by a real LSP client (pytest-lsp) over stdio."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from initlint.rules.il101_zero_product import SEED_000_PAIR
from initlint.rules.il303_sigmoid_bce import PREDICT_READS_OUTPUT, SEQUENTIAL_SIGMOID
from initlint.rules.il304_activated_logits import SIGMOID_BCE_LOGITS

# A hang (a server that never answers) fails the test instead of stalling the run.
pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.timeout(60)]

SERVER = [sys.executable, "-m", "initlint", "lsp"]

# Seed 000's pair model: zero-initialized embeddings and bias, an element-wise product of the two towers.
PAIR_MODEL: str = SEED_000_PAIR
PRODUCT = "vec_a * vec_b"
PRODUCT_LINE = next(i for i, line in enumerate(PAIR_MODEL.splitlines()) if PRODUCT in line)  # 0-based
PRODUCT_COLUMN = PAIR_MODEL.splitlines()[PRODUCT_LINE].index(PRODUCT)
ZERO_INIT = "        nn.init.zeros_(self.video_emb.weight)\n"
EMOJI_STATEMENT = 'tag = "\U0001f600"; '


def with_emoji_before(text: str, needle: str) -> str:
    """`text` with a statement holding U+1F600 (two UTF-16 units) put before the one on the line of `needle`."""
    [line] = [line for line in text.splitlines() if needle in line]
    indent = len(line) - len(line.lstrip())
    return text.replace(line, line[:indent] + EMOJI_STATEMENT + line[indent:])


def with_emoji_before_product() -> str:
    return with_emoji_before(PAIR_MODEL, PRODUCT)


class Session:
    """One client connected to a fresh server, with a workspace in a temporary folder."""

    def __init__(self, client: LanguageClient, root: Path) -> None:
        self.client = client
        self.root = root
        self.versions: dict[str, int] = {}
        self.result: types.InitializeResult | None = None

    def uri(self, name: str) -> str:
        return (self.root / name).as_uri()

    async def expect_diagnostics(self, uri: str, send: Callable[[], object]) -> list[types.Diagnostic]:
        """Send a notification and return the diagnostics the server publishes for `uri` in reply."""
        send()
        while True:
            params = await self.client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
            if params.uri == uri:
                return list(params.diagnostics)

    async def open(self, name: str, text: str) -> list[types.Diagnostic]:
        uri = self.uri(name)
        (self.root / name).write_text(text, encoding="utf-8")
        self.versions[uri] = 1
        item = types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        return await self.expect_diagnostics(
            uri, lambda: self.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
        )

    async def change(self, name: str, text: str) -> list[types.Diagnostic]:
        uri = self.uri(name)
        self.versions[uri] += 1
        doc = types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri])
        change = types.TextDocumentContentChangeWholeDocument(text=text)
        params = types.DidChangeTextDocumentParams(text_document=doc, content_changes=[change])
        return await self.expect_diagnostics(uri, lambda: self.client.text_document_did_change(params))

    async def save(self, name: str) -> list[types.Diagnostic]:
        uri = self.uri(name)
        params = types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        return await self.expect_diagnostics(uri, lambda: self.client.text_document_did_save(params))

    async def code_actions(self, name: str, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
        return await self.code_actions_on(self.uri(name), diagnostic)

    async def code_actions_on(self, uri: str, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
        params = types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic]),
        )
        actions = await self.client.text_document_code_action_async(params)
        return [a for a in actions or [] if isinstance(a, types.CodeAction)]


def initialize_params(root: Path, capabilities: types.ClientCapabilities | None = None) -> types.InitializeParams:
    return types.InitializeParams(
        capabilities=capabilities or types.ClientCapabilities(),
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="project")],
    )


def apply_edits(text: str, edits: Sequence[types.TextEdit]) -> str:
    """Apply LSP edits (UTF-16 columns) the way an editor does."""
    lines = text.splitlines(keepends=True)

    def offset(pos: types.Position) -> int:
        line = lines[pos.line] if pos.line < len(lines) else ""
        units = 0
        for i, char in enumerate(line):
            if units >= pos.character:
                return sum(len(x) for x in lines[: pos.line]) + i
            units += 2 if ord(char) > 0xFFFF else 1
        return sum(len(x) for x in lines[: pos.line]) + len(line)

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient) -> Any:
    """A client that records the server's dynamic registrations; the test initializes it."""
    lsp_client.registrations = []  # type: ignore[attr-defined]

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        lsp_client.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    yield
    await lsp_client.shutdown_session()


@pytest_asyncio.fixture
async def session(client: LanguageClient, tmp_path: Path) -> Session:
    state = Session(client, tmp_path)
    # VS Code's capabilities: UTF-16 positions, dynamic file watching.
    state.result = await client.initialize_session(
        initialize_params(tmp_path, client_capabilities("visual-studio-code"))
    )
    return state


async def test_initialize_advertises_features(session: Session) -> None:
    assert session.result is not None
    caps = session.result.capabilities
    assert caps.hover_provider
    assert isinstance(caps.code_action_provider, types.CodeActionOptions)
    assert list(caps.code_action_provider.code_action_kinds or []) == [types.CodeActionKind.QuickFix]
    assert caps.execute_command_provider is not None
    assert "initlint.confirm" in caps.execute_command_provider.commands
    assert isinstance(caps.text_document_sync, types.TextDocumentSyncOptions)
    assert caps.text_document_sync.save


async def test_zero_product_suppress_then_fix(session: Session) -> None:
    diagnostics = await session.open("pair.py", PAIR_MODEL)
    [d] = diagnostics
    assert (d.code, d.source, d.severity) == ("IL101", "initlint", types.DiagnosticSeverity.Error)
    assert d.range.start == types.Position(line=PRODUCT_LINE, character=PRODUCT_COLUMN)
    assert d.range.end == types.Position(line=PRODUCT_LINE, character=PRODUCT_COLUMN + len(PRODUCT))
    assert d.code_description is not None and "il101-zero-product" in d.code_description.href
    assert "vec_a * vec_b" in d.message

    # Hover over the product shows the rule's documentation.
    hover = await session.client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=session.uri("pair.py")),
            position=types.Position(line=PRODUCT_LINE, character=PRODUCT_COLUMN + 3),
        )
    )
    assert hover is not None and "## Why is this bad?" in hover.contents.value  # type: ignore[union-attr]

    # The quick fix adds a `noqa` comment for IL101, and the finding goes away.
    actions = await session.code_actions("pair.py", d)
    [suppress] = [a for a in actions if a.title == "Suppress IL101 on this line"]
    assert suppress.edit is not None and suppress.edit.changes is not None
    suppressed = apply_edits(PAIR_MODEL, suppress.edit.changes[session.uri("pair.py")])
    assert suppressed.splitlines()[PRODUCT_LINE] == PAIR_MODEL.splitlines()[PRODUCT_LINE] + "  # noqa: IL101"
    assert await session.change("pair.py", suppressed) == []

    # Back to the buggy text: the finding returns; typing the fix clears it.
    assert [d.code for d in await session.change("pair.py", PAIR_MODEL)] == ["IL101"]
    assert ZERO_INIT in PAIR_MODEL
    fixed = PAIR_MODEL.replace(ZERO_INIT, "")
    assert await session.change("pair.py", fixed) == []


async def test_noqa_merges_into_an_existing_comment(session: Session) -> None:
    product_line = PAIR_MODEL.splitlines()[PRODUCT_LINE]
    text = PAIR_MODEL.replace(product_line, product_line + "  # noqa: IL999")
    [d] = await session.open("pair.py", text)
    actions = await session.code_actions("pair.py", d)
    [suppress] = [a for a in actions if a.title.startswith("Suppress")]
    assert suppress.edit is not None and suppress.edit.changes is not None
    merged = apply_edits(text, suppress.edit.changes[session.uri("pair.py")])
    assert merged.splitlines()[PRODUCT_LINE] == product_line + "  # noqa: IL999, IL101"
    assert await session.change("pair.py", merged) == []


async def test_positions_count_utf16_code_units(session: Session) -> None:
    # U+1F600 is two UTF-16 code units: every column after it moves by one.
    text = with_emoji_before_product()
    [d] = await session.open("pair.py", text)
    assert d.range.start == types.Position(line=PRODUCT_LINE, character=PRODUCT_COLUMN + len(EMOJI_STATEMENT) + 1)
    actions = await session.code_actions("pair.py", d)
    [suppress] = [a for a in actions if a.title.startswith("Suppress")]
    assert suppress.edit is not None and suppress.edit.changes is not None
    suppressed = apply_edits(text, suppress.edit.changes[session.uri("pair.py")])
    assert suppressed.splitlines()[PRODUCT_LINE] == text.splitlines()[PRODUCT_LINE] + "  # noqa: IL101"


async def test_a_multi_line_node_after_tabs_and_a_non_bmp_character(session: Session) -> None:
    # The product spans two lines; before it on its first line are U+1F600 (two UTF-16 units)
    # and tabs (one unit each), and its second line starts with tabs.
    text = with_emoji_before_product().replace(EMOJI_STATEMENT, 'tag = "\U0001f600\t";\t').replace(
        PRODUCT, "vec_a\n\t\t\t* vec_b"
    )
    first = text.splitlines()[PRODUCT_LINE]
    [d] = await session.open("pair.py", text)
    start = len(first[: first.index("vec_a")].encode("utf-16-le")) // 2
    assert d.range == types.Range(
        start=types.Position(line=PRODUCT_LINE, character=start),
        end=types.Position(line=PRODUCT_LINE + 1, character=len("\t\t\t* vec_b")),
    )


async def test_rule_fix_is_offered_and_applies(session: Session) -> None:
    # sigmoid fed to binary_cross_entropy_with_logits; the emoji shifts the edit's UTF-16 columns.
    text = with_emoji_before(SIGMOID_BCE_LOGITS, "torch.sigmoid(head(h))")
    [d] = await session.open("step.py", text)
    assert d.code == "IL304"
    actions = await session.code_actions("step.py", d)
    assert [a.title for a in actions] == ["IL304: pass the logits (drop `sigmoid`)", "Suppress IL304 on this line"]
    fix = actions[0]
    assert fix.is_preferred and fix.kind == types.CodeActionKind.QuickFix
    assert fix.edit is not None and fix.edit.changes is not None
    fixed = apply_edits(text, fix.edit.changes[session.uri("step.py")])
    assert fixed == text.replace("torch.sigmoid(head(h))", "head(h)")
    assert await session.change("step.py", fixed) == []


async def test_an_unsafe_fix_is_offered_but_never_preferred(session: Session) -> None:
    # A predict() reads the model's output, so dropping the model's sigmoid is unsafe.
    [d] = await session.open("churn.py", PREDICT_READS_OUTPUT)
    assert d.code == "IL303"
    actions = await session.code_actions("churn.py", d)
    fix = actions[0]
    assert fix.title.endswith("(unsafe)") and not fix.is_preferred
    assert fix.edit is not None and fix.edit.changes is not None
    assert "BCEWithLogitsLoss" in apply_edits(PREDICT_READS_OUTPUT, fix.edit.changes[session.uri("churn.py")])
    # Without that reader the same rewrite is safe, and preferred.
    [d] = await session.open("churn2.py", SEQUENTIAL_SIGMOID)
    safe = (await session.code_actions("churn2.py", d))[0]
    assert safe.is_preferred and not safe.title.endswith("(unsafe)")


async def test_positions_in_utf8_when_the_client_prefers_it(client: LanguageClient, tmp_path: Path) -> None:
    result = await client.initialize_session(initialize_params(tmp_path, client_capabilities("neovim")))
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf8
    [d] = await Session(client, tmp_path).open("pair.py", with_emoji_before_product())
    # U+1F600 is four UTF-8 bytes.
    assert d.range.start == types.Position(line=PRODUCT_LINE, character=PRODUCT_COLUMN + len(EMOJI_STATEMENT) + 3)


async def test_syntax_error_reports_il001_and_server_keeps_running(session: Session) -> None:
    broken = 'import torch\nx = "\U0001f600" +\n'
    [d] = await session.open("broken.py", broken)
    assert d.code == "IL001"
    assert d.range.start == types.Position(line=1, character=10)  # after the emoji: UTF-16 units
    # No noqa for a file that does not parse (comments are not read then).
    assert await session.code_actions("broken.py", d) == []
    assert await session.change("broken.py", 'import torch\nx = "\U0001f600"\n') == []
    assert [d.code for d in await session.open("pair.py", PAIR_MODEL)] == ["IL101"]


async def test_debounce_publishes_once_for_a_burst_of_changes(session: Session) -> None:
    await session.open("pair.py", PAIR_MODEL)
    uri = session.uri("pair.py")
    published: list[types.PublishDiagnosticsParams] = []
    original = session.client.protocol.fm.features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def record(params: types.PublishDiagnosticsParams) -> None:
        published.append(params)
        original(params)

    session.client.protocol.fm.features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = record
    for i in range(5):
        session.versions[uri] += 1
        params = types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=session.versions[uri]),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=PAIR_MODEL + "#" * i)],
        )
        session.client.text_document_did_change(params)
    await session.client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert [p.version for p in published] == [session.versions[uri]]


async def test_close_clears_and_non_python_is_ignored(session: Session) -> None:
    await session.open("pair.py", PAIR_MODEL)
    uri = session.uri("pair.py")
    cleared = await session.expect_diagnostics(
        uri,
        lambda: session.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        ),
    )
    assert cleared == []
    notes = types.TextDocumentItem(uri=session.uri("notes.txt"), language_id="plaintext", version=1, text="def f(:\n")
    session.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=notes))
    # The next publication is for the Python file opened after the text file, not for the text file.
    assert [d.code for d in await session.open("pair2.py", PAIR_MODEL)] == ["IL101"]
    assert session.uri("notes.txt") not in session.client.diagnostics


async def test_save_rechecks_at_once(session: Session) -> None:
    assert [d.code for d in await session.open("pair.py", PAIR_MODEL)] == ["IL101"]
    (session.root / "pyproject.toml").write_text('[tool.initlint]\nignore = ["IL101"]\n')
    assert await session.save("pair.py") == []


async def test_a_model_is_checked_with_the_arguments_another_file_builds_it_with(session: Session) -> None:
    from tests.cli.test_project_call_sites import NET, TRAIN

    (session.root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")  # the project's root
    train = session.root / "train.py"
    train.write_text(TRAIN.format(import_line="from model import Net", call="Net(784, 128, 8, False)"))
    assert sorted(str(d.code) for d in await session.open("model.py", NET)) == ["IL302", "IL402"]
    # train.py now builds it with batch norm: the next check of model.py reads it again.
    train.write_text(TRAIN.format(import_line="from model import Net", call="Net(784, 128, 8, True)"))
    assert await session.change("model.py", NET + "\n") == []


async def test_untitled_buffer_is_checked(session: Session) -> None:
    uri = "untitled:Untitled-1"
    item = types.TextDocumentItem(uri=uri, language_id="python", version=1, text=PAIR_MODEL)
    params = types.DidOpenTextDocumentParams(text_document=item)
    diagnostics = await session.expect_diagnostics(uri, lambda: session.client.text_document_did_open(params))
    assert [d.code for d in diagnostics] == ["IL101"]


async def test_configuration_from_pyproject_and_its_changes(session: Session) -> None:
    pyproject = session.root / "pyproject.toml"
    pyproject.write_text('[tool.initlint]\nignore = ["IL101"]\n')
    assert await session.open("pair.py", PAIR_MODEL) == []

    # The server asked the editor to watch pyproject.toml; a change re-checks the open documents.
    for _ in range(50):
        registrations = session.client.registrations  # type: ignore[attr-defined]
        if registrations:
            break
        await asyncio.sleep(0.1)
    [registration] = registrations
    assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    pyproject.write_text('[tool.initlint]\nselect = ["IL1"]\n')
    event = types.FileEvent(uri=pyproject.as_uri(), type=types.FileChangeType.Changed)

    def notify() -> None:
        session.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[event]))

    assert [d.code for d in await session.expect_diagnostics(session.uri("pair.py"), notify)] == ["IL101"]

    # Without a notification (editors that cannot watch files), the next check sees the new file too.
    pyproject.write_text('[tool.initlint]\nextend-select = ["IL2"]\nignore = ["IL1"]\n')
    assert await session.change("pair.py", PAIR_MODEL + "\n") == []

    # per-file-ignores match the path relative to the pyproject.toml folder.
    pyproject.write_text('[tool.initlint.per-file-ignores]\n"models/*" = ["IL101"]\n')
    (session.root / "models").mkdir()
    assert await session.open("models/pair.py", PAIR_MODEL) == []
    assert [d.code for d in await session.change("pair.py", PAIR_MODEL)] == ["IL101"]


async def test_invalid_configuration_is_logged_and_defaults_apply(session: Session) -> None:
    (session.root / "pyproject.toml").write_text("[tool.initlint]\nselect = 5\n")
    assert [d.code for d in await session.open("pair.py", PAIR_MODEL)] == ["IL101"]
    [log] = [m for m in session.client.log_messages if "pyproject.toml" in m.message]
    assert log.type == types.MessageType.Error and "select" in log.message


# The real server with IL101's check replaced by one that raises, or one that ends the check process.
CRASHING_SERVER = str(Path(__file__).with_name("crashing_server.py"))


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, CRASHING_SERVER, "raise"]))
async def crashing_client(lsp_client: LanguageClient, tmp_path: Path) -> Any:
    await lsp_client.initialize_session(initialize_params(tmp_path))
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def crashing(crashing_client: LanguageClient, tmp_path: Path) -> Session:
    return Session(crashing_client, tmp_path)


async def test_rule_crash_is_logged_and_server_survives(crashing: Session) -> None:
    uri = crashing.uri("pair.py")
    (crashing.root / "pair.py").write_text(PAIR_MODEL)
    item = types.TextDocumentItem(uri=uri, language_id="python", version=1, text=PAIR_MODEL)
    crashing.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
    log = await crashing.client.wait_for_notification(types.WINDOW_LOG_MESSAGE)
    assert log.type == types.MessageType.Error and "RuntimeError: rule bug" in log.message
    # Still alive: a file that does not parse never reaches the rules, and gets IL001.
    assert [d.code for d in await crashing.open("broken.py", "def f(:\n")] == ["IL001"]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, CRASHING_SERVER, "exit"]))
async def dying_client(lsp_client: LanguageClient, tmp_path: Path) -> Any:
    await lsp_client.initialize_session(initialize_params(tmp_path))
    yield
    await lsp_client.shutdown_session()


async def test_check_process_death_is_logged_and_a_new_one_checks(
    dying_client: LanguageClient, tmp_path: Path
) -> None:
    dying = Session(dying_client, tmp_path)
    uri = open_without_waiting(dying, "pair.py", PAIR_MODEL)
    log = await dying.client.wait_for_notification(types.WINDOW_LOG_MESSAGE)
    assert log.type == types.MessageType.Error
    assert "check process stopped (exit code 3) while checking" in log.message and "pair.py" in log.message
    assert uri not in dying.client.diagnostics
    # A new check process checks the next file (which never reaches the rules), and the next.
    assert [d.code for d in await dying.open("broken.py", "def f(:\n")] == ["IL001"]
    open_without_waiting(dying, "again.py", PAIR_MODEL)
    log = await dying.client.wait_for_notification(types.WINDOW_LOG_MESSAGE)
    assert "check process stopped (exit code 3) while checking" in log.message and "again.py" in log.message


async def test_confirmation_runs_only_when_asked(session: Session) -> None:
    [d] = await session.open("pair.py", PAIR_MODEL)
    assert "confirmed" not in d.message  # the static check never builds the model
    uri = session.uri("pair.py")

    async def run_confirm() -> Any:
        params = types.ExecuteCommandParams(command="initlint.confirm", arguments=[uri])
        return await session.client.workspace_execute_command_async(params)

    # An unsaved buffer is refused: the stage builds what is on disk.
    (session.root / "pair.py").write_text(PAIR_MODEL + "# edited elsewhere\n")
    assert "save the file first" in (await run_confirm())["error"]

    (session.root / "pair.py").write_text(PAIR_MODEL)
    result = await run_confirm()
    assert result == {"confirmed": 1, "refuted": 0, "unverified": 0}
    [d] = session.client.diagnostics[uri]
    assert "[confirmed:" in d.message and "zero gradient" in d.message


async def test_shutdown_and_exit_cleanly(tmp_path: Path) -> None:
    client = pytest_lsp.make_test_lsp_client()
    await client.start_io(*SERVER)
    await client.initialize_session(initialize_params(tmp_path))
    await client.shutdown_session()
    assert client._server is not None and client._server.returncode == 0
    await client.stop()


# A model file of about 5,000 lines: a check of it takes seconds (~1.8 s on a 2-core machine),
# long enough that a check on the event loop would hold up every request.
LONG_BLOCK = """

class Block{i}(nn.Module):
    def __init__(self, dim=64, hidden=256):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(0.1)
        nn.init.trunc_normal_(self.qkv.weight, std=0.02)

    def attention(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        att = F.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
        return att @ v

    def forward(self, x):
        x = x + self.attention(self.norm(x))
        return x + self.drop(self.fc2(F.gelu(self.fc1(self.norm(x)))))
"""


def long_model(lines: int = 5000) -> str:
    """Transformer blocks, then the pair model (one IL101)."""
    head = "import math\n\nimport torch.nn.functional as F\nfrom torch import nn\n"
    blocks = (lines - PAIR_MODEL.count("\n")) // LONG_BLOCK.count("\n")
    return head + "".join(LONG_BLOCK.format(i=i) for i in range(blocks)) + "\n\n" + PAIR_MODEL


def record_publications(session: Session) -> list[types.PublishDiagnosticsParams]:
    """Every publishDiagnostics from now on, in order of arrival."""
    published: list[types.PublishDiagnosticsParams] = []
    original = session.client.protocol.fm.features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def record(params: types.PublishDiagnosticsParams) -> None:
        published.append(params)
        original(params)

    session.client.protocol.fm.features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = record
    return published


def open_without_waiting(session: Session, name: str, text: str) -> str:
    uri = session.uri(name)
    (session.root / name).write_text(text, encoding="utf-8")
    session.versions[uri] = 1
    item = types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
    session.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
    return uri


async def test_hover_is_answered_while_a_long_file_is_checked(session: Session) -> None:
    [d] = await session.open("pair.py", PAIR_MODEL)
    hover = types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=session.uri("pair.py")), position=d.range.start
    )
    long_text = long_model()
    assert long_text.count("\n") >= 5000
    checked = asyncio.ensure_future(
        session.expect_diagnostics(session.uri("long.py"), lambda: open_without_waiting(session, "long.py", long_text))
    )
    await asyncio.sleep(0.2)  # the check is under way
    latencies = []
    while not checked.done():
        start = time.perf_counter()
        answer = await session.client.text_document_hover_async(hover)
        latencies.append(time.perf_counter() - start)
        assert answer is not None and "IL101" in answer.contents.value  # type: ignore[union-attr]
        await asyncio.sleep(0.05)
    assert [d.code for d in checked.result()] == ["IL101"]
    # Several hovers went out during the check, and each was answered at once.
    assert len(latencies) >= 3, latencies
    assert max(latencies) < 0.5, latencies


async def test_a_newer_edit_supersedes_a_check_under_way(session: Session) -> None:
    published = record_publications(session)
    uri = open_without_waiting(session, "long.py", long_model())
    await asyncio.sleep(0.2)  # the check of version 1 is under way
    # Version 2 is the fixed pair model alone: no findings, checked in a moment.
    assert await session.change("long.py", PAIR_MODEL.replace(ZERO_INIT, "")) == []
    await asyncio.sleep(0.5)
    # Version 1's IL101 was never published, neither before version 2's result nor after it.
    assert [(p.version, len(p.diagnostics)) for p in published if p.uri == uri] == [(2, 0)]


async def test_excluded_files_get_an_empty_list(session: Session) -> None:
    (session.root / "pyproject.toml").write_text('[tool.initlint]\nextend-exclude = ["generated/*.py"]\n')
    for folder in ("generated", "build"):  # build/ is excluded by default
        (session.root / folder).mkdir()
        assert await session.open(f"{folder}/pair.py", PAIR_MODEL) == []  # an empty list is published
    (session.root / "kept").mkdir()
    assert [d.code for d in await session.open("kept/pair.py", PAIR_MODEL)] == ["IL101"]

    # Excluding a file that has findings clears them at the next check.
    (session.root / "pyproject.toml").write_text('[tool.initlint]\nextend-exclude = ["kept"]\n')
    assert await session.save("kept/pair.py") == []


async def test_per_file_ignores_match_from_the_pyproject_folder(session: Session) -> None:
    project = session.root / "project"
    (project / "experiments").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.initlint.per-file-ignores]\n"experiments/*.py" = ["IL1"]\n')
    assert await session.open("project/experiments/pair.py", PAIR_MODEL) == []
    assert [d.code for d in await session.open("project/pair.py", PAIR_MODEL)] == ["IL101"]
    (session.root / "experiments").mkdir()  # outside the project: not matched
    assert [d.code for d in await session.open("experiments/pair.py", PAIR_MODEL)] == ["IL101"]


async def test_stdio_flag_is_accepted(tmp_path: Path) -> None:
    client = pytest_lsp.make_test_lsp_client()
    await client.start_io(*SERVER, "--stdio")
    result = await client.initialize_session(initialize_params(tmp_path))
    assert result.capabilities.hover_provider
    await client.shutdown_session()
    assert client._server is not None and client._server.returncode == 0
    await client.stop()


async def test_help_documents_stdio_and_unknown_flags_are_usage_errors() -> None:
    shown = subprocess.run([*SERVER, "--help"], capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0 and "--stdio" in shown.stdout
    refused = subprocess.run([*SERVER, "--tcp"], capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2
    assert "usage: initlint lsp" in refused.stderr and "unrecognized arguments: --tcp" in refused.stderr


# The pair model as a notebook: a markdown cell, the imports with IPython lines, the class.
NOTEBOOK_IMPORTS = "%matplotlib inline\n!pip install torch\n" + PAIR_MODEL[: PAIR_MODEL.index("class ")]
NOTEBOOK_MODEL = PAIR_MODEL[PAIR_MODEL.index("class ") :]
NOTEBOOK_PRODUCT_LINE = next(i for i, line in enumerate(NOTEBOOK_MODEL.splitlines()) if PRODUCT in line)


async def notebook_diagnostics(session: Session, cells: list[str], send: Callable[[], None]) -> dict[str, list[types.Diagnostic]]:
    """Send a notification and collect what the server publishes on each of the code cells' URIs.

    Read from the client's record of every publication: the cells' arrive back to back, faster
    than one wait_for_notification can follow another."""
    for uri in cells:
        session.client.diagnostics.pop(uri, None)
    send()
    while not all(uri in session.client.diagnostics for uri in cells):
        await asyncio.sleep(0.02)
    return {uri: list(session.client.diagnostics[uri]) for uri in cells}


async def test_notebook_cells_get_their_own_diagnostics(session: Session) -> None:
    notebook_uri = session.uri("pair.ipynb")
    cell_uris = [f"vscode-notebook-cell:{session.root / 'pair.ipynb'}#W{i}" for i in range(3)]
    texts = ["# The pair model", NOTEBOOK_IMPORTS, NOTEBOOK_MODEL]
    kinds = [types.NotebookCellKind.Markup, types.NotebookCellKind.Code, types.NotebookCellKind.Code]
    languages = ["markdown", "python", "python"]
    notebook = types.NotebookDocument(
        uri=notebook_uri,
        notebook_type="jupyter-notebook",
        version=1,
        cells=[types.NotebookCell(kind=k, document=u) for k, u in zip(kinds, cell_uris)],
    )
    documents = [
        types.TextDocumentItem(uri=u, language_id=lang, version=1, text=t)
        for u, lang, t in zip(cell_uris, languages, texts)
    ]
    open_params = types.DidOpenNotebookDocumentParams(notebook_document=notebook, cell_text_documents=documents)
    code_cells = cell_uris[1:]
    found = await notebook_diagnostics(session, code_cells, lambda: session.client.notebook_document_did_open(open_params))

    # The magics cause no IL001; the product is flagged in its own cell, at the cell's line.
    assert found[cell_uris[1]] == []
    [d] = found[cell_uris[2]]
    assert d.code == "IL101"
    assert d.range.start == types.Position(line=NOTEBOOK_PRODUCT_LINE, character=PRODUCT_COLUMN)
    # The zero initializers, in the same cell, are related places on that cell's URI.
    assert d.related_information and {r.location.uri for r in d.related_information} == {cell_uris[2]}

    # The quick fix's `noqa` comment goes into the cell, and the finding goes away as the cell is edited.
    actions = await session.code_actions_on(cell_uris[2], d)
    [suppress] = [a for a in actions if a.title == "Suppress IL101 on this line"]
    assert suppress.edit is not None and suppress.edit.changes is not None
    suppressed = apply_edits(NOTEBOOK_MODEL, suppress.edit.changes[cell_uris[2]])
    assert suppressed.splitlines()[NOTEBOOK_PRODUCT_LINE].endswith("  # noqa: IL101")
    change = types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(uri=notebook_uri, version=2),
        change=types.NotebookDocumentChangeEvent(
            cells=types.NotebookDocumentCellChanges(
                text_content=[
                    types.NotebookDocumentCellContentChanges(
                        document=types.VersionedTextDocumentIdentifier(uri=cell_uris[2], version=2),
                        changes=[types.TextDocumentContentChangeWholeDocument(text=suppressed)],
                    )
                ]
            )
        ),
    )
    found = await notebook_diagnostics(session, code_cells, lambda: session.client.notebook_document_did_change(change))
    assert found == {cell_uris[1]: [], cell_uris[2]: []}

    # Closing the notebook clears its cells.
    close = types.DidCloseNotebookDocumentParams(
        notebook_document=types.NotebookDocumentIdentifier(uri=notebook_uri),
        cell_text_documents=[types.TextDocumentIdentifier(uri=u) for u in cell_uris],
    )
    found = await notebook_diagnostics(session, code_cells, lambda: session.client.notebook_document_did_close(close))
    assert found == {cell_uris[1]: [], cell_uris[2]: []}
