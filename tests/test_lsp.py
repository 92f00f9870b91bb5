"""`poollint server` driven over stdio by a real LSP client (pygls's), as an editor drives it.

Every exchange has a timeout, and the server process is killed if it
outlives the test, so a broken server fails these tests instead of hanging them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import pytest
from clirunner import cli_runner

pytest.importorskip("pygls", reason="the language server needs pygls: pip install -e '.[lsp]'")

from lsprotocol import types as lsp  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402
from pygls.uris import from_fs_path  # noqa: E402

from poollint.cli import main  # noqa: E402
from lsp_edits import apply_utf16_edits  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TIMEOUT = 60.0

PYPROJECT = "[tool.poollint]\n"
DB_ON_DISK = '''\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite:///app.db")
SessionLocal = sessionmaker(bind=engine)


def get_db():
    with SessionLocal() as db:
        yield db
'''
# What the editor holds of app/db.py: a finding only because app/routes.py,
# on disk, names get_db in Depends().
DB_IN_EDITOR = '''\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite:///app.db")
SessionLocal = sessionmaker(bind=engine)


def get_db():
    db = SessionLocal()
    yield db
    db.close()
'''
ROUTES_HEAD = '''\
import time

from fastapi import APIRouter, Depends

from app.db import get_db

router = APIRouter()


@router.get("/items")
def items(db=Depends(get_db)):
    return []
'''
ROUTES_ON_DISK = ROUTES_HEAD
# Characters outside ASCII and outside the BMP before the finding: its
# column differs in code points, UTF-16 units and bytes.
SLEEPY_LINE = '    note = "café ☕ 😀"; time.sleep(1)'
ROUTES_ONE_FIX = ROUTES_HEAD + f'''

@router.get("/ping")
async def ping():
{SLEEPY_LINE}
    return note
'''
ROUTES_TWO_FIXES = ROUTES_ONE_FIX + '''

@router.get("/pong")
async def pong():
    time.sleep(2)
'''
ROUTES_CLEAN = ROUTES_HEAD + '''

@router.get("/ping")
async def ping():
    return "café ☕ 😀"
'''
ROUTES_WITHOUT_DEPENDS = '''\
from fastapi import APIRouter

router = APIRouter()


@router.get("/items")
def items():
    return []
'''


def _project(root: Path, routes: str = ROUTES_ON_DISK, pyproject: str = PYPROJECT) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (root / "app" / "__init__.py").write_text("", encoding="utf-8")
    (root / "app" / "db.py").write_text(DB_ON_DISK, encoding="utf-8")
    (root / "app" / "routes.py").write_text(routes, encoding="utf-8")
    return root


def _check_fix_output(project: Path, relative: str, text: str, tmp_path: Path) -> str:
    """What `poollint check --fix` writes for `relative` holding `text`, in a copy of `project`."""
    copy = tmp_path / f"copy-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(project, copy)
    (copy / relative).write_text(text, encoding="utf-8")
    runner = cli_runner()
    runner.invoke(main, ["check", "--fix", "--no-cache", str(copy)], catch_exceptions=False)
    return (copy / relative).read_text(encoding="utf-8")


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _apply(text: str, edit: lsp.WorkspaceEdit, uri: str) -> str:
    if edit.document_changes is not None:
        (change,) = edit.document_changes
        assert isinstance(change, lsp.TextDocumentEdit)
        assert change.text_document.uri == uri
        edits = change.edits
    else:
        assert edit.changes is not None
        edits = edit.changes[uri]
    return apply_utf16_edits(
        text,
        [((e.range.start.line, e.range.start.character, e.range.end.line, e.range.end.character), e.new_text) for e in edits],
    )


def server_command() -> List[str]:
    """The command line the README's editor snippets start, run with this
    interpreter (`python -m poollint` is the `poollint` entry point)."""
    commands = _readme_server_commands()
    assert commands, "README.md shows no editor configuration starting `poollint server`"
    assert all(command == commands[0] for command in commands), commands
    program, *arguments = commands[0]
    assert program == "poollint"
    return [sys.executable, "-m", "poollint", *arguments]


def _readme_server_commands() -> List[List[str]]:
    """The command line of every snippet in the README's editor section, in
    the forms those snippets take (a snippet in another form fails the count)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Editors\n", 1)[1].split("\n## ", 1)[0]
    commands = []
    # JSON and Lua lists: ["poollint", "server"], { "poollint", "server" }.
    for match in re.finditer(r'[\[{]\s*("poollint"(?:\s*,\s*"[^"]*")*)\s*[\]}]', section):
        commands.append(json.loads(f"[{match.group(1)}]"))
    # A program and its arguments apart: VS Code's Generic LSP Client, Helix.
    for match in re.finditer(
        r'(?:"glspc\.serverCommand":|command =)\s*"(poollint)",?\s*(?:"glspc\.serverCommandArguments":|args =)\s*(\[[^\]]*\])',
        section,
    ):
        commands.append([match.group(1), *json.loads(match.group(2))])
    # VS Code, Neovim twice, Helix, Sublime Text.
    assert len(commands) == 5, commands
    return commands


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


class Editor:
    """A pygls client talking to `poollint server`, with what the server sent it."""

    def __init__(
        self, root: Path, position_encodings: Optional[List[str]] = None, arguments: Sequence[str] = ()
    ) -> None:
        self.root = root
        self.command = server_command() + list(arguments)
        self.position_encodings = position_encodings
        self.client = LanguageClient("poollint-tests", "0")
        self.published: "asyncio.Queue[lsp.PublishDiagnosticsParams]" = asyncio.Queue()
        self.messages: List[str] = []
        self.logs: List[str] = []
        self.registrations: List[lsp.Registration] = []

        @self.client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
        def on_register(params: lsp.RegistrationParams) -> None:
            self.registrations.extend(params.registrations)

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
            self.published.put_nowait(params)

        @self.client.feature(lsp.WINDOW_SHOW_MESSAGE)
        def on_message(params: lsp.ShowMessageParams) -> None:
            self.messages.append(params.message)

        @self.client.feature(lsp.WINDOW_LOG_MESSAGE)
        def on_log(params: lsp.LogMessageParams) -> None:
            self.logs.append(params.message)

    async def __aenter__(self) -> "Editor":
        await self.client.start_io(*self.command, cwd=str(self.root), env=_env())
        result = await asyncio.wait_for(
            self.client.initialize_async(
                lsp.InitializeParams(
                    process_id=os.getpid(),
                    root_uri=from_fs_path(str(self.root)),
                    workspace_folders=[lsp.WorkspaceFolder(uri=from_fs_path(str(self.root)), name="project")],
                    capabilities=lsp.ClientCapabilities(
                        workspace=lsp.WorkspaceClientCapabilities(
                            workspace_edit=lsp.WorkspaceEditClientCapabilities(document_changes=True),
                            did_change_watched_files=lsp.DidChangeWatchedFilesClientCapabilities(
                                dynamic_registration=True
                            ),
                        ),
                        general=lsp.GeneralClientCapabilities(position_encodings=self.position_encodings),  # type: ignore[arg-type]
                    ),
                )
            ),
            TIMEOUT,
        )
        self.capabilities = result.capabilities
        self.client.initialized(lsp.InitializedParams())
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        process = self.client._server
        try:
            if process is not None and process.returncode is None:
                await asyncio.wait_for(self.client.shutdown_async(None), TIMEOUT)
                self.client.exit(None)
                self.returncode = await asyncio.wait_for(process.wait(), TIMEOUT)
        finally:
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()
            await asyncio.wait_for(self.client.stop(), TIMEOUT)

    def uri(self, relative: str) -> str:
        return from_fs_path(str(self.root / relative))  # type: ignore[return-value]

    def open(self, relative: str, text: str, version: int = 1) -> str:
        uri = self.uri(relative)
        self.client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                text_document=lsp.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)
            )
        )
        return uri

    def change(self, uri: str, text: str, version: int) -> None:
        self.client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    async def diagnostics(self, uri: str, version: Optional[int] = None) -> List[lsp.Diagnostic]:
        """The next diagnostics published for `uri` (for `version`, when given)."""

        async def wait() -> List[lsp.Diagnostic]:
            while True:
                params = await self.published.get()
                if params.uri == uri and (version is None or params.version == version):
                    return list(params.diagnostics)

        return await asyncio.wait_for(wait(), TIMEOUT)

    async def code_actions(
        self, uri: str, diagnostics: List[lsp.Diagnostic], only: Optional[List[str]] = None, at: Optional[lsp.Range] = None
    ) -> List[lsp.CodeAction]:
        where = at or (diagnostics[0].range if diagnostics else lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)))
        result = await asyncio.wait_for(
            self.client.text_document_code_action_async(
                lsp.CodeActionParams(
                    text_document=lsp.TextDocumentIdentifier(uri=uri),
                    range=where,
                    context=lsp.CodeActionContext(diagnostics=diagnostics, only=only),  # type: ignore[arg-type]
                )
            ),
            TIMEOUT,
        )
        return [action for action in result or [] if isinstance(action, lsp.CodeAction)]


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_the_readme_snippets_start_poollint_server() -> None:
    assert server_command()[3:] == ["server"]


def test_diagnostics_quick_fix_fix_all_and_clearing(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")

    async def session() -> None:
        async with Editor(project) as editor:
            sync = editor.capabilities.text_document_sync
            assert isinstance(sync, lsp.TextDocumentSyncOptions)
            assert sync.open_close and sync.save
            provider = editor.capabilities.code_action_provider
            assert isinstance(provider, lsp.CodeActionOptions)
            assert set(provider.code_action_kinds or []) == {"quickfix", "source.fixAll.poollint"}

            # The in-memory text is checked, not the (clean) file on disk.
            uri = editor.open("app/routes.py", ROUTES_ONE_FIX, version=1)
            (diagnostic,) = await editor.diagnostics(uri, version=1)
            assert diagnostic.code == "POL101"
            assert diagnostic.source == "poollint"
            assert diagnostic.severity == lsp.DiagnosticSeverity.Warning
            assert diagnostic.code_description is not None
            assert diagnostic.code_description.href.endswith("/docs/rules/POL101.md")
            line = ROUTES_ONE_FIX.splitlines().index(SLEEPY_LINE)
            before = SLEEPY_LINE[: SLEEPY_LINE.index("time.sleep")]
            assert diagnostic.range == lsp.Range(
                start=lsp.Position(line=line, character=_utf16(before)),
                end=lsp.Position(line=line, character=_utf16(before + "time.sleep(1)")),
            )

            actions = await editor.code_actions(uri, [diagnostic])
            quick = [a for a in actions if a.kind == lsp.CodeActionKind.QuickFix]
            assert [a.title for a in quick] == ["poollint (POL101): Use `await asyncio.sleep(...)`"]
            assert list(quick[0].diagnostics or []) == [diagnostic]
            assert quick[0].edit is not None
            fixed = _apply(ROUTES_ONE_FIX, quick[0].edit, uri)
            assert fixed == _check_fix_output(project, "app/routes.py", ROUTES_ONE_FIX, tmp_path)
            assert "await asyncio.sleep(1)" in fixed

            # A change: two findings, both fixed by source.fixAll.poollint.
            editor.change(uri, ROUTES_TWO_FIXES, version=2)
            diagnostics = await editor.diagnostics(uri, version=2)
            assert [d.code for d in diagnostics] == ["POL101", "POL101"]
            (fix_all,) = await editor.code_actions(uri, [], only=["source.fixAll"])
            assert fix_all.kind == "source.fixAll.poollint"
            assert fix_all.title == "poollint: Fix all auto-fixable problems"
            assert fix_all.edit is not None
            fixed = _apply(ROUTES_TWO_FIXES, fix_all.edit, uri)
            assert fixed == _check_fix_output(project, "app/routes.py", ROUTES_TWO_FIXES, tmp_path)
            assert fixed.count("await asyncio.sleep(") == 2
            # Asking for quick fixes only leaves fix-all out, and the other way round.
            quick_only = await editor.code_actions(uri, diagnostics[:1], only=["quickfix"])
            assert [a.kind for a in quick_only] == [lsp.CodeActionKind.QuickFix]

            editor.change(uri, ROUTES_CLEAN, version=3)
            assert await editor.diagnostics(uri, version=3) == []
            assert await editor.code_actions(uri, [], only=["source.fixAll"]) == []

            editor.change(uri, ROUTES_ONE_FIX, version=4)
            assert len(await editor.diagnostics(uri, version=4)) == 1
            editor.client.text_document_did_close(
                lsp.DidCloseTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
            )
            assert await editor.diagnostics(uri) == []
        assert editor.returncode == 0
        assert not editor.messages

    _run(session())


def test_the_index_is_the_project_on_disk_with_the_document_in_memory(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")

    async def session() -> None:
        async with Editor(project) as editor:
            db = editor.open("app/db.py", DB_IN_EDITOR)
            (diagnostic,) = await editor.diagnostics(db, version=1)
            # A dependency only because app/routes.py (on disk) says Depends(get_db).
            assert diagnostic.code == "POL202"
            (quick,) = [a for a in await editor.code_actions(db, [diagnostic]) if a.kind == "quickfix"]
            assert quick.edit is not None
            assert _apply(DB_IN_EDITOR, quick.edit, db) == _check_fix_output(project, "app/db.py", DB_IN_EDITOR, tmp_path)

            # routes.py saved without Depends(get_db): get_db is no dependency any more.
            routes = editor.open("app/routes.py", ROUTES_WITHOUT_DEPENDS)
            assert await editor.diagnostics(routes, version=1) == []
            (project / "app" / "routes.py").write_text(ROUTES_WITHOUT_DEPENDS, encoding="utf-8")
            editor.client.text_document_did_save(
                lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=routes))
            )
            assert await editor.diagnostics(db) == []
        assert editor.returncode == 0

    _run(session())


def test_a_broken_configuration_is_reported_and_the_server_keeps_serving(tmp_path: Path) -> None:
    project = _project(tmp_path, routes=ROUTES_ONE_FIX, pyproject="[tool.poollint]\nselect = 5\n")

    async def session() -> None:
        # An editor that counts in UTF-8 bytes, as Neovim prefers.
        async with Editor(project, position_encodings=["utf-8"]) as editor:
            assert editor.capabilities.position_encoding == "utf-8"
            uri = editor.open("app/routes.py", ROUTES_ONE_FIX)
            assert await editor.diagnostics(uri, version=1) == []
            assert len(editor.messages) == 1
            assert "pyproject.toml" in editor.messages[0] and "\n" not in editor.messages[0]
            assert any("pyproject.toml" in log for log in editor.logs)
            # A request about a document the client never opened.
            assert await editor.code_actions(editor.uri("app/nowhere.py"), []) == []

            # The server asked to hear of pyproject.toml changes, and hears of the fix.
            (registration,) = editor.registrations
            assert registration.method == lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES
            (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
            editor.client.workspace_did_change_watched_files(
                lsp.DidChangeWatchedFilesParams(
                    changes=[lsp.FileEvent(uri=editor.uri("pyproject.toml"), type=lsp.FileChangeType.Changed)]
                )
            )
            (diagnostic,) = await editor.diagnostics(uri, version=1)
            assert diagnostic.code == "POL101"
            before = SLEEPY_LINE[: SLEEPY_LINE.index("time.sleep")]
            assert diagnostic.range.start.character == len(before.encode("utf-8"))
        assert editor.returncode == 0

    _run(session())


def test_unsafe_fixes_are_offered_only_when_enabled(tmp_path: Path) -> None:
    sessions = '''\
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine("postgresql+asyncpg://app@db/shop", pool_size=5, max_overflow=10, pool_recycle=1800, pool_pre_ping=True)
SessionLocal = async_sessionmaker(engine)
'''
    # Two projects in one workspace, each with its own [tool.poollint].
    _project(tmp_path / "safe")
    _project(tmp_path / "unsafe", pyproject="[tool.poollint]\nunsafe-fixes = true\n")

    async def session() -> Dict[str, List[str]]:
        titles = {}
        async with Editor(tmp_path) as editor:
            for project in ("safe", "unsafe"):
                uri = editor.open(f"{project}/app/sessions.py", sessions)
                diagnostics = [d for d in await editor.diagnostics(uri, version=1) if d.code == "POL404"]
                assert diagnostics
                titles[project] = [a.title for a in await editor.code_actions(uri, diagnostics)]
        return titles

    titles = _run(session())
    assert titles["safe"] == []
    assert any(title.startswith("poollint (POL404): ") for title in titles["unsafe"])
    assert "poollint: Fix all auto-fixable problems" in titles["unsafe"]


def test_the_server_exits_1_on_exit_without_shutdown(tmp_path: Path) -> None:
    async def session() -> int:
        # --stdio, which some clients add, changes nothing.
        editor = Editor(_project(tmp_path), arguments=["--stdio"])
        await editor.__aenter__()
        process = editor.client._server
        assert process is not None
        try:
            editor.client.exit(None)
            return await asyncio.wait_for(process.wait(), TIMEOUT)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await asyncio.wait_for(editor.client.stop(), TIMEOUT)

    assert _run(session()) == 1
