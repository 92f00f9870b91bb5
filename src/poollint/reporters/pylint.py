"""`--output-format pylint`: `path:line: [CODE] message`, as pylint's parseable format."""

from __future__ import annotations

from poollint.reporters import Report, Reporter


class PylintReporter(Reporter):
    name = "pylint"

    def render(self, report: Report) -> str:
        return "".join(
            f"{file_result.path.as_posix()}:{d.line}: [{d.code}] {d.message}\n" for file_result, d in report.findings()
        )
