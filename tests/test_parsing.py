"""poollint's parse skips libcst's per-node validation, and only while parsing."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from poollint.parsing import parse_module

ROOT = Path(__file__).resolve().parent.parent


def _sources():
    for folder in (ROOT / "examples", ROOT / "tests" / "fixtures", ROOT / "src" / "poollint"):
        yield from sorted(folder.rglob("*.py"))


def test_the_tree_is_the_one_libcst_builds() -> None:
    checked = 0
    for path in _sources():
        data = path.read_bytes()
        try:
            expected = cst.parse_module(data)
        except cst.ParserSyntaxError:
            continue
        tree = parse_module(data)
        assert tree.deep_equals(expected), path
        assert tree.code == expected.code
        checked += 1
    assert checked > 100


def test_nodes_built_after_a_parse_are_validated_again() -> None:
    parse_module(b"x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")


def test_validation_is_back_after_a_syntax_error() -> None:
    with pytest.raises(cst.ParserSyntaxError):
        parse_module(b"def (:\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")
