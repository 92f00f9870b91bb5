"""What a run reports about a file, in a module that does not import libcst.

A run whose every file comes from the cache prints findings without ever
parsing code, so the types it prints (and unpickles) must not pull in libcst,
which is a third of poollint's start-up.
"""

from __future__ import annotations

import enum
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple


class FixSafety(enum.Enum):
    # SAFE fixes keep the program's behaviour; `--fix` applies them. UNSAFE
    # fixes may change behaviour and need `--unsafe-fixes` as well.
    SAFE = "safe"
    UNSAFE = "unsafe"


# Replace the text from (line, column) up to (end_line, end_column) by content.
Edit = Tuple[str, int, int, int, int]


# A run keeps every finding until it reports: no __dict__ per finding (3.10+).
@dataclass(**({"slots": True} if sys.version_info >= (3, 10) else {}))
class Diagnostic:
    code: str
    message: str
    line: int
    column: int  # 1-based, as flake8 prints it
    end_line: int = 0
    end_column: int = 0
    # The rule's Fix (rule.Fix) while the file's tree is alive; None after.
    fix: Optional[Any] = field(default=None, compare=False, repr=False)
    # Set when the fix exists but was withheld (e.g. unsafe without --unsafe-fixes).
    fix_safety: Optional[FixSafety] = None
    # The fix as text edits of the file as it is (fix_edits.py), when a report
    # asked for them (FixRequest.describe): (content, line, column, end_line,
    # end_column), 1-based, end exclusive. None: not computed.
    edits: Optional[Tuple[Edit, ...]] = field(default=None, compare=False, repr=False)
    # The code ruff reports this very call with (ASYNC251...), when it does,
    # and from which ruff release: left to ruff where the project's ruff
    # configuration selects the code and runs that release (ruff_config.py).
    ruff_code: Optional[str] = field(default=None, compare=False, repr=False)
    ruff_since: Optional[Tuple[int, ...]] = field(default=None, compare=False, repr=False)

    @property
    def fixable(self) -> bool:
        return self.fix_safety is FixSafety.SAFE

    def sort_key(self) -> Tuple[int, int, str]:
        return (self.line, self.column, self.code)


# Findings about the file itself rather than its code. Always reported:
# a file poollint cannot read is a file nobody checked.
UNREADABLE = "POL901"
UNDECODABLE = "POL902"
SYNTAX_ERROR = "POL903"
INTERNAL_ERROR = "POL904"
FILE_CODES = {
    UNREADABLE: "unreadable-file",
    UNDECODABLE: "undecodable-file",
    SYNTAX_ERROR: "syntax-error",
    INTERNAL_ERROR: "internal-error",
}


@dataclass
class FileResult:
    path: Path
    diagnostics: List[Diagnostic] = field(default_factory=list)
    fixed: int = 0
    # How many fixes of each code were applied (for --show-fixes).
    fixed_codes: Dict[str, int] = field(default_factory=dict)
    # Set when fixes changed the file: the bytes before and after.
    original: Optional[bytes] = None
    fixed_source: Optional[bytes] = None
    # Fixes dropped because their result would not parse, and similar notes.
    warnings: List[str] = field(default_factory=list)
    internal_error: bool = False
    # The project-index questions its rules asked (tracking.py), for the cache.
    queries: Optional[list] = None


@dataclass(frozen=True)
class FixRequest:
    """Which fixes to apply: none (check only), safe ones, or unsafe ones too."""

    apply: bool = False
    unsafe: bool = False
    # Describe each finding's fix as text edits (Diagnostic.edits), for the
    # reports that carry them (json, sarif); costs a little codegen per fix.
    describe: bool = False
    # A baseline (baseline.Baseline): the findings it hides are not fixed,
    # only the ones the run reports.
    baseline: Optional[Any] = field(default=None, compare=False)

    def allows(self, safety: FixSafety) -> bool:
        return self.apply and (safety is FixSafety.SAFE or self.unsafe)
