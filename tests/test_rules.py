"""Every fixture under tests/fixtures/, three ways: as is, with noqa, and fixed.

A fixture is `tests/fixtures/<family>/POL123*.py`, or a directory of that name
holding a small project (for rules that look across modules). Lines that must
be flagged end in `# error: POL123` (`# error: 5 POL123` pins the column);
everything else must stay clean. `# ARG --select=POL1,POL2` and
`# ARG --unsafe-fixes` header lines change how it is run, and
`# ARG --pool-required=pool_size,max_overflow` / `# ARG --pool-value=pool_size=20` /
`# ARG --pool-option=max-connections=100` set [tool.poollint.pool]. A fixture whose fixes change it has a snapshot in
`<family>/fixed/` with the same name.
"""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from poollint.config import PoolSettings, Settings
from poollint.engine import FixRequest
from poollint.rules import ALL_RULES
from poollint.selection import select_rules
from poollint.testing import Fixture, diagnostics_as_expected, lint_sources, sort_expected

FIXTURES = Path(__file__).parent / "fixtures"


def _fixture_paths() -> List[Path]:
    found = []
    for family in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        for entry in sorted(family.iterdir()):
            if entry.name.startswith("POL") and (entry.suffix == ".py" or entry.is_dir()):
                found.append(entry)
    return found


def _options(fixture: Fixture) -> Tuple[List[str], bool]:
    select = [fixture.name[:6]]
    unsafe = False
    for arg in fixture.args():
        for word in shlex.split(arg):
            if word.startswith("--select="):
                select = word.split("=", 1)[1].split(",")
            elif word == "--unsafe-fixes":
                unsafe = True
    return select, unsafe


def _settings(fixture: Fixture) -> Settings:
    pool = PoolSettings()
    target_version = None
    for arg in fixture.args():
        for word in shlex.split(arg):
            if word.startswith("--pool-required="):
                pool = dataclasses.replace(pool, required=tuple(word.split("=", 1)[1].split(",")))
            elif word.startswith("--pool-value="):
                key, value = word.split("=", 1)[1].split("=", 1)
                parsed = value.lower() == "true" if value.lower() in ("true", "false") else int(value)
                pool = dataclasses.replace(pool, values={**pool.values, key: parsed})
            elif word.startswith("--pool-option="):
                # A deployment key of [tool.poollint.pool]: `--pool-option=max-connections=100`.
                key, value = word.split("=", 1)[1].split("=", 1)
                pool = dataclasses.replace(pool, **{key.replace("-", "_"): int(value)})
            elif word.startswith("--target-version="):
                target = word.split("=", 1)[1]
                target_version = (int(target[2]), int(target[3:]))
    return Settings(project_root=Path("/virtual"), config_path=None, pool=pool, target_version=target_version)


def _rules(fixture: Fixture):
    select, _ = _options(fixture)
    return select_rules(ALL_RULES, select, (), ())


def _fixed_path(path: Path) -> Path:
    return path.parent / "fixed" / path.name


PATHS = _fixture_paths()
IDS = [f"{p.parent.name}/{p.name}" for p in PATHS]


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_fixture_findings(path: Path) -> None:
    fixture = Fixture.load(path)
    expected = fixture.expected()
    results = lint_sources(fixture.sources, _rules(fixture), settings=_settings(fixture))
    actual = diagnostics_as_expected(results, expected)
    assert sort_expected(actual) == sort_expected(expected)


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_fixture_noqa_silences_every_finding(path: Path) -> None:
    fixture = Fixture.load(path)
    assert fixture.expected(), "a fixture must flag at least one line"
    results = lint_sources(fixture.with_noqa(), _rules(fixture), settings=_settings(fixture))
    leftover = [(name, d.line, d.code) for name, r in results.items() for d in r.diagnostics]
    assert leftover == []


def _fix(sources: Dict[str, str], fixture: Fixture) -> Dict[str, str]:
    _, unsafe = _options(fixture)
    results = lint_sources(
        sources, _rules(fixture), fix=FixRequest(apply=True, unsafe=unsafe), settings=_settings(fixture)
    )
    for result in results.values():
        assert result.warnings == []
    return {
        name: (r.fixed_source.decode("utf-8") if r.fixed_source is not None else sources[name])
        for name, r in results.items()
    }


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_fixture_fixes_match_snapshot_and_are_idempotent(path: Path, request) -> None:
    fixture = Fixture.load(path)
    fixed = _fix(fixture.sources, fixture)
    snapshot = _fixed_path(path)
    changed = fixed != fixture.sources
    if request.config.getoption("--update-fixes"):
        if changed:
            for name, text in fixed.items():
                target = snapshot / name if path.is_dir() else snapshot
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        return
    if not changed:
        assert not snapshot.exists(), f"{snapshot} exists but no fix changes {path.name}"
        return
    assert snapshot.exists(), f"fixes change {path.name}: run pytest --update-fixes and review {snapshot}"
    expected = Fixture.load(snapshot).sources
    assert fixed == expected
    assert _fix(fixed, fixture) == fixed, "fixing a second time changed the code"
