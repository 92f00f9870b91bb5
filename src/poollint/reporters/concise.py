"""The default output: flake8-style lines, `[*]` marking a fix --fix would apply."""

from __future__ import annotations

from typing import List

from poollint.reporters import Report, Reporter
from poollint.reporters.text import summary
from poollint.runner import RunResult

__all__ = ["ConciseReporter", "finding_lines", "summary"]


class ConciseReporter(Reporter):
    name = "concise"
    for_people = True
    statistics = "text"

    def render(self, report: Report) -> str:
        return "".join(line + "\n" for line in lines(report))


def lines(report: Report) -> List[str]:
    found = []
    for file_result, d in report.findings():
        marker = "[*] " if report.applicable(d) else ""
        found.append(f"{file_result.path.as_posix()}:{d.line}:{d.column}: {d.code} {marker}{d.message}")
    return found


def finding_lines(result: RunResult, unsafe_fixes: bool = False) -> List[str]:
    return lines(Report(result, unsafe_fixes=unsafe_fixes))
