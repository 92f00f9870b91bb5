"""What `poollint check` prints and where, and the exit code: its output options.

The format comes from `--output-format`, else $POOLLINT_OUTPUT_FORMAT, else
`output-format` in [tool.poollint], else concise. Findings (or, with
--statistics, the table of them) go to stdout or to `-o FILE`; text formats
add the summary (and with --show-fixes what --fix fixed) below them, machine
formats print their document alone. Warnings go to stderr. As in ruff, -q
keeps the findings and drops everything else, -s prints nothing; the exit
code is the same either way.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, List, Optional

import click

from poollint.reporters import DEFAULT_FORMAT, FORMATS, Report, Reporter, get_reporter

OUTPUT_FORMAT_ENV = "POOLLINT_OUTPUT_FORMAT"
OUTPUT_FILE_ENV = "POOLLINT_OUTPUT_FILE"
EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class OutputError(Exception):
    """Output options that cannot go together; str() is the one line to print."""


@dataclass(frozen=True)
class OutputOptions:
    output_format: Optional[str] = None
    output_file: Optional[Path] = None
    statistics: bool = False
    show_fixes: bool = False
    exit_non_zero_on_fix: bool = False
    quiet: bool = False
    silent: bool = False


_OPTIONS = (
    click.option(
        "--output-format",
        type=click.Choice(list(FORMATS)),
        envvar=OUTPUT_FORMAT_ENV,
        help=f"How to print findings (default: concise; also ${OUTPUT_FORMAT_ENV} and `output-format` in the config).",
    ),
    click.option(
        "-o",
        "--output-file",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar=OUTPUT_FILE_ENV,
        help=f"Write what would go to stdout to this file instead (also ${OUTPUT_FILE_ENV}).",
    ),
    click.option("--statistics", is_flag=True, help="Print how many findings each rule has, instead of the findings."),
    click.option("--show-fixes", is_flag=True, help="After --fix, list how many problems of each rule were fixed in each file."),
    click.option(
        "--exit-non-zero-on-fix",
        is_flag=True,
        help="Exit 1 when --fix changed a file, even if no problem remains.",
    ),
    click.option("-q", "--quiet", is_flag=True, help="Print the findings and nothing else."),
    click.option("-s", "--silent", is_flag=True, help="Print nothing; the exit code still tells."),
)
_NAMES = ("output_format", "output_file", "statistics", "show_fixes", "exit_non_zero_on_fix", "quiet", "silent")


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds the output options to a click command, passed on as `output=OutputOptions(...)`."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["output"] = OutputOptions(**{name: kwargs.pop(name) for name in _NAMES})
        return command(*args, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


def choose_reporter(options: OutputOptions, configured: Optional[str], exit_zero: bool) -> Reporter:
    """The reporter for this run; OutputError for options that contradict each other."""
    if options.quiet and options.silent:
        raise OutputError("--quiet and --silent cannot be used together")
    if exit_zero and options.exit_non_zero_on_fix:
        raise OutputError("--exit-zero and --exit-non-zero-on-fix cannot be used together")
    name = options.output_format or configured or DEFAULT_FORMAT
    reporter = get_reporter(name)
    if options.statistics and reporter.statistics is None:
        raise OutputError(f"--statistics prints text or json: it cannot be used with --output-format {name}")
    return reporter


def emit(
    result: Any,
    reporter: Reporter,
    options: OutputOptions,
    *,
    fixing: bool,
    unsafe_fixes: bool,
    exit_zero: bool,
    err: bool = False,
) -> int:
    """Print or write the report of `result` (a RunResult); the exit code.
    `err`: print it on standard error (stdout then holds a fixed source)."""
    if not (options.quiet or options.silent):
        for file_result in result.files:
            for warning in file_result.warnings:
                click.echo(f"warning: {warning}", err=True)
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
    text = "" if options.silent else render(result, reporter, options, fixing=fixing, unsafe_fixes=unsafe_fixes)
    if options.output_file is not None:
        from poollint.writer import WriteError

        try:
            write_output(options.output_file, text)
        except WriteError as exc:
            click.echo(f"poollint: error: {exc}", err=True)
            return EXIT_ERROR
    elif text:
        click.echo(text, nl=False, err=err)
    return exit_code(result, options, exit_zero=exit_zero)


def render(result: Any, reporter: Reporter, options: OutputOptions, *, fixing: bool, unsafe_fixes: bool) -> str:
    from poollint.reporters import text

    report = Report(result, unsafe_fixes=unsafe_fixes, fixing=fixing)
    if options.statistics and reporter.statistics == "json":
        return text.statistics_json(report)
    if options.statistics:
        chunks = [_lines(text.statistics_text(report))]
    else:
        chunks = [reporter.render(report)]
        if not reporter.for_people:
            return chunks[0]
        if options.show_fixes:
            chunks.append(_lines(text.fixed_list(report)))
    if not options.quiet:
        chunks.append(_lines(text.summary(result, fixing=fixing, unsafe_fixes=unsafe_fixes)))
    return "".join(chunks)


def _lines(lines: List[str]) -> str:
    return "".join(line + "\n" for line in lines)


def exit_code(result: Any, options: OutputOptions, *, exit_zero: bool) -> int:
    if result.internal_error:
        return EXIT_ERROR
    if exit_zero:
        return EXIT_CLEAN
    if result.diagnostics:
        return EXIT_FINDINGS
    if options.exit_non_zero_on_fix and result.fixed:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def write_output(path: Path, text: str) -> None:
    """Write the report to `path` whole or not at all (writer.py): a reader (a
    CI step uploading it) never sees half a report. Missing parent directories
    are made, as ruff makes them; an existing file keeps its permissions."""
    from poollint.writer import WriteError, write_atomic

    purpose = f"cannot write {path}"
    try:
        Path(os.path.realpath(path)).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"{purpose}: {exc.strerror or exc}") from exc
    write_atomic(path, text.encode("utf-8"), create=True, purpose=purpose)
