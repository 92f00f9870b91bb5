"""`--output-format gitlab`: a GitLab Code Quality report (a JSON array of issues).

GitLab shows the issues a merge request adds or fixes by comparing
fingerprints, which must be unique within a report: each is a hash of the
path, the code, the line's text and how many such findings came before.
"""

from __future__ import annotations

import json

from poollint.reporters import Report, Reporter, end_of


class GitlabReporter(Reporter):
    name = "gitlab"

    def render(self, report: Report) -> str:
        fingerprints = report.fingerprints()
        issues = []
        for file_result, d in report.findings():
            end_line, _ = end_of(d)
            issues.append(
                {
                    "description": f"{d.code}: {d.message}",
                    "check_name": d.code,
                    "fingerprint": fingerprints[id(d)],
                    "severity": "major",
                    "location": {
                        "path": report.root_path(file_result.path),
                        "lines": {"begin": d.line, "end": end_line},
                    },
                }
            )
        return json.dumps(issues, indent=2) + "\n"
