"""The engine's promises about work it does not do: files it never parses, nodes it never rebuilds."""

from __future__ import annotations

import libcst as cst

from poollint import engine
from poollint.rule import PoolRule
from poollint.testing import lint_sources
from poollint.walk import walk


class CallsToFrobnicate(PoolRule):
    CODE = "POL981"
    NAME = "frobnicate"
    MESSAGE = "frobnicate() called"
    TRIGGERS = ("frobnicate",)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "frobnicate":
            self.report(node)


class CallsToProjectFactories(PoolRule):
    """Fires on calls to any sessionmaker the project defines, whatever its name."""

    CODE = "POL982"
    NAME = "factory-call"
    MESSAGE = "factory called"
    TRIGGERS = ("Session",)

    @classmethod
    def triggers(cls, index):
        return (*cls.TRIGGERS, *index.session_maker_names())

    def visit_Call(self, node: cst.Call) -> None:
        resource = self.ctx.resource(node)
        if resource is not None and resource.kind == "session":
            self.report(node)


def test_a_file_without_any_trigger_is_never_parsed(monkeypatch) -> None:
    parsed = []
    real_parse = cst.parse_module
    monkeypatch.setattr(engine.cst, "parse_module", lambda source: parsed.append(source) or real_parse(source))
    results = lint_sources({"a.py": "frobnicate()\n", "b.py": "print('nothing here')\n"}, [CallsToFrobnicate])
    assert [d.code for d in results["a.py"].diagnostics] == ["POL981"]
    assert parsed == [b"frobnicate()\n"]


def test_project_names_extend_the_triggers() -> None:
    db = "from sqlalchemy.orm import sessionmaker\nmake_db = sessionmaker()\n"
    user = "from db import make_db\n\ndef f():\n    return make_db()\n"
    results = lint_sources({"db.py": db, "user.py": user}, [CallsToProjectFactories])
    assert [(d.code, d.line) for d in results["user.py"].diagnostics] == [("POL982", 4)]


def test_the_walk_visits_in_source_order_and_skips_tokens() -> None:
    module = cst.parse_module(
        "@deco\ndef f(a, /, b=1, *c, d, **e) -> R:\n    x = y if t else z\n    g(k=v)\n"
    )
    seen = []

    def note(node):
        if isinstance(node, cst.Name):
            seen.append(node.value)

    kinds = set()
    visits = {cls: [note] for cls in (cst.Name,)}

    class Everything(dict):
        def get(self, kind, default=()):
            kinds.add(kind)
            return visits.get(kind, default)

    walk(module, Everything(), {})
    assert seen == ["deco", "f", "a", "b", "c", "d", "e", "R", "x", "y", "t", "z", "g", "k", "v"]
    assert not any(issubclass(kind, (cst.BaseParenthesizableWhitespace, cst.Comma, cst.EmptyLine)) for kind in kinds)


def test_the_walk_survives_deep_nesting() -> None:
    module = cst.parse_module("x = " + "(" * 200 + "1" + ")" * 200 + "\n")
    walk(module, {}, {})


def _shared_walk_projects():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    fixtures = root / "tests" / "fixtures"
    found = [root / "examples" / "shop", fixtures / "project"]
    for family in ("leaks", "pool_config"):
        found.extend(sorted(p for p in (fixtures / family).iterdir() if p.name.startswith("POL")))
    return found


import pytest  # noqa: E402


@pytest.mark.parametrize("path", _shared_walk_projects(), ids=lambda p: p.name)
def test_rules_sharing_one_walk_find_what_each_finds_alone(path) -> None:
    # The session rules (POL201-POL203) and the pool_config rules each walk a
    # file once for the whole group: the group must find what each rule does.
    from poollint.rules import ALL_RULES
    from poollint.testing import Fixture

    fixture = Fixture.load(path)
    groups = {}
    for rule in ALL_RULES:
        base = getattr(rule, "SHARES_WALK_OF", None)
        if base is not None:
            groups.setdefault(base, []).append(rule)
    for members in groups.values():
        together = lint_sources(fixture.sources, members)
        alone = [lint_sources(fixture.sources, [rule]) for rule in members]
        for name in fixture.sources:
            expected = sorted(
                (d.line, d.column, d.code, d.message) for result in alone for d in result[name].diagnostics
            )
            assert sorted((d.line, d.column, d.code, d.message) for d in together[name].diagnostics) == expected
