"""`initlint lsp`: a language server over stdio for editors (pygls).

It publishes the static check (`engine.check_source`) of the unsaved text of
every open Python document: at once on open and save, 0.1 s after the last
change while typing. An open Jupyter notebook (LSP 3.17 notebook documents)
is checked as one program, its Python code cells in order (notebook.py), and
each cell gets its own diagnostics on the cell's URI. It offers two quick fixes per finding (the rule's own
fix where it has one, and a `# noqa: CODE` comment), links each code to the
rule's documentation, and shows that documentation on hover.

Checks run one at a time in a process of their own (lsp_worker.py), so the
event loop answers hovers and code actions while a long file is checked.
Each scheduled check takes a ticket; a check whose ticket is no longer its
document's newest (a later edit, save or close) is skipped if still queued
and never published.

It never executes model code by itself: the confirmation stage runs only
through the `initlint.confirm` command, which the user invokes.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import os
import sys
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Optional

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from initlint import __version__
from initlint.config import ConfigError, Settings, find_pyproject, load_settings
from initlint.diagnostics import Diagnostic, Span
from initlint.discover import is_excluded
from initlint.engine import check_source
from initlint.facts.callsites import revalidate
from initlint.lsp_worker import CheckFailed, CheckProcess, CheckProcessDied
from initlint.notebook import NotebookMap, build_program, to_cells
from initlint.report.lsp import SEVERITIES
from initlint.rule import rule_by_code
from initlint.suppress import noqa_edit

# A pause between keystrokes. Short: a newer edit makes a queued check stale (tickets), so a
# check started mid-typing costs at most one wasted check; a longer wait delays every result.
DEBOUNCE_SECONDS = 0.1
CONFIRM_COMMAND = "initlint.confirm"

Published = list[tuple[types.Diagnostic, Diagnostic]]
Checked = Optional[tuple[Diagnostic, ...]]  # None: superseded while queued
# The notebooks the server asks for: Python code cells, in any notebook type.
NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[types.NotebookDocumentFilterWithCells(cells=[types.NotebookCellLanguage(language="python")])],
    save=True,
)


class NotebookCheck:
    """What one check of a notebook was made of: its program's map and, by cell position,
    the cells' documents at that moment."""

    def __init__(self, notebook_map: NotebookMap, cells: dict[int, str]) -> None:
        self.map = notebook_map
        self.cells = cells  # 1-based position -> cell document URI (code cells)


class InitlintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("initlint", __version__, notebook_document_sync=NOTEBOOK_SYNC)
        # Open notebooks -> the cell URIs they last published on (to clear removed cells).
        self.notebooks: dict[str, list[str]] = {}
        self.pending: dict[str, asyncio.TimerHandle] = {}
        # What was last published for each open document, to answer code actions and hovers.
        self.published: dict[str, Published] = {}
        # pyproject.toml path -> ((mtime, size), Settings); re-read when the file changes.
        self.settings_cache: dict[str, tuple[tuple[int, int], Settings]] = {}
        # The newest check wanted for each open document; tickets never repeat, even across a reopen.
        self.tickets: dict[str, int] = {}
        self.ticket_numbers = itertools.count(1)
        # The one thread that talks to the check process (and waits on it without holding the GIL).
        self.checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="initlint-check")
        self.check_process = CheckProcess()

    def schedule(self, uri: str, delay: float) -> None:
        """The one debounce: a new request for a document replaces the pending one, and makes
        any check of it already queued or running stale."""
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        ticket = self.tickets[uri] = next(self.ticket_numbers)
        self.pending[uri] = asyncio.get_running_loop().call_later(delay, self.start_check, uri, ticket)

    def is_current(self, uri: str, ticket: int) -> bool:
        """Whether `ticket` is still the newest for an open document (read from the check thread too)."""
        return self.tickets.get(uri) == ticket

    def start_check(self, uri: str, ticket: int) -> None:
        """Hand the document's current text to the check thread; its result is published if still current."""
        self.pending.pop(uri, None)
        if not self.is_current(uri, ticket):
            return
        notebook: Optional[NotebookCheck] = None
        if uri in self.notebooks:
            shown, text, notebook = self.notebook_program(uri)
        else:
            doc = self.workspace.get_text_document(uri)
            shown, text = doc.path, doc.source
        # An unsaved new buffer (untitled:...) has no folder, hence no pyproject.toml.
        on_disk = uri.startswith("file:")
        settings, path = self.settings_for(shown) if on_disk else (Settings(), shown)
        if on_disk and is_excluded(shown, settings):
            self.publish(uri, (), notebook)  # as on the command line; clears what an earlier configuration gave
            return
        future = asyncio.get_running_loop().run_in_executor(
            self.checker, self.run_check, uri, ticket, path, text, settings
        )
        future.add_done_callback(lambda done: self.finish_check(uri, ticket, shown, done, notebook))

    def notebook_program(self, uri: str) -> tuple[str, str, NotebookCheck]:
        """The path, program text and cells of an open notebook as they are now."""
        from pygls.uris import to_fs_path

        notebook = self.workspace.get_notebook_document(notebook_uri=uri)
        assert notebook is not None  # open: `self.notebooks` follows didOpen/didClose
        sources: list[tuple[int, str]] = []
        cells: dict[int, str] = {}
        for position, cell in enumerate(notebook.cells, 1):
            if cell.kind != types.NotebookCellKind.Code:
                continue
            doc = self.workspace.get_text_document(cell.document)
            if doc.language_id not in (None, "python"):
                continue
            sources.append((position, doc.source))
            cells[position] = cell.document
        program = build_program(sources)
        return to_fs_path(uri) or uri, program.text, NotebookCheck(program.map, cells)

    def run_check(self, uri: str, ticket: int, path: str, text: str, settings: Settings) -> Checked:
        """On the check thread: the diagnostics, or None when superseded while queued."""
        if not self.is_current(uri, ticket):
            return None
        return self.check_process.check(path, text, settings)

    def finish_check(
        self, uri: str, ticket: int, shown: str, done: asyncio.Future[Checked], notebook: Optional[NotebookCheck] = None
    ) -> None:
        if done.cancelled():
            return
        # A bug in a rule must not take the editor's server down: the previous diagnostics stay.
        error = done.exception()
        if isinstance(error, CheckProcessDied):
            if not self.check_process.closed:
                self.log(types.MessageType.Error, f"initlint: {error} while checking {shown}; a new one was started")
            return
        if error is not None:
            trace = str(error) if isinstance(error, CheckFailed) else "".join(
                traceback.format_exception(type(error), error, error.__traceback__)
            )
            self.log(types.MessageType.Error, f"initlint crashed on {shown}:\n{trace}")
            return
        diagnostics = done.result()
        if diagnostics is not None and self.is_current(uri, ticket):
            self.publish(uri, diagnostics, notebook)

    def publish(self, uri: str, diagnostics: Sequence[Diagnostic], notebook: Optional[NotebookCheck] = None) -> None:
        """Publish diagnostics of the document's current text (of a notebook: on each cell)."""
        if notebook is not None:
            self.publish_notebook(uri, diagnostics, notebook)
            return
        if uri not in self.published:  # closed meanwhile
            return
        doc = self.workspace.get_text_document(uri)
        pairs = [(to_lsp(doc, d), d) for d in diagnostics]
        self.published[uri] = pairs
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, version=doc.version, diagnostics=[p[0] for p in pairs])
        )

    def publish_notebook(self, uri: str, diagnostics: Sequence[Diagnostic], notebook: NotebookCheck) -> None:
        """Each code cell's diagnostics on the cell's URI, in the cell's own lines; cells no
        longer in the notebook are cleared."""
        if uri not in self.notebooks:  # closed meanwhile
            return
        by_cell: dict[int, list[Diagnostic]] = {position: [] for position in notebook.cells}
        for d in to_cells(diagnostics, {d.path: notebook.map for d in diagnostics}):
            if d.cell in by_cell:
                by_cell[d.cell].append(d)
        docs = {position: self.workspace.get_text_document(cell) for position, cell in notebook.cells.items()}
        for position, found in by_cell.items():
            doc = docs[position]
            pairs = [(to_lsp(doc, d, docs), d) for d in found]
            self.published[doc.uri] = pairs
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=doc.uri, version=doc.version, diagnostics=[p[0] for p in pairs])
            )
        current = list(notebook.cells.values())
        for gone in set(self.notebooks[uri]) - set(current):
            self.clear(gone)
        self.notebooks[uri] = current

    def clear(self, uri: str) -> None:
        """Forget a document's diagnostics and clear them in the editor."""
        if self.published.pop(uri, None) is not None:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def supersede(self, uri: str) -> None:
        """No check of `uri` scheduled so far will run or be published."""
        pending = self.pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        self.tickets.pop(uri, None)

    def shutdown(self) -> None:
        self.checker.shutdown(wait=False, cancel_futures=True)
        self.check_process.close()  # a check under way ends with it
        super().shutdown()  # type: ignore[no-untyped-call]

    def settings_for(self, path: str) -> tuple[Settings, str]:
        """Settings of the nearest pyproject.toml above `path`, and `path` relative to its folder
        (as the command line run from there sees it, for per-file-ignores)."""
        pyproject = find_pyproject(path)
        if pyproject is None:
            return Settings(), path
        try:
            stat = os.stat(pyproject)
        except OSError:
            return Settings(), path
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = self.settings_cache.get(pyproject)
        if cached is None or cached[0] != stamp:
            try:
                settings = load_settings(pyproject)
            except ConfigError as exc:  # reported once per version of the file; the defaults apply
                self.log(types.MessageType.Error, f"initlint: {exc}")
                settings = Settings()
            cached = (stamp, settings)
            self.settings_cache[pyproject] = cached
        return cached[1], os.path.relpath(path, os.path.dirname(pyproject)).replace(os.sep, "/")

    def log(self, kind: types.MessageType, message: str) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=message))


def to_range(doc: TextDocument, span: Span) -> types.Range:
    """1-based character columns -> the protocol's 0-based columns in the negotiated units (UTF-16 by default)."""
    return doc.position_codec.range_to_client_units(
        doc.lines,
        types.Range(
            start=types.Position(line=span.line - 1, character=span.column - 1),
            end=types.Position(line=span.end_line - 1, character=span.end_column - 1),
        ),
    )


def to_lsp(doc: TextDocument, d: Diagnostic, cells: Optional[dict[int, TextDocument]] = None) -> types.Diagnostic:
    """A diagnostic of `doc`; in a notebook, `cells` (by position) holds the documents
    that related places in other cells point to."""
    rule = rule_by_code(d.code)
    message = d.message
    severity = types.DiagnosticSeverity(SEVERITIES[d.severity])
    if d.confirmation is not None:
        message += f" [{d.confirmation.status}: {d.confirmation.detail}]"
        if d.confirmation.status == "refuted":
            severity = types.DiagnosticSeverity.Hint
    return types.Diagnostic(
        range=to_range(doc, d.span),
        message=message,
        severity=severity,
        code=d.code,
        code_description=types.CodeDescription(href=rule.docs_url()) if rule is not None else None,
        source="initlint",
        related_information=[
            types.DiagnosticRelatedInformation(
                location=types.Location(uri=where.uri, range=to_range(where, r.span)), message=r.message
            )
            for r in d.related
            # One buffer is checked; links to other files come from whole-project runs.
            if r.path == d.path and (where := doc if r.cell is None or cells is None else cells.get(r.cell)) is not None
        ]
        or None,
    )


def code_actions(doc: TextDocument, lsp_diag: types.Diagnostic, d: Diagnostic) -> list[types.CodeAction]:
    actions = []

    def action(title: str, edits: list[types.TextEdit], preferred: bool) -> types.CodeAction:
        return types.CodeAction(
            title=title,
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[lsp_diag],
            is_preferred=preferred,
            edit=types.WorkspaceEdit(changes={doc.uri: edits}),
        )

    if d.fix is not None:
        edits = [types.TextEdit(range=to_range(doc, e.span), new_text=e.text) for e in d.fix.edits]
        # Only a safe fix may be applied without a look (fix-all, a keybinding); an unsafe one
        # changes what the code does.
        title = f"{d.code}: {d.fix.message}" + ("" if d.fix.safe else " (unsafe)")
        actions.append(action(title, edits, d.fix.safe))
    rule = rule_by_code(d.code)
    if rule is not None and not rule.emitted_by_pipeline:  # IL001/IL002 come before comments are read
        where = noqa_edit(doc.source, d.line, d.code)
        if where is not None:
            start, end, text = where
            span = Span(d.line, start + 1, d.line, end + 1)
            edit = types.TextEdit(range=to_range(doc, span), new_text=text)
            actions.append(action(f"Suppress {d.code} on this line", [edit], False))
    return actions


def overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


server = InitlintServer()


def is_python(doc: TextDocument) -> bool:
    """Python sources; stubs (.pyi) hold no model code, as on the command line."""
    return (doc.language_id == "python" or doc.uri.endswith(".py")) and not doc.uri.endswith(".pyi")


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: InitlintServer, params: types.DidOpenTextDocumentParams) -> None:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    if is_python(doc):
        ls.published[doc.uri] = []
        ls.schedule(doc.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: InitlintServer, params: types.DidChangeTextDocumentParams) -> None:
    if params.text_document.uri in ls.published:
        ls.schedule(params.text_document.uri, DEBOUNCE_SECONDS)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: InitlintServer, params: types.DidSaveTextDocumentParams) -> None:
    if params.text_document.uri in ls.published:
        ls.schedule(params.text_document.uri, 0)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
def did_open_notebook(ls: InitlintServer, params: types.DidOpenNotebookDocumentParams) -> None:
    uri = params.notebook_document.uri
    ls.notebooks[uri] = []
    ls.schedule(uri, 0)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
def did_change_notebook(ls: InitlintServer, params: types.DidChangeNotebookDocumentParams) -> None:
    if params.notebook_document.uri in ls.notebooks:
        ls.schedule(params.notebook_document.uri, DEBOUNCE_SECONDS)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
def did_save_notebook(ls: InitlintServer, params: types.DidSaveNotebookDocumentParams) -> None:
    if params.notebook_document.uri in ls.notebooks:
        ls.schedule(params.notebook_document.uri, 0)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
def did_close_notebook(ls: InitlintServer, params: types.DidCloseNotebookDocumentParams) -> None:
    uri = params.notebook_document.uri
    ls.supersede(uri)
    for cell in ls.notebooks.pop(uri, []):
        ls.clear(cell)
    for cell_doc in params.cell_text_documents:
        ls.clear(cell_doc.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: InitlintServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.supersede(uri)
    if ls.published.pop(uri, None) is not None:
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(types.INITIALIZED)
async def initialized(ls: InitlintServer, params: types.InitializedParams) -> None:
    watched = ls.client_capabilities.workspace and ls.client_capabilities.workspace.did_change_watched_files
    if watched and watched.dynamic_registration:
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern="**/pyproject.toml")]
        )
        registration = types.Registration(
            id="initlint-pyproject", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options
        )
        await ls.client_register_capability_async(types.RegistrationParams(registrations=[registration]))


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: InitlintServer, params: types.DidChangeWatchedFilesParams) -> None:
    """A changed pyproject.toml re-checks every open document (settings_for re-reads it)."""
    ls.settings_cache.clear()
    cells = {cell for published in ls.notebooks.values() for cell in published}
    for uri in [u for u in ls.published if u not in cells] + list(ls.notebooks):
        ls.schedule(uri, 0)


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
)
def code_action(ls: InitlintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    if params.context.only and types.CodeActionKind.QuickFix not in params.context.only:
        return []
    doc = ls.workspace.get_text_document(params.text_document.uri)
    actions: list[types.CodeAction] = []
    for lsp_diag, d in ls.published.get(doc.uri, []):
        if overlaps(lsp_diag.range, params.range):
            actions.extend(code_actions(doc, lsp_diag, d))
    return actions


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: InitlintServer, params: types.HoverParams) -> types.Hover | None:
    point = types.Range(start=params.position, end=params.position)
    docs = []
    for lsp_diag, d in ls.published.get(params.text_document.uri, []):
        rule = rule_by_code(d.code)
        if rule is not None and overlaps(lsp_diag.range, point):
            docs.append(f"**{rule.code}** `{rule.name}`\n\n{rule.documentation()}")
    if not docs:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(docs)))


def confirm_saved_file(path: str, relative: str, buffer: str, settings: Settings) -> tuple[Diagnostic, ...] | str:
    """The static check and the confirmation stage on the saved file, or why they cannot run."""
    from initlint.confirm import confirm_diagnostics

    try:
        with open(path, encoding="utf-8-sig") as fh:
            saved = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read {path}: {exc}"
    if saved != buffer:
        return "save the file first: the confirmation stage builds the saved file"
    # Checked under the relative path (per-file-ignores), confirmed under the absolute one (it reads the file).
    revalidate()  # the project's other files as they are now (facts/callsites.py)
    static = [replace(d, path=path) for d in check_source(relative, saved, settings).diagnostics]
    return tuple(confirm_diagnostics(static, settings, os.path.dirname(path)))


@server.command(CONFIRM_COMMAND)
async def confirm(ls: InitlintServer, uri: str) -> dict[str, Any]:
    """Run the confirmation stage, which executes the model code, on an open document's saved file.

    Returns the number of findings per verdict, or {"error": reason}.
    """
    if importlib.util.find_spec("initlint.confirm") is None:
        return {"error": "this build of initlint has no confirmation stage"}
    if uri not in ls.published or any(uri in cells for cells in ls.notebooks.values()):
        return {"error": f"{uri} is not an open Python document (notebooks are checked statically only)"}
    doc = ls.workspace.get_text_document(uri)
    version = doc.version
    settings, relative = ls.settings_for(doc.path)
    result = await asyncio.get_running_loop().run_in_executor(
        None, confirm_saved_file, doc.path, relative, doc.source, settings
    )
    if isinstance(result, str):
        return {"error": result}
    if uri in ls.published and ls.workspace.get_text_document(uri).version == version:  # else edited meanwhile
        ls.supersede(uri)  # these supersede a check of the same text still under way
        ls.publish(uri, result)
    statuses = [d.confirmation.status for d in result if d.confirmation is not None]
    return {status: statuses.count(status) for status in ("confirmed", "refuted", "unverified")}


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="initlint lsp", description="Run the initlint language server over stdin/stdout."
    )
    # Editors' language clients pass it by default; stdio is the only transport.
    parser.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default and only transport)")
    parser.parse_args(list(argv or []))
    server.checker.submit(server.check_process.start)  # it loads the rules during the handshake
    server.start_io()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
