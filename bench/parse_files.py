"""Child process of bench/run.py: time a bare parse of a list of files.

    python bench/parse_files.py {libcst,ast} FILE_LIST_JSON REPEATS

Reads the JSON list of paths, imports the parser, then times REPEATS rounds
of "read every file and parse it" in this one process (start-up and the
import are not timed). Prints one JSON object on stdout: the seconds of each
round, the number of files that failed to parse, and this process's own peak
RSS in MiB (None where the resource module is missing).

It runs apart from the benchmark so that the benchmark process never grows
by what a parse allocates: on Linux every later child's ru_maxrss starts from
its parent's peak.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional


def parser(kind: str) -> Callable[[Path], bool]:
    """A function that reads and parses one file, False when it does not parse."""
    if kind == "libcst":
        import libcst

        def parse(path: Path) -> bool:
            try:
                libcst.parse_module(path.read_text(encoding="utf-8"))
            except libcst.ParserSyntaxError:
                return False
            return True

        return parse
    if kind == "ast":
        import ast

        def parse(path: Path) -> bool:
            try:
                ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            except SyntaxError:
                return False
            return True

        return parse
    raise SystemExit(f"unknown parser {kind!r}: libcst or ast")


def peak_rss_mb() -> Optional[float]:
    try:
        import resource
    except ImportError:
        return None
    # Linux reports KiB, macOS bytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def main(argv: List[str]) -> int:
    kind, listing, repeats = argv[0], Path(argv[1]), int(argv[2])
    files = [Path(p) for p in json.loads(listing.read_text(encoding="utf-8"))]
    parse = parser(kind)
    seconds, errors = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        errors = sum(not parse(path) for path in files)
        seconds.append(time.perf_counter() - start)
    json.dump({"seconds": seconds, "files": len(files), "errors": errors, "peak_rss_mb": peak_rss_mb()}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
