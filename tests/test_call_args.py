"""rules/_call_args.without_keyword: removing a keyword argument in the call's own layout."""

from __future__ import annotations

import libcst as cst
import pytest

from poollint.rules._call_args import without_keyword

CASES = [
    ("f(url, echo=True)", "f(url)"),
    ("f(url, echo=True, pool_size=5)", "f(url, pool_size=5)"),
    ("f(echo=True, url=url)", "f(url=url)"),
    ("f(echo=True)", "f()"),
    ("f(url, echo=True,)", "f(url,)"),
    ("f(url, **opts, echo=True)", "f(url, **opts)"),
    ("f(\n    url,\n    echo=True,\n)", "f(\n    url,\n)"),
    # The closing parenthesis keeps its own line; the comma becomes a trailing one.
    ("f(\n    url,\n    echo=True\n)", "f(\n    url,\n)"),
    # The other arguments keep their comments; the removed one's go with it.
    ("f(\n    url,  # the url\n    echo=True,  # noisy\n)", "f(\n    url,  # the url\n)"),
    ("f(\n    url,  # the url\n    echo=True  # noisy\n)", "f(\n    url,  # the url\n)"),
    ("f(\n    url,\n    echo=True,  # noisy\n    pool_size=5,  # size\n)", "f(\n    url,\n    pool_size=5,  # size\n)"),
    ("f(\n    url, echo=True,\n    pool_size=5)", "f(\n    url,\n    pool_size=5)"),
    ("f(url,\n  echo=True)", "f(url)"),
    ("f(url,\n  echo=True, pool_size=3)", "f(url,\n  pool_size=3)"),
    ("f(\n    echo=True,\n    url=url,\n)", "f(\n    url=url,\n)"),
]


@pytest.mark.parametrize("before, after", CASES)
def test_without_keyword(before: str, after: str) -> None:
    module = cst.parse_module(f"x = {before}\n")
    call = module.body[0].body[0].value  # type: ignore[attr-defined]
    result = module.code_for_node(without_keyword(call, "echo"))
    assert result == after
    compile(f"x = {result}\n", "<test>", "exec")
