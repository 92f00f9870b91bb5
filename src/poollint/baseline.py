"""Baselines: adopt poollint on a codebase that already has findings.

`poollint check --write-baseline FILE` records the findings of a run;
`--baseline FILE` hides the findings recorded there and reports the rest.

A finding is recorded by its file (relative to the project root, with
forward slashes), its code and the text of the line it is reported on,
normalised (see `normalise`), never by line number: an edit above a finding
moves it but does not make it new. Each key has a count, so that a third
finding like two recorded ones is reported. When a file has more findings
with one key than recorded, the ones nearest its end are reported.

The file is JSON, sorted, one finding per line, so that it diffs well:

    {
      "version": 1,
      "findings": [
        {"path": "app/db.py", "code": "POL301", "source": "engine = create_engine(URL)", "count": 1}
      ]
    }

Findings about files poollint could not check (POL901-POL904) are never
recorded: they are always reported.
"""

from __future__ import annotations

import io
import json
import os
import re
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from poollint.diagnostic import FILE_CODES, Diagnostic
from poollint.writer import WriteError, write_atomic

if TYPE_CHECKING:
    from poollint.config import Settings
    from poollint.runner import RunResult

VERSION = 1

# (code, normalised line text) -> how many findings of one file it records.
Key = Tuple[str, str]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class BaselineError(Exception):
    """A baseline that cannot be read or written; str() is one line naming the file."""


def normalise(line: str) -> str:
    """The text of a finding's line as a baseline records it: without leading
    and trailing whitespace, each run of whitespace inside it one space.

    Re-indenting a block (moving it under a `with`, say) or re-aligning a
    line does not make its finding new; any other edit of the line does,
    comments included: someone touched that line and should look at it.
    """
    return " ".join(line.split())


def relative_path(path: Path, root: Path) -> str:
    """`path` relative to the project root, with forward slashes (as given when outside it)."""
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return Path(path).as_posix()


def source_lines(data: bytes) -> List[str]:
    """The lines of a file, decoded as Python would (PEP 263 or UTF-8), split
    where Python and libcst count lines (not at form feeds)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        text = data.decode("utf-8", errors="replace")
    return _LINE_BREAK.split(text)


def _line_key(code: str, lines: Sequence[str], line: int) -> Key:
    text = lines[line - 1] if 1 <= line <= len(lines) else ""
    return (code, normalise(text))


@dataclass
class Baseline:
    """The findings recorded in a baseline file: path -> key -> count."""

    counts: Dict[str, Counter] = field(default_factory=dict)
    path: Optional[Path] = None

    @classmethod
    def load(cls, path: Path) -> "Baseline":
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise BaselineError(f"cannot read baseline {path}: {exc.strerror or exc}") from None
        try:
            document = json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise BaselineError(f"{path} is not a poollint baseline: not UTF-8") from None
        except ValueError as exc:
            raise BaselineError(f"{path} is not a poollint baseline: invalid JSON ({exc})") from None
        if not isinstance(document, dict) or "findings" not in document or "version" not in document:
            raise BaselineError(f'{path} is not a poollint baseline: expected an object with "version" and "findings"')
        version = document["version"]
        if version != VERSION:
            raise BaselineError(f"{path}: baseline version {version!r} is not one this poollint reads ({VERSION})")
        findings = document["findings"]
        if not isinstance(findings, list):
            raise BaselineError(f'{path} is not a poollint baseline: "findings" is not a list')
        baseline = cls(path=path)
        for number, entry in enumerate(findings, start=1):
            problem = _entry_problem(entry)
            if problem:
                raise BaselineError(f"{path} is not a poollint baseline: finding {number} {problem}")
            counts = baseline.counts.setdefault(entry["path"], Counter())
            counts[(entry["code"], normalise(entry["source"]))] += entry["count"]
        return baseline

    def split(
        self, relpath: str, diagnostics: Iterable[Diagnostic], lines: Sequence[str]
    ) -> Tuple[List[Diagnostic], List[Diagnostic], Counter]:
        """(reported, hidden, what of the file's entries no finding matched)."""
        remaining = Counter(self.counts.get(relpath, ()))
        reported: List[Diagnostic] = []
        hidden: List[Diagnostic] = []
        for diagnostic in sorted(diagnostics, key=Diagnostic.sort_key):
            key = _line_key(diagnostic.code, lines, diagnostic.line)
            if diagnostic.code not in FILE_CODES and remaining[key] > 0:
                remaining[key] -= 1
                hidden.append(diagnostic)
            else:
                reported.append(diagnostic)
        return reported, hidden, +remaining

    def hidden_ids(self, relpath: str, diagnostics: Sequence[Diagnostic], source: bytes) -> Set[int]:
        """id() of the diagnostics the baseline hides, in a file whose
        current content is `source` (for --fix: only what is reported is fixed)."""
        if relpath not in self.counts:
            return set()
        _, hidden, _ = self.split(relpath, diagnostics, source_lines(source))
        return {id(d) for d in hidden}


def dump(entries: Dict[Tuple[str, str, str], int]) -> bytes:
    """The baseline file for (path, code, source) -> count, sorted."""
    # One finding per line: a fixed finding is one removed line in a diff.
    findings = [
        json.dumps({"path": path, "code": code, "source": source, "count": count}, ensure_ascii=False)
        for (path, code, source), count in sorted(entries.items())
        if count > 0
    ]
    body = ",\n".join(f"    {finding}" for finding in findings)
    text = f'{{\n  "version": {VERSION},\n  "findings": [' + (f"\n{body}\n  " if findings else "") + "]\n}\n"
    return text.encode("utf-8")


def _entry_problem(entry: object) -> str:
    if not isinstance(entry, dict):
        return "is not an object"
    for name in ("path", "code", "source"):
        if not isinstance(entry.get(name), str):
            return f'has no string "{name}"'
    count = entry.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        return 'has no "count" of at least 1'
    return ""


@dataclass
class BaselineOutcome:
    hidden: int = 0
    # Recorded findings of the checked files and rules that nothing matched.
    unmatched: int = 0
    # Findings recorded in the file written, when one was.
    written: Optional[int] = None


def apply_baseline(
    result: "RunResult",
    settings: "Settings",
    rules: Sequence[object],
    baseline: Optional[Baseline],
    write_to: Optional[Path] = None,
) -> BaselineOutcome:
    """Hide the findings `baseline` records (each file result keeps only the
    ones to report), and write `write_to` when given.

    Without a baseline, `write_to` records every finding of the run, which
    then counts as hidden. With one, it records only the recorded findings
    that still match (the entries of files or rules this run did not check
    are kept as they were): rewriting a baseline prunes what was fixed and
    never takes in a new finding.
    """
    from poollint.runner import rules_for_file

    outcome = BaselineOutcome()
    recorded: Counter = Counter()
    checked: Dict[str, Set[str]] = {}
    for file_result in result.files:
        relpath = relative_path(file_result.path, settings.project_root)
        codes = {rule.CODE for rule in rules_for_file(file_result.path, settings, rules)}  # type: ignore[arg-type]
        checked[relpath] = codes
        diagnostics = file_result.diagnostics
        lines = _current_lines(file_result) if diagnostics else []
        if baseline is not None:
            reported, hidden, leftover = baseline.split(relpath, diagnostics, lines)
            outcome.unmatched += sum(count for (code, _), count in leftover.items() if code in codes)
        elif write_to is not None:
            reported = [d for d in diagnostics if d.code in FILE_CODES]
            hidden = [d for d in diagnostics if d.code not in FILE_CODES]
        else:
            continue
        for diagnostic in hidden:
            code, text = _line_key(diagnostic.code, lines, diagnostic.line)
            recorded[(relpath, code, text)] += 1
        outcome.hidden += len(hidden)
        file_result.diagnostics = reported
    if baseline is not None:
        for relpath, counts in baseline.counts.items():
            codes = checked.get(relpath)
            if codes is None and not (settings.project_root / relpath).exists():
                # The file is gone: its findings went with it.
                outcome.unmatched += sum(counts.values())
                continue
            for (code, text), count in counts.items():
                if codes is None or code not in codes:
                    recorded[(relpath, code, text)] += count
    if write_to is not None:
        try:
            write_atomic(write_to, dump(recorded), create=True, purpose=f"cannot write baseline {write_to}")
        except WriteError as exc:
            raise BaselineError(str(exc)) from None
        outcome.written = sum(recorded.values())
    return outcome


def _current_lines(file_result: object) -> List[str]:
    """The lines of the file as its findings were computed: the fixed source
    when fixes changed it (written or not), else what is on disk."""
    data = getattr(file_result, "fixed_source", None)
    if data is None:
        try:
            data = file_result.path.read_bytes()  # type: ignore[attr-defined]
        except OSError:
            return []
    return source_lines(data)


def summary(outcome: BaselineOutcome, baseline: Optional[Baseline], write_to: Optional[Path]) -> List[str]:
    """The lines for stderr about what the baseline did."""
    lines = []
    if write_to is not None:
        if baseline is not None and outcome.unmatched:
            lines.append(f"Pruned {_entries(outcome.unmatched)} that no longer matched (fixed).")
        lines.append(f"Wrote {_findings(outcome.written or 0)} to {write_to.as_posix()}.")
    elif baseline is not None and outcome.unmatched:
        name = baseline.path.as_posix() if baseline.path else "FILE"
        verb = "matches" if outcome.unmatched == 1 else "match"
        lines.append(
            f"{_entries(outcome.unmatched)} no longer {verb} (fixed): "
            f"run with --baseline {name} --write-baseline {name} to prune."
        )
    return lines


def _entries(count: int) -> str:
    return f"{count} baseline {'entry' if count == 1 else 'entries'}"


def _findings(count: int) -> str:
    return f"{count} finding{'' if count == 1 else 's'}"
