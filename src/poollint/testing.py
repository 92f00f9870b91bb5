"""Helpers to run rules on source held in memory: rule examples and fixtures."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Type

from poollint.config import Settings
from poollint.deployment import deployment_kind
from poollint.engine import FileResult, FixRequest, build_index, check_file, read_facts
from poollint.tracking import QueryChecker, TrackedIndex
from poollint.rule import PoolRule


def lint_sources(
    sources: Mapping[str, str],
    rules: Sequence[Type[PoolRule]],
    *,
    fix: FixRequest = FixRequest(),
    settings: Optional[Settings] = None,
    root: Path = Path("/virtual"),
) -> Dict[str, FileResult]:
    """Check a project given as {relative path: source} without touching disk."""
    settings = settings or Settings(project_root=root, config_path=None)
    encoded = {name: text.encode("utf-8") for name, text in sources.items()}
    facts = {name: read_facts(root / name, root, data) for name, data in encoded.items()}
    index = build_index(facts.values())
    # Rules see the index as the cache does (tracking.py): a question a rule
    # asks past the tracked methods fails here, not in a user's warm run.
    # Every answer must also fingerprint alike on an index built afresh from
    # the same sources, or cached findings would never (or wrongly) hold.
    fresh = build_index(read_facts(root / n, root, d) for n, d in encoded.items())
    checker = QueryChecker(fresh)
    fingerprints: Dict[tuple, str] = {}
    results = {}
    for name in sources:
        tracked = TrackedIndex(index)
        results[name] = check_file(root / name, encoded[name], facts[name], tracked, settings, rules, fix)  # type: ignore[arg-type]
        if not fix.apply:
            log = tracked.log(fingerprints)
            changed = [query for query, print_ in log if not checker.still_holds([(query, print_)])]
            assert not changed, f"{name}: index answers that do not fingerprint alike twice: {changed}"
    return results


def lint_source(
    source: str,
    rules: Sequence[Type[PoolRule]],
    *,
    fix: FixRequest = FixRequest(),
    settings: Optional[Settings] = None,
    filename: str = "example.py",
) -> FileResult:
    return lint_sources({filename: source}, rules, fix=fix, settings=settings)[filename]


def fixed_text(result: FileResult, original: str) -> str:
    return result.fixed_source.decode("utf-8") if result.fixed_source is not None else original


# -- fixtures -------------------------------------------------------------------

# `# error: POL101` or `# error: 5 POL101` (5 pins the 1-based column);
# several codes may follow, comma separated.
_EXPECTED = re.compile(r"#\s*error:\s*(?P<spec>(?:\d+\s+)?POL\d{3}(?:\s*,\s*(?:\d+\s+)?POL\d{3})*)")
_ONE = re.compile(r"(?:(?P<col>\d+)\s+)?(?P<code>POL\d{3})")
_ARG = re.compile(r"^#\s*ARG\s+(?P<arg>\S.*)$", re.MULTILINE)
_LINE_NOQA = re.compile(r"#\s*noqa:\s?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*)", re.IGNORECASE)


@dataclass(frozen=True)
class Expected:
    path: str
    line: int
    code: str
    column: Optional[int] = None


@dataclass
class Fixture:
    """One fixture: a .py file, or a directory holding a small project."""

    name: str
    root: Path
    sources: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "Fixture":
        if path.is_dir():
            # Python sources, and the deployment files of the project
            # (requirements files, Dockerfiles...: deployment.py).
            sources = {
                p.relative_to(path).as_posix(): p.read_text(encoding="utf-8")
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and (p.suffix == ".py" or deployment_kind(p.relative_to(path).as_posix()) is not None)
            }
            return cls(path.name, path, sources)
        return cls(path.stem, path.parent, {path.name: path.read_text(encoding="utf-8")})

    def expected(self) -> List[Expected]:
        found = []
        for name, text in self.sources.items():
            for number, line in enumerate(text.splitlines(), start=1):
                match = _EXPECTED.search(line)
                if match is None:
                    continue
                for one in _ONE.finditer(match.group("spec")):
                    column = int(one.group("col")) if one.group("col") else None
                    found.append(Expected(name, number, one.group("code"), column))
        return found

    def args(self) -> List[str]:
        """`# ARG --select=POL104` header lines, as CLI arguments."""
        found: List[str] = []
        for text in self.sources.values():
            found.extend(m.group("arg").strip() for m in _ARG.finditer(text))
        return found

    def with_noqa(self) -> Dict[str, str]:
        """Every `# error: CODE` comment turned into `# noqa: CODE`, or its
        code added to the line's own noqa directive (only the first directive
        of a comment counts, as in flake8 and ruff)."""

        def rewrite(line: str) -> str:
            match = _EXPECTED.search(line)
            if match is None:
                return line
            codes = [one.group("code") for one in _ONE.finditer(match.group("spec"))]
            before = line[: match.start()].rstrip()
            comment = _LINE_NOQA.search(before)
            if comment is not None and comment.group("codes"):
                end = comment.end("codes")
                return before[:end] + ", " + ", ".join(codes) + before[end:] + line[match.end() :]
            return line[: match.start()] + "# noqa: " + ", ".join(codes) + line[match.end() :]

        return {
            name: "".join(rewrite(line) for line in text.splitlines(keepends=True))
            for name, text in self.sources.items()
        }


def diagnostics_as_expected(results: Mapping[str, FileResult], pinned: Sequence[Expected]) -> List[Expected]:
    """The findings, in the form of Expected, with columns where the fixture pins them."""
    pinned_at = {(e.path, e.line, e.code) for e in pinned if e.column is not None}
    found = []
    for name, result in results.items():
        for d in result.diagnostics:
            column = d.column if (name, d.line, d.code) in pinned_at else None
            found.append(Expected(name, d.line, d.code, column))
    return found


def sort_expected(items: Sequence[Expected]) -> List[Tuple[str, int, str, int]]:
    return sorted((e.path, e.line, e.code, e.column or 0) for e in items)
