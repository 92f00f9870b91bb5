"""`--output-format json`: one JSON array of findings, with ruff's field names.

Each finding: code, name, message, filename (absolute), location and
end_location ({row, column}, 1-based, end exclusive), noqa_row (the line a
`# noqa` comment silences it on; null for POL9xx), url (the rule's page) and
fix: null, or {applicability: "safe" | "unsafe", message: the fix's title,
edits: [{content, location, end_location}]}, the edits turning the file as
it is now into the file with that one fix applied.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List

from poollint.diagnostic import FILE_CODES, Diagnostic, FileResult
from poollint.reporters import Report, Reporter, end_of, rule_info


class JsonReporter(Reporter):
    name = "json"
    needs_edits = True
    statistics = "json"

    def render(self, report: Report) -> str:
        return json.dumps(records(report), indent=2, sort_keys=True) + "\n"


def records(report: Report) -> List[Dict[str, Any]]:
    return [record(file_result, d) for file_result, d in report.findings()]


def record(file_result: FileResult, d: Diagnostic) -> Dict[str, Any]:
    info = rule_info(d.code)
    end_line, end_column = end_of(d)
    return {
        "code": d.code,
        "name": info.name,
        "message": d.message,
        "filename": os.path.abspath(file_result.path),
        "location": _location(d.line, d.column),
        "end_location": _location(end_line, end_column),
        "noqa_row": None if d.code in FILE_CODES else d.line,
        "url": info.url,
        "fix": _fix(d, info.fix_title),
    }


def _location(row: int, column: int) -> Dict[str, int]:
    return {"row": row, "column": column}


def _fix(d: Diagnostic, title: Any) -> Any:
    if d.fix_safety is None:
        return None
    return {
        "applicability": d.fix_safety.value,
        "message": title,
        "edits": [
            {
                "content": content,
                "location": _location(line, column),
                "end_location": _location(end_line, end_column),
            }
            for content, line, column, end_line, end_column in d.edits or ()
        ],
    }
