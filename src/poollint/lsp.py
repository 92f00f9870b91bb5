"""`poollint server`: a language server (pygls 2) for editors.

It publishes poollint's findings as diagnostics when a document is opened,
changed or saved (and clears them when it is closed), and offers fixes as
code actions: a quick fix per finding, and `source.fixAll.poollint` for all of
a document's fixes at once, as ruff's server does. Safe fixes only, unless
unsafe fixes are enabled (`unsafe-fixes = true`, or `--unsafe-fixes`).

The checking (editor.py) runs in one worker thread, one job at a time, so
that the server keeps reading messages while a check runs; a job for a
version of a document that has since changed is skipped. Everything the
server writes to the client is written from the event loop.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Union
from urllib.parse import unquote

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from poollint import __version__
from poollint.diagnostic import FILE_CODES, Diagnostic
from poollint.editor import (
    FIX_ALL_KIND,
    SOURCE,
    UTF8,
    UTF16,
    UTF32,
    DocumentCheck,
    DocumentError,
    Projects,
    Span,
    finding_span,
    rule_url,
    split_lines,
    text_edits,
)

_ENCODINGS = {"utf-8": UTF8, "utf-32": UTF32}


@dataclass(frozen=True)
class _Snapshot:
    """A document as the client last described it, taken on the event loop."""

    uri: str
    version: Optional[int]
    text: str
    language_id: str
    path: Path


class PoollintServer(LanguageServer):
    def __init__(self, unsafe_fixes: Optional[bool] = None) -> None:
        super().__init__("poollint", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.projects = Projects(unsafe_fixes)
        # One thread: the engine's module-level caches are not shared between
        # threads, and checks of one document must not overtake each other.
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="poollint-check")
        # Owned by the worker thread: the last check of each open document.
        self.checks: Dict[str, DocumentCheck] = {}
        # Owned by the event loop: the newest version of each open document.
        self.latest: Dict[str, Optional[int]] = {}
        self.shutdown_requested = False
        self._shown_errors: Set[str] = set()

    # -- helpers on the event loop ----------------------------------------------

    @property
    def encoding(self) -> str:
        # pygls takes the client's first choice (Neovim's is UTF-8); LSP's default is UTF-16.
        negotiated = self.workspace.position_encoding
        return _ENCODINGS.get(getattr(negotiated, "value", negotiated), UTF16)  # type: ignore[arg-type]

    def snapshot(self, uri: str) -> Optional[_Snapshot]:
        document = self.workspace.text_documents.get(unquote(uri))
        if document is None:
            return None
        path = to_fs_path(uri)
        if path is None:
            if not uri.startswith("untitled:"):
                return None  # a view of another version (git:, a diff): not the project's file
            # A new, unsaved buffer: checked as a file of the first workspace folder.
            base = self.projects.folders[0] if self.projects.folders else Path.cwd()
            path = str(base / (Path(document.path).name or "untitled.py"))
        return _Snapshot(uri, document.version, document.source, document.language_id or "", Path(path))

    def log(self, message: str, kind: lsp.MessageType = lsp.MessageType.Error) -> None:
        self.window_log_message(lsp.LogMessageParams(type=kind, message=message))

    def report_failure(self, what: str, exc: BaseException) -> None:
        """A request or check failed: say so in the log; the server goes on."""
        if isinstance(exc, DocumentError):
            message = f"poollint: {exc}"
            self.log(message)
            if message not in self._shown_errors:
                # Once per cause: a broken pyproject.toml would otherwise pop up on every keystroke.
                self._shown_errors.add(message)
                self.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Error, message=message))
            return
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.log(f"poollint: internal error while {what}: {type(exc).__name__}: {exc}\n{detail}")

    async def watch_configuration(self) -> None:
        """Ask the editor to say when a pyproject.toml changes (as ruff's
        server does): a [tool.poollint] table may change every finding."""
        workspace = self.client_capabilities.workspace
        watched = workspace.did_change_watched_files if workspace is not None else None
        if watched is None or not watched.dynamic_registration:
            return
        options = lsp.DidChangeWatchedFilesRegistrationOptions(
            watchers=[lsp.FileSystemWatcher(glob_pattern="**/pyproject.toml")]
        )
        registration = lsp.Registration(
            id="poollint-configuration", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options
        )
        try:
            await self.client_register_capability_async(lsp.RegistrationParams(registrations=[registration]))
        except Exception as exc:
            self.report_failure("asking the editor to watch pyproject.toml files", exc)

    async def in_worker(self, job: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.worker, job, *args)

    async def lint(self, uri: str, refresh: bool = False) -> None:
        """Check the document and publish its diagnostics, unless it changed meanwhile."""
        snapshot = self.snapshot(uri)
        if snapshot is None:
            return
        self.latest[uri] = snapshot.version
        try:
            diagnostics = await self.in_worker(self._check_job, snapshot, refresh)
        except Exception as exc:
            self.report_failure(f"checking {snapshot.path}", exc)
            diagnostics = []
        if diagnostics is None or uri not in self.latest or self.latest[uri] != snapshot.version:
            return
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=snapshot.version)
        )

    # -- jobs in the worker thread ----------------------------------------------

    def _current(self, snapshot: _Snapshot, refresh: bool = False) -> Optional[DocumentCheck]:
        check = self.checks.get(snapshot.uri)
        if check is not None and not refresh and check.text == snapshot.text and check.path == snapshot.path:
            return check
        self.checks.pop(snapshot.uri, None)
        check = self.projects.check(snapshot.path, snapshot.text, snapshot.language_id, refresh=refresh)
        if check is not None:
            self.checks[snapshot.uri] = check
        return check

    def _check_job(self, snapshot: _Snapshot, refresh: bool) -> Optional[List[lsp.Diagnostic]]:
        if self.latest.get(snapshot.uri, snapshot.version) != snapshot.version:
            return None  # a newer version is queued behind this job
        check = self._current(snapshot, refresh)
        if check is None:
            return []
        lines = split_lines(check.text)
        return [self._diagnostic(finding, lines) for finding in check.findings]

    def _diagnostic(self, finding: Diagnostic, lines: Sequence[str]) -> lsp.Diagnostic:
        url = rule_url(finding.code)
        return lsp.Diagnostic(
            range=_range(finding_span(finding, lines, self.encoding)),
            message=finding.message,
            # As ruff: a finding is a warning; a file that could not be checked
            # (its E902 and syntax errors, our POL9xx) is an error.
            severity=lsp.DiagnosticSeverity.Error if finding.code in FILE_CODES else lsp.DiagnosticSeverity.Warning,
            code=finding.code,
            code_description=lsp.CodeDescription(href=url) if url else None,
            source=SOURCE,
        )

    def _refresh_job(self, snapshot: _Snapshot) -> List[str]:
        """Re-read the saved document's project from disk; the other open
        documents of that project, whose findings may have changed with it
        (their checks are dropped, so that they are checked again)."""
        check = self._current(snapshot, refresh=True)
        if check is None:
            return []
        related = [
            uri
            for uri, other in self.checks.items()
            if uri != snapshot.uri and other.project_root == check.project_root
        ]
        for uri in related:
            del self.checks[uri]
        return related

    def _forget_job(self, uri: str) -> None:
        self.checks.pop(uri, None)

    def _code_actions_job(
        self, snapshot: _Snapshot, params: lsp.CodeActionParams, document_changes: bool
    ) -> List[lsp.CodeAction]:
        check = self._current(snapshot)
        if check is None:
            return []
        only = params.context.only
        lines = split_lines(check.text)
        actions: List[lsp.CodeAction] = []
        if _wanted(lsp.CodeActionKind.QuickFix, only):
            sent = [d for d in params.context.diagnostics if d.source in (SOURCE, None)]
            requested = Span(
                params.range.start.line,
                params.range.start.character,
                params.range.end.line,
                params.range.end.character,
            )
            for finding in check.findings:
                if not check.offers_fix(finding):
                    continue
                ours = self._diagnostic(finding, lines)
                theirs = _matching(ours, sent)
                if theirs is None and (sent or not finding_span(finding, lines, self.encoding).overlaps(requested)):
                    continue
                fixed = check.fixed_by(finding)
                if fixed is None:
                    continue
                title = _fix_title(finding.code)
                actions.append(
                    lsp.CodeAction(
                        title=f"{SOURCE} ({finding.code}): {title}",
                        kind=lsp.CodeActionKind.QuickFix,
                        diagnostics=[theirs or ours],
                        edit=self._edit(snapshot, check.text, fixed, document_changes),
                    )
                )
        if _wanted(FIX_ALL_KIND, only):
            fixed = check.fixed_all()
            if fixed is not None:
                actions.append(
                    lsp.CodeAction(
                        title=f"{SOURCE}: Fix all auto-fixable problems",
                        kind=FIX_ALL_KIND,
                        edit=self._edit(snapshot, check.text, fixed, document_changes),
                    )
                )
        return actions

    def _edit(self, snapshot: _Snapshot, old: str, new: str, document_changes: bool) -> lsp.WorkspaceEdit:
        edits = [lsp.TextEdit(range=_range(span), new_text=text) for span, text in text_edits(old, new, self.encoding)]
        if document_changes:
            return lsp.WorkspaceEdit(
                document_changes=[
                    lsp.TextDocumentEdit(
                        text_document=lsp.OptionalVersionedTextDocumentIdentifier(
                            uri=snapshot.uri, version=snapshot.version
                        ),
                        edits=edits,  # type: ignore[arg-type]
                    )
                ]
            )
        return lsp.WorkspaceEdit(changes={snapshot.uri: edits})


def _range(span: Span) -> lsp.Range:
    return lsp.Range(
        start=lsp.Position(line=span.start_line, character=span.start_character),
        end=lsp.Position(line=span.end_line, character=span.end_character),
    )


def _wanted(kind: str, only: Optional[Sequence[Union[lsp.CodeActionKind, str]]]) -> bool:
    """Whether the client asked for actions of `kind`: `only` names kinds or
    their parents ("source" covers "source.fixAll.poollint")."""
    if not only:
        return True
    wanted = _plain(kind)
    return any(wanted == _plain(asked) or wanted.startswith(f"{_plain(asked)}.") for asked in only)


def _plain(value: Union[lsp.CodeActionKind, str]) -> str:
    # lsprotocol's enums mix in str, but their str() and format() differ
    # between Python versions: compare the values.
    return str(getattr(value, "value", value))


def _matching(ours: lsp.Diagnostic, sent: Sequence[lsp.Diagnostic]) -> Optional[lsp.Diagnostic]:
    for diagnostic in sent:
        if str(diagnostic.code) == ours.code and diagnostic.range == ours.range:
            return diagnostic
    return None


def _fix_title(code: str) -> str:
    from poollint.rules import RULES_BY_CODE

    rule = RULES_BY_CODE.get(code)
    return (rule.FIX_TITLE if rule is not None else None) or "Apply fix"


def create_server(unsafe_fixes: Optional[bool] = None) -> PoollintServer:
    server = PoollintServer(unsafe_fixes)

    @server.feature(lsp.INITIALIZE)
    def initialize(ls: PoollintServer, params: lsp.InitializeParams) -> None:
        folders = [to_fs_path(folder.uri) for folder in params.workspace_folders or []]
        if not folders and params.root_uri:
            folders = [to_fs_path(params.root_uri)]
        if not folders and params.root_path:
            folders = [params.root_path]
        ls.projects.set_folders([Path(folder) for folder in folders if folder])

    @server.feature(lsp.INITIALIZED)
    async def initialized(ls: PoollintServer, params: lsp.InitializedParams) -> None:
        await ls.watch_configuration()

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def configuration_changed(ls: PoollintServer, params: lsp.DidChangeWatchedFilesParams) -> None:
        for uri in list(ls.latest):
            await ls.lint(uri, refresh=True)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def folders_changed(ls: PoollintServer, params: lsp.DidChangeWorkspaceFoldersParams) -> None:
        paths = [to_fs_path(folder.uri) for folder in ls.workspace.folders.values()]
        ls.projects.set_folders([Path(path) for path in paths if path])

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: PoollintServer, params: lsp.DidOpenTextDocumentParams) -> None:
        await ls.lint(params.text_document.uri, refresh=True)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: PoollintServer, params: lsp.DidChangeTextDocumentParams) -> None:
        await ls.lint(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE, lsp.SaveOptions(include_text=False))
    async def did_save(ls: PoollintServer, params: lsp.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        snapshot = ls.snapshot(uri)
        if snapshot is None:
            return
        try:
            related = await ls.in_worker(ls._refresh_job, snapshot)
        except Exception as exc:
            ls.report_failure(f"reading the project of {snapshot.path}", exc)
            related = []
        # The saved file may settle (or raise) findings in the files that use it.
        for other in dict.fromkeys([uri, *related]):
            await ls.lint(other)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: PoollintServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.latest.pop(uri, None)
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        await ls.in_worker(ls._forget_job, uri)

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix, FIX_ALL_KIND]),
    )
    async def code_action(ls: PoollintServer, params: lsp.CodeActionParams) -> Optional[List[lsp.CodeAction]]:
        snapshot = ls.snapshot(params.text_document.uri)
        if snapshot is None:
            return None
        capabilities = ls.client_capabilities.workspace
        edit_capabilities = capabilities.workspace_edit if capabilities is not None else None
        document_changes = bool(edit_capabilities and edit_capabilities.document_changes)
        try:
            return await ls.in_worker(ls._code_actions_job, snapshot, params, document_changes)
        except Exception as exc:
            ls.report_failure(f"computing code actions for {snapshot.path}", exc)
            return None

    @server.feature(lsp.SHUTDOWN)
    def shutdown(ls: PoollintServer, *args: Any) -> None:
        ls.shutdown_requested = True
        ls.worker.shutdown(wait=False, cancel_futures=True)

    return server


def serve(unsafe_fixes: Optional[bool] = None) -> int:
    """Serve one client over stdin/stdout until it says exit (or hangs up);
    the exit status LSP asks for: 0 after a shutdown request, else 1."""
    server = create_server(unsafe_fixes)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # Anything printed by mistake must not land in the protocol stream.
    sys.stdout = sys.stderr
    server.start_io(stdin, stdout)
    server.worker.shutdown(wait=False, cancel_futures=True)
    return 0 if server.shutdown_requested else 1


__all__ = ["PoollintServer", "create_server", "serve"]
