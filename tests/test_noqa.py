"""noqa comments read as flake8 reads them."""

from __future__ import annotations

import pytest

from poollint.noqa import is_suppressed, noqa_lines

SOURCE = """\
a()  # noqa
b()  # noqa: POL101
c()  # NOQA:POL101,POL201
d()  # noqa: POL101 POL201
e()  # noqa: POL1
f()  # noqa:
g = "# noqa"
h()  # some words  # noqa: POL101
i()  # noqa: E501
j()  # words, then noqa: POL101
"""


@pytest.mark.parametrize(
    "line, code, suppressed",
    [
        (1, "POL301", True),
        (2, "POL101", True),
        (2, "POL102", False),
        (3, "POL201", True),
        (4, "POL201", True),
        (5, "POL105", True),  # a listed prefix covers the codes it begins, as in flake8
        (5, "POL201", False),
        (6, "POL301", True),  # a malformed list is a blanket noqa, as in flake8
        (7, "POL101", False),  # inside a string, not a comment
        (8, "POL101", True),
        (9, "POL101", False),
        (10, "POL101", False),  # flake8 needs the "#" right before noqa
    ],
)
def test_noqa_forms(line: int, code: str, suppressed: bool) -> None:
    assert is_suppressed(noqa_lines(SOURCE), line, code) is suppressed


def test_source_that_does_not_tokenize_has_no_noqa() -> None:
    assert noqa_lines('x = """unterminated\n') == {}
