"""The position shortcut must agree with libcst's PositionProvider, node for node."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from poollint.facts import collect_facts
from poollint.positions import Positions
from poollint.walk import _syntax_fields

ROOT = Path(__file__).resolve().parent.parent

TRICKY = {
    "decorators_and_comments": '''
import functools

# a comment before the decorator

@functools.lru_cache(
    maxsize=None,
)
# between decorator and def
async def f(a, b=1):  # trailing
    """Doc."""
    x = a; y = b
    if x: return y
    return {"k": [x, y]}


class C(object):

    def m(self):
        def inner():
            return self
        return inner
''',
    "branches": '''
def g(n):
    if n == 1:
        a = 1
    elif n == 2:
        a = 2
    elif n == 3: a = 3
    else:
        a = 4
    for i in range(n):
        pass
    else:
        a += i
    while n:
        n -= 1
    else:
        pass
    try:
        a = 1 / n
    except ZeroDivisionError as e:
        a = 0
    except (ValueError, TypeError):
        raise
    else:
        a += 1
    finally:
        a -= 1
    with open("f") as fh, open("g") as gh:
        data = fh.read()
    return a
''',
    "async_and_continuations": '''
async def h(session):
    async with session.begin() as tx:
        async for row in tx.stream(
            "select 1",
        ):
            value = row \\
                + 1
    total = (1 +
             2)
    text = "naïve café"; other = h(text)
    return """multi
line""" + str(total)
''',
    "tabs_and_crlf": "def t():\r\n\tif True:\r\n\t\tx = 1\r\n\treturn x\r\n",
    "form_feed": "import os\n\x0c\ndef ff():\n    return os.sep\n",
}
if sys.version_info >= (3, 10):  # before 3.10 `ast` cannot read a match statement
    TRICKY["match"] = '''
def m(command):
    match command.split():
        case [action]:
            return action
        case [action, obj] if obj:
            return obj
        case _:
            return None
'''
if sys.version_info >= (3, 11):
    TRICKY["try_star"] = '''
def s():
    try:
        pass
    except* ValueError:
        x = 1
    except* TypeError as group:
        x = group
'''


def _all_nodes(module: cst.Module) -> List[cst.CSTNode]:
    found: List[cst.CSTNode] = []
    stack: List[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        found.append(node)
        for name in _syntax_fields(type(node)):
            value = getattr(node, name, None)
            if isinstance(value, cst.CSTNode):
                stack.append(value)
            elif isinstance(value, (list, tuple)):
                stack.extend(item for item in value if isinstance(item, cst.CSTNode))
    return found


def _assert_agrees(source: bytes) -> None:
    """Both ways: `ast` parsed again, and pass 1's statement table."""
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    table = collect_facts(source, "m", "m.py").statements
    assert table is not None
    for positions in (Positions(module, source), Positions(module, source, table)):
        nodes = [node for node in _all_nodes(module) if node is not module]
        for node in nodes:
            assert positions.range_of(node) == expected[node], (type(node).__name__, module.code_for_node(node))
        assert positions._full is None, "fell back to libcst's provider"


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_agrees_with_libcst_on_tricky_layouts(name: str) -> None:
    _assert_agrees(TRICKY[name].encode())


def _sources() -> List[Path]:
    files = sorted((ROOT / "tests" / "fixtures").rglob("*.py")) + sorted((ROOT / "examples").rglob("*.py"))
    return [path for path in files if "fixed" not in path.parts]


def test_agrees_with_libcst_on_every_fixture() -> None:
    checked = 0
    for path in _sources():
        source = path.read_bytes()
        try:
            cst.parse_module(source)
        except Exception:
            continue  # the syntax-error fixtures
        _assert_agrees(source)
        checked += 1
    assert checked > 50


def test_hints_find_the_statement_without_searching_the_module() -> None:
    source = b"def f():\n    x = 1\n    return g(x)\n"
    module = cst.parse_module(source)
    function = module.body[0]
    call = function.body.body[1].body[0].value
    positions = Positions(module, source)
    where = positions.range_of(call, hints=(function,))
    assert (where.start.line, where.start.column, where.end.column) == (3, 11, 15)


def test_falls_back_to_libcst_when_the_trees_disagree() -> None:
    source = b"x = 1\ny = f(x)\n"
    module = cst.parse_module(source)
    # A table from other code (one statement, not two) cannot be paired.
    positions = Positions(module, source, collect_facts(b"x = 1\n", "m", "m.py").statements)
    call = module.body[1].body[0].value
    assert positions.range_of(call).start.line == 2
    assert positions._full is not None


@pytest.mark.parametrize(
    "source",
    [
        b"",
        b"x = 1\n",
        b"if a:\n    pass\nelse:\n    b = 1\n",
        b"x = 1\n" + b"\n" * 300 + b"y = 2\n",  # a line step beyond one byte
        b"if a:\n" + b" " * 200 + b"x = 1; y = 2\n",  # a column beyond one byte
        pytest.param(
            b"match x:\n    case 1:\n        pass\n",
            marks=pytest.mark.skipif(sys.version_info < (3, 10), reason="match needs Python 3.10"),
        ),
    ],
)
def test_the_statement_table_reads_back_what_ast_says(source: bytes) -> None:
    import ast

    from poollint.statements import COMPOUND, decode, encode, in_order

    tree = ast.parse(source)
    found: List[ast.stmt] = []
    in_order(tree.body, found)
    kinds = [type(s).__name__ if type(s).__name__ in COMPOUND else "" for s in found]
    assert decode(encode(tree)) == [(s.lineno, s.col_offset, kind) for s, kind in zip(found, kinds)]
