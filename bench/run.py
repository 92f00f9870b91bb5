"""Benchmark poollint against a bare libcst parse, ast.parse, ruff, flake8-async and fixit.

    python bench/run.py                      # general corpus + dense 100 and 1,000 files
    python bench/run.py --sizes 100,1000,10000 --repeats 5 --json out.json
    python bench/run.py --sizes 100 --skip flake8,fixit,fix   # a quick run

Corpora are built on the spot, so the run needs nothing but an environment
with poollint installed:

- general: the installed sources of fastapi, starlette, sqlalchemy and
  pydantic, copied to a temporary directory (few files poollint must walk);
- dense-N: N generated FastAPI + SQLAlchemy modules (bench/generate.py,
  seeded), every one with routes, dependencies and engines (every file is
  walked by every rule).

Each figure is the median of --repeats runs. Command-line tools run as
subprocesses (a cold start every time, imports included); the libcst and
ast parses run in one child process (bench/parse_files.py) that times only
its read + parse loop over the same files. Options poollint may or may not
have (--no-cache, --jobs) are detected from `poollint check --help` at run
time.

Peak RSS is each child's own (os.wait4). On Linux a child's ru_maxrss starts
from its parent's peak RSS, so this process never imports libcst, the
frameworks of the general corpus or anything else large, and never parses:
its own peak is reported as the floor of every figure.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Collection, Dict, List, Optional, Sequence, Set, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

GENERAL_PACKAGES = ("fastapi", "starlette", "sqlalchemy", "pydantic")
POOLLINT = [sys.executable, "-m", "poollint"]
PARSE_CHILD = [sys.executable, str(HERE / "parse_files.py")]
# Rows --skip can leave out: the slow ones, and those that need an extra tool.
SKIPPABLE = ("flake8", "fixit", "ruff", "fix", "warm")

# Issue 4's targets for poollint cold, one process, against a bare libcst
# parse of the same files (the other targets are in targets()).
TARGETS = (("dense", 1.3), ("general", 0.5))


@dataclass
class Row:
    tool: str
    corpus: str
    files: int
    seconds: Optional[float]
    files_per_s: Optional[float]
    ratio_to_poollint_cold: Optional[float]
    peak_rss_mb: Optional[float]
    note: str = ""


def python_files(root: Path) -> List[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def build_general(dest: Path) -> Path:
    root = dest / "general"
    for name in GENERAL_PACKAGES:
        # Found, not imported: importing them would grow this process by ~45 MiB.
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"{name} is not installed as a package: the general corpus needs it")
        source = Path(next(iter(spec.submodule_search_locations)))
        shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so"))
    return root


def build_dense(dest: Path, files: int, seed: int) -> Path:
    root = dest / f"dense-{files}"
    generate(root, files, seed)
    return root


@dataclass
class Outcome:
    """One subprocess: wall seconds, peak RSS (MiB), exit status, its output."""

    seconds: float
    rss: Optional[float]
    code: int
    stderr: str
    stdout: str = ""


def run_child(cmd: Sequence[str], cwd: Path, capture: bool = False) -> Outcome:
    """Run one subprocess; its stdout is kept only when capture is set.

    os.wait4 gives the rusage of that child and the children it waited for
    (getrusage(RUSAGE_CHILDREN) keeps the maximum over every child so far, so
    a later, smaller process would be hidden); peak RSS is unknown where wait4
    is missing.
    """
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, stdout=out if capture else subprocess.DEVNULL, stderr=err)
        rss: Optional[float] = None
        if hasattr(os, "wait4"):
            _, status, usage = os.wait4(proc.pid, 0)
            elapsed = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status
            # Linux reports KiB, macOS bytes.
            rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        else:
            proc.wait()
            elapsed = time.perf_counter() - start
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
        out.seek(0)
        stdout = out.read().decode("utf-8", "replace")
    return Outcome(elapsed, rss, proc.returncode, stderr, stdout)


def exited_zero(outcome: Outcome) -> bool:
    return outcome.code == 0


def median_child(
    cmd: Sequence[str],
    cwd: Path,
    repeats: int,
    prepare: Optional[Callable[[], Path]] = None,
    ok: Callable[[Outcome], bool] = exited_zero,
) -> Tuple[float, Optional[float], Set[int]]:
    """Median seconds, highest peak RSS and the exit statuses of `repeats` runs.

    A run `ok` rejects (by default: a non-zero exit) stops the benchmark.
    """
    times, peaks, codes = [], [], set()
    for _ in range(repeats):
        where = prepare() if prepare else cwd
        outcome = run_child(cmd, where)
        if not ok(outcome):
            raise RuntimeError(f"{' '.join(cmd)} exited {outcome.code}: {outcome.stderr.strip()[-2000:]}")
        times.append(outcome.seconds)
        codes.add(outcome.code)
        if outcome.rss is not None:
            peaks.append(outcome.rss)
    return statistics.median(times), (max(peaks) if peaks else None), codes


def median_parse(kind: str, files: Sequence[Path], repeats: int, scratch: Path) -> Tuple[float, Optional[float]]:
    """Median seconds and peak RSS of a bare parse of `files` in one child process.

    The child (bench/parse_files.py) times only its read + parse rounds, not
    its start-up; its peak RSS is its own ru_maxrss (wait4's figure if it has none).
    """
    listing = scratch / f"files-{kind}.json"
    listing.write_text(json.dumps([str(p) for p in files]), encoding="utf-8")
    outcome = run_child(PARSE_CHILD + [kind, str(listing), str(repeats)], scratch, capture=True)
    if outcome.code != 0:
        raise RuntimeError(f"parse_files.py {kind} exited {outcome.code}: {outcome.stderr.strip()[-2000:]}")
    report = json.loads(outcome.stdout)
    if report["files"] != len(files):
        raise RuntimeError(f"parse_files.py {kind} read {report['files']} files, not {len(files)}")
    rss = report["peak_rss_mb"] if report["peak_rss_mb"] is not None else outcome.rss
    return statistics.median(report["seconds"]), rss


def compile_poollint() -> None:
    """Byte-compile poollint's own modules first, as installing a wheel does.

    An editable install (or PYTHONDONTWRITEBYTECODE=1, set on some CI
    machines) leaves them uncompiled, and every poollint row would then pay
    for compiling its source at start-up. Found without importing it, so
    this process stays small (see own_peak_rss_mb).
    """
    spec = importlib.util.find_spec("poollint")
    if spec is None or not spec.submodule_search_locations:
        return
    for location in spec.submodule_search_locations:
        subprocess.run([sys.executable, "-m", "compileall", "-q", location], check=False, capture_output=True)


def poollint_options() -> Dict[str, bool]:
    text = subprocess.run(POOLLINT + ["check", "--help"], capture_output=True, text=True, check=True).stdout
    return {"no_cache": "--no-cache" in text, "jobs": "--jobs" in text}


def installed(module: str) -> bool:
    """Whether `module` can be imported here, without importing it (flake8_async
    would load libcst into this process)."""
    return importlib.util.find_spec(module) is not None


def tool_command(name: str) -> Optional[List[str]]:
    """The command of an optional tool in this environment, or None."""
    if name == "ruff":
        if not installed("ruff"):
            exe = shutil.which("ruff")
            return [exe] if exe else None
        return [sys.executable, "-m", "ruff"]
    if name == "flake8":
        if not (installed("flake8") and installed("flake8_async")):
            return None
        return [sys.executable, "-m", "flake8"]
    if name == "fixit":
        # Fixit 2 (`fixit lint`): Fixit 1 has another command line.
        if installed("fixit"):
            cmd = [sys.executable, "-m", "fixit"]
        else:
            exe = Path(sys.executable).with_name("fixit")
            found = str(exe) if exe.exists() else shutil.which("fixit")
            if not found:
                return None
            cmd = [found]
        try:
            text = subprocess.run(cmd + ["--version"], capture_output=True, text=True, timeout=60).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        words = text.split()
        major = words[-1].split(".")[0] if words else ""
        return cmd if major.isdigit() and int(major) >= 2 else None
    raise ValueError(name)


# A run of `fixit lint` that got to the end prints "N files clean" or
# "N files checked, ..." on stderr.
FIXIT_SUMMARY = re.compile(r"\b\d+ files? (clean|checked)\b")


def fixit_finished(outcome: Outcome) -> bool:
    """fixit lint exits 1 when it reports something and 2 when a rule or the
    parser raised on a file (3: both): the run still measured every file.
    A crash or a usage error (also 1 or 2) has no summary line."""
    return outcome.code in (0, 1, 2, 3) and bool(FIXIT_SUMMARY.search(outcome.stderr))


def bench_corpus(
    corpus: str,
    root: Path,
    repeats: int,
    options: Dict[str, bool],
    scratch: Path,
    flake8_repeats: int,
    fixit_repeats: int,
    skip: Collection[str] = (),
) -> List[Row]:
    files = python_files(root)
    count = len(files)
    cold = POOLLINT + ["check", "--exit-zero"]
    if options["no_cache"]:
        cold.append("--no-cache")
    rows: List[Row] = []

    def row(tool: str, seconds: Optional[float], rss: Optional[float] = None, note: str = "") -> None:
        rows.append(Row(tool, corpus, count, seconds, count / seconds if seconds else None, None, rss, note))

    variants = [("poollint cold -j1", ["--jobs", "1"]), (f"poollint cold -j{os.cpu_count()}", ["--jobs", str(os.cpu_count() or 1)])]
    if not options["jobs"]:
        variants = [("poollint cold", [])]
    for label, extra in variants:
        seconds, rss, _ = median_child(cold + extra + ["."], root, repeats)
        row(label, seconds, rss)

    if options["no_cache"] and "warm" not in skip:
        # A cache of its own, filled by one untimed run, then: nothing changed,
        # and one file changed before each run (a line added at its top, so
        # every line below moves: what other modules' messages cite moves too).
        warm = POOLLINT + ["check", "--exit-zero", "--cache-dir", str(scratch / f"cache-{corpus}"), "."]
        run_child(warm, root)
        seconds, rss, _ = median_child(warm, root, repeats)
        row("poollint warm", seconds, rss, "nothing changed; default jobs")
        edited = files[len(files) // 2]
        edits = iter(range(repeats))

        def edit_one() -> Path:
            edited.write_bytes(f"# bench edit {next(edits)}\n".encode() + edited.read_bytes())
            return root

        seconds, rss, _ = median_child(warm, root, repeats, prepare=edit_one)
        row("poollint warm, 1 changed", seconds, rss, f"{edited.relative_to(root).as_posix()} edited")

    # What every poollint row pays before reading a file: interpreter, imports, rule registry.
    seconds, rss, _ = median_child(POOLLINT + ["--version"], root, repeats)
    row("poollint --version", seconds, rss, "startup only")

    if "fix" not in skip:
        copies = iter(range(repeats))

        def fresh_copy() -> Path:
            target = scratch / f"{corpus}-fix-{next(copies)}"
            shutil.copytree(root, target)
            return target

        fix_cmd = cold + (["--jobs", "1"] if options["jobs"] else []) + ["--fix", "."]
        seconds, rss, _ = median_child(fix_cmd, root, repeats, prepare=fresh_copy)
        row("poollint --fix" + (" -j1" if options["jobs"] else ""), seconds, rss, "on a fresh copy")

    seconds, rss = median_parse("libcst", files, repeats, scratch)
    row("libcst.parse_module", seconds, rss, "one process, start-up not timed")
    seconds, rss = median_parse("ast", files, repeats, scratch)
    row("ast.parse", seconds, rss, "one process, start-up not timed")

    if "ruff" not in skip:
        ruff = tool_command("ruff")
        if ruff:
            seconds, rss, _ = median_child(ruff + ["check", "--select", "ASYNC", "--exit-zero", "--no-cache", "."], root, repeats)
            row("ruff --select ASYNC", seconds, rss, "ruff's default threads")
        else:
            row("ruff --select ASYNC", None, None, "skipped: ruff not installed (pip install -e '.[bench]')")
    if "flake8" not in skip:
        flake8 = tool_command("flake8")
        if flake8:
            # --select only filters what flake8 reports: pycodestyle, pyflakes and
            # mccabe still run on every line, so this row is minutes on large corpora.
            seconds, rss, _ = median_child(flake8 + ["--select", "ASYNC", "--exit-zero", "."], root, flake8_repeats)
            note = "flake8-async, flake8's default jobs"
            if flake8_repeats != repeats:
                note += f", median of {flake8_repeats}"
            row("flake8 --select ASYNC", seconds, rss, note)
        else:
            row("flake8 --select ASYNC", None, None, "skipped: flake8 / flake8-async not installed (pip install -e '.[bench]')")
    if "fixit" not in skip:
        fixit = tool_command("fixit")
        if fixit:
            # Its built-in rules (no fixit config above the temporary corpus),
            # every core through trailrunner's process pool. Like flake8, minutes
            # on the general corpus.
            seconds, rss, codes = median_child(fixit + ["lint", "."], root, fixit_repeats, ok=fixit_finished)
            note = "default rules, its own process pool"
            if fixit_repeats != repeats:
                note += f", median of {fixit_repeats}"
            if any(code & 2 for code in codes):
                note += "; raised on some files"
            row("fixit lint", seconds, rss, note)
        else:
            row("fixit lint", None, None, "skipped: fixit 2 not installed (pip install -e '.[bench]')")

    base = rows[0].seconds
    for r in rows:
        if r.seconds and base:
            r.ratio_to_poollint_cold = r.seconds / base
    return rows


def _target(corpus: str, target: str, value: float, limit: float, at_most: bool = True) -> Dict[str, object]:
    met = value <= limit if at_most else value >= limit
    return {"corpus": corpus, "target": target, "limit": limit, "ratio": round(value, 3), "met": met}


def targets(rows: Sequence[Row]) -> List[Dict[str, object]]:
    """Issue 4's targets, each as the measured value against its limit."""
    results = []
    by_corpus: Dict[str, Dict[str, Row]] = {}
    for r in rows:
        by_corpus.setdefault(r.corpus, {})[r.tool] = r
    for corpus, mine in sorted(by_corpus.items()):
        kind = corpus.split("-", 1)[0]
        cold = mine.get("poollint cold -j1") or mine.get("poollint cold")
        parallel = next((r for tool, r in mine.items() if tool.startswith("poollint cold -j") and tool != "poollint cold -j1"), None)
        parse = mine.get("libcst.parse_module")
        limit = dict(TARGETS).get(kind)
        if cold and parse and cold.seconds and parse.seconds and limit is not None:
            results.append(_target(corpus, f"{cold.tool} <= {limit}x libcst parse", cold.seconds / parse.seconds, limit))
        fastest = parallel or cold
        for tool, name in (("flake8 --select ASYNC", "flake8-async"), ("fixit lint", "fixit")):
            other = mine.get(tool)
            if fastest and other and fastest.seconds and other.seconds:
                results.append(
                    _target(corpus, f"{fastest.tool} >= 10x faster than {name}", other.seconds / fastest.seconds, 10, at_most=False)
                )
        warm = mine.get("poollint warm")
        if warm and cold and warm.seconds and cold.seconds:
            results.append(_target(corpus, "poollint warm <= 5% of cold -j1", warm.seconds / cold.seconds, 0.05))
            ruff = mine.get("ruff --select ASYNC")
            if kind == "general" and ruff and ruff.seconds:
                results.append(_target(corpus, "poollint warm within 10x of ruff cold", warm.seconds / ruff.seconds, 10))
            if kind == "dense" and warm.files >= 1000:
                # Start-up does not grow with the files: scale the rest to 2,000.
                startup = mine.get("poollint --version")
                fixed = startup.seconds if startup and startup.seconds else 0.0
                projected = fixed + (warm.seconds - fixed) * 2000 / warm.files
                results.append(_target(corpus, "poollint warm, scaled to 2,000 files, < 0.3 s", projected, 0.3))
    # Growth: seconds per file (start-up taken out) from the smallest dense corpus to the largest.
    dense = sorted(
        (mine for corpus, mine in by_corpus.items() if corpus.startswith("dense-")),
        key=lambda mine: next(iter(mine.values())).files,
    )
    if len(dense) >= 2:
        def per_file(mine: Dict[str, Row]) -> Optional[float]:
            cold = mine.get("poollint cold -j1") or mine.get("poollint cold")
            startup = mine.get("poollint --version")
            if not (cold and cold.seconds and startup and startup.seconds):
                return None
            return (cold.seconds - startup.seconds) / cold.files

        small, large = per_file(dense[0]), per_file(dense[-1])
        if small and large:
            names = f"{next(iter(dense[0].values())).corpus} -> {next(iter(dense[-1].values())).corpus}"
            results.append(_target(names, "cold -j1 time per file grows at most 1.25x", large / small, 1.25))
    return results


def fmt(value: Optional[float], spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(rows: Sequence[Row]) -> str:
    head = ["tool", "corpus", "files", "seconds", "files/s", "x poollint cold", "peak RSS MiB", "note"]
    body = [
        [
            r.tool,
            r.corpus,
            str(r.files),
            fmt(r.seconds, ".3f"),
            fmt(r.files_per_s, ".0f"),
            fmt(r.ratio_to_poollint_cold, ".2f"),
            fmt(r.peak_rss_mb, ".0f"),
            r.note,
        ]
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [head] + body) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in [head] + body]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def target_lines(results: Sequence[Dict[str, object]]) -> List[str]:
    lines = []
    for t in results:
        value, limit = float(t["ratio"]), float(t["limit"])  # type: ignore[arg-type]
        if t["met"]:
            how = "met"
        elif value > limit:
            how = f"MISSED: {value / limit:.1f}x over the limit"
        else:
            how = f"MISSED: {limit / value:.1f}x short of the limit"
        lines.append(f"- {t['corpus']}: {t['target']}: {value:.3g} (limit {limit:g}), {how}")
    return lines


def own_peak_rss_mb() -> Optional[float]:
    """This process's peak RSS: on Linux, the floor of every child's figure."""
    try:
        import resource
    except ImportError:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def environment(options: Dict[str, bool]) -> Dict[str, object]:
    # Imported here, after every measurement: importlib.metadata alone adds
    # ~6 MiB to this process, hence to the floor of every child's peak RSS.
    from importlib.metadata import PackageNotFoundError, version

    from poollint import __version__

    versions: Dict[str, Optional[str]] = {"poollint": __version__}
    # Distribution metadata: importing the packages would only tell the same.
    for name in ("libcst",) + GENERAL_PACKAGES + ("ruff", "flake8", "flake8-async", "fixit"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "poollint_options": options,
        "versions": versions,
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000", help="dense corpus sizes, comma-separated (default 100,1000)")
    parser.add_argument("--with-10000", action="store_true", help="also the 10,000-file dense corpus (slow)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--flake8-repeats", type=int, help="repeats of the (slow) flake8 row; default --repeats")
    parser.add_argument("--fixit-repeats", type=int, help="repeats of the (slow) fixit row; default --repeats")
    parser.add_argument(
        "--skip",
        default="",
        metavar="TOOLS",
        help=f"rows to leave out, comma-separated among {', '.join(SKIPPABLE)} (default: none)",
    )
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--no-general", action="store_true", help="skip the installed-packages corpus")
    parser.add_argument("--json", type=Path, default=HERE / "results.json", help="where to write the results")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = sorted(skip - set(SKIPPABLE))
    if unknown:
        parser.error(f"--skip: unknown {', '.join(unknown)} (choose among {', '.join(SKIPPABLE)})")
    for name in ("repeats", "flake8_repeats", "fixit_repeats"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    flake8_repeats = args.flake8_repeats or args.repeats
    fixit_repeats = args.fixit_repeats or args.repeats
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.with_10000 and 10000 not in sizes:
        sizes.append(10000)

    compile_poollint()
    options = poollint_options()
    rows: List[Row] = []
    with tempfile.TemporaryDirectory(prefix="poollint-bench-") as tmp:
        work = Path(tmp)
        corpora: List[Tuple[str, Path]] = []
        if not args.no_general:
            corpora.append(("general", build_general(work)))
        for size in sizes:
            corpora.append((f"dense-{size}", build_dense(work, size, args.seed)))
        for name, root in corpora:
            print(f"benchmarking {name} ({len(python_files(root))} files) ...", file=sys.stderr, flush=True)
            scratch = work / "scratch"
            scratch.mkdir(exist_ok=True)
            rows.extend(bench_corpus(name, root, args.repeats, options, scratch, flake8_repeats, fixit_repeats, skip))
            shutil.rmtree(scratch)

    floor = own_peak_rss_mb()
    results = targets(rows)
    env = environment(options)
    env["bench_peak_rss_mb"] = floor
    print(
        f"poollint {env['versions']['poollint']}, Python {env['python']}, {env['cores']} cores, "
        f"{env['date']}, median of {args.repeats}" + (f"; skipped: {', '.join(sorted(skip))}" if skip else "")
    )
    if floor is not None:
        print(f"Benchmark process peak RSS: {floor:.0f} MiB (on Linux no child's figure can be below it)")
    print(table(rows))
    print("\nIssue 4 targets:")
    print("\n".join(target_lines(results)) or "- (no corpus to compare)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "environment": env,
        "repeats": args.repeats,
        "flake8_repeats": flake8_repeats,
        "fixit_repeats": fixit_repeats,
        "skipped": sorted(skip),
        "seed": args.seed,
        "rows": [asdict(r) for r in rows],
        "targets": results,
    }
    args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
