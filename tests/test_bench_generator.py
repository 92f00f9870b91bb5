"""bench/generate.py: the dense benchmark corpus repeats for a seed, has the
size asked for, parses, and holds code poollint flags. The benchmark itself
is not run here."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import libcst
from click.testing import CliRunner

from poollint.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _contents(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.py"))}


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    generate = _generator().generate
    generate(tmp_path / "a", 12, seed=7)
    generate(tmp_path / "b", 12, seed=7)
    generate(tmp_path / "c", 12, seed=8)
    assert _contents(tmp_path / "a") == _contents(tmp_path / "b")
    assert _contents(tmp_path / "a") != _contents(tmp_path / "c")


def test_requested_number_of_files_all_parse(tmp_path: Path) -> None:
    paths = _generator().generate(tmp_path, 25, seed=4)
    assert len(paths) == 25
    assert len(list(tmp_path.rglob("*.py"))) == 25
    for path in paths:
        source = path.read_text(encoding="utf-8")
        ast.parse(source, filename=str(path))
        libcst.parse_module(source)
        # Dense means every file would be walked: routes, a dependency and engines.
        assert "@router." in source and "Depends(" in source and "create_engine(" in source


def test_poollint_flags_a_small_generated_corpus(tmp_path: Path) -> None:
    _generator().generate(tmp_path, 4, seed=4)
    result = CliRunner().invoke(main, ["check", "--exit-zero", str(tmp_path)])
    assert result.exit_code == 0, result.output
    codes = set(re.findall(r" (POL\d{3}) ", result.output))
    # A mix, not one rule: several families have something to report.
    assert len(codes) >= 3, result.output
