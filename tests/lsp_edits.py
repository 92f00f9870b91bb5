"""Applying LSP text edits as an editor does, written apart from poollint's
own position code so that the tests do not check it against itself."""

from __future__ import annotations

import re
from typing import Iterable, Tuple

# (start line, start character, end line, end character), replacement; characters in UTF-16 units.
Edit = Tuple[Tuple[int, int, int, int], str]


def apply_utf16_edits(text: str, edits: Iterable[Edit]) -> str:
    """`text` after `edits`, whose ranges all refer to `text` (LSP's TextEdit[])."""
    data = text.encode("utf-16-le")

    def units(prefix: str) -> int:
        return len(prefix.encode("utf-16-le")) // 2

    # Where each line starts and where its text ends, in UTF-16 units; LSP
    # breaks lines at \r\n, \r and \n only.
    starts, ends = [0], []
    for match in re.finditer(r"\r\n|\r|\n", text):
        ends.append(units(text[: match.start()]))
        starts.append(units(text[: match.end()]))
    ends.append(len(data) // 2)

    def unit(line: int, character: int) -> int:
        if line >= len(starts):
            return ends[-1]
        # A character past the end of the line means the end of the line.
        return min(starts[line] + character, ends[line])

    resolved = sorted((unit(sl, sc), unit(el, ec), new) for (sl, sc, el, ec), new in edits)
    for (start, end, _), (next_start, _, _) in zip(resolved, resolved[1:]):
        assert end <= next_start, "overlapping edits"
    for start, end, new in reversed(resolved):
        data = data[: 2 * start] + new.encode("utf-16-le") + data[2 * end :]
    return data.decode("utf-16-le")
