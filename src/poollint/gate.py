"""What a file's source says before it is parsed with libcst, for the rules' gates.

Trigger substrings skip files that never mention what a rule looks for; on
library code they still let most files through ("connect", "async" and "://"
are everywhere). A gate asks a sharper question of the same bytes and of the
pass-1 facts: is any name with that ending *called* (an identifier followed
by `(`)? Is there an `async def`? Every answer over-approximates what the
rule's own checks need, so a gate may let a file through in vain but never
keeps out one with a finding (tests/test_gates.py compares every fixture with
the gates on and off).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Dict, FrozenSet, Optional, Set

from poollint import names
from poollint.facts import ModuleFacts
from poollint.project import index_table
from poollint.urls import DATABASE_SCHEMES

if TYPE_CHECKING:
    from poollint.project import ProjectIndex

# `name(`, also `(name)(`: what a call of `name` shows in the source. The
# lookbehind keeps the regex from trying every suffix of every identifier.
# Bytes above 0x7f are part of a name: identifiers need not be ASCII
# (`from time import sleep as siesta_é`).
_CALLED = re.compile(rb"(?<![A-Za-z0-9_\x80-\xff])([A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*)[\s)]*\(")
_ASYNC_DEF = re.compile(rb"\basync\s+def\b")
_SCHEME = re.compile(rb"(?<![A-Za-z0-9_+.\-])([A-Za-z][A-Za-z0-9_]*)(?:\+[A-Za-z0-9_]+)?://")


class SourceView:
    """One file's bytes and facts, with the answers gates ask computed once."""

    def __init__(self, source: bytes, facts: Optional[ModuleFacts]) -> None:
        self.source = source
        self.facts = facts
        self._called: Optional[FrozenSet[str]] = None
        self._async_def: Optional[bool] = None
        self._database_url: Optional[bool] = None

    @property
    def called(self) -> FrozenSet[str]:
        """Names called in the file, as written, plus what an imported name
        called there stands for (`snooze` from `from time import sleep as snooze`
        adds `sleep`); a superset: `def f(` and `class C(` count too."""
        if self._called is None:
            found = {match.decode("utf-8", "replace") for match in _CALLED.findall(self.source)}
            imports = _all_imports(self.facts)
            # `import time as t; t.sleep()` shows `sleep(` already; only a name
            # imported under another name needs its real name added.
            for local, qualified in imports.items():
                if local in found:
                    found.add(qualified.rsplit(".", 1)[-1])
            self._called = frozenset(found)
        return self._called

    def calls_any(self, wanted: FrozenSet[str]) -> bool:
        """Whether a function with one of these last names may be called here.
        For names.GATE_CALL_NAMES pass 1 looked at the syntax tree (a docstring
        showing `create_engine(...)` calls nothing); other names by the text."""
        if self.called.isdisjoint(wanted):
            return False
        if self.facts is not None and wanted <= names.GATE_CALL_NAMES:
            return not self.facts.gate_calls.isdisjoint(wanted)
        return True

    @property
    def has_async_def(self) -> bool:
        if self._async_def is None:
            self._async_def = _ASYNC_DEF.search(self.source) is not None
        return self._async_def

    @property
    def mentions_database_url(self) -> bool:
        """Whether `<database scheme>://` occurs in a string of the file that is
        not a bare expression statement (pass 1 looked; the text otherwise)."""
        if self._database_url is None:
            if self.facts is not None:
                self._database_url = self.facts.database_url
            else:
                self._database_url = _has_scheme(self.source)
        return self._database_url


def _all_imports(facts: Optional[ModuleFacts]) -> Dict[str, str]:
    """Local name -> qualified name, module-level and function-local imports."""
    if facts is None:
        return {}
    imports = dict(facts.imports)
    for fn in facts.functions.values():
        imports.update(fn.local_imports)
    return imports


def _has_scheme(text: bytes) -> bool:
    return any(match.decode("ascii").lower() in DATABASE_SCHEMES for match in _SCHEME.findall(text))


def _last(*tables: object) -> FrozenSet[str]:
    return frozenset(str(name).rsplit(".", 1)[-1] for table in tables for name in table)  # type: ignore[attr-defined]


def last_names(qualified: object) -> FrozenSet[str]:
    """`{"sleep"}` of `{"time.sleep"}`: what a call of any of them shows in the source."""
    return frozenset(str(name).rsplit(".", 1)[-1] for name in qualified)  # type: ignore[attr-defined]


# What a call of SQLAlchemy's engine and session factories shows in the source.
ENGINE_CALLS = _last(names.CREATE_ENGINE, names.CREATE_ASYNC_ENGINE)
SESSIONMAKER_CALLS = _last(names.SESSIONMAKERS, names.ASYNC_SESSIONMAKERS)


# What a module-level name can be that makes a module "use the database".
_DATABASE_KINDS = frozenset({"engine", "factory", "session", "dependency_alias"})


def uses_database(view: SourceView, index: "ProjectIndex") -> bool:
    """Whether the file can hold a session, connection or engine at all: it
    imports from SQLAlchemy or SQLModel, or imports a project name (or module)
    the index knows makes or hands out one, or defines one itself. A file
    with a star import is given the benefit of the doubt."""
    facts = view.facts
    if facts is None or facts.star_imports:
        return True
    if facts.engines or facts.factories or facts.other_engines:
        return True
    if any(kind in _DATABASE_KINDS for kind in facts.kinds.values()):
        return True
    imported = set(facts.imports.values())
    for fn in facts.functions.values():
        imported.update(fn.local_imports.values())
    return any(index.table("names_database", qualified) for qualified in sorted(imported))


@index_table("names_database")
def _names_database(index: "ProjectIndex", qualified: str) -> bool:
    """Whether importing `qualified` can bring a session, connection or engine."""
    if qualified.split(".", 1)[0] in ("sqlalchemy", "sqlmodel"):
        return True
    if _makes_database_resource(index, qualified):
        return True
    module = index.module(qualified)
    if module is None:
        return False
    # `import app.db as db`, then `db.SessionLocal()`.
    return any(_makes_database_resource(index, module.qualify(name)) for name in sorted(module.kinds))


def _makes_database_resource(index: "ProjectIndex", qualified: str) -> bool:
    return (
        index.kind(qualified) in _DATABASE_KINDS
        or index.created_by_call(qualified) is not None
        or index.of_dependency(qualified) is not None
    )


# What a call that checks a connection out of an engine shows in the source.
CONNECTING_CALLS = frozenset({"connect", "begin", "raw_connection"})
_SESSION_CLASS_CALLS = _last(names.SESSION_CLASSES, names.ASYNC_SESSION_CLASSES)


def session_triggers(index: "ProjectIndex") -> Set[str]:
    """`Session` (the classes, `sessionmaker`), plus every name under which
    the project's session factories and session-returning helpers can be
    called: their own names and the aliases modules import them as
    (`from .db import SessionLocal as Maker`, re-exported or not)."""
    found = {"Session"} | index.session_maker_names()
    for facts in index.modules.values():
        for local, qualified in facts.imports.items():
            if local not in found and index.created_by_call(qualified) is not None:
                found.add(local)
    return found


def calls_creating(view: SourceView, index: "ProjectIndex", kind: str) -> bool:
    """Whether the file may call something that creates a `kind` ("session"
    or "connection"): a name it calls is one a creating call can end in."""
    return not view.called.isdisjoint(index.table(f"{kind}_call_names"))


def _created_under(index: "ProjectIndex", kind: str) -> Set[str]:
    """Every name under which a call of the project's code makes a `kind`:
    its factories (sessions), helpers returning what those make, and the
    names modules import either as."""
    found: Set[str] = set()
    for facts in index.modules.values():
        if kind == "session":
            found.update(facts.factories)
        for fn in facts.functions.values():
            if fn.is_generator or not fn.returns_from:
                continue
            made = index.created_by_call(facts.qualify(fn.qualname))
            if made is not None and made.kind == kind:
                found.add(fn.qualname.rsplit(".", 1)[-1])
        for local, qualified in facts.imports.items():
            made = index.created_by_call(qualified)
            if made is not None and made.kind == kind:
                found.add(local)
    return found


@index_table("session_call_names")
def _session_call_names(index: "ProjectIndex") -> FrozenSet[str]:
    """The session classes, and the project's factories and helpers."""
    return _SESSION_CLASS_CALLS | frozenset(_created_under(index, "session"))


@index_table("connection_call_names")
def _connection_call_names(index: "ProjectIndex") -> FrozenSet[str]:
    """`connect`/`begin`/`raw_connection` and the project's helpers, in a
    project that creates an engine at module level: created_by_call() knows
    connections of those engines only."""
    if not any(facts.engines for facts in index.modules.values()):
        return frozenset()
    return CONNECTING_CALLS | frozenset(_created_under(index, "connection"))
