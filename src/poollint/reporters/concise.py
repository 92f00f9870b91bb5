"""The default output: flake8-style lines, then a one-line summary."""

from __future__ import annotations

from typing import List

from poollint.diagnostic import FixSafety
from poollint.runner import RunResult


def finding_lines(result: RunResult) -> List[str]:
    lines = []
    for file_result in sorted(result.files, key=lambda f: f.path.as_posix()):
        for d in sorted(file_result.diagnostics, key=lambda d: d.sort_key()):
            lines.append(f"{file_result.path.as_posix()}:{d.line}:{d.column}: {d.code} {d.message}")
    return lines


def _plural(count: int, word: str) -> str:
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word}{'es' if word.endswith(('x', 's')) else 's'}"


def summary(result: RunResult, *, fixing: bool, unsafe_fixes: bool) -> List[str]:
    remaining = len(result.diagnostics)
    fixed = result.fixed
    lines = []
    if fixing and fixed:
        lines.append(f"Found {_plural(fixed + remaining, 'problem')} ({fixed} fixed, {remaining} remaining).")
    elif remaining:
        fixable = result.fixable(FixSafety.SAFE) + (result.fixable(FixSafety.UNSAFE) if unsafe_fixes else 0)
        note = f" ({fixable} fixable with --fix)" if fixable else ""
        if fixable and unsafe_fixes and result.fixable(FixSafety.UNSAFE):
            note = f" ({fixable} fixable with --fix --unsafe-fixes)"
        lines.append(f"Found {_plural(remaining, 'problem')}{note}.")
    else:
        lines.append("All checks passed!")
    hidden = result.fixable(FixSafety.UNSAFE)
    if hidden and not unsafe_fixes:
        lines.append(f"{_plural(hidden, 'hidden fix')} can be enabled with the --unsafe-fixes option.")
    return lines
