"""`--output-format full`: each concise line, then the code it points at with a
caret under the span, and the fix's hint, as ruff's full format shows them."""

from __future__ import annotations

from typing import List, Optional

from poollint.diagnostic import UNDECODABLE, UNREADABLE, Diagnostic
from poollint.reporters import Report, Reporter, end_of, rule_info
from poollint.reporters.concise import lines as concise_lines

# Lines of code shown before and after the span.
CONTEXT = 2
# A span longer than this shows its first and last lines around a `...`.
LONGEST_SPAN = 8
_TAB = "    "


class FullReporter(Reporter):
    name = "full"
    for_people = True
    statistics = "text"

    def render(self, report: Report) -> str:
        out: List[str] = []
        for header, (file_result, d) in zip(concise_lines(report), report.findings()):
            out.append(header)
            lines = None if d.code in (UNREADABLE, UNDECODABLE) else report.source_lines(file_result.path)
            out.extend(snippet(lines, d))
            title = rule_info(d.code).fix_title
            if d.fix_safety is not None and title:
                out.append(f"  = help: {title}")
            out.append("")
        return "".join(line + "\n" for line in out)


def snippet(lines: Optional[List[str]], d: Diagnostic) -> List[str]:
    """The numbered lines around the finding with carets under its span."""
    if not lines or not 1 <= d.line <= len(lines):
        return []
    end_line, end_column = end_of(d)
    end_line = min(max(end_line, d.line), len(lines))
    first = max(1, d.line - CONTEXT)
    last = min(len(lines), end_line + CONTEXT)
    # A file's last line break leaves an empty last "line": not shown as context.
    while last > end_line and not lines[last - 1].strip():
        last -= 1
    numbers = list(range(first, last + 1))
    if end_line - d.line + 1 > LONGEST_SPAN:
        half = LONGEST_SPAN // 2
        numbers = [n for n in numbers if n < d.line + half or n > end_line - half]
    width = len(str(numbers[-1]))
    gutter = " " * width + " |"
    out = [gutter]
    previous = None
    for number in numbers:
        if previous is not None and number != previous + 1:
            out.append(" " * width + " ...")
        previous = number
        text = lines[number - 1]
        out.append(f"{number:>{width}} | {_shown(text)}".rstrip())
        carets = _carets(text, number, d, end_line, end_column)
        if carets:
            out.append(f"{gutter} {carets}".rstrip() + (f" {d.code}" if number == end_line else ""))
    out.append(gutter)
    return out


def _carets(text: str, number: int, d: Diagnostic, end_line: int, end_column: int) -> str:
    """Carets under the part of line `number` the span covers (first and last line of it)."""
    if number == d.line:
        start = d.column - 1
        stop = end_column - 1 if end_line == d.line else len(text.rstrip())
    elif number == end_line:
        start = len(text) - len(text.lstrip())
        stop = end_column - 1
    else:
        return ""
    start = min(start, len(text))
    return " " * len(_shown(text[:start])) + "^" * max(1, len(_shown(text[start:stop])))


def _shown(text: str) -> str:
    return text.replace("\t", _TAB)
