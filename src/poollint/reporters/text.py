"""What text formats print after the findings: the summary, --statistics and --show-fixes."""

from __future__ import annotations

from typing import Dict, List, Tuple

from poollint.diagnostic import FixSafety
from poollint.reporters import Report, rule_info
from poollint.runner import RunResult


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


def fixed_list(report: Report) -> List[str]:
    """--show-fixes after --fix: how many fixes of each code went into each file, as ruff lists them."""
    files = [f for f in report.files() if f.fixed_codes]
    if not files:
        return []
    total = sum(sum(f.fixed_codes.values()) for f in files)
    lines = ["", f"Fixed {_plural(total, 'problem')}:"]
    for file_result in files:
        lines.append(f"- {file_result.path.as_posix()}:")
        for code, count in sorted(file_result.fixed_codes.items()):
            lines.append(f"    {count} \u00d7 {code} ({rule_info(code).name})")
    lines.append("")
    return lines


# (code, name, count, fixable count)
Statistic = Tuple[str, str, int, int]


def statistics(report: Report) -> List[Statistic]:
    """One row per code found: most frequent first, then by code (as ruff sorts them)."""
    counts: Dict[str, List[int]] = {}
    for _, diagnostic in report.findings():
        row = counts.setdefault(diagnostic.code, [0, 0])
        row[0] += 1
        row[1] += report.applicable(diagnostic)
    rows = [(code, rule_info(code).name, count, fixable) for code, (count, fixable) in counts.items()]
    return sorted(rows, key=lambda row: (-row[2], row[0]))


def statistics_text(report: Report) -> List[str]:
    rows = statistics(report)
    if not rows:
        return []
    count_width = max(len(str(row[2])) for row in rows)
    code_width = max(len(row[0]) for row in rows)
    # The fixable column only when something is: after --fix fixed it all, it goes.
    any_fixable = any(row[3] for row in rows)
    lines = []
    for code, name, count, fixable in rows:
        marker = ("[*] " if fixable else "[ ] ") if any_fixable else ""
        lines.append(f"{count:>{count_width}}\t{code:<{code_width}}\t{marker}{name}")
    return lines


def statistics_json(report: Report) -> str:
    import json

    rows = [
        {"code": code, "name": name, "count": count, "fixable": fixable > 0, "fixable_count": fixable}
        for code, name, count, fixable in statistics(report)
    ]
    return json.dumps(rows, indent=2) + "\n"
