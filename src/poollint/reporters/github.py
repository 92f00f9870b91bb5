"""`--output-format github`: GitHub Actions workflow commands, which the runner
turns into annotations on the pull request's changed lines."""

from __future__ import annotations

from poollint.reporters import Report, Reporter, end_of


class GithubReporter(Reporter):
    name = "github"

    def render(self, report: Report) -> str:
        out = []
        for file_result, d in report.findings():
            end_line, end_column = end_of(d)
            fields = [
                ("title", f"poollint ({d.code})"),
                ("file", report.root_path(file_result.path)),
                ("line", d.line),
                ("col", d.column),
                ("endLine", end_line),
                ("endColumn", end_column),
            ]
            if end_line != d.line:
                # GitHub takes columns only for an annotation on one line.
                fields = [field for field in fields if field[0] not in ("col", "endColumn")]
            properties = ",".join(f"{key}={escape_property(str(value))}" for key, value in fields)
            out.append(f"::error {properties}::{escape_data(f'{d.code} {d.message}')}\n")
        return "".join(out)


def escape_data(text: str) -> str:
    """A command's message, as @actions/core's escapeData escapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property's value, as @actions/core's escapeProperty escapes it."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
