"""The command line: `poollint check`, `poollint engines`, `poollint rule`, `poollint rules`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import click

from poollint import __version__
from poollint.cache import CACHE_DIR_ENV, CACHE_DIR_NAME, Cache, cache_directory
from poollint.cache import clean as clean_cache
from poollint.config import ConfigError, load_settings
from poollint.deployment import reads_deployment_files
from poollint.discovery import DiscoveryError, discover_files
from poollint.catalog import CATALOG
from poollint.diagnostic import FILE_CODES, FixRequest
from poollint.parallel import JobsError, parse_jobs
from poollint.reporters.concise import finding_lines, summary
from poollint.runner import RunResult, index_files, read_all_facts, run
from poollint.selection import SelectionError, select_rules_for_settings
from poollint.streams import make_output_tolerant

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


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--fix", is_flag=True, help="Apply the safe fixes.")
@click.option("--unsafe-fixes", is_flag=True, default=None, help="Also apply (and count as fixable) unsafe fixes.")
@click.option("--diff", is_flag=True, help="Print a unified diff of what --fix would change; write nothing.")
@click.option("--select", multiple=True, metavar="CODES", help="Only these codes or prefixes (POL1, POL301).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Codes or prefixes to leave out.")
@click.option("--extend-select", multiple=True, metavar="CODES", help="Codes or prefixes to add to the selection.")
@click.option("--exclude", multiple=True, metavar="GLOBS", help="File patterns to skip, replacing the defaults.")
@click.option("--extend-exclude", multiple=True, metavar="GLOBS", help="File patterns to skip, besides the defaults.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Use this pyproject.toml.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when problems are found.")
@click.option("--show-settings", is_flag=True, help="Print the effective settings and selected rules, then exit.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help=f"Where to keep the cache (default: {CACHE_DIR_NAME} at the project root; also ${CACHE_DIR_ENV}).",
)
@_jobs_option
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
    config_path: Optional[Path],
    exit_zero: bool,
    show_settings: bool,
    no_cache: bool,
    cache_dir: Optional[Path],
    jobs: int,
) -> None:
    """Check PATHS (default: the current directory)."""
    targets: List[Path] = list(paths) or [Path(".")]
    try:
        settings = load_settings(
            targets[0],
            config_path=config_path,
            overrides={
                "select": _codes(select),
                "ignore": _codes(ignore),
                "extend_select": _codes(extend_select),
                "exclude": _codes(exclude),
                "extend_exclude": _codes(extend_exclude),
                "unsafe_fixes": unsafe_fixes,
            },
        )
        # Catalog entries, not the rules: importing those (and libcst) waits
        # until a file must really be checked.
        rules = select_rules_for_settings(CATALOG, settings)
        files = discover_files(targets, settings, deployment=reads_deployment_files(rules))
    except (ConfigError, SelectionError, DiscoveryError) as exc:
        raise UsageProblem(str(exc)) from None

    if show_settings:
        _print_settings(settings, rules, files)
        sys.exit(EXIT_CLEAN)

    request = FixRequest(apply=fix or diff, unsafe=settings.unsafe_fixes)
    try:
        cache = None
        if not no_cache:
            directory = cache_directory(settings.project_root, cache_dir, settings.cache_dir)
            cache = Cache.open(directory, settings, rules)
        result = run(files, settings, rules, request, write=fix and not diff, jobs=jobs, cache=cache)
    except KeyboardInterrupt:
        # Not click's "Aborted!" and exit 1, which reads as "findings": each
        # file is whole (writer.py), fixed or not, and the run did not finish.
        click.echo("poollint: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # a bug in poollint: say so in one line, exit 2
        click.echo(f"poollint: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_ERROR)

    for file_result in result.files:
        for warning in file_result.warnings:
            click.echo(f"warning: {warning}", err=True)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if diff:
        _print_diffs(result)
        pending = sum(f.fixed for f in result.files)
        click.echo(f"Would fix {pending} problem{'s' if pending != 1 else ''}.", err=True)
        sys.exit(EXIT_ERROR if result.internal_error else (EXIT_FINDINGS if pending and not exit_zero else EXIT_CLEAN))

    for line in finding_lines(result):
        click.echo(line)
    for line in summary(result, fixing=fix, unsafe_fixes=settings.unsafe_fixes):
        click.echo(line)
    if result.internal_error:
        sys.exit(EXIT_ERROR)
    if result.diagnostics and not exit_zero:
        sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_CLEAN)


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
@click.argument("code")
def rule(code: str) -> None:
    """Explain rule CODE: what it flags, why it hurts the pool, examples, fix safety."""
    from poollint.ruledocs import render_file_code, render_rule
    from poollint.rules import RULES_BY_CODE

    code = code.upper()
    if code in RULES_BY_CODE:
        click.echo(render_rule(RULES_BY_CODE[code]), nl=False)
    elif code in FILE_CODES:
        click.echo(render_file_code(code), nl=False)
    else:
        raise UsageProblem(f"unknown rule code {code!r}; `poollint rules` lists them")


@main.command(name="rules")
def list_rules() -> None:
    """List every rule: code, name, fix availability, default on or opt-in."""
    from poollint.rules import ALL_RULES

    for r in ALL_RULES:
        fix = r.FIX_AVAILABILITY.value
        click.echo(f"{r.CODE}  {r.NAME:<40} fix: {fix:<9} {'on' if r.DEFAULT_ENABLED else 'opt-in'}")
