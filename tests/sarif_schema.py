"""Validating a SARIF document against the official 2.1.0 schema in tests/data/ (see its README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest

SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"


def validate(document: Dict[str, Any]) -> None:
    """AssertionError listing every place `document` breaks the schema."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
