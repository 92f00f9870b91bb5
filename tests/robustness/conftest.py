"""Fixtures of the robustness tests (helpers.py holds the rest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import BLOCKING


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory, made the current one, with the normal file in it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "normal.py").write_text(BLOCKING)
    return tmp_path
