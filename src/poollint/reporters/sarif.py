"""`--output-format sarif`: SARIF 2.1.0, as GitHub code scanning takes it.

Locations are relative to the repository's root (uriBaseId %SRCROOT%), with
1-based columns counted in code points and an exclusive endColumn. Each
result carries a fingerprint that survives edits elsewhere in the file, so
code scanning keeps an alert open across commits instead of closing it and
opening a new one whenever lines move. Rules are described from their pages.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote

from poollint.diagnostic import Diagnostic, FileResult
from poollint.reporters import REPOSITORY_URL, Report, Reporter, end_of, rule_info, version

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
ROOT_ID = "%SRCROOT%"
FINGERPRINT = "poollintFindingHash/v1"


class SarifReporter(Reporter):
    name = "sarif"
    needs_edits = True

    def render(self, report: Report) -> str:
        return json.dumps(document(report), indent=2) + "\n"


def document(report: Report) -> Dict[str, Any]:
    findings = list(report.findings())
    codes = sorted({d.code for _, d in findings})
    index = {code: position for position, code in enumerate(codes)}
    fingerprints = report.fingerprints()
    results = [_result(report, file_result, d, index[d.code], fingerprints[id(d)]) for file_result, d in findings]
    root_uri = report.root.resolve().as_uri()
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "poollint",
                        "version": version(),
                        "informationUri": REPOSITORY_URL,
                        "rules": [_rule(code) for code in codes],
                    }
                },
                "invocations": [{"executionSuccessful": not report.result.internal_error}],
                "originalUriBaseIds": {ROOT_ID: {"uri": root_uri if root_uri.endswith("/") else root_uri + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def _rule(code: str) -> Dict[str, Any]:
    info = rule_info(code)
    short, full, text, markdown = _descriptions(code)
    return {
        "id": code,
        "name": info.name,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": text, "markdown": markdown},
        "helpUri": info.url,
        "defaultConfiguration": {"level": "error"},
    }


def _descriptions(code: str) -> Tuple[str, str, str, str]:
    """Short and full description, help as text and as Markdown."""
    from poollint.ruledocs import FILE_CODE_DOCS, render_file_code, render_rule
    from poollint.rules import RULES_BY_CODE

    rule = RULES_BY_CODE.get(code)
    if rule is not None:
        summary = rule.summary()
        return _first_sentence(summary), summary, rule.docs(), render_rule(rule)
    meaning = FILE_CODE_DOCS.get(code, code)
    page = render_file_code(code) if code in FILE_CODE_DOCS else meaning
    return _first_sentence(meaning), meaning, meaning, page


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + "." if dot else text


def _result(report: Report, file_result: FileResult, d: Diagnostic, rule_index: int, fingerprint: str) -> Dict[str, Any]:
    artifact = _artifact(report, file_result)
    result: Dict[str, Any] = {
        "ruleId": d.code,
        "ruleIndex": rule_index,
        "level": "error",
        "message": {"text": d.message},
        "locations": [{"physicalLocation": {"artifactLocation": artifact, "region": _region(d)}}],
        "partialFingerprints": {FINGERPRINT: fingerprint},
    }
    fix = _fix(d, artifact)
    if fix is not None:
        result["fixes"] = [fix]
    return result


def _artifact(report: Report, file_result: FileResult) -> Dict[str, str]:
    relative = report.relative(file_result.path)
    if relative is None:
        return {"uri": Path(os.path.abspath(file_result.path)).as_uri()}
    return {"uri": quote(relative, safe="/"), "uriBaseId": ROOT_ID}


def _region(d: Diagnostic) -> Dict[str, int]:
    end_line, end_column = end_of(d)
    region = {"startLine": d.line, "startColumn": d.column}
    # A finding about the whole file has no span: its region is its first line.
    if (end_line, end_column) != (d.line, d.column):
        region.update(endLine=end_line, endColumn=end_column)
    return region


def _fix(d: Diagnostic, artifact: Dict[str, str]) -> Optional[Dict[str, Any]]:
    if d.fix_safety is None or not d.edits:
        return None
    replacements: List[Dict[str, Any]] = []
    for content, line, column, end_line, end_column in d.edits:
        replacement: Dict[str, Any] = {
            "deletedRegion": {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}
        }
        if content:
            replacement["insertedContent"] = {"text": content}
        replacements.append(replacement)
    return {
        "description": {"text": rule_info(d.code).fix_title or "Apply the fix"},
        "artifactChanges": [{"artifactLocation": artifact, "replacements": replacements}],
        "properties": {"applicability": d.fix_safety.value},
    }
