"""The command line: `poollint check`, `poollint engines`, `poollint rule`, `poollint rules`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, Tuple

import click

from poollint import __version__
from poollint.cache import CACHE_DIR_ENV, CACHE_DIR_NAME, Cache, cache_directory
from poollint.cache import clean as clean_cache
from poollint.config import ConfigError, load_settings, split_config_arguments
from poollint.deployment import reads_deployment_files
from poollint.discovery import DiscoveryError, discover_files
from poollint.catalog import CATALOG
from poollint.diagnostic import FILE_CODES, FixRequest
from poollint.output import OutputError, OutputOptions, choose_reporter, emit, output_options
from poollint.parallel import JobsError, parse_jobs
from poollint.ruff_config import describe as describe_ruff
from poollint.runner import RunResult, index_files, read_all_facts, run
from poollint.selection import SelectionError, select_rules_for_settings
from poollint.stdin import read_stdin, stdin_files, stdin_name, write_source
from poollint.streams import make_output_tolerant

if TYPE_CHECKING:
    from poollint.baseline import Baseline

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command Ctrl-C stopped


class UsageProblem(click.ClickException):
    """Bad usage or configuration: one line on stderr naming the file and cause, exit 2."""

    exit_code = EXIT_ERROR

    def show(self, file=None) -> None:  # type: ignore[no-untyped-def]
        click.echo(f"poollint: error: {self.format_message()}", err=True)


def _codes(values: Tuple[str, ...]) -> Optional[Tuple[str, ...]]:
    return tuple(values) if values else None


def _jobs(ctx: click.Context, param: click.Parameter, value: str) -> int:
    try:
        return parse_jobs(value)
    except JobsError as exc:
        raise UsageProblem(str(exc)) from None


_jobs_option = click.option(
    "-j",
    "--jobs",
    default="auto",
    show_default=True,
    metavar="N|auto",
    callback=_jobs,
    help="Processes to check files with: a number, or auto for every core. -j1 checks in this process.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="poollint", message="%(prog)s %(version)s")
def main() -> None:
    """poollint: find the FastAPI + SQLAlchemy code that exhausts, leaks or blocks the database pool."""
    make_output_tolerant()


class _CheckCommand(click.Command):
    """`--add-noqa` takes a reason only as `--add-noqa=REASON`, as ruff's does:
    a bare `--add-noqa` must not take the path after it for its reason."""

    def parse_args(self, ctx: click.Context, args: List[str]) -> List[str]:
        args = list(args)
        for position, arg in enumerate(args):
            if arg == "--":
                break
            if arg == "--add-noqa":
                args[position] = "--add-noqa="
        return super().parse_args(ctx, args)


@main.command(cls=_CheckCommand)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--fix", is_flag=True, help="Apply the safe fixes.")
@click.option("--unsafe-fixes", is_flag=True, default=None, help="Also apply (and count as fixable) unsafe fixes.")
@click.option("--diff", is_flag=True, help="Print a unified diff of what --fix would change; write nothing.")
@click.option("--select", multiple=True, metavar="CODES", help="Only these codes or prefixes (POL1, POL301).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Codes or prefixes to leave out.")
@click.option("--extend-select", multiple=True, metavar="CODES", help="Codes or prefixes to add to the selection.")
@click.option("--exclude", multiple=True, metavar="GLOBS", help="File patterns to skip, replacing the defaults.")
@click.option("--extend-exclude", multiple=True, metavar="GLOBS", help="File patterns to skip, besides the defaults.")
@click.option(
    "--target-version",
    metavar="PYVER",
    help="The oldest Python the code must run on, as py39 (default: target-version, else requires-python).",
)
@click.option(
    "--config",
    "config_values",
    multiple=True,
    metavar="PATH|KEY=VALUE",
    help="Use this pyproject.toml (instead of searching upward), or override one [tool.poollint] option "
    "with a TOML pair such as 'pool.workers = 4'. Repeatable.",
)
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
@click.option(
    "--stdin-filename",
    metavar="NAME",
    help="Check standard input (the path `-`) as the file NAME; with --fix, print the fixed source.",
)
@click.option(
    "--force-exclude/--no-force-exclude",
    default=None,
    help="Apply the excludes to paths named on the command line and to --stdin-filename too.",
)
@click.option(
    "--respect-gitignore/--no-respect-gitignore",
    default=None,
    help="Skip what .gitignore, .git/info/exclude and the global excludes file ignore (default: on).",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when problems are found.")
@click.option("--show-files", is_flag=True, help="Print the files that would be checked, then exit.")
@click.option("--show-settings", is_flag=True, help="Print the effective settings and selected rules, then exit.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help=f"Where to keep the cache (default: {CACHE_DIR_NAME} at the project root; also ${CACHE_DIR_ENV}).",
)
@click.option(
    "--add-noqa",
    metavar="[=REASON]",
    help="Add `# noqa: CODES` to every line with a finding instead of reporting it; "
    "--add-noqa=REASON writes REASON after the codes.",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Report only the findings this baseline file does not record.",
)
@click.option(
    "--write-baseline",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Record the findings in this baseline file (with --baseline: only the ones still there).",
)
@_jobs_option
@output_options
def check(
    paths: Tuple[Path, ...],
    fix: bool,
    unsafe_fixes: Optional[bool],
    diff: bool,
    select: Tuple[str, ...],
    ignore: Tuple[str, ...],
    extend_select: Tuple[str, ...],
    exclude: Tuple[str, ...],
    extend_exclude: Tuple[str, ...],
    config_values: Tuple[str, ...],
    isolated: bool,
    stdin_filename: Optional[str],
    force_exclude: Optional[bool],
    respect_gitignore: Optional[bool],
    target_version: Optional[str],
    exit_zero: bool,
    show_files: bool,
    show_settings: bool,
    no_cache: bool,
    cache_dir: Optional[Path],
    add_noqa: Optional[str],
    baseline_path: Optional[Path],
    write_baseline: Optional[Path],
    jobs: int,
    output: OutputOptions,
) -> None:
    """Check PATHS (default: the current directory; `-` for standard input)."""
    stdin_path, ignored_paths = stdin_name(paths, stdin_filename)
    if stdin_path is not None and show_files:
        raise UsageProblem("--show-files cannot be used with standard input (--stdin-filename or -)")
    for ignored_path in ignored_paths:
        click.echo(f"warning: ignoring {ignored_path.as_posix()} in favor of standard input", err=True)
    targets: List[Path] = [stdin_path] if stdin_path is not None else list(paths) or [Path(".")]
    baseline = _adoption_options(add_noqa, baseline_path, write_baseline, fix=fix, diff=diff)
    try:
        config_path, config_options = split_config_arguments(config_values)
        settings = load_settings(
            targets[0],
            config_path=config_path,
            isolated=isolated,
            config_options=config_options,
            overrides={
                "select": _codes(select),
                "ignore": _codes(ignore),
                "extend_select": _codes(extend_select),
                "exclude": _codes(exclude),
                "extend_exclude": _codes(extend_exclude),
                "unsafe_fixes": unsafe_fixes,
                "target_version": target_version,
                "force_exclude": force_exclude,
                "respect_gitignore": respect_gitignore,
            },
        )
        # Catalog entries, not the rules: importing those (and libcst) waits
        # until a file must really be checked.
        rules = select_rules_for_settings(CATALOG, settings)
        if stdin_path is not None:
            files = stdin_files(stdin_path, settings)
        else:
            files = discover_files(targets, settings, deployment=reads_deployment_files(rules))
        reporter = choose_reporter(output, settings.output_format, exit_zero)
    except (ConfigError, SelectionError, DiscoveryError, OutputError) as exc:
        raise UsageProblem(str(exc)) from None

    if show_files:
        for path in files:
            click.echo(path.as_posix())
        sys.exit(EXIT_CLEAN)
    if show_settings:
        _print_settings(settings, rules, files)
        sys.exit(EXIT_CLEAN)

    request = FixRequest(
        apply=fix or diff, unsafe=settings.unsafe_fixes, describe=reporter.needs_edits and not diff, baseline=baseline
    )
    source: Optional[bytes] = None
    try:
        cache = None
        if not no_cache:
            directory = cache_directory(settings.project_root, cache_dir, settings.cache_dir)
            cache = Cache.open(directory, settings, rules)
        source = read_stdin() if stdin_path is not None else None
        sources = {path: source for path in files} if source is not None else None
        write = fix and not diff and source is None
        result = run(files, settings, rules, request, write=write, jobs=jobs, cache=cache, sources=sources)
    except KeyboardInterrupt:
        # Not click's "Aborted!" and exit 1, which reads as "findings": each
        # file is whole (writer.py), fixed or not, and the run did not finish.
        click.echo("poollint: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # a bug in poollint: say so in one line, exit 2
        if fix and not diff and source is not None:
            write_source(RunResult(), source)  # whoever pipes the output back must not lose the code
        click.echo(f"poollint: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_ERROR)

    if baseline is not None or write_baseline is not None:
        _apply_baseline(result, settings, rules, baseline, write_baseline)
    if add_noqa is not None:
        _add_noqa(result, add_noqa, exit_zero)
    if diff:
        for warning in [w for f in result.files for w in f.warnings] + result.warnings:
            click.echo(f"warning: {warning}", err=True)
        _print_diffs(result)
        pending = sum(f.fixed for f in result.files)
        click.echo(f"Would fix {pending} problem{'s' if pending != 1 else ''}.", err=True)
        sys.exit(EXIT_ERROR if result.internal_error else (EXIT_FINDINGS if pending and not exit_zero else EXIT_CLEAN))

    # After --fix on standard input, standard output holds the source alone.
    to_stderr = fix and source is not None
    if to_stderr:
        write_source(result, source)  # type: ignore[arg-type]
    sys.exit(
        emit(
            result, reporter, output, fixing=fix, unsafe_fixes=settings.unsafe_fixes, exit_zero=exit_zero, err=to_stderr
        )
    )


def _adoption_options(
    add_noqa: Optional[str], baseline_path: Optional[Path], write_baseline: Optional[Path], *, fix: bool, diff: bool
) -> Optional["Baseline"]:
    """Check --add-noqa, --baseline and --write-baseline; the baseline to apply."""
    from poollint.add_noqa import check_reason
    from poollint.baseline import Baseline, BaselineError

    if add_noqa is not None:
        if fix or diff:
            raise UsageProblem(f"--add-noqa cannot be used with {'--fix' if fix else '--diff'}")
        if write_baseline is not None:
            raise UsageProblem("--add-noqa cannot be used with --write-baseline")
        problem = check_reason(add_noqa)
        if problem:
            raise UsageProblem(problem)
    if write_baseline is not None and diff:
        raise UsageProblem("--write-baseline cannot be used with --diff")
    if baseline_path is None:
        return None
    try:
        return Baseline.load(baseline_path)
    except BaselineError as exc:
        raise UsageProblem(str(exc)) from None


def _apply_baseline(result: RunResult, settings, rules, baseline, write_baseline):  # type: ignore[no-untyped-def]
    from poollint.baseline import BaselineError, apply_baseline
    from poollint.baseline import summary as baseline_summary

    try:
        outcome = apply_baseline(result, settings, rules, baseline, write_baseline)
    except BaselineError as exc:
        raise UsageProblem(str(exc)) from None
    for line in baseline_summary(outcome, baseline, write_baseline):
        click.echo(line, err=True)


def _add_noqa(result: RunResult, reason: str, exit_zero: bool) -> None:
    """Comment the findings away, list the ones that cannot be, and exit."""
    from poollint.add_noqa import add_noqa, summary as noqa_summary
    from poollint.reporters.concise import finding_lines

    for warning in [w for f in result.files for w in f.warnings] + result.warnings:
        click.echo(f"warning: {warning}", err=True)
    outcome = add_noqa(result.files, reason)
    left = {id(d) for _, d, _ in outcome.skipped}
    for file_result in result.files:
        file_result.diagnostics = [d for d in file_result.diagnostics if id(d) in left]
    for line in finding_lines(result):
        click.echo(line)
    for line in noqa_summary(outcome):
        click.echo(line, err=True)
    if result.internal_error:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if result.diagnostics and not exit_zero else EXIT_CLEAN)


@main.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--cache-dir", type=click.Path(path_type=Path, file_okay=False), help="The cache to remove.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Use this pyproject.toml.")
def clean(path: Optional[Path], cache_dir: Optional[Path], config_path: Optional[Path]) -> None:
    """Remove the cache of the project at PATH (default: the current
    directory) and any .poollint_cache directory below PATH."""
    target = path or Path(".")
    try:
        settings = load_settings(target, config_path=config_path, overrides={})
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from None
    found = [cache_directory(settings.project_root, cache_dir, settings.cache_dir)]
    if target.is_dir():
        for parent, dirs, _files in os.walk(target):
            if CACHE_DIR_NAME in dirs:
                found.append(Path(parent) / CACHE_DIR_NAME)
            dirs[:] = [d for d in dirs if d not in (CACHE_DIR_NAME, ".git")]
    removed = set()
    for directory in found:
        key = os.path.normcase(os.path.abspath(directory))
        if key in removed:
            continue
        try:
            if clean_cache(directory):
                click.echo(f"Removed {directory}")
        except OSError as exc:
            raise UsageProblem(f"cannot remove {directory}: {exc}") from None
        removed.add(key)


def _decode(data: bytes) -> str:
    try:
        import tokenize
        from io import BytesIO

        encoding, _ = tokenize.detect_encoding(BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return data.decode("utf-8", errors="replace")


def _print_diffs(result: RunResult) -> None:
    import difflib

    for file_result in result.files:
        if file_result.fixed_source is None or file_result.original is None:
            continue
        name = file_result.path.as_posix()
        before = _decode(file_result.original).splitlines(keepends=True)
        after = _decode(file_result.fixed_source).splitlines(keepends=True)
        for line in difflib.unified_diff(before, after, fromfile=name, tofile=name):
            click.echo(line if line.endswith("\n") else line + "\n", nl=False)


def _print_settings(settings, rules, files) -> None:  # type: ignore[no-untyped-def]
    click.echo(f"config: {settings.config_path or '(none: defaults)'}")
    click.echo(f"project root: {settings.project_root}")
    click.echo(f"rules: {', '.join(rule.CODE for rule in rules) or '(none)'}")
    click.echo(f"exclude: {', '.join(settings.all_exclude)}")
    click.echo(f"per-file-ignores: {dict(settings.per_file_ignores) or '{}'}")
    click.echo(f"unsafe-fixes: {str(settings.unsafe_fixes).lower()}")
    target = settings.target_version
    click.echo(f"target-version: {f'py{target[0]}{target[1]}' if target else '(unknown)'}")
    for line in describe_ruff(settings):
        click.echo(line)
    click.echo(f"output-format: {settings.output_format or '(default: concise)'}")
    click.echo(f"force-exclude: {str(settings.force_exclude).lower()}")
    click.echo(f"respect-gitignore: {str(settings.respect_gitignore).lower()}")
    click.echo("pool: required-settings = " + ", ".join(settings.pool.required))
    for key, value in settings.pool.values.items():
        click.echo(f"pool: {key} = {value!r}")
    pool = settings.pool
    for key, value in (
        ("max-pool-recycle", pool.max_pool_recycle),
        ("workers", pool.workers),
        ("max-connections", pool.max_connections),
        ("thread-pool-size", pool.thread_pool_size),
    ):
        click.echo(f"pool: {key} = {'(not set)' if value is None else value}")
    click.echo(f"files: {len(files)}")


def _file_key(path: Path) -> str:
    return os.path.normcase(os.path.abspath(path))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--output-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people; json with the fields docs/engines.md lists.",
)
@click.option("--exclude", multiple=True, metavar="GLOBS", help="File patterns to skip, replacing the defaults.")
@click.option("--extend-exclude", multiple=True, metavar="GLOBS", help="File patterns to skip, besides the defaults.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Use this pyproject.toml.")
@_jobs_option
def engines(
    paths: Tuple[Path, ...],
    output_format: str,
    exclude: Tuple[str, ...],
    extend_exclude: Tuple[str, ...],
    config_path: Optional[Path],
    jobs: int,
) -> None:
    """List the engines PATHS create: pool class, settings, connections, factories and routes."""
    targets: List[Path] = list(paths) or [Path(".")]
    try:
        settings = load_settings(
            targets[0],
            config_path=config_path,
            overrides={"exclude": _codes(exclude), "extend_exclude": _codes(extend_exclude)},
        )
        files = discover_files(targets, settings, deployment=True)
    except (ConfigError, DiscoveryError) as exc:
        raise UsageProblem(str(exc)) from None
    from poollint.engine import build_index
    from poollint.inventory import collect_engines, configured_workers, render_text, to_json

    try:
        facts = read_all_facts(index_files(files, settings, deployment=True), settings, jobs)
        index = build_index(facts.values())
        modules = []
        for path in files:
            result = facts[_file_key(path)]
            if result.facts is not None:
                modules.append(result.facts.module)
            elif result.error is not None:
                click.echo(f"warning: {path.as_posix()}: {result.error.code} {result.error.message}", err=True)
        workers = configured_workers(settings)
        found = collect_engines(index, modules, workers, deployment_workers=True)
    except Exception as exc:  # a bug in poollint: say so in one line, exit 2
        click.echo(f"poollint: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    if output_format == "json":
        import json

        click.echo(json.dumps(to_json(found, workers), indent=2, default=repr))
    else:
        for line in render_text(found, workers):
            click.echo(line)
    sys.exit(EXIT_CLEAN)


@main.command()
@click.option(
    "--unsafe-fixes/--no-unsafe-fixes",
    default=None,
    help="Offer unsafe fixes too, or never (default: each project's unsafe-fixes setting).",
)
@click.option("--stdio", is_flag=True, help="LSP over stdin/stdout: the only transport, accepted for editors that ask.")
def server(unsafe_fixes: Optional[bool], stdio: bool) -> None:
    """Run the language server for editors (LSP over stdin/stdout); needs `poollint[lsp]`."""
    try:
        # Only this command imports pygls: `check` never pays for it.
        from poollint.lsp import serve
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] not in ("pygls", "lsprotocol", "cattrs", "attrs"):
            raise
        message = "`poollint server` needs pygls, which is not installed: pip install 'poollint[lsp]'"
        raise UsageProblem(message) from None
    sys.exit(serve(unsafe_fixes=unsafe_fixes))


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="Explain every rule.")
@click.option(
    "--output-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: the rule's page; json: its metadata and page, with ruff's field names.",
)
def rule(code: Optional[str], show_all: bool, output_format: str) -> None:
    """Explain rule CODE (or, with --all, every rule): what it flags, why it
    hurts the pool, examples, fix safety."""
    import json

    from poollint.ruledocs import all_json, file_code_json, render_all, render_file_code, render_rule, rule_json
    from poollint.rules import ALL_RULES, RULES_BY_CODE

    if show_all == (code is not None):
        raise UsageProblem("give a rule CODE or --all, not both or neither")
    if show_all:
        if output_format == "json":
            click.echo(json.dumps(all_json(ALL_RULES), indent=2))
        else:
            click.echo(render_all(ALL_RULES), nl=False)
        return
    code = code.upper()  # type: ignore[union-attr]
    if code in RULES_BY_CODE:
        if output_format == "json":
            click.echo(json.dumps(rule_json(RULES_BY_CODE[code]), indent=2))
        else:
            click.echo(render_rule(RULES_BY_CODE[code]), nl=False)
    elif code in FILE_CODES:
        if output_format == "json":
            click.echo(json.dumps(file_code_json(code), indent=2))
        else:
            click.echo(render_file_code(code), nl=False)
    else:
        raise UsageProblem(f"unknown rule code {code!r}; `poollint rules` lists them")


@main.command(name="rules")
def list_rules() -> None:
    """List every code: name, fix availability, on by default or opt-in, and scope
    (file: needs only the file it reports in; project: reads other files too)."""
    from poollint.ruledocs import rules_table
    from poollint.rules import ALL_RULES

    for line in rules_table(ALL_RULES):
        click.echo(line)
