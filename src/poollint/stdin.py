"""`poollint check --stdin-filename NAME -`: check source read from standard input
as if it were the file NAME, as ruff does for editors and pipelines.

NAME decides everything a path decides (the configuration found above it,
per-file-ignores, excludes under --force-exclude, how findings are named),
and the text replaces NAME's content in the project index: the file on disk,
if there is one, is never read or written. With --fix the (fixed) source
goes to standard output and every other line to standard error, so that
`poollint check --fix --stdin-filename app.py - < app.py > fixed.py` gives
a file holding code only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

from poollint.config import Settings
from poollint.discovery import is_excluded
from poollint.runner import RunResult

__all__ = ["STDIN", "read_stdin", "stdin_files", "stdin_name", "write_source"]

STDIN = "-"


def stdin_name(paths: Sequence[Path], stdin_filename: Optional[str]) -> Tuple[Optional[Path], List[Path]]:
    """The name to check standard input as (None: check the paths), and the
    paths left unchecked in its favour.

    As in ruff: `--stdin-filename` reads standard input whatever the paths
    (naming the others it ignores); without it a lone `-` reads standard
    input as a file named `-`.
    """
    ignored = [path for path in paths if str(path) != STDIN]
    if stdin_filename is not None:
        return Path(stdin_filename), ignored
    if [str(path) for path in paths] == [STDIN]:
        return Path(STDIN), []
    return None, []


def stdin_files(name: Path, settings: Settings) -> List[Path]:
    """What to check: NAME, unless --force-exclude applies to it. Neither a
    missing file nor a gitignored one is a reason to skip it: the text is
    what is checked."""
    if settings.force_exclude and str(name) != STDIN and is_excluded(name, settings):
        return []
    return [name]


def _binary(stream: Any) -> Any:
    # click 8.3 deprecates get_binary_stream(); the text streams' buffer is
    # what it returned (click's test runner provides one too).
    return getattr(stream, "buffer", stream)


def read_stdin() -> bytes:
    return _binary(sys.stdin).read()


def write_source(result: RunResult, source: bytes) -> None:
    """Standard output after `--fix` on standard input: the fixed source, or
    the source unchanged when nothing was fixed (or the file was excluded)."""
    fixed = next((f.fixed_source for f in result.files if f.fixed_source is not None), None)
    stream = _binary(sys.stdout)
    stream.write(source if fixed is None else fixed)
    stream.flush()
