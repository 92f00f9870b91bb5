"""`--output-format json-lines`: the json format's records, one per line."""

from __future__ import annotations

import json

from poollint.reporters import Report, Reporter
from poollint.reporters.json_format import records


class JsonLinesReporter(Reporter):
    name = "json-lines"
    needs_edits = True

    def render(self, report: Report) -> str:
        return "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records(report))
